// End to end: `joulecast run` reports the job's attributed CPU energy beside the gross, from a fake RAPL
// package that a test thread advances at 50 W while the command burns CPU; and says "unmeasurable" where
// there is no /proc to read.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "core/format.hpp"
#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using core::format_energy_fixed;

namespace {

using test::run_process;
using test::TempDir;

TEST(AttributionEndToEnd, AJobBurningCpuGetsAShareOfThePackageNoMoreThanTheGross) {
    TempDir dir;
    const std::string zone = "sys/class/powercap/intel-rapl:0/";
    dir.write(zone + "name", "package-0\n");
    dir.write(zone + "max_energy_range_uj", "262143328850\n");
    dir.write(zone + "energy_uj", "0\n");
    std::atomic<bool> stop{false};
    std::thread advance([&] {  // 50 W: 1 J every 20 ms
        long long uj = 0;
        while (!stop.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            uj += 1'000'000;
            dir.write(zone + "energy_uj", std::to_string(uj) + "\n");
        }
    });
    test::ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    options.env["JOULECAST_SYSFS_ROOT"] = dir.str() + "/sys";
    const auto json = dir.path() / "r.json";
    auto r = run_process({JOULECAST_BINARY, "run", "--json", json.string(), "--", "sh", "-c",
                          "timeout 1 sh -c 'while :; do :; done'; exit 0"},
                         options);
    stop = true;
    advance.join();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = test::read_json(json);
    const auto& a = result["attributed"];
    ASSERT_TRUE(a["cpu_j"].is_number()) << a.dump();
    EXPECT_GT(a["cpu_j"].get<double>(), 0.0);
    EXPECT_LE(a["cpu_j"].get<double>(), a["gross_cpu_j"].get<double>() + 1e-9);
    EXPECT_NEAR(a["gross_cpu_j"].get<double>(), result["energy_j"]["cpu"].get<double>(), 1e-9);
    EXPECT_NE(a["method"].get<std::string>().find("process tree"), std::string::npos);
    EXPECT_NE((r.out + r.err).find("attributed to the job"), std::string::npos) << r.out << r.err;

    // The stored run shows the same share, with the gross it was taken of.
    auto shown = run_process({JOULECAST_BINARY, "runs", "show", result["id"].get<std::string>()}, options);
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_NE(shown.out.find("attributed " +
                             format_energy_fixed(a["cpu_j"].get<double>() + a["dram_j"].get<double>())),
              std::string::npos)
        << shown.out;
    EXPECT_NE(shown.out.find("its share of busy CPU time"), std::string::npos) << shown.out;
}

TEST(AttributionEndToEnd, WithoutProcTheResultSaysUnmeasurable) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, "gpus=1;gpu0.power=100");
    const auto json = dir.path() / "r.json";
    auto r =
        run_process({JOULECAST_BINARY, "run", "--quiet", "--json", json.string(), "--", "true"}, options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto result = test::read_json(json);
    const auto& a = result["attributed"];
    EXPECT_TRUE(a["cpu_j"].is_null());
    EXPECT_NE(a["reason"].get<std::string>().find("unmeasurable"), std::string::npos) << a.dump();
}

}  // namespace
}  // namespace joulecast
