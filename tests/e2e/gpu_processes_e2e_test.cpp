// End to end: the job's own GPUs, from NVML's running-process list. A fake NVML lists, on its GPUs, the
// measured command's pid (written by the command into a file the fake reads at each call) and the pid of an
// outside process this test starts, each at a known SM utilisation.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::run_process;
using test::TempDir;

/// An outside process (not in the job's tree) for as long as the test holds it.
class Outsider {
public:
    Outsider() : m_pid(test::start_process({"/bin/sleep", "60"})) {}
    ~Outsider() {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, nullptr, 0);
    }
    pid_t pid() const { return m_pid; }

private:
    pid_t m_pid;
};

/// A fake GPU library's script in which "@JOB" stands for the job's pid file.
std::string job_script(const TempDir& dir, std::string script) {
    for (std::size_t at = script.find("@JOB"); at != std::string::npos; at = script.find("@JOB"))
        script.replace(at, 4, "@" + dir.str() + "/job.pid");
    return script;
}

/// `joulecast run FLAGS -- sh -c 'echo $$ > job.pid; sleep S'` under `options`.
nlohmann::json run_job_under(const TempDir& dir, const test::ProcessOptions& options,
                             std::vector<std::string> flags, const char* seconds = "1.5",
                             std::string* summary = nullptr) {
    const std::string pid_file = dir.str() + "/job.pid";
    std::filesystem::remove(pid_file);  // a previous job's pid is no process of this one
    const auto json = dir.path() / "r.json";
    // Stored only when the flags name a store (--db PATH).
    const bool stored = std::find(flags.begin(), flags.end(), "--db") != flags.end();
    std::vector<std::string> argv = {JOULECAST_BINARY, "run", "--json", json.string()};
    if (!stored) argv.push_back("--no-store");
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(),
                {"--", "sh", "-c", "echo $$ > " + pid_file + "; sleep " + std::string(seconds) + "; exit 0"});
    auto r = run_process(argv, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (summary) *summary = r.err;
    return test::read_json(json);
}

/// The fake NVML with `script` (see job_script) and the real /proc, so that the job's tree can be followed.
test::ProcessOptions nvml_options(const TempDir& dir, const std::string& script) {
    auto options = test::fake_gpu_options(dir, job_script(dir, script));
    options.env["JOULECAST_PROC_ROOT"] = "/proc";
    return options;
}

/// run_job_under the fake NVML's `script`.
nlohmann::json run_job(const TempDir& dir, const std::string& script, std::vector<std::string> flags,
                       const char* seconds = "1.5", std::string* summary = nullptr) {
    return run_job_under(dir, nvml_options(dir, script), std::move(flags), seconds, summary);
}

const nlohmann::json& gpu(const nlohmann::json& result, int index) {
    for (const auto& g : result["host"]["gpus"])
        if (g["index"] == index) return g;
    ADD_FAILURE() << "no gpu" << index << " in " << result["host"].dump();
    static const nlohmann::json none;
    return none;
}

TEST(GpuProcessesEndToEnd, GpusUsedKeepsTheGpusWhereTheJobHoldsAContextAndFlagsSharedOnes) {
    TempDir dir;
    Outsider other;
    const std::string outsider = std::to_string(other.pid());
    // gpu0: the job and the outsider; gpu1: the outsider alone; gpu2: nobody.
    auto result = run_job(dir,
                          "gpus=3;gpu0.power=300;gpu1.power=200;gpu2.power=100;gpu0.procs=@JOB," + outsider +
                              ";gpu1.procs=" + outsider,
                          {"--gpus", "used"});
    const double duration = result["duration_s"];
    // Only gpu0's 300 W stays in the totals.
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 300.0 * duration, 0.02 * 300.0 * duration)
        << result["sources"].dump();
    const auto& g0 = gpu(result, 0);
    EXPECT_EQ(g0["used"], true);
    EXPECT_EQ(g0["shared"], true);
    EXPECT_EQ(g0["other_pids"], nlohmann::json::array({other.pid()}));
    ASSERT_EQ(g0["job_pids"].size(), 1u);
    EXPECT_NEAR(g0["energy_j"].get<double>(), 300.0 * duration, 0.02 * 300.0 * duration);
    EXPECT_EQ(gpu(result, 1)["used"], false);
    EXPECT_EQ(gpu(result, 1)["shared"], true);
    EXPECT_TRUE(gpu(result, 1)["energy_j"].is_null()) << gpu(result, 1).dump();
    EXPECT_EQ(gpu(result, 2)["used"], false);
    EXPECT_EQ(gpu(result, 2)["shared"], false);
    EXPECT_NE(result["warnings"].dump().find("left out of the totals"), std::string::npos)
        << result["warnings"].dump();

    // Without --gpus used every visible GPU counts, and each still says whether the job used it.
    auto all = run_job(
        dir, "gpus=3;gpu0.power=300;gpu1.power=200;gpu2.power=100;gpu0.procs=@JOB;gpu1.procs=" + outsider,
        {});
    const double all_s = all["duration_s"];
    EXPECT_NEAR(all["energy_j"]["gpu"].get<double>(), 600.0 * all_s, 0.02 * 600.0 * all_s);
    EXPECT_EQ(gpu(all, 0)["used"], true);
    EXPECT_EQ(gpu(all, 0)["shared"], false);
    EXPECT_EQ(gpu(all, 1)["used"], false);
}

TEST(GpuProcessesEndToEnd, GpusUsedLeavesOutAnUnusedGpuWithoutAnEnergyCounterToo) {
    TempDir dir;
    // gpu1 has no energy counter (its energy is integrated from power) and no process of the job.
    auto result =
        run_job(dir, "gpus=2;gpu0.power=300;gpu1.power=200;gpu1.energy=not_supported;gpu0.procs=@JOB",
                {"--gpus", "used"});
    const double duration = result["duration_s"];
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 300.0 * duration, 0.02 * 300.0 * duration)
        << result["sources"].dump();
    EXPECT_EQ(gpu(result, 1)["used"], false);
}

TEST(GpuProcessesEndToEnd, GpusUsedLeavesTheUnusedGpusOutOfTheStoredTraceToo) {
    TempDir dir;
    const std::string db = dir.str() + "/runs.db";
    auto result =
        run_job(dir, "gpus=2;gpu0.power=300;gpu1.power=200;gpu0.procs=@JOB", {"--gpus", "used", "--db", db});
    // What is read back from the store counts what the result counted: gpu1's channels are unaccounted.
    const std::string exported = dir.str() + "/export.json";
    auto r = run_process({JOULECAST_BINARY, "runs", "export", "--db", db, "--format", "json", "--readings",
                          "--output", exported},
                         test::fake_gpu_options(dir, ""));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto runs = test::read_json(exported);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0]["energy_j"]["gpu"], result["energy_j"]["gpu"]);
    int gpu0 = 0, gpu1 = 0;
    for (const auto& c : runs[0]["trace"]["channels"]) {
        if (c["domain"] != "gpu") continue;  // the job-gpu share channels are in no total
        if (c["device"] == "gpu0" && c["accounted"] == true) ++gpu0;
        if (c["device"] == "gpu1") {
            EXPECT_EQ(c["accounted"], false) << c.dump();
            ++gpu1;
        }
    }
    EXPECT_GT(gpu0, 0) << "gpu0 stays in the totals";
    EXPECT_GT(gpu1, 0) << "gpu1's channels were recorded";
}

const nlohmann::json& attributed_gpu(const nlohmann::json& result, const std::string& device) {
    for (const auto& g : result["attributed"]["gpus"])
        if (g["device"] == device) return g;
    ADD_FAILURE() << "no " << device << " in " << result["attributed"].dump();
    static const nlohmann::json none;
    return none;
}

/// `options` plus the fake ROCm SMI with `script` (see job_script).
test::ProcessOptions with_amd_gpus(test::ProcessOptions options, const TempDir& dir,
                                   const std::string& script) {
    options.env["JOULECAST_ROCM_SMI_LIBRARY"] = FAKE_ROCM_SMI_LIBRARY;
    options.env["FAKE_ROCM_SMI_SCRIPT"] = job_script(dir, script);
    return options;
}

std::map<std::string, nlohmann::json> gpus_by_device(const nlohmann::json& result) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& g : result["host"]["gpus"]) out[g["device"].get<std::string>()] = g;
    return out;
}

TEST(GpuProcessesEndToEnd, AnAmdGpuIsNotTakenForTheNvidiaGpuOfTheSameIndex) {
    // NVML's gpu0 (300 W) runs the job; ROCm SMI's amdgpu0 (100 W), index 0 too, runs an outsider only.
    TempDir dir;
    Outsider other;
    const auto options = with_amd_gpus(nvml_options(dir, "gpus=1;gpu0.power=300;gpu0.procs=@JOB"), dir,
                                       "gpus=1;gpu0.power=100;gpu0.procs=" + std::to_string(other.pid()));
    const auto result = run_job_under(dir, options, {"--gpus", "used"});
    const double duration = result["duration_s"];
    auto by_device = gpus_by_device(result);
    ASSERT_EQ(by_device.size(), 2u) << result["host"].dump();
    const auto& nvidia = by_device["gpu0"];
    const auto& amd = by_device["amdgpu0"];
    EXPECT_EQ(nvidia["index"], 0);
    EXPECT_EQ(amd["index"], 0);
    // Each GPU's processes and energy are its own: the job's GPU stays, the outsider's is left out.
    EXPECT_EQ(nvidia["used"], true);
    EXPECT_EQ(nvidia["job_pids"].size(), 1u);
    EXPECT_EQ(nvidia["other_pids"], nlohmann::json::array());
    EXPECT_NEAR(nvidia["energy_j"].get<double>(), 300.0 * duration, 0.02 * 300.0 * duration);
    EXPECT_EQ(amd["used"], false) << amd.dump();
    EXPECT_EQ(amd["other_pids"], nlohmann::json::array({other.pid()})) << amd.dump();
    EXPECT_TRUE(amd["energy_j"].is_null()) << amd.dump();
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 300.0 * duration, 0.02 * 300.0 * duration);
    EXPECT_NE(result["warnings"].dump().find("left out of the totals, as no process of the job held a "
                                             "compute context on them: amdgpu0"),
              std::string::npos)
        << result["warnings"].dump();
}

TEST(GpuProcessesEndToEnd, AmdGpuEnergyIsSplitByTheJobsShareOfComputeUnitOccupancy) {
    TempDir dir;
    Outsider other, another;
    const std::string outsider = std::to_string(other.pid());
    // No NVIDIA GPU. amdgpu0: the job at 60 % CU occupancy, an outsider at 20 %: the job's share is 75 %.
    // amdgpu1: another outsider alone (ROCm SMI's occupancy is a process's over all its GPUs, so one
    // outsider on both would count 70 % on amdgpu0).
    auto options = nvml_options(dir, "gpus=0");
    options.env["JOULECAST_NVML_LIBRARY"] = dir.str() + "/no-libnvidia-ml.so";
    const auto result =
        run_job_under(dir,
                      with_amd_gpus(options, dir,
                                    "gpus=2;gpu0.power=200;gpu1.power=100;gpu0.procs=@JOB:60," + outsider +
                                        ":20;gpu1.procs=" + std::to_string(another.pid()) + ":50"),
                      {}, "2.5");
    const auto& a = result["attributed"];
    const auto& g0 = attributed_gpu(result, "amdgpu0");
    ASSERT_TRUE(g0["attributed_j"].is_number()) << a.dump();
    const double gross0 = g0["gross_j"];
    EXPECT_NEAR(gross0, 200.0 * result["duration_s"].get<double>(), 0.02 * gross0);
    EXPECT_NEAR(g0["attributed_j"].get<double>(), 0.75 * gross0, 0.05 * 0.75 * gross0) << g0.dump();
    EXPECT_EQ(g0["method"], "per-process compute-unit occupancy") << g0.dump();
    const auto& g1 = attributed_gpu(result, "amdgpu1");
    EXPECT_EQ(g1["attributed_j"], 0.0) << g1.dump();
    ASSERT_TRUE(a["gpu_j"].is_number()) << a.dump();
    EXPECT_NEAR(a["gpu_j"].get<double>(), g0["attributed_j"].get<double>(), 1e-6);
    auto by_device = gpus_by_device(result);
    EXPECT_EQ(by_device["amdgpu0"]["used"], true);
    EXPECT_EQ(by_device["amdgpu0"]["shared"], true);
    EXPECT_EQ(by_device["amdgpu0"]["other_pids"], nlohmann::json::array({other.pid()}));
    EXPECT_EQ(by_device["amdgpu1"]["used"], false);

    // A ROCm SMI that lists no processes: the share is not measured, and the result says so.
    const auto unlisted = run_job_under(
        dir, with_amd_gpus(options, dir, "gpus=1;gpu0.power=200;no_procs=1;gpu0.procs=@JOB:60"), {}, "1");
    const auto& u = attributed_gpu(unlisted, "amdgpu0");
    EXPECT_TRUE(u["attributed_j"].is_null()) << u.dump();
    EXPECT_FALSE(u["reason"].get<std::string>().empty()) << u.dump();
    EXPECT_TRUE(gpus_by_device(unlisted)["amdgpu0"]["used"].is_null());
}

TEST(GpuProcessesEndToEnd, GpuEnergyIsSplitByTheJobsShareOfSmUtilisation) {
    TempDir dir;
    Outsider other;
    const std::string outsider = std::to_string(other.pid());
    // gpu0: the job at 60 % SM, the outsider at 20 %: the job's share is 75 %. gpu1: the outsider alone.
    // gpu2: both, but NVML gives no per-process utilisation there.
    auto result = run_job(dir,
                          "gpus=3;gpu0.power=200;gpu1.power=100;gpu2.power=50;gpu0.procs=@JOB:60," +
                              outsider + ":20;gpu1.procs=" + outsider + ":50;gpu2.procs=@JOB," + outsider +
                              ";gpu2.process_util=unsupported",
                          {}, "2.5");
    const auto& a = result["attributed"];
    const auto& g0 = attributed_gpu(result, "gpu0");
    ASSERT_TRUE(g0["attributed_j"].is_number()) << a.dump();
    const double gross0 = g0["gross_j"];
    EXPECT_NEAR(gross0, 200.0 * result["duration_s"].get<double>(), 0.02 * gross0);
    EXPECT_NEAR(g0["attributed_j"].get<double>(), 0.75 * gross0, 0.05 * 0.75 * gross0) << g0.dump();
    EXPECT_NE(g0["method"].get<std::string>().find("SM utilisation"), std::string::npos);
    const auto& g1 = attributed_gpu(result, "gpu1");
    EXPECT_EQ(g1["attributed_j"], 0.0) << g1.dump();  // the job has no process there
    EXPECT_NE(g1["method"].get<std::string>().find("no process of the job"), std::string::npos) << g1.dump();
    const auto& g2 = attributed_gpu(result, "gpu2");
    EXPECT_TRUE(g2["attributed_j"].is_null()) << g2.dump();
    EXPECT_NE(g2["reason"].get<std::string>().find("no per-process utilisation"), std::string::npos);
    // Not every GPU could be split: no total, and the reason names the GPU.
    EXPECT_TRUE(a["gpu_j"].is_null()) << a.dump();
    EXPECT_NE(a["gpu_reason"].get<std::string>().find("gpu2"), std::string::npos);
    EXPECT_NEAR(a["gross_gpu_j"].get<double>(), result["energy_j"]["gpu"].get<double>(), 1e-6);

    // With per-process samples everywhere, the total is the sum of the GPUs' shares.
    std::string summary;
    auto split = run_job(
        dir, "gpus=2;gpu0.power=200;gpu1.power=100;gpu0.procs=@JOB:30," + outsider + ":70;gpu1.procs=@JOB:40",
        {}, "2.5", &summary);
    // The summary says where each figure comes from: the gross by the GPU's counter, the share by SM samples.
    EXPECT_NE(summary.find("attributed to the job: GPU gpu0 "), std::string::npos) << summary;
    EXPECT_NE(summary.find("(gross by counter, share by "), std::string::npos) << summary;
    const auto& s = split["attributed"];
    ASSERT_TRUE(s["gpu_j"].is_number()) << s.dump();
    const double s0 = attributed_gpu(split, "gpu0")["gross_j"], s1 = attributed_gpu(split, "gpu1")["gross_j"];
    const double expected = 0.3 * s0 + 1.0 * s1;
    EXPECT_NEAR(s["gpu_j"].get<double>(), expected, 0.05 * expected) << s.dump();
}

TEST(GpuProcessesEndToEnd, MigBoardEnergyIsLabelledAndSplitByInstanceUtilisation) {
    TempDir dir;
    Outsider other;
    const std::string outsider = std::to_string(other.pid());
    // Three instances at 60, 30 and 10 %: the job runs in instance 1, the outsider in 2.
    auto result = run_job(
        dir,
        "gpus=1;gpu0.power=300;gpu0.mig=3;gpu0.mig_util=60,30,10;gpu0.procs=@JOB:0:1," + outsider + ":0:2",
        {}, "2.5");
    const auto& g = gpu(result, 0);
    EXPECT_EQ(g["mig"], true);
    EXPECT_NE(g["energy_scope"].get<std::string>().find("whole board"), std::string::npos);
    EXPECT_EQ(g["job_instances"], nlohmann::json::array({1}));
    const auto& a = attributed_gpu(result, "gpu0");
    ASSERT_TRUE(a["attributed_j"].is_number()) << a.dump();
    const double gross = a["gross_j"];
    EXPECT_NEAR(a["attributed_j"].get<double>(), 0.6 * gross, 0.05 * 0.6 * gross) << a.dump();
    EXPECT_NE(a["method"].get<std::string>().find("MIG"), std::string::npos);

    // Real drivers give no utilisation per MIG instance: then the board cannot be split, and it says so.
    auto unsplit =
        run_job(dir, "gpus=1;gpu0.power=300;gpu0.mig=2;gpu0.procs=@JOB:0:1," + outsider + ":0:2", {});
    const auto& u = attributed_gpu(unsplit, "gpu0");
    EXPECT_TRUE(u["attributed_j"].is_null()) << u.dump();
    EXPECT_NE(u["reason"].get<std::string>().find("cannot be split"), std::string::npos) << u.dump();
}

}  // namespace
}  // namespace joulecast
