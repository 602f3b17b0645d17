// A seeded random driver for the control-line parser (no libFuzzer needed): random and mutated lines must
// never crash or throw, and every line that parses round-trips through format_control_line.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "control/protocol.hpp"

namespace joulecast::control {

using core::Result;

namespace {

const std::vector<std::string> k_tokens = {"begin",
                                           "end",
                                           "epoch",
                                           "meta",
                                           "metric",
                                           "hello",
                                           "t=",
                                           "t=123",
                                           "t=-1",
                                           "t=99999999999999999999",
                                           "train",
                                           "samples=",
                                           "samples=9223372036854775807",
                                           "n=1",
                                           "k=v",
                                           "k=\"a b\"",
                                           "\"",
                                           "\\",
                                           "\\\"",
                                           "=",
                                           " ",
                                           "  ",
                                           "\t",
                                           "\r",
                                           "\n",
                                           "\xff",
                                           "\xc3",
                                           "\xe2\x82",
                                           "x.y-z_",
                                           "rank=0",
                                           "loss=1e308",
                                           "nan",
                                           "\"\"",
                                           "k=\"unterminated",
                                           "k=\"\\n\"",
                                           std::string(1, '\0')};

std::string random_line(std::mt19937_64& rng) {
    std::string line;
    const int pieces = static_cast<int>(rng() % 12);
    for (int i = 0; i < pieces; ++i) {
        switch (rng() % 4) {
            case 0:
                line += static_cast<char>(rng() % 256);
                break;
            case 1:
                line += ' ';
                [[fallthrough]];
            default:
                line += k_tokens[rng() % k_tokens.size()];
        }
    }
    if (rng() % 50 == 0) line += std::string(k_max_control_line_bytes, 'a');
    return line;
}

TEST(ControlProtocolFuzz, RandomLinesNeverThrowAndParsedOnesRoundTrip) {
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
        std::mt19937_64 rng(seed);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        std::uint64_t parsed = 0, total = 0;
        for (int i = 0; i < 200000 && std::chrono::steady_clock::now() < deadline; ++i, ++total) {
            const std::string line = random_line(rng);
            ControlParseError kind{};
            Result<ControlMessage> message = ControlMessage{};
            ASSERT_NO_THROW(message = parse_control_line(line, &kind)) << "seed " << seed << " line " << i;
            if (!message) continue;
            ++parsed;
            std::string again;
            ASSERT_NO_THROW(again = format_control_line(*message));
            auto reparsed = parse_control_line(again);
            ASSERT_TRUE(reparsed) << "seed " << seed << ": '" << again << "' from '" << line
                                  << "': " << reparsed.error();
            EXPECT_EQ(*reparsed, *message) << "seed " << seed << ": '" << again << "' from '" << line << "'";
            (void)client_identity(*message);  // must not throw on any field values
        }
        // The token mix makes hundreds of lines valid: the round-trip property is exercised, not vacuous.
        EXPECT_GT(parsed, 100u) << "seed " << seed << " of " << total;
    }
}

}  // namespace
}  // namespace joulecast::control
