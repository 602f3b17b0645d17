// A seeded random driver for the TOML grid loader: mutations of the default grid and random token soups must
// parse or throw UsageError (the documented error), never crash or throw anything else.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "study/grid.hpp"

namespace joulecast::study {

using core::UsageError;

namespace {

const std::vector<std::string> k_tokens = {"[",           "]",
                                           "[[",          "]]",
                                           "=",           "\"",
                                           "'",           "\"\"\"",
                                           "'''",         "{",
                                           "}",           ",",
                                           "#",           "\n",
                                           " ",           "\t",
                                           "\\",          "\\u0000",
                                           "1",           "-1",
                                           "0",           "1e999",
                                           "-1e999",      "nan",
                                           "inf",         "9223372036854775808",
                                           "1.5",         "true",
                                           "false",       "1979-05-27T07:32:00Z",
                                           "[study]",     "[grid]",
                                           "[command]",   "models",
                                           "batch_sizes", "epochs",
                                           "repeats",     "order",
                                           "seed",        "cooldown",
                                           "argv",        "{batch_size}",
                                           "{",           "mode = \"command\"",
                                           "\xff",        "\xc3"};

std::string mutate(std::string text, std::mt19937_64& rng) {
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
        const std::size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
        switch (rng() % 3) {
            case 0:
                if (!text.empty() && at < text.size()) text.erase(at, 1 + rng() % 8);
                break;
            case 1:
                text.insert(at, k_tokens[rng() % k_tokens.size()]);
                break;
            default:
                if (at < text.size()) text[at] = static_cast<char>(rng() % 256);
        }
    }
    return text;
}

std::string soup(std::mt19937_64& rng) {
    std::string text;
    const int pieces = static_cast<int>(rng() % 40);
    for (int i = 0; i < pieces; ++i) text += k_tokens[rng() % k_tokens.size()];
    return text;
}

TEST(StudyGridFuzz, MutatedGridsParseOrThrowUsageErrorOnly) {
    const std::string base(default_grid_text());
    for (const std::uint64_t seed : {11u, 12u}) {
        std::mt19937_64 rng(seed);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
        std::uint64_t accepted = 0, refused = 0;
        for (int i = 0; i < 50000 && std::chrono::steady_clock::now() < deadline; ++i) {
            const std::string text = i % 4 == 3 ? soup(rng) : mutate(base, rng);
            try {
                const StudyGrid grid = parse_grid(text, "fuzz.toml", "fuzz");
                ++accepted;
                for (const Axis& axis : grid.axes) {
                    EXPECT_FALSE(axis.values.empty()) << axis.key;
                }
            } catch (const UsageError&) {
                ++refused;
            } catch (const std::exception& error) {
                FAIL() << "seed " << seed << " case " << i << ": " << error.what() << "\n---\n" << text;
            }
        }
        EXPECT_GT(accepted + refused, 0u);
        EXPECT_GT(refused, 0u);  // the mutations do reach the error paths
    }
}

}  // namespace
}  // namespace joulecast::study
