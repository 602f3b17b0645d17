// End to end: `joulecast run` over a fake /sys/class/hwmon tree whose counters a test thread advances in real
// time at known rates: an amdgpu card counter at 150 W, an Intel i915 GPU at 40 W, and an ACPI power meter
// reading 300 W for the whole node. The GPUs' energies come out within 2% of power x duration from their
// counters, and the node meter is reported but never added to the total.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>

#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::run_process;
using test::TempDir;

const nlohmann::json* source_of(const nlohmann::json& result, const std::string& device) {
    for (const auto& s : result["sources"])
        if (s["device"] == device) return &s;
    return nullptr;
}

TEST(HwmonEndToEnd, GpuCountersGiveKnownEnergyAndTheNodeMeterIsNotAdded) {
    TempDir dir;
    const std::string hwmon = "sys/class/hwmon/";
    dir.write(hwmon + "hwmon0/name", "amdgpu\n");
    dir.write(hwmon + "hwmon1/name", "i915\n");
    dir.write(hwmon + "hwmon2/name", "power_meter\n");
    dir.write(hwmon + "hwmon2/power1_average", "300000000\n");  // µW
    const std::string amd = hwmon + "hwmon0/energy1_input", intel = hwmon + "hwmon1/energy1_input";
    // Counters follow the real clock (µJ = 5e6 + W x elapsed), so a late wake-up of this thread delays a
    // value but never loses energy. Each value is written in place at a fixed width (pwrite at offset 0, as
    // the kernel's files change), so that a read never sees an emptied file.
    auto write_counter = [](int fd, double microjoules) {
        char text[32];
        const int n =
            std::snprintf(text, sizeof text, "%015lld\n", static_cast<long long>(std::llround(microjoules)));
        return pwrite(fd, text, static_cast<std::size_t>(n), 0) == n;
    };
    dir.write(amd, "");
    dir.write(intel, "");
    const int amd_fd = open((dir.path() / amd).c_str(), O_WRONLY | O_CLOEXEC);
    const int intel_fd = open((dir.path() / intel).c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(amd_fd, 0);
    ASSERT_GE(intel_fd, 0);
    ASSERT_TRUE(write_counter(amd_fd, 5e6) && write_counter(intel_fd, 7e6));
    std::atomic<bool> stop{false};
    std::thread advance([&] {
        const auto start = std::chrono::steady_clock::now();
        while (!stop.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            const double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            write_counter(amd_fd, 5e6 + 150e6 * elapsed);
            write_counter(intel_fd, 7e6 + 40e6 * elapsed);
        }
    });
    test::ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    options.env["JOULECAST_SYSFS_ROOT"] = dir.str() + "/sys";
    const auto json = dir.path() / "r.json";
    auto r = run_process({JOULECAST_BINARY, "run", "--json", json.string(), "--", "sleep", "2"}, options);
    stop = true;
    advance.join();
    close(amd_fd);
    close(intel_fd);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto result = test::read_json(json);
    const double duration = result["duration_s"];

    const auto* amdgpu = source_of(result, "amdgpu0");
    const auto* intel_gpu = source_of(result, "intel-gpu0");
    ASSERT_TRUE(amdgpu && intel_gpu) << result["sources"].dump();
    EXPECT_EQ((*amdgpu)["method"], "counter");
    EXPECT_EQ((*intel_gpu)["method"], "counter");
    EXPECT_NEAR((*amdgpu)["energy_j"].get<double>(), 150.0 * duration, 0.02 * 150.0 * duration);
    EXPECT_NEAR((*intel_gpu)["energy_j"].get<double>(), 40.0 * duration, 0.02 * 40.0 * duration);
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 190.0 * duration, 0.02 * 190.0 * duration);

    // The node meter: its energy is reported, not accounted, and the total holds only the components.
    bool node_seen = false;
    for (const auto& s : result["sources"]) {
        if (s["domain"] != "node") continue;
        node_seen = true;
        EXPECT_FALSE(s["accounted"].get<bool>()) << s.dump();
        EXPECT_NEAR(s["energy_j"].get<double>(), 300.0 * duration, 0.02 * 300.0 * duration) << s.dump();
    }
    EXPECT_TRUE(node_seen) << result["sources"].dump();
    const double components = result["energy_j"]["gpu"].get<double>() +
                              result["energy_j"]["cpu"].get<double>() +
                              result["energy_j"]["dram"].get<double>();
    EXPECT_NEAR(result["energy_j"]["total"].get<double>(), components, 1e-6 * components);
}

}  // namespace
}  // namespace joulecast
