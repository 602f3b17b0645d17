// End to end: a GPU that reports neither an energy counter nor power (the fake NVML's unsupported calls) is
// not measured, and both `sensors` and the run's result say so, instead of counting it as 0 J.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::run_process;
using test::TempDir;

TEST(UnmeasuredGpu, NeitherEnergyNorPowerIsAReasonInSensorsAndTheResultNotZeroJoules) {
    TempDir dir;
    auto options =
        test::fake_gpu_options(dir, "gpus=2;gpu0.energy=unsupported;gpu0.power=unsupported;gpu1.power=200");
    auto sensors = run_process({JOULECAST_BINARY, "sensors"}, options);
    EXPECT_EQ(sensors.exit_code, 0) << sensors.err;
    EXPECT_NE(sensors.out.find("gpu0 Fake GPU 0: energy counter no, no power reading (Not Supported); this "
                               "GPU's energy is not measured"),
              std::string::npos)
        << sensors.out;

    const auto json = dir.path() / "r.json";
    auto r = run_process({JOULECAST_BINARY, "run", "--json", json.string(), "--", "sleep", "1"}, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("gpu0 Fake GPU 0: neither an energy counter (Not Supported) nor a power reading"),
              std::string::npos)
        << r.err;
    const auto result = test::read_json(json);
    bool warned = false;
    for (const auto& w : result["warnings"])
        warned = warned || w.get<std::string>().find("gpu0 Fake GPU 0: neither") != std::string::npos;
    EXPECT_TRUE(warned) << result["warnings"].dump();
    // Only gpu1 is a source of GPU energy: 200 W for about 1 s.
    for (const auto& source : result["sources"]) EXPECT_NE(source["device"], "gpu0") << source.dump();
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 200.0 * result["duration_s"].get<double>(), 10.0);
}

}  // namespace
}  // namespace joulecast
