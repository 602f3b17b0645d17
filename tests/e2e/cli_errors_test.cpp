// End to end: how errors are told. A wrong option or argument prints the command's usage (exit 2); a runtime
// error (a store that cannot be used) prints one message (exit 1); bad content of a file the user gave (a
// grid too large to plan) prints one message (exit 2). Neither of the last two buries it under the usage.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::ProcessOptions;
using test::run_process;
using test::TempDir;

std::size_t lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string numbers(int n) {
    std::string out = "[";
    for (int i = 1; i <= n; ++i) out += (i > 1 ? ", " : "") + std::to_string(i);
    return out + "]";
}

TEST(CliErrors, AWrongOptionPrintsTheUsageWithExit2) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    auto r = run_process({JOULECAST_BINARY, "run", "--no-such-option", "--", "true"}, options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown option '--no-such-option'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("usage: joulecast run"), std::string::npos) << r.err;
}

TEST(CliErrors, AStoreThatCannotBeUsedIsOneMessageAndExit1NotTheUsage) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    // The store's folder cannot be made: a file is in the way.
    const auto blocker = dir.write("blocker", "a file, not a folder");
    const std::string db = (blocker / "runs.db").string();
    const auto marker = dir.path() / "ran";
    for (const std::vector<std::string>& argv :
         {std::vector<std::string>{JOULECAST_BINARY, "run", "--db", db, "--", "touch", marker.string()},
          std::vector<std::string>{JOULECAST_BINARY, "runs", "--db", db, "rm", "--yes", "abc"}}) {
        auto r = run_process(argv, options);
        EXPECT_EQ(r.exit_code, 1) << argv[1] << ": " << r.err;
        EXPECT_EQ(r.err.find("usage:"), std::string::npos) << argv[1] << ": " << r.err;
        EXPECT_NE(r.err.find(blocker.string()), std::string::npos) << argv[1] << ": " << r.err;
        // One error line (sensor notes may come before it).
        EXPECT_NE(r.err.find(": error: "), std::string::npos) << argv[1] << ": " << r.err;
        EXPECT_EQ(lines(r.err.substr(r.err.find("joulecast " + argv[1]))), 1u) << argv[1] << ": " << r.err;
    }
    EXPECT_FALSE(std::filesystem::exists(marker)) << "the command ran although its store cannot be used";

    auto grid = dir.write("g.toml",
                          "[study]\nmode = \"command\"\n[grid]\nmodels = [\"m\"]\nbatch_sizes = [1]\n"
                          "[command]\nargv = [\"true\"]\n");
    auto r = run_process({JOULECAST_BINARY, "study", "--db", db, grid.string()}, options);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.find("usage:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("cannot use the run store"), std::string::npos) << r.err;
}

TEST(CliErrors, AGridTooLargeToPlanIsOneMessageAndExit2) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    // 1000 x 1000 x 1000 configurations: refused before planning any (planning them exhausted memory).
    auto grid = dir.write(
        "huge.toml", "[study]\nmode = \"command\"\n[grid]\nmodels = [\"m\"]\nbatch_sizes = " + numbers(1000) +
                         "\nthreads = " + numbers(1000) + "\nepochs = " + numbers(1000) +
                         "\n[command]\nargv = [\"true\"]\n");
    for (const char* mode : {"--dry-run", ""}) {
        std::vector<std::string> argv = {JOULECAST_BINARY, "study", grid.string()};
        if (*mode) argv.insert(argv.begin() + 2, mode);
        auto r = run_process(argv, options);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("the grid plans more than 100000 runs"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(grid.string() + ":"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("usage:"), std::string::npos) << r.err;
        EXPECT_EQ(lines(r.err), 1u) << r.err;
    }
}

}  // namespace
}  // namespace joulecast
