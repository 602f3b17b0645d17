// End to end: `joulecast run` measures the GPUs the job can use. A fake NVML with three GPUs at 100, 200 and
// 300 W: CUDA_VISIBLE_DEVICES=0,2 gives 400 W x duration, --gpus overrides it, and what is left out is noted.

#include <gtest/gtest.h>

#include <string>

#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::run_process;
using test::TempDir;

const char* const three_gpus = "gpus=3;gpu0.power=100;gpu1.power=200;gpu2.power=300";

nlohmann::json measure(const TempDir& dir, const std::string& cuda_visible, std::vector<std::string> flags) {
    auto options = test::fake_gpu_options(dir, three_gpus);
    if (!cuda_visible.empty()) options.env["CUDA_VISIBLE_DEVICES"] = cuda_visible;
    const auto json = dir.path() / "r.json";
    std::vector<std::string> argv = {JOULECAST_BINARY, "run",    "--quiet",
                                     "--no-store",     "--json", json.string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--", "sleep", "1"});
    auto r = run_process(argv, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return test::read_json(json);
}

bool notes_mention(const nlohmann::json& result, const std::string& text) {
    return result.dump().find(text) != std::string::npos;
}

void expect_gpu_power(const nlohmann::json& result, double watts) {
    const double duration = result["duration_s"];
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), watts * duration, 0.02 * watts * duration)
        << result["sources"].dump();
}

TEST(GpuSelectionEndToEnd, CudaVisibleDevicesChoosesTheMeasuredGpus) {
    TempDir dir;
    auto result = measure(dir, "0,2", {});
    expect_gpu_power(result, 400.0);
    EXPECT_TRUE(
        notes_mention(result, "gpu1 Fake GPU 1: not measured, not selected by CUDA_VISIBLE_DEVICES=0,2"))
        << result.dump();
}

TEST(GpuSelectionEndToEnd, GpusOptionOverridesTheEnvironment) {
    TempDir dir;
    expect_gpu_power(measure(dir, "0,2", {"--gpus", "all"}), 600.0);
    expect_gpu_power(measure(dir, "0,2", {"--gpus", "GPU-fake-1"}), 200.0);
    expect_gpu_power(measure(dir, "", {}), 600.0);  // no variable: every GPU
    auto named = measure(dir, "", {"--gpus", "1,7"});
    expect_gpu_power(named, 200.0);
    EXPECT_TRUE(notes_mention(named, "--gpus 1,7 names '7', which NVML does not see")) << named.dump();
}

TEST(GpuSelectionEndToEnd, AMalformedGpusOptionIsAUsageError) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, three_gpus);
    auto r = run_process({JOULECAST_BINARY, "run", "--gpus", "gpu0", "--", "true"}, options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--gpus: 'gpu0' is neither a GPU index nor a GPU-/MIG- UUID"), std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace joulecast
