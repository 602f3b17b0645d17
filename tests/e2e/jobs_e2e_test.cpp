// End to end: a distributed job's nodes, each measured by its own `joulecast run --job J` into its own result
// and store, brought together with `runs import` and merged by `jobs show J --json`. Once with shell-started
// "nodes" (always runs: import's refusals and idempotence, the merge's sums), once with two real torchrun
// nodes of a gloo DDP job rendezvousing on 127.0.0.1 (needs python3-torch).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "store/iso_time.hpp"
#include "support/ddp_script.hpp"
#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using store::parse_iso8601;

namespace {

using test::TempDir;
using Json = nlohmann::json;

/// A TCP port free on 127.0.0.1 now (the kernel's pick for port 0).
int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    close(fd);
    return port;
}

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

double total_j(const Json& result) {
    return result["energy_j"]["total"].get<double>();
}

/// Runs two shell command lines at once; exit 0 only when both exit 0 (their statuses are printed).
test::ProcessResult run_both(const std::string& a, const std::string& b, test::ProcessOptions options) {
    const std::string script = "(" + a + ") & pa=$!; (" + b +
                               ") & pb=$!; wait $pa; ea=$?; wait $pb; eb=$?; " +
                               "echo \"node0=$ea node1=$eb\"; [ $ea -eq 0 ] && [ $eb -eq 0 ]";
    return test::run_process({"/bin/sh", "-c", script}, options);
}

test::ProcessOptions options(const TempDir& dir) {
    test::ProcessOptions o = test::fake_gpu_options(dir, "gpus=1;gpu0.power=200");
    o.env["PYTHONPATH"] = std::string(PROJECT_SOURCE_DIR) + "/python";
    o.env["PYTHONDONTWRITEBYTECODE"] = "1";
    o.timeout_s = 200;
    return o;
}

/// `joulecast run --job J` of node i with its own fake GPU power, result and store.
std::string node_command(const TempDir& dir, int i, double watts, const std::string& command) {
    const std::string base = dir.str() + "/node" + std::to_string(i);
    // Each "node" its own runtime directory: runs of one job that share one join its measurement.
    std::filesystem::create_directories(base + "-runtime");
    return "XDG_RUNTIME_DIR=" + quoted(base + "-runtime") +
           " FAKE_NVML_SCRIPT=" + quoted("gpus=1;gpu0.power=" + std::to_string(watts)) + " timeout 180 " +
           quoted(JOULECAST_BINARY) + " run --quiet --job J --json " + quoted(base + ".json") + " --db " +
           quoted(base + ".db") + " -- " + command;
}

Json job_show(const TempDir& dir, const std::string& db) {
    auto shown =
        test::run_process({JOULECAST_BINARY, "jobs", "--db", db, "show", "J", "--json"}, options(dir));
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    return Json::parse(shown.out);
}

TEST(JobsEndToEnd, ImportRefusesWhatIsNotAResultKeepsOneCopyAndTheJobSumsItsNodes) {
    TempDir dir;
    auto both = run_both(node_command(dir, 0, 200, "sleep 0.6"), node_command(dir, 1, 300, "sleep 0.9"),
                         options(dir));
    ASSERT_EQ(both.exit_code, 0) << both.out << both.err;
    const Json n0 = test::read_json(dir.path() / "node0.json");
    const Json n1 = test::read_json(dir.path() / "node1.json");
    EXPECT_EQ(n0["job"]["id"], "J");
    EXPECT_EQ(n0["job"]["source"], "--job");
    EXPECT_FALSE(n0["job"]["node"].get<std::string>().empty());

    // A result cut short, a JSON document of something else, and a file that is not there.
    std::string text;
    {
        std::ifstream in(dir.path() / "node1.json");
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    dir.write("cut.json", text.substr(0, text.size() / 2));
    dir.write("other.json", R"({"name": "not a result"})");
    const std::string db = dir.str() + "/all.db";
    auto imported = test::run_process(
        {JOULECAST_BINARY, "runs", "--db", db, "import", dir.str() + "/node0.json", dir.str() + "/cut.json",
         dir.str() + "/other.json", dir.str() + "/node1.json", dir.str() + "/missing.json"},
        options(dir));
    EXPECT_EQ(imported.exit_code, 1) << imported.out << imported.err;
    EXPECT_NE(imported.out.find("2 imported, 0 already present, 3 refused"), std::string::npos)
        << imported.out;
    EXPECT_NE(imported.err.find("cut.json: is cut short"), std::string::npos) << imported.err;
    EXPECT_NE(imported.err.find("other.json: not a joulecast run result"), std::string::npos) << imported.err;
    EXPECT_NE(imported.err.find("missing.json: cannot be read"), std::string::npos) << imported.err;
    // Again: nothing doubles.
    auto again = test::run_process({JOULECAST_BINARY, "runs", "--db", db, "import", dir.str() + "/node0.json",
                                    dir.str() + "/node1.json"},
                                   options(dir));
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("0 imported, 2 already present, 0 refused"), std::string::npos) << again.out;
    auto listed = test::run_process({JOULECAST_BINARY, "runs", "--db", db, "list", "--job", "J", "--json"},
                                    options(dir));
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_EQ(Json::parse(listed.out).size(), 2u);

    const Json job = job_show(dir, db);
    EXPECT_EQ(job["schema"], "joulecast.job/1");
    EXPECT_EQ(job["nodes"].size(), 2u);
    EXPECT_NEAR(total_j(job), total_j(n0) + total_j(n1), 1e-9 * (total_j(n0) + total_j(n1)));
    // Each node's GPU at its own power: 200 W and 300 W over each run's duration (1%).
    const double expected = 200 * n0["duration_s"].get<double>() + 300 * n1["duration_s"].get<double>();
    EXPECT_NEAR(job["energy_j"]["domains"]["gpu"].get<double>(), expected, 0.01 * expected);
    auto list = test::run_process({JOULECAST_BINARY, "jobs", "--db", db, "list"}, options(dir));
    EXPECT_EQ(list.exit_code, 0) << list.err;
    EXPECT_NE(list.out.find("J "), std::string::npos) << list.out;
    auto none = test::run_process({JOULECAST_BINARY, "jobs", "--db", db, "show", "K"}, options(dir));
    EXPECT_EQ(none.exit_code, 1);
    EXPECT_NE(none.err.find("no runs of job 'K'"), std::string::npos) << none.err;
}

TEST(JobsEndToEnd, ImportOfATruncatedResultIsRefusedWithTheReasonAndImportsNothing) {
    TempDir dir;
    auto ran = test::run_process({JOULECAST_BINARY, "run", "--quiet", "--job", "J", "--no-store", "--json",
                                  dir.str() + "/whole.json", "--", "sleep", "0.2"},
                                 options(dir));
    ASSERT_EQ(ran.exit_code, 0) << ran.err;
    std::string text;
    {
        std::ifstream in(dir.path() / "whole.json");
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    ASSERT_GT(text.size(), 200u);
    const std::string db = dir.str() + "/all.db";
    // Cut at several places: inside the header, mid-way (inside strings, numbers, arrays), and just before
    // the closing brace (the final newline alone is not a cut: the document is still whole without it).
    const std::size_t last = text.find_last_of('}');
    for (std::size_t size : {std::size_t{1}, std::size_t{40}, text.size() / 3, text.size() / 2,
                             2 * text.size() / 3, last - 1, last}) {
        SCOPED_TRACE("cut at " + std::to_string(size) + " of " + std::to_string(text.size()) + " bytes");
        const auto cut = dir.write("cut.json", text.substr(0, size));
        auto imported =
            test::run_process({JOULECAST_BINARY, "runs", "--db", db, "import", cut.string()}, options(dir));
        EXPECT_EQ(imported.exit_code, 1) << imported.out << imported.err;
        EXPECT_NE(imported.out.find("0 imported, 0 already present, 1 refused"), std::string::npos)
            << imported.out;
        EXPECT_NE(imported.err.find("refused " + cut.string() + ": is cut short (truncated JSON, " +
                                    std::to_string(size) + " bytes)"),
                  std::string::npos)
            << imported.err;
    }
    auto listed = test::run_process({JOULECAST_BINARY, "runs", "--db", db, "list", "--json"}, options(dir));
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_EQ(Json::parse(listed.out).size(), 0u) << "nothing imported: " << listed.out;
    // The whole document goes in: the refusals were the cuts, not the store.
    auto whole = test::run_process(
        {JOULECAST_BINARY, "runs", "--db", db, "import", dir.str() + "/whole.json"}, options(dir));
    EXPECT_EQ(whole.exit_code, 0) << whole.err;
    EXPECT_NE(whole.out.find("1 imported, 0 already present, 0 refused"), std::string::npos) << whole.out;
}

TEST(JobsEndToEnd, AnalyzeAndReportByJobMakeTheNodesOfAJobOneRow) {
    TempDir dir;
    const std::string jc = quoted(JOULECAST_BINARY);
    // Node i (200 W, 300 W) trains model mlp at batch 32 on (i + 1) * 300 samples and reports an accuracy.
    auto node_work = [&](int i) {
        return "sh -c " + quoted(jc + " mark meta model=mlp batch_size=32; " + jc +
                                 " mark begin train; sleep 0.4; " + jc + " mark end train samples=" +
                                 std::to_string((i + 1) * 300) + "; " + jc + " mark metric accuracy=0.9");
    };
    auto both = run_both(node_command(dir, 0, 200, node_work(0)), node_command(dir, 1, 300, node_work(1)),
                         options(dir));
    ASSERT_EQ(both.exit_code, 0) << both.out << both.err;
    const Json n0 = test::read_json(dir.path() / "node0.json");
    const Json n1 = test::read_json(dir.path() / "node1.json");
    const std::string db = dir.str() + "/all.db";
    // A run of no job in the same store (batch 64), and job K whose second node's command failed.
    auto lone = test::run_process({JOULECAST_BINARY, "run", "--quiet", "--db", db, "--", "sh", "-c",
                                   jc + " mark meta model=mlp batch_size=64; " + jc + " mark begin train; " +
                                       "sleep 0.2; " + jc + " mark end train samples=100"},
                                  options(dir));
    ASSERT_EQ(lone.exit_code, 0) << lone.err;
    for (const char* command : {"true", "false"})
        test::run_process({JOULECAST_BINARY, "run", "--quiet", "--job", "K", "--no-store", "--json",
                           dir.str() + "/k-" + command + ".json", "--", command},
                          options(dir));
    auto imported = test::run_process(
        {JOULECAST_BINARY, "runs", "--db", db, "import", dir.str() + "/node0.json", dir.str() + "/node1.json",
         dir.str() + "/k-true.json", dir.str() + "/k-false.json"},
        options(dir));
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    auto analyze = [&](std::vector<std::string> extra) {
        std::vector<std::string> argv = {JOULECAST_BINARY, "analyze", "--db", db};
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto ran = test::run_process(argv, options(dir));
        EXPECT_EQ(ran.exit_code, 0) << ran.err;
        return ran;
    };

    // Per run: the two nodes are two rows, each with its own node's samples (the lone run and K's completed
    // one too).
    EXPECT_EQ(Json::parse(analyze({"--json"}).out)["runs"].size(), 4u);

    const Json a = Json::parse(analyze({"--by-job", "--json"}).out);
    EXPECT_EQ(a["options"]["by_job"], true);
    EXPECT_EQ(a["by_job"]["jobs"], 1);
    EXPECT_EQ(a["by_job"]["job_runs"], 2);
    ASSERT_EQ(a["runs"].size(), 2u) << a["runs"].dump();
    const Json* job = nullptr;
    for (const auto& row : a["runs"])
        if (row["id"] == "J") job = &row;
    ASSERT_NE(job, nullptr) << a["runs"].dump();
    EXPECT_EQ((*job)["merged_job"], true);
    EXPECT_EQ((*job)["nodes"], 2);
    EXPECT_EQ((*job)["model"], "mlp");
    EXPECT_EQ((*job)["batch_size"], 32);
    EXPECT_EQ((*job)["accuracy"], 0.9);
    // Energy summed over the nodes, samples over all of them, E/sample the two divided.
    const double total = total_j(n0) + total_j(n1);
    EXPECT_NEAR((*job)["total_energy_j"].get<double>(), total, 1e-9 * total);
    const double train_j = n0["phases"][0]["energy_j"]["total"].get<double>() +
                           n1["phases"][0]["energy_j"]["total"].get<double>();
    EXPECT_NEAR((*job)["training_energy_j"].get<double>(), train_j, 1e-6 * train_j);
    EXPECT_EQ((*job)["training_samples"], 900);
    EXPECT_EQ((*job)["basis"], "training");
    EXPECT_NEAR((*job)["energy_per_sample_j"].get<double>(), train_j / 900, 1e-6 * train_j / 900);
    // Against the fake GPUs' known power: 200 W and 300 W over each node's train phase (1%).
    auto phase_s = [](const Json& n) {
        return n["phases"][0]["end_s"].get<double>() - n["phases"][0]["start_s"].get<double>();
    };
    const double expected = 200 * phase_s(n0) + 300 * phase_s(n1);
    EXPECT_NEAR((*job)["training_energy_j"].get<double>(), expected, 0.01 * expected);
    EXPECT_EQ((*job)["method"]["label"], "measured");
    // Job K is left out whole: one of its nodes failed.
    bool k_left_out = false;
    for (const auto& w : a["warnings"])
        if (w.get<std::string>().find("job K (2 runs) left out: its run ") != std::string::npos &&
            w.get<std::string>().find(" is failed (a job is analysed whole)") != std::string::npos)
            k_left_out = true;
    EXPECT_TRUE(k_left_out) << a["warnings"].dump();

    // --job J --by-job: the job alone, still one row of both nodes.
    const Json only = Json::parse(analyze({"--job", "J", "--by-job", "--json"}).out);
    ASSERT_EQ(only["runs"].size(), 1u);
    EXPECT_EQ(only["runs"][0]["nodes"], 2);
    EXPECT_EQ(only["runs"][0]["training_samples"], 900);

    const auto text = analyze({"--by-job"});
    EXPECT_NE(text.out.find("J (2 nodes)"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("by job: 1 job merged from 2 runs"), std::string::npos) << text.out;

    auto report = test::run_process(
        {JOULECAST_BINARY, "report", "--db", db, "--by-job", "--html", dir.str() + "/report.html"},
        options(dir));
    EXPECT_EQ(report.exit_code, 0) << report.err;
    EXPECT_NE(
        report.out.find("(2 runs analysed of 5 matching; by job: 1 job merged from 2 runs, each one unit)"),
        std::string::npos)
        << report.out;
}

TEST(JobsEndToEnd, TwoTorchrunNodesOnOneMachineMergeIntoOneJob) {
    if (std::system("torchrun --help >/dev/null 2>&1") != 0)
        GTEST_SKIP()
            << "torchrun is not on PATH or cannot import torch (scripts/setup.sh installs python3-torch)";
    TempDir dir;
    auto script = dir.write("ddp.py", test::ddp_training_script);
    const int port = free_port();
    ASSERT_GT(port, 0);
    auto torchrun = [&](int node_rank) {
        // Debian 12's torchrun fails with its default --redirects 0; --redirects 1 --tee 2 avoids it.
        return "torchrun --nnodes=2 --node_rank=" + std::to_string(node_rank) +
               " --nproc_per_node=1 --master_addr=127.0.0.1 --master_port=" + std::to_string(port) +
               " --redirects 1 --tee 2 " + quoted(script.string());
    };
    auto both = run_both(node_command(dir, 0, 200, torchrun(0)), node_command(dir, 1, 300, torchrun(1)),
                         options(dir));
    ASSERT_EQ(both.exit_code, 0) << both.out << both.err;
    const Json n0 = test::read_json(dir.path() / "node0.json");
    const Json n1 = test::read_json(dir.path() / "node1.json");
    // The node rank comes from the ranks' hello lines (GROUP_RANK is set for torchrun's children only).
    EXPECT_EQ(n0["job"]["node_rank"], 0);
    EXPECT_EQ(n1["job"]["node_rank"], 1);
    EXPECT_EQ(n1["job"]["node_rank_source"], "hello");

    const std::string db = dir.str() + "/all.db";
    auto imported = test::run_process({JOULECAST_BINARY, "runs", "--db", db, "import",
                                       dir.str() + "/node0.json", dir.str() + "/node1.json"},
                                      options(dir));
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    const Json job = job_show(dir, db);
    ASSERT_EQ(job["nodes"].size(), 2u);
    const double sum = total_j(n0) + total_j(n1);
    EXPECT_NEAR(total_j(job), sum, 0.005 * sum);
    // Samples are the job's: 300 + 600 over both nodes, in the train phase and in all.
    EXPECT_EQ(job["samples"], 900);
    ASSERT_EQ(job["phases"].size(), 1u) << job["phases"].dump();
    const Json& train = job["phases"][0];
    EXPECT_EQ(train["samples"], 900);
    const double train_j = n0["phases"][0]["energy_j"]["total"].get<double>() +
                           n1["phases"][0]["energy_j"]["total"].get<double>();
    EXPECT_NEAR(train["energy_j"].get<double>(), train_j, 0.005 * train_j);
    EXPECT_NEAR(train["energy_per_sample_j"].get<double>(), train_j / 900, 0.005 * train_j / 900);
    // The phase spans both nodes on the wall clock: from the earliest begin to the latest end.
    const double o0 = *parse_iso8601(n0["started_at"].get<std::string>());
    const double o1 = *parse_iso8601(n1["started_at"].get<std::string>());
    const double origin = std::min(o0, o1);
    const double begin = std::min(o0 + n0["phases"][0]["start_s"].get<double>(),
                                  o1 + n1["phases"][0]["start_s"].get<double>()) -
                         origin;
    const double end =
        std::max(o0 + n0["phases"][0]["end_s"].get<double>(), o1 + n1["phases"][0]["end_s"].get<double>()) -
        origin;
    EXPECT_NEAR(train["start_s"].get<double>(), begin, 1e-6);
    EXPECT_NEAR(train["end_s"].get<double>(), end, 1e-6);
    ASSERT_EQ(job["epochs"].size(), 3u);
    for (const auto& epoch : job["epochs"]) EXPECT_EQ(epoch["samples"], 300);
}

// Rank r marks 3 epochs of (r + 1) * 100 samples inside one train phase.
const std::string marks = test::rank_marks_script(3, 0.2);

TEST(JobsEndToEnd, TwoRunsOfOneJobStartedTogetherOnOneNodeAreOneMeasurement) {
    if (std::system("python3 -c 'import sys' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is missing";
    TempDir dir;
    auto script = dir.write("marks.py", marks);
    test::ProcessOptions o = options(dir);
    o.env["XDG_RUNTIME_DIR"] = dir.str();  // the job's lock files
    const std::string db = dir.str() + "/node.db";
    auto task = [&](int rank, int status) {
        // Like `srun --ntasks-per-node=2 joulecast run -- python3 train.py`: one joulecast per task.
        const std::string json = dir.str() + "/task" + std::to_string(rank) + ".json";
        return "timeout 60 " + quoted(JOULECAST_BINARY) + " run --quiet --job J --db " + quoted(db) +
               " --json " + quoted(json) + " -- sh -c " +
               quoted("RANK=" + std::to_string(rank) + " LOCAL_RANK=" + std::to_string(rank) +
                      " WORLD_SIZE=2 python3 " + script.string() + " && exit " + std::to_string(status));
    };
    auto both = run_both(task(0, 3), task(1, 5), o);
    // Each joulecast exits with its own command's status.
    EXPECT_NE(both.out.find("node0=3 node1=5"), std::string::npos) << both.out << both.err;
    // Exactly one measurement: one run in the store, one result, with both tasks' ranks in it.
    auto listed = test::run_process({JOULECAST_BINARY, "runs", "--db", db, "list", "--json"}, o);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    ASSERT_EQ(Json::parse(listed.out).size(), 1u) << listed.out;
    const bool first = std::filesystem::exists(dir.path() / "task0.json");
    const bool second = std::filesystem::exists(dir.path() / "task1.json");
    ASSERT_NE(first, second) << "one result file, of the run that measured";
    const Json result = test::read_json(dir.path() / (first ? "task0.json" : "task1.json"));
    ASSERT_EQ(result["ranks"].size(), 2u) << result["ranks"].dump();
    ASSERT_EQ(result["phases"].size(), 1u) << result["phases"].dump();
    EXPECT_EQ(result["phases"][0]["samples"], 900);
    ASSERT_EQ(result["epochs"].size(), 3u);
    EXPECT_EQ(result["epochs"][0]["samples"], 300);
}

}  // namespace
}  // namespace joulecast
