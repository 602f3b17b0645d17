// End to end: a store that cannot grow. A file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored, as `ulimit -f`
// sets it for root and other users alike) stands in for a full disk: writes past it fail as they would on a
// full one. The run is measured to its end, its result goes to --json, the store keeps its status and
// duration, and `runs rm` can still make room.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

namespace fs = std::filesystem;
using test::ProcessOptions;
using test::run_process;
using test::TempDir;

/// Runs joulecast with ARGS under a file size limit of `limit_bytes` (rounded down to 512-byte blocks).
test::ProcessResult limited(const ProcessOptions& options, std::uintmax_t limit_bytes,
                            const std::vector<std::string>& args) {
    std::string command =
        "trap '' XFSZ; ulimit -f " + std::to_string(limit_bytes / 512) + "; exec '" + JOULECAST_BINARY + "'";
    for (const auto& arg : args) command += " '" + arg + "'";
    return run_process({"/bin/sh", "-c", command}, options);
}

nlohmann::json runs_list(const ProcessOptions& options) {
    auto r = run_process({JOULECAST_BINARY, "runs", "list", "--json"}, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
}

nlohmann::json find_run(const nlohmann::json& runs, const std::string& name) {
    for (const auto& run : runs)
        if (run["name"] == name) return run;
    return nullptr;
}

TEST(FullStore, ARunThatFillsTheStoreIsMeasuredToItsEndAndStoredAsItEnded) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, "gpus=1;gpu0.power=300");
    ASSERT_EQ(run_process({JOULECAST_BINARY, "run", "--quiet", "--", "true"}, options).exit_code, 0);
    const fs::path wal = dir.path() / "runs.db-wal";
    ASSERT_TRUE(fs::exists(wal));
    // Room for the run's start and a few seconds of readings at 10 ms, not for 5 s of them.
    const std::uintmax_t limit = fs::file_size(wal) + 64 * 1024;
    const fs::path json = dir.path() / "full.json";
    auto r = limited(options, limit,
                     {"run", "--quiet", "--interval", "10ms", "--name", "full", "--json", json.string(), "--",
                      "sleep", "5"});
    // The command succeeded, the store did not take the run: a failure, said once with where the result is.
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("the store took "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is not wholly in the store"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("its result is in " + json.string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("cannot grow"), std::string::npos) << r.err;

    // The result is whole: 5 s at 300 W.
    const auto result = test::read_json(json);
    EXPECT_EQ(result["status"], "completed");
    EXPECT_NEAR(result["duration_s"].get<double>(), 5.0, 0.3);
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 1500.0, 1500.0 * 0.05);

    // The store has the run as it ended, not `interrupted` at its last stored reading.
    auto run = find_run(runs_list(options), "full");
    ASSERT_FALSE(run.is_null());
    EXPECT_EQ(run["status"], "completed");
    EXPECT_NEAR(run["duration_s"].get<double>(), 5.0, 0.3);
    EXPECT_NEAR(run["energy_j"]["total"].get<double>(), result["energy_j"]["total"].get<double>(), 1e-6);
    EXPECT_NEAR(run["energy_j"]["gpu"].get<double>(), 1500.0, 1500.0 * 0.05);
    auto shown = run_process({JOULECAST_BINARY, "runs", "show", run["id"]}, options);
    EXPECT_NE(shown.out.find("the store was full when this run ended"), std::string::npos) << shown.out;

    // Once there is room, importing the file completes the run in the store.
    auto imported = run_process({JOULECAST_BINARY, "runs", "import", json.string()}, options);
    EXPECT_EQ(imported.exit_code, 0) << imported.err;
    EXPECT_NE(imported.out.find("1 imported"), std::string::npos) << imported.out;
    auto document = run_process({JOULECAST_BINARY, "runs", "show", run["id"], "--json"}, options);
    ASSERT_EQ(document.exit_code, 0) << document.err;
    const auto stored = nlohmann::json::parse(document.out);
    EXPECT_FALSE(stored.value("partial", false));
    EXPECT_NEAR(stored["duration_s"].get<double>(), result["duration_s"].get<double>(), 1e-9);
}

TEST(FullStore, RunsRmFreesAStoreThatCannotGrowAndListingStillWorks) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, "gpus=1;gpu0.power=100");
    for (const char* name : {"a", "b", "c"})
        ASSERT_EQ(
            run_process({JOULECAST_BINARY, "run", "--quiet", "--name", name, "--", "sleep", "0.3"}, options)
                .exit_code,
            0);
    const fs::path wal = dir.path() / "runs.db-wal";
    ASSERT_TRUE(fs::exists(wal));
    // Not one more page fits at the end of the WAL.
    const std::uintmax_t limit = fs::file_size(wal) - 512;
    auto runs = runs_list(options);
    ASSERT_EQ(runs.size(), 3u);
    const std::string victim = find_run(runs, "b")["id"];

    auto listed = limited(options, limit, {"runs", "list"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    auto removed = limited(options, limit, {"runs", "rm", "--yes", victim});
    EXPECT_EQ(removed.exit_code, 0) << removed.err;
    EXPECT_NE(removed.out.find("removed " + victim), std::string::npos) << removed.out << removed.err;
    runs = runs_list(options);
    EXPECT_EQ(runs.size(), 2u);
    EXPECT_TRUE(find_run(runs, "b").is_null());
    // The store still takes runs afterwards.
    EXPECT_EQ(run_process({JOULECAST_BINARY, "run", "--quiet", "--", "true"}, options).exit_code, 0);
    EXPECT_EQ(runs_list(options).size(), 3u);
}

}  // namespace
}  // namespace joulecast
