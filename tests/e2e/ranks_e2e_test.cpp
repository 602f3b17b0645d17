// End to end: two ranks of one job on one node, each marking its train phase and epochs with the Python
// client, under `joulecast run` with two fake GPUs of constant power (120 W and 80 W). The result must
// describe the job (one train phase, one epoch per number, samples summed, energy per sample over all ranks'
// samples) and keep each rank's view in ranks[]. Once with two ranks started by a shell (always runs), once
// with a real torchrun gloo DDP job (needs python3-torch).

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "support/ddp_script.hpp"
#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::TempDir;

// Rank r marks 3 epochs of (r + 1) * 100 samples each inside one train phase.
const char* const marks = R"(
import os, time, joulecast
rank = int(os.environ["RANK"])
if os.environ.get("PID_DIR"):  # for the fake NVML's process lists
    open(os.path.join(os.environ["PID_DIR"], "rank%d.pid" % rank), "w").write(str(os.getpid()))
def train_step():
    time.sleep(0.15 + 0.05 * rank)
with joulecast.phase("train") as p:
    for n in range(3):
        train_step()
        joulecast.epoch(samples=(rank + 1) * 100, n=n)
    p.samples = 3 * (rank + 1) * 100
)";

/// Per-rank GPU energy: rank r's GPU is `gpus[r]`, found by `source`; its energy is that GPU's power × the
/// run's duration (1%).
void expect_rank_gpus(const nlohmann::json& result, const std::vector<unsigned>& gpus,
                      const std::string& source) {
    const double watts[] = {120.0, 80.0};
    const double duration = result["duration_s"];
    ASSERT_EQ(result["ranks"].size(), gpus.size());
    for (std::size_t r = 0; r < gpus.size(); ++r) {
        const auto& rank = result["ranks"][r];
        ASSERT_TRUE(rank["gpu"].is_number()) << rank.dump();
        EXPECT_EQ(rank["gpu"], gpus[r]);
        EXPECT_EQ(rank["gpu_device"], "gpu" + std::to_string(gpus[r]));
        EXPECT_EQ(rank["gpu_source"], source);
        const double expected = watts[gpus[r]] * duration;
        EXPECT_NEAR(rank["gpu_energy_j"].get<double>(), expected, 0.01 * expected) << rank.dump();
    }
}

void expect_one_job(const nlohmann::json& result) {
    // One train phase for the job, 900 samples (300 + 600), energy per sample over all of them.
    ASSERT_EQ(result["phases"].size(), 1u) << result["phases"].dump();
    const auto& train = result["phases"][0];
    EXPECT_EQ(train["name"], "train");
    EXPECT_EQ(train["samples"], 900);
    EXPECT_TRUE(train["closed"].get<bool>());
    const double train_j = train["energy_j"]["total"];
    EXPECT_NEAR(train["energy_per_sample_j"].get<double>(), train_j / 900.0, 1e-9 * train_j);
    // The fake GPUs draw 200 W together: the window's GPU energy is 200 W x its length (1%); the CPU and
    // DRAM models add theirs where the test lets joulecast read /proc.
    const double length = train["end_s"].get<double>() - train["start_s"].get<double>();
    EXPECT_NEAR(train["energy_j"]["gpu"].get<double>(), 200.0 * length, 0.01 * 200.0 * length);

    // One epoch per number, none duplicated or of zero length, samples summed (100 + 200).
    ASSERT_EQ(result["epochs"].size(), 3u) << result["epochs"].dump();
    for (int n = 0; n < 3; ++n) {
        const auto& epoch = result["epochs"][n];
        EXPECT_EQ(epoch["n"], n);
        EXPECT_EQ(epoch["samples"], 300);
        EXPECT_GT(epoch["end_s"].get<double>() - epoch["start_s"].get<double>(), 0.05) << n;
        EXPECT_NEAR(epoch["energy_per_sample_j"].get<double>(),
                    epoch["energy_j"]["total"].get<double>() / 300, 1e-9);
    }

    // Each rank's own view.
    ASSERT_EQ(result["ranks"].size(), 2u);
    std::set<long long> pids;
    for (int r = 0; r < 2; ++r) {
        const auto& rank = result["ranks"][r];
        EXPECT_EQ(rank["rank"], r);
        EXPECT_EQ(rank["local_rank"], r);
        EXPECT_EQ(rank["world_size"], 2);
        pids.insert(rank["pid"].get<long long>());
        ASSERT_EQ(rank["phases"].size(), 1u);
        EXPECT_EQ(rank["phases"][0]["samples"], 3 * (r + 1) * 100);
        ASSERT_EQ(rank["epochs"].size(), 3u);
        EXPECT_EQ(rank["epochs"][2]["samples"], (r + 1) * 100);
    }
    EXPECT_EQ(pids.size(), 2u);
    EXPECT_EQ(result["control"]["malformed"], 0);
}

test::ProcessOptions options(const TempDir& dir) {
    test::ProcessOptions o =
        test::fake_gpu_options(dir, "gpus=2;gpu0.power=120;gpu1.power=80;gpu0.procs=@" + dir.str() +
                                        "/rank1.pid;gpu1.procs=@" + dir.str() + "/rank0.pid");
    o.env["PYTHONPATH"] = std::string(PROJECT_SOURCE_DIR) + "/python";
    o.env["PYTHONDONTWRITEBYTECODE"] = "1";
    o.timeout_s = 60;
    return o;
}

TEST(RanksEndToEnd, TwoRanksStartedByAShellAreOneJob) {
    if (std::system("python3 -c 'import sys' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is missing";
    TempDir dir;
    auto script = dir.write("marks.py", marks);
    auto json = dir.path() / "r.json";
    const std::string both = "RANK=0 LOCAL_RANK=0 WORLD_SIZE=2 python3 " + script.string() +
                             " & RANK=1 LOCAL_RANK=1 WORLD_SIZE=2 python3 " + script.string() + " & wait";
    auto o = options(dir);
    // The ranks write their pids where the fake NVML's process lists read them: rank 0 holds a context on
    // gpu1 and rank 1 on gpu0, against their LOCAL_RANK, so NVML's list is what decides.
    o.env["PID_DIR"] = dir.str();
    o.env["JOULECAST_PROC_ROOT"] = "/proc";
    auto r = test::run_process(
        {JOULECAST_BINARY, "run", "--quiet", "--no-store", "--json", json.string(), "--", "sh", "-c", both},
        o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto result = test::read_json(json);
    expect_one_job(result);
    expect_rank_gpus(result, {1, 0}, "nvml processes");
}

TEST(RanksEndToEnd, TorchrunGlooDdpJobIsOneJob) {
    // torchrun starts the ranks with its own interpreter, so its --help working (it imports
    // torch.distributed.run) is the check; the python3 first on PATH may be another one without torch.
    if (std::system("torchrun --help >/dev/null 2>&1") != 0)
        GTEST_SKIP()
            << "torchrun is not on PATH or cannot import torch (scripts/setup.sh installs python3-torch)";
    TempDir dir;
    auto script = dir.write("ddp.py", test::ddp_training_script);
    auto json = dir.path() / "r.json";
    // Debian 12's torchrun fails with its default --redirects 0; --redirects 1 --tee 2 avoids it.
    auto r = test::run_process(
        {JOULECAST_BINARY, "run", "--quiet", "--no-store", "--json", json.string(), "--", "torchrun",
         "--standalone", "--nproc_per_node=2", "--redirects", "1", "--tee", "2", script.string()},
        options(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // No process of the job holds a GPU context (gloo on the CPU): each rank's GPU is its LOCAL_RANK's.
    const auto result = test::read_json(json);
    expect_one_job(result);
    expect_rank_gpus(result, {0, 1}, "LOCAL_RANK");
}

}  // namespace
}  // namespace joulecast
