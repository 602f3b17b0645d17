// End to end: what the store keeps when joulecast is killed, when the command crashes, and when two joulecast
// processes write one store at the same time.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/fake_gpu.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::ProcessOptions;
using test::run_process;
using test::TempDir;

nlohmann::json runs_list(const ProcessOptions& options) {
    auto r = run_process({JOULECAST_BINARY, "runs", "list", "--json"}, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
}

nlohmann::json runs_show(const std::string& id, const ProcessOptions& options) {
    auto r = run_process({JOULECAST_BINARY, "runs", "show", id, "--json"}, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
}

TEST(StoreEndToEnd, SigkilledJoulecastLeavesAnInterruptedRunWithItsReadings) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, "gpus=1;gpu0.power=300");
    std::vector<std::string> argv = {JOULECAST_BINARY, "run", "--quiet", "--name",
                                     "killed",         "--",  "sleep",   "4"};
    pid_t pid = test::start_process(argv, options);
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);

    auto runs = runs_list(options);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0]["status"], "interrupted");
    auto result = runs_show(runs[0]["id"], options);
    EXPECT_EQ(result["status"], "interrupted");
    // About 3 s ran at 300 W; at most about 2 s of readings may be lost.
    const double gpu = result["energy_j"]["gpu"];
    EXPECT_GT(gpu, 300.0 * 1.0);
    EXPECT_LT(gpu, 300.0 * 3.2);
}

TEST(StoreEndToEnd, CrashingCommandLeavesAFailedRunWithAllItsData) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, "gpus=1;gpu0.power=200");
    auto r = run_process({JOULECAST_BINARY, "run", "--quiet", "--name", "crash", "--", "sh", "-c",
                          std::string(JOULECAST_BINARY) + " mark begin train; sleep 0.5; kill -SEGV $$"},
                         options);
    EXPECT_EQ(r.exit_code, 128 + SIGSEGV);
    auto runs = runs_list(options);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0]["status"], "failed");
    auto result = runs_show(runs[0]["id"], options);
    EXPECT_EQ(result["exit_code"], 128 + SIGSEGV);
    ASSERT_EQ(result["phases"].size(), 1u);
    EXPECT_FALSE(result["phases"][0]["closed"].get<bool>());
    const double duration = result["duration_s"];
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 200.0 * duration, 0.01 * 200.0 * duration);
}

TEST(StoreEndToEnd, TwoConcurrentRunsIntoOneStoreBothSucceed) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, "gpus=1;gpu0.power=100");
    test::ProcessResult a, b;
    std::thread first([&] {
        a = run_process(
            {JOULECAST_BINARY, "run", "--quiet", "--name", "a", "--interval", "10ms", "--", "sleep", "1.5"},
            options);
    });
    std::thread second([&] {
        b = run_process(
            {JOULECAST_BINARY, "run", "--quiet", "--name", "b", "--interval", "10ms", "--", "sleep", "1.5"},
            options);
    });
    first.join();
    second.join();
    EXPECT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(a.err.find("not stored"), std::string::npos) << a.err;
    EXPECT_EQ(b.err.find("not stored"), std::string::npos) << b.err;
    auto runs = runs_list(options);
    ASSERT_EQ(runs.size(), 2u);
    for (const auto& run : runs) {
        EXPECT_EQ(run["status"], "completed");
        auto result = runs_show(run["id"], options);
        const double duration = result["duration_s"];
        EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 100.0 * duration, 0.01 * 100.0 * duration);
    }
}

TEST(StoreEndToEnd, SigkilledJoulecastKeepsWhatWasMarkedUpToTheLastFlush) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, "gpus=1;gpu0.power=300");
    const std::string done = dir.str() + "/marked";
    // Three epochs of 10 samples inside an open phase, meta and a metric; then the command waits to be
    // killed.
    const std::string script = std::string("J=") + JOULECAST_BINARY +
                               "; $J mark meta model=toy && $J mark begin train && "
                               "for i in 1 2 3; do $J mark epoch samples=10; sleep 0.2; done; "
                               "$J mark metric loss=0.5 && touch " +
                               done + "; sleep 30";
    std::vector<std::string> argv = {JOULECAST_BINARY, "run", "--quiet", "--", "sh", "-c", script};
    pid_t pid = test::start_process(argv, options);
    for (int i = 0; i < 300 && access(done.c_str(), F_OK) != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(access(done.c_str(), F_OK), 0) << "the workload did not mark in time";
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two flush periods
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);

    auto runs = runs_list(options);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0]["status"], "interrupted");
    auto result = runs_show(runs[0]["id"], options);
    ASSERT_EQ(result["epochs"].size(), 3u) << result.dump(1);
    for (const auto& epoch : result["epochs"]) EXPECT_EQ(epoch["samples"], 10);
    EXPECT_EQ(result["meta"]["model"], "toy");
    ASSERT_EQ(result["phases"].size(), 1u);
    EXPECT_EQ(result["phases"][0]["name"], "train");
    EXPECT_FALSE(result["phases"][0]["closed"].get<bool>());
    EXPECT_EQ(result["metrics"]["loss"]["last"], 0.5);
    // The epochs' energy comes from the stored readings at the fake GPU's 300 W.
    for (const auto& epoch : result["epochs"]) {
        const double seconds = epoch["end_s"].get<double>() - epoch["start_s"].get<double>();
        EXPECT_NEAR(epoch["energy_j"]["total"].get<double>(), 300.0 * seconds, 0.05 * 300.0 * seconds + 1.0);
    }
}

}  // namespace
}  // namespace joulecast
