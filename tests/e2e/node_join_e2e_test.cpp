// End to end: one measurement per node and job (runner/node_lock, docs/distributed.md) at its edges.
// - Two `joulecast run`s of one job released by one barrier, within the same millisecond: exactly one
//   measures, the other joins, in every round.
// - A joined run whose measuring run is killed: it says so and exits with its own command's status.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/ddp_script.hpp"
#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::TempDir;
using Json = nlohmann::json;

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

test::ProcessOptions options(const TempDir& dir) {
    test::ProcessOptions o = test::fake_gpu_options(dir, "gpus=1;gpu0.power=200");
    o.env["PYTHONPATH"] = std::string(PROJECT_SOURCE_DIR) + "/python";
    o.env["PYTHONDONTWRITEBYTECODE"] = "1";
    o.env["XDG_RUNTIME_DIR"] = dir.str();  // the jobs' lock files
    o.timeout_s = 150;
    return o;
}

/// Waits up to 5 s for a measuring run to publish its job's control socket in `dir` (XDG_RUNTIME_DIR): from
/// then on a second run of that job joins it.
bool wait_for_published_socket(const TempDir& dir) {
    for (int i = 0; i < 100; ++i) {
        for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
            if (entry.path().extension() == ".socket" &&
                entry.path().filename().string().rfind("joulecast-job-", 0) == 0)
                return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

// Rank r marks 2 epochs of (r + 1) * 100 samples inside one train phase.
const std::string marks = test::rank_marks_script(2, 0.15);

TEST(NodeJoin, TwoRunsOfOneJobReleasedInTheSameMillisecondMeasureOnce) {
    if (std::system("bash -c 'test -n \"$EPOCHREALTIME\"' && python3 -c 'import sys' 2>/dev/null") != 0)
        GTEST_SKIP() << "needs bash 5 and python3";
    TempDir dir;
    const auto script = dir.write("marks.py", marks);
    const std::string db = dir.str() + "/node.db";
    // Both tasks block opening the FIFO `go` for reading; the writer opens it (both opens return) and closes
    // it (both reads see end of file at once), so both exec joulecast within microseconds of each other.
    // Each notes the time it was released ($EPOCHREALTIME, microseconds) just before its exec.
    const std::string round = R"sh(
round() {
    job=$1
    rm -f go; mkfifo go
    for i in 0 1; do
        (read -r _ <go; echo "$EPOCHREALTIME" >"$job.$i.t"
         exec timeout 60 "$JC" run --job "$job" --db "$DB" --json "$job.$i.json" -- \
             sh -c "RANK=$i LOCAL_RANK=$i WORLD_SIZE=2 python3 marks.py && exit $((3 + 2 * i))") 2>"$job.$i.err" &
        eval "p$i=\$!"
    done
    exec 3>go; sleep 0.3; exec 3>&-
    wait "$p0"; e0=$?; wait "$p1"; e1=$?
    echo "$job: $e0 $e1"
}
)sh";
    const std::string body = "cd " + quoted(dir.str()) + "; JC=" + quoted(JOULECAST_BINARY) +
                             "; DB=" + quoted(db) + "\n" + round + "for r in R0 R1 R2; do round $r; done\n";
    auto ran = test::run_process({"/bin/bash", "-c", body}, options(dir));
    ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;

    auto listed = test::run_process({JOULECAST_BINARY, "runs", "--db", db, "list", "--json"}, options(dir));
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    const Json runs = Json::parse(listed.out);
    ASSERT_EQ(runs.size(), 3u) << "one run per round: " << listed.out;
    double widest_spread_ms = 0;
    for (const std::string job : {"R0", "R1", "R2"}) {
        SCOPED_TRACE(job);
        // Each joulecast exits with its own command's status, the joined one too.
        EXPECT_NE(ran.out.find(job + ": 3 5"), std::string::npos) << ran.out;
        const double t0 = std::stod(read_text(dir.path() / (job + ".0.t")));
        const double t1 = std::stod(read_text(dir.path() / (job + ".1.t")));
        widest_spread_ms = std::max(widest_spread_ms, 1000 * std::abs(t0 - t1));
        std::cout << job << ": released " << 1000 * std::abs(t0 - t1) << " ms apart\n";
        const bool first = std::filesystem::exists(dir.path() / (job + ".0.json"));
        const bool second = std::filesystem::exists(dir.path() / (job + ".1.json"));
        ASSERT_NE(first, second) << "exactly one of the two measured";
        const std::string joiner_err = read_text(dir.path() / (job + (first ? ".1.err" : ".0.err")));
        EXPECT_NE(joiner_err.find("joined it"), std::string::npos) << joiner_err;
        const Json result = test::read_json(dir.path() / (job + (first ? ".0.json" : ".1.json")));
        EXPECT_EQ(result["job"]["id"], job);
        ASSERT_EQ(result["ranks"].size(), 2u) << result["ranks"].dump();
        ASSERT_EQ(result["phases"].size(), 1u) << result["phases"].dump();
        EXPECT_EQ(result["phases"][0]["samples"], 600);
        // The node counted once: 200 W over the measuring run.
        const double expected = 200 * result["duration_s"].get<double>();
        EXPECT_NEAR(result["energy_j"]["total"].get<double>(), expected, 0.02 * expected);
    }
    std::cout << "released within " << widest_spread_ms << " ms of each other (widest of 3 rounds)\n";
    // The barrier's point: the two started together (a loaded machine may delay one by a few ms).
    EXPECT_LT(widest_spread_ms, 50);
}

TEST(NodeJoin, AJoinedRunWhoseMeasuringRunIsKilledSaysSoAndExitsWithItsCommandsStatus) {
    TempDir dir;
    test::ProcessOptions o = options(dir);
    const std::string leader_err = dir.str() + "/leader.err";
    // The measuring run: its command outlives the test by little (sleep 4 is orphaned when it is killed).
    const int err_fd = ::open(leader_err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(err_fd, 0);
    const pid_t leader =
        test::start_process({JOULECAST_BINARY, "run", "--job", "D", "--db", dir.str() + "/node.db", "--json",
                             dir.str() + "/d.json", "--", "sleep", "4"},
                            o, err_fd);
    ::close(err_fd);
    ASSERT_GT(leader, 0);
    ASSERT_TRUE(wait_for_published_socket(dir)) << read_text(leader_err);

    // The joiner's command: it notes when its measuring run is gone, then goes on and exits 7.
    std::thread killer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        ::kill(leader, SIGKILL);
    });
    auto joined = test::run_process({JOULECAST_BINARY, "run", "--job", "D", "--db", dir.str() + "/node.db",
                                     "--", "sh", "-c", "sleep 1.5; echo still-running; exit 7"},
                                    o);
    killer.join();
    int status = 0;
    ::waitpid(leader, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    EXPECT_EQ(joined.exit_code, 7) << joined.err;
    EXPECT_NE(joined.out.find("still-running"), std::string::npos) << "the command ran on: " << joined.out;
    EXPECT_NE(joined.err.find("joined it"), std::string::npos) << joined.err;
    // Said when it happened and again at the end, with the measuring run's pid.
    const std::string pid = "(pid " + std::to_string(leader) + ")";
    EXPECT_NE(joined.err.find(pid + " ended before this command: it was killed or crashed"),
              std::string::npos)
        << joined.err;
    EXPECT_NE(joined.err.find("job D: the joulecast run measuring job D on this node " + pid +
                              " died before this command ended"),
              std::string::npos)
        << joined.err;
    EXPECT_NE(joined.err.find("exit status 7 is the command's"), std::string::npos) << joined.err;
    // The joined run measured nothing itself: the store holds the killed run alone, listed as interrupted.
    auto listed =
        test::run_process({JOULECAST_BINARY, "runs", "--db", dir.str() + "/node.db", "list", "--json"}, o);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    const Json runs = Json::parse(listed.out);
    ASSERT_EQ(runs.size(), 1u) << listed.out;
    EXPECT_EQ(runs[0]["status"], "interrupted") << listed.out;

    // With the dead run's lock gone, the next run of job D measures again.
    auto next = test::run_process({JOULECAST_BINARY, "run", "--job", "D", "--no-store", "--json",
                                   dir.str() + "/next.json", "--", "true"},
                                  o);
    EXPECT_EQ(next.exit_code, 0) << next.err;
    EXPECT_EQ(next.err.find("joined it"), std::string::npos) << next.err;
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "next.json"));
}

TEST(NodeJoin, AJoinedRunsProcessIsTheJobsOnTheGpuItHolds) {
    // The measuring run's command holds gpu0; the joined run's command, outside its process tree, holds gpu1.
    // Once the joiner's client says hello, gpu1 is the job's: `--gpus used` keeps it, and its processes are
    // the job's, not an outsider's.
    TempDir dir;
    const std::string leader_pid = dir.str() + "/leader.pid", joiner_pid = dir.str() + "/joiner.pid";
    test::ProcessOptions o = options(dir);
    o.env["FAKE_NVML_SCRIPT"] =
        "gpus=2;gpu0.power=300;gpu1.power=200;gpu0.procs=@" + leader_pid + ";gpu1.procs=@" + joiner_pid;
    o.env["JOULECAST_PROC_ROOT"] = "/proc";
    const std::string json = dir.str() + "/g.json", leader_err = dir.str() + "/leader.err";
    const int err_fd = ::open(leader_err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(err_fd, 0);
    const pid_t leader =
        test::start_process({JOULECAST_BINARY, "run", "--job", "G", "--no-store", "--gpus", "used", "--json",
                             json, "--", "sh", "-c", "echo $$ > " + leader_pid + "; sleep 3"},
                            o, err_fd);
    ::close(err_fd);
    ASSERT_GT(leader, 0);
    ASSERT_TRUE(wait_for_published_socket(dir)) << read_text(leader_err);
    // The joined command writes its pid where the fake NVML lists gpu1's processes, lets a reading or two
    // take it for an outsider, says hello, and is busy for 1.2 s: CPU time of the job's.
    const char* const client = R"(
import os, sys, time, joulecast
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(0.6)
joulecast.meta(role="joiner")
end = time.monotonic() + 1.2
while time.monotonic() < end:
    pass
)";
    auto joined = test::run_process(
        {JOULECAST_BINARY, "run", "--job", "G", "--", "python3", "-c", client, joiner_pid}, o);
    EXPECT_EQ(joined.exit_code, 0) << joined.err;
    EXPECT_NE(joined.err.find("joined it"), std::string::npos) << joined.err;
    int status = 0;
    ::waitpid(leader, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_text(leader_err);

    const Json result = test::read_json(json);
    const Json& gpus = result["host"]["gpus"];
    ASSERT_EQ(gpus.size(), 2u) << result["host"].dump();
    const int joiner = std::stoi(read_text(joiner_pid));
    EXPECT_EQ(gpus[1]["device"], "gpu1");
    EXPECT_EQ(gpus[1]["used"], true) << gpus[1].dump();
    EXPECT_EQ(gpus[1]["job_pids"], Json::array({joiner})) << gpus[1].dump();
    EXPECT_EQ(gpus[1]["other_pids"], Json::array()) << gpus[1].dump();
    EXPECT_EQ(gpus[0]["used"], true) << gpus[0].dump();
    // Both GPUs stay in the totals: 500 W over the run.
    const double expected = 500.0 * result["duration_s"].get<double>();
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), expected, 0.02 * expected) << result["warnings"];
    EXPECT_EQ(result["warnings"].dump().find("left out of the totals"), std::string::npos)
        << result["warnings"].dump();
    // The job's own share: gpu1 from the hello on (by then the joiner alone holds it), and the joiner's busy
    // second of CPU time (the measuring run's own command only sleeps: without the joiner, about 0).
    const Json& attributed = result["attributed"];
    ASSERT_EQ(attributed["gpus"].size(), 2u) << attributed.dump();
    const Json& share1 = attributed["gpus"][1];
    EXPECT_EQ(share1["device"], "gpu1");
    EXPECT_GT(share1["attributed_j"].get<double>(), 0.2 * share1["gross_j"].get<double>()) << share1.dump();
    ASSERT_TRUE(attributed["cpu_j"].is_number()) << attributed.dump();
    EXPECT_GT(attributed["cpu_j"].get<double>(), 0.05 * attributed["gross_cpu_j"].get<double>())
        << attributed.dump();
}

}  // namespace
}  // namespace joulecast
