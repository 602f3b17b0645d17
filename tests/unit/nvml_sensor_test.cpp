// NvmlSensor and the NVML loader against the fake libnvidia-ml (tests/fakes/fake_nvml.cpp), whose power and
// energy counter follow FAKE_NVML_SCRIPT. Times are measured around each call with CLOCK_MONOTONIC, so the
// expected energy is bracketed rather than guessed.

#include <dlfcn.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/text.hpp"
#include "sensors/nvml/nvml_api.hpp"
#include "sensors/nvml/nvml_sensor.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::sensors {

using core::monotonic_ns;
using core::ns_to_s;
using core::read_text_file;
using core::s_to_ns;
using core::starts_with;

namespace {

using namespace std::chrono_literals;

// Sets the fake's environment for one test and clears it afterwards.
class NvmlFakeTest : public ::testing::Test {
protected:
    void SetUp() override { clear(); }
    void TearDown() override { clear(); }

    static void clear() {
        unsetenv("FAKE_NVML_SCRIPT");
        unsetenv("FAKE_NVML_T0_NS");
        unsetenv("FAKE_NVML_STATE");
    }
    static void script(const std::string& text) { setenv("FAKE_NVML_SCRIPT", text.c_str(), 1); }
    /// Puts the fake's time origin `seconds_ago` before now and returns it (CLOCK_MONOTONIC ns).
    static std::int64_t origin(double seconds_ago) {
        const std::int64_t t0 = monotonic_ns() - s_to_ns(seconds_ago);
        setenv("FAKE_NVML_T0_NS", std::to_string(t0).c_str(), 1);
        return t0;
    }

    static std::size_t channel(const Sensor& sensor, const std::string& name) {
        const auto& channels = sensor.channels();
        for (std::size_t i = 0; i < channels.size(); ++i)
            if (channels[i].name == name) return i;
        ADD_FAILURE() << "no channel " << name;
        return channels.size();
    }
    static bool has_channel(const Sensor& sensor, const std::string& name) {
        for (const auto& c : sensor.channels())
            if (c.name == name) return true;
        return false;
    }
    static double read(Sensor& sensor, const std::string& name) {
        double value = -1;
        EXPECT_EQ(sensor.read(channel(sensor, name), value), ReadStatus::ok) << name;
        return value;
    }
    static std::string joined(const std::vector<std::string>& lines) {
        std::string out;
        for (const auto& line : lines) out += line + "\n";
        return out;
    }
};

// Energy of a step from p0 to p1 at `step_s`: integral from 0 to t.
double step_energy(double t, double p0, double p1, double step_s) {
    return p0 * std::min(t, step_s) + p1 * std::max(0.0, t - step_s);
}

using NvmlSensorTest = NvmlFakeTest;

TEST_F(NvmlSensorTest, ConstantPowerCounterMatchesPowerTimesElapsed) {
    script("gpu0.power=300");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    const std::int64_t probe_start = monotonic_ns();
    ASSERT_TRUE(sensor.probe().available);
    const std::int64_t probe_end = monotonic_ns();
    EXPECT_NEAR(read(sensor, "gpu0.energy"), 0.0, 300 * ns_to_s(monotonic_ns() - probe_start) + 0.002);

    std::this_thread::sleep_for(1500ms);
    const std::int64_t read_start = monotonic_ns();
    const double joules = read(sensor, "gpu0.energy");
    const std::int64_t read_end = monotonic_ns();

    const double elapsed_s = ns_to_s((read_start + read_end) / 2 - (probe_start + probe_end) / 2);
    EXPECT_NEAR(joules, 300 * elapsed_s, 0.01 * 300 * elapsed_s);
    // Tighter: the exact integral lies between the bracketing times (1 mJ counter resolution at each end).
    EXPECT_GE(joules, 300 * ns_to_s(read_start - probe_end) - 0.002);
    EXPECT_LE(joules, 300 * ns_to_s(read_end - probe_start) + 0.002);
}

TEST_F(NvmlSensorTest, ChannelsDescribeThemselves) {
    script("gpu0.power=300");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    EXPECT_EQ(sensor.name(), "nvml");
    ASSERT_TRUE(sensor.probe().available);
    const auto& channels = sensor.channels();
    ASSERT_EQ(channels.size(), 7u);
    const Channel& energy = channels[channel(sensor, "gpu0.energy")];
    EXPECT_EQ(energy.quantity, Quantity::energy);
    EXPECT_EQ(energy.behaviour, Behaviour::counter);
    EXPECT_EQ(energy.min_period, 1000ms);
    EXPECT_EQ(energy.domain, "gpu");
    EXPECT_EQ(energy.device, "gpu0");
    EXPECT_FALSE(energy.modelled);
    EXPECT_TRUE(energy.accounted);
    const Channel& power = channels[channel(sensor, "gpu0.power")];
    EXPECT_EQ(power.quantity, Quantity::power);
    EXPECT_EQ(power.behaviour, Behaviour::gauge);
    EXPECT_EQ(power.min_period, 0ms);
    EXPECT_EQ(channels[channel(sensor, "gpu0.utilisation")].quantity, Quantity::utilisation);
    EXPECT_EQ(channels[channel(sensor, "gpu0.memory")].quantity, Quantity::memory);
    EXPECT_EQ(channels[channel(sensor, "gpu0.sm_clock")].quantity, Quantity::clock);
    EXPECT_EQ(channels[channel(sensor, "gpu0.temperature")].quantity, Quantity::temperature);
    EXPECT_EQ(channels[channel(sensor, "gpu0.power_limit")].quantity, Quantity::power_limit);

    double value = 0;
    EXPECT_EQ(sensor.read(channels.size(), value), ReadStatus::error);
}

TEST_F(NvmlSensorTest, PrefersInstantaneousFieldOverAveragedPowerUsage) {
    // 100 W until 9.8 s, then 400 W; the test starts at ~10 s, where the 1 s average is still ~160 W.
    origin(10.0);
    script("gpu0.power=100@0,400@9.8");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.power"), 400.0);
    EXPECT_NE(joined(sensor.notes()).find("power from instantaneous field"), std::string::npos)
        << joined(sensor.notes());
}

TEST_F(NvmlSensorTest, FallsBackToPowerUsageWhenTheFieldIsUnsupported) {
    // The call succeeds but the field's own nvmlReturn says NOT_SUPPORTED: the sensor must check both.
    for (const std::string failure : {"gpu0.instant=unsupported", "gpu0.fields=unsupported"}) {
        SCOPED_TRACE(failure);
        const std::int64_t t0 = origin(10.0);
        script("gpu0.power=100@0,400@9.8;" + failure);
        NvmlSensor sensor(FAKE_NVML_LIBRARY);
        ASSERT_TRUE(sensor.probe().available);
        const double t_start = ns_to_s(monotonic_ns() - t0);
        const double watts = read(sensor, "gpu0.power");
        const double t_end = ns_to_s(monotonic_ns() - t0);
        // Trailing 1 s average of the script: 100 W + 300 W x the part of [t-1, t] after 9.8 s.
        auto average = [](double t) { return 100 + 300 * std::clamp(t - 9.8, 0.0, 1.0); };
        EXPECT_GE(watts, average(t_start) - 0.002);
        EXPECT_LE(watts, average(t_end) + 0.002);
        EXPECT_LT(watts, 300.0);
        EXPECT_NE(joined(sensor.notes()).find("nvmlDeviceGetPowerUsage"), std::string::npos);
    }
}

TEST_F(NvmlSensorTest, StepShowsInPowerAndCounterMatchesTheIntegral) {
    const std::int64_t t0 = origin(0.0);
    script("gpu0.power=100@0,400@0.3");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    const double probe_start = ns_to_s(monotonic_ns() - t0);
    ASSERT_TRUE(sensor.probe().available);
    const double probe_end = ns_to_s(monotonic_ns() - t0);
    ASSERT_LT(probe_end, 0.3) << "probe too slow for this test";
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.power"), 100.0);

    std::this_thread::sleep_until(std::chrono::steady_clock::now() +
                                  std::chrono::nanoseconds(s_to_ns(0.6 - probe_end)));
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.power"), 400.0);
    const double read_start = ns_to_s(monotonic_ns() - t0);
    const double joules = read(sensor, "gpu0.energy");
    const double read_end = ns_to_s(monotonic_ns() - t0);

    auto energy = [](double t) { return step_energy(t, 100, 400, 0.3); };
    EXPECT_GE(joules, energy(read_start) - energy(probe_end) - 0.002);
    EXPECT_LE(joules, energy(read_end) - energy(probe_start) + 0.002);
    // About 100 W x 0.3 s + 400 W x 0.3 s = 150 J.
    EXPECT_NEAR(joules, 150.0, 15.0);
}

TEST_F(NvmlSensorTest, CounterFollowsNvmlUpdatePeriod) {
    // update_ms=100: the counter moves in 300 W x 0.1 s = 30 J steps.
    const std::int64_t t0 = origin(5.0);
    script("update_ms=100;gpu0.power=300");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    const double probe_start = ns_to_s(monotonic_ns() - t0);
    ASSERT_TRUE(sensor.probe().available);
    const double probe_end = ns_to_s(monotonic_ns() - t0);
    std::this_thread::sleep_for(250ms);
    const double read_start = ns_to_s(monotonic_ns() - t0);
    const double joules = read(sensor, "gpu0.energy");
    const double read_end = ns_to_s(monotonic_ns() - t0);

    const double steps = joules / 30.0;
    EXPECT_NEAR(steps, std::round(steps), 1e-4) << joules;
    auto bucket = [](double t) { return std::floor(t / 0.1 + 1e-9); };
    EXPECT_GE(std::round(steps), bucket(read_start) - bucket(probe_end));
    EXPECT_LE(std::round(steps), bucket(read_end) - bucket(probe_start));
}

TEST_F(NvmlSensorTest, GpuWithoutEnergyCounterHasPowerOnly) {
    script("gpu0.energy=unsupported;gpu0.power=250");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_FALSE(has_channel(sensor, "gpu0.energy"));
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.power"), 250.0);
    const std::string notes = joined(sensor.notes());
    EXPECT_NE(notes.find("energy counter no"), std::string::npos) << notes;
    EXPECT_NE(notes.find("integrated from power"), std::string::npos) << notes;
}

TEST_F(NvmlSensorTest, LostGpuReadsLostWithoutCallingNvmlAgain) {
    origin(0.0);
    script("gpu0.lost_after=0.3");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    double value = 0;
    ASSERT_EQ(sensor.read(channel(sensor, "gpu0.power"), value), ReadStatus::ok);

    // The sensor holds the library open, so this dlopen returns the same instance and its call counter.
    void* fake = dlopen(FAKE_NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(fake, nullptr);
    auto call_count = reinterpret_cast<unsigned long long (*)()>(dlsym(fake, "fake_nvml_call_count"));
    ASSERT_NE(call_count, nullptr);

    std::this_thread::sleep_for(350ms);
    EXPECT_EQ(sensor.read(channel(sensor, "gpu0.energy"), value), ReadStatus::lost);
    const unsigned long long calls = call_count();
    EXPECT_EQ(sensor.read(channel(sensor, "gpu0.energy"), value), ReadStatus::lost);
    EXPECT_EQ(sensor.read(channel(sensor, "gpu0.temperature"), value), ReadStatus::lost);
    EXPECT_EQ(call_count(), calls);
    dlclose(fake);
}

TEST_F(NvmlSensorTest, ReadFailuresMapToStatuses) {
    for (const auto& [code, expected] :
         {std::pair{"unsupported", ReadStatus::unsupported}, std::pair{"unknown", ReadStatus::error},
          std::pair{"timeout", ReadStatus::error}}) {
        SCOPED_TRACE(code);
        origin(0.0);
        script(std::string("gpu0.fail_after=0.2;gpu0.fail_code=") + code);
        NvmlSensor sensor(FAKE_NVML_LIBRARY);
        ASSERT_TRUE(sensor.probe().available);
        std::this_thread::sleep_for(250ms);
        double value = 0;
        EXPECT_EQ(sensor.read(channel(sensor, "gpu0.power"), value), expected);
        EXPECT_EQ(sensor.read(channel(sensor, "gpu0.energy"), value), expected);
    }
}

TEST_F(NvmlSensorTest, TwoGpus) {
    script(
        "gpus=2;gpu*.utilisation=87;gpu0.power=300;gpu1.power=100;gpu1.energy=unsupported;"
        "gpu1.instant=unsupported;gpu0.name=NVIDIA H100 80GB HBM3;gpu0.uuid=GPU-0a;gpu1.uuid=GPU-1b;"
        "gpu1.power_limit=250;gpu0.memory_used=2000000;gpu0.sm_clock=1755;gpu0.temperature=61");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);

    const auto gpus = sensor.gpus();
    ASSERT_EQ(gpus.size(), 2u);
    EXPECT_EQ(gpus[0].index, 0u);
    EXPECT_EQ(gpus[0].name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(gpus[0].uuid, "GPU-0a");
    EXPECT_DOUBLE_EQ(gpus[0].power_limit_w, 700.0);
    EXPECT_EQ(gpus[1].index, 1u);
    EXPECT_EQ(gpus[1].name, "Fake GPU 1");
    EXPECT_EQ(gpus[1].uuid, "GPU-1b");
    EXPECT_DOUBLE_EQ(gpus[1].power_limit_w, 250.0);

    EXPECT_TRUE(has_channel(sensor, "gpu0.energy"));
    EXPECT_FALSE(has_channel(sensor, "gpu1.energy"));
    EXPECT_EQ(sensor.channels()[channel(sensor, "gpu1.power")].device, "gpu1");
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.power"), 300.0);
    EXPECT_DOUBLE_EQ(read(sensor, "gpu1.power"), 100.0);  // constant, so the 1 s average is exact too
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.utilisation"), 87.0);
    EXPECT_DOUBLE_EQ(read(sensor, "gpu1.utilisation"), 87.0);
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.memory"), 2000000.0);
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.sm_clock"), 1755.0);
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.temperature"), 61.0);
    EXPECT_DOUBLE_EQ(read(sensor, "gpu1.power_limit"), 250.0);

    const auto notes = sensor.notes();
    ASSERT_EQ(notes.size(), 2u);
    EXPECT_EQ(notes[0], "gpu0 NVIDIA H100 80GB HBM3: energy counter yes, power from instantaneous field");
    EXPECT_NE(notes[1].find("gpu1 Fake GPU 1: energy counter no"), std::string::npos) << notes[1];
    EXPECT_NE(notes[1].find("nvmlDeviceGetPowerUsage"), std::string::npos) << notes[1];
}

TEST_F(NvmlSensorTest, ProbeAgainStartsAfresh) {
    script("gpus=2");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_EQ(sensor.gpus().size(), 2u);
    script("gpus=1;gpu0.power=123");
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_EQ(sensor.gpus().size(), 1u);
    EXPECT_FALSE(has_channel(sensor, "gpu1.power"));
    EXPECT_DOUBLE_EQ(read(sensor, "gpu0.power"), 123.0);
    EXPECT_LT(read(sensor, "gpu0.energy"), 1.0);
}

TEST_F(NvmlSensorTest, MissingLibraryNamesThePath) {
    const std::string path = "/nonexistent/joulecast-test/libnvidia-ml.so.1";
    NvmlSensor sensor(path);
    const Availability availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("cannot load " + path), std::string::npos) << availability.reason;
    EXPECT_TRUE(sensor.channels().empty());
    EXPECT_TRUE(sensor.gpus().empty());
    double value = 0;
    EXPECT_EQ(sensor.read(0, value), ReadStatus::error);
}

TEST_F(NvmlSensorTest, MissingSymbolsMakeItUnavailableWithoutCrashing) {
    NvmlSensor sensor(FAKE_NVML_PARTIAL_LIBRARY);
    const Availability availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("nvmlDeviceGetCount_v2"), std::string::npos) << availability.reason;
    EXPECT_NE(availability.reason.find(FAKE_NVML_PARTIAL_LIBRARY), std::string::npos) << availability.reason;
}

TEST_F(NvmlSensorTest, InitFailureGivesNvmlsReason) {
    script("init=driver_not_loaded");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    const Availability availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("nvmlInit_v2 failed: Driver Not Loaded"), std::string::npos)
        << availability.reason;
}

TEST_F(NvmlSensorTest, NoGpusIsUnavailable) {
    script("gpus=0");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    const Availability availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("no GPU"), std::string::npos) << availability.reason;
}

TEST_F(NvmlSensorTest, BadFakeScriptIsReported) {
    script("gpus=1;gpu3.power=10");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    const Availability availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("bad FAKE_NVML_SCRIPT"), std::string::npos) << availability.reason;
}

TEST_F(NvmlSensorTest, GpuLostAtProbeIsSkipped) {
    script("gpus=2;gpu1.lost_after=0");
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    ASSERT_EQ(sensor.gpus().size(), 1u);
    EXPECT_EQ(sensor.gpus()[0].index, 0u);
    EXPECT_FALSE(has_channel(sensor, "gpu1.power"));
    EXPECT_NE(joined(sensor.notes()).find("gpu1"), std::string::npos);
}

using NvmlLibraryTest = NvmlFakeTest;

TEST_F(NvmlLibraryTest, MissingSymbolsBecomeFunctionNotFoundStubs) {
    auto loaded = nvml::NvmlLibrary::load(FAKE_NVML_PARTIAL_LIBRARY);
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    const nvml::NvmlLibrary& library = **loaded;
    EXPECT_TRUE(library.has("nvmlInit_v2"));
    EXPECT_TRUE(library.has("nvmlErrorString"));
    EXPECT_FALSE(library.has("nvmlDeviceGetCount_v2"));
    EXPECT_FALSE(library.has("nvmlDeviceSetPowerManagementLimit"));
    unsigned int count = 7;
    EXPECT_EQ(library.api().device_get_count(&count), nvml::NVML_ERROR_FUNCTION_NOT_FOUND);
    EXPECT_EQ(count, 7u);
    unsigned long long energy = 0;
    EXPECT_EQ(library.api().device_get_total_energy_consumption_mj(nullptr, &energy),
              nvml::NVML_ERROR_FUNCTION_NOT_FOUND);
    EXPECT_EQ(library.error_string(nvml::NVML_SUCCESS), "Success");

    auto opened = nvml::NvmlLibrary::open(FAKE_NVML_PARTIAL_LIBRARY);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().find("nvmlDeviceGetHandleByIndex_v2"), std::string::npos) << opened.error();
}

TEST_F(NvmlLibraryTest, EveryEntryPointResolvesInTheFullFake) {
    auto loaded = nvml::NvmlLibrary::load(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    EXPECT_TRUE((*loaded)->missing().empty()) << (*loaded)->missing().front();
}

TEST_F(NvmlLibraryTest, MissingLibraryError) {
    auto loaded = nvml::NvmlLibrary::load("/nonexistent/libnvidia-ml.so.1");
    ASSERT_FALSE(loaded.ok());
    EXPECT_TRUE(starts_with(loaded.error(), "cannot load /nonexistent/libnvidia-ml.so.1: "))
        << loaded.error();
}

using NvmlPowerLimitTest = NvmlFakeTest;

TEST_F(NvmlPowerLimitTest, GetSetAndPersist) {
    test::TempDir dir;
    const std::string state = (dir.path() / "nvml-state").string();
    setenv("FAKE_NVML_STATE", state.c_str(), 1);
    script("gpus=2;gpu*.power=300");
    {
        auto opened = nvml::NvmlLibrary::open(FAKE_NVML_LIBRARY);
        ASSERT_TRUE(opened.ok()) << opened.error();
        const nvml::NvmlLibrary& library = **opened;

        auto limits = nvml::get_power_limits(library, 0);
        ASSERT_TRUE(limits.ok()) << limits.error();
        EXPECT_DOUBLE_EQ(limits->current_w, 700.0);
        EXPECT_DOUBLE_EQ(limits->default_w, 700.0);
        EXPECT_DOUBLE_EQ(limits->min_w, 200.0);
        EXPECT_DOUBLE_EQ(limits->max_w, 700.0);

        auto set = nvml::set_power_limit(library, 0, 250.0);
        ASSERT_TRUE(set.ok()) << set.error();
        EXPECT_DOUBLE_EQ(set->current_w, 250.0);
        EXPECT_DOUBLE_EQ(nvml::get_power_limits(library, 0)->current_w, 250.0);
        EXPECT_DOUBLE_EQ(nvml::get_power_limits(library, 1)->current_w, 700.0);

        auto state_text = read_text_file(state);
        ASSERT_TRUE(state_text.ok()) << state_text.error();
        EXPECT_EQ(*state_text, "gpu0.power_limit_mw=250000\ngpu1.power_limit_mw=700000\n");

        // A sensor opened meanwhile shares the NVML session: it sees the cap in the limit and in power.
        NvmlSensor sensor(FAKE_NVML_LIBRARY);
        ASSERT_TRUE(sensor.probe().available);
        EXPECT_DOUBLE_EQ(sensor.gpus()[0].power_limit_w, 250.0);
        EXPECT_DOUBLE_EQ(read(sensor, "gpu0.power_limit"), 250.0);
        EXPECT_DOUBLE_EQ(read(sensor, "gpu0.power"), 250.0);
        EXPECT_DOUBLE_EQ(read(sensor, "gpu1.power"), 300.0);

        auto too_high = nvml::set_power_limit(library, 0, 800.0);
        ASSERT_FALSE(too_high.ok());
        EXPECT_NE(too_high.error().find("outside gpu0's range 200..700 W"), std::string::npos)
            << too_high.error();
        auto bad_gpu = nvml::get_power_limits(library, 5);
        EXPECT_FALSE(bad_gpu.ok());

        // The fake itself refuses an out-of-range limit, as NVML does.
        auto device = library.device(1);
        ASSERT_TRUE(device.ok());
        EXPECT_EQ(library.api().device_set_power_management_limit_mw(*device, 100000),
                  nvml::NVML_ERROR_INVALID_ARGUMENT);
    }
    // After a full shutdown the limit survives in the state file.
    auto reopened = nvml::NvmlLibrary::open(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(reopened.ok()) << reopened.error();
    EXPECT_DOUBLE_EQ(nvml::get_power_limits(**reopened, 0)->current_w, 250.0);
    ASSERT_TRUE(nvml::set_power_limit(**reopened, 0, 700.0).ok());
    EXPECT_EQ(*read_text_file(state), "gpu0.power_limit_mw=700000\ngpu1.power_limit_mw=700000\n");
}

TEST_F(NvmlPowerLimitTest, NoPermissionSaysRootIsNeeded) {
    script("gpu0.set_limit=no_permission");
    auto opened = nvml::NvmlLibrary::open(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(opened.ok()) << opened.error();
    auto set = nvml::set_power_limit(**opened, 0, 300.0);
    ASSERT_FALSE(set.ok());
    EXPECT_NE(set.error().find("needs root"), std::string::npos) << set.error();
    EXPECT_DOUBLE_EQ(nvml::get_power_limits(**opened, 0)->current_w, 700.0);
}

TEST_F(NvmlPowerLimitTest, LimitCapsTheEnergyCounterFromTheMomentItIsSet) {
    const std::int64_t t0 = origin(0.0);
    script("gpu0.power=600");
    auto opened = nvml::NvmlLibrary::open(FAKE_NVML_LIBRARY);
    ASSERT_TRUE(opened.ok()) << opened.error();
    NvmlSensor sensor(FAKE_NVML_LIBRARY);
    const double probe_start = ns_to_s(monotonic_ns() - t0);
    ASSERT_TRUE(sensor.probe().available);
    const double probe_end = ns_to_s(monotonic_ns() - t0);
    std::this_thread::sleep_for(200ms);
    const double set_start = ns_to_s(monotonic_ns() - t0);
    ASSERT_TRUE(nvml::set_power_limit(**opened, 0, 200.0).ok());
    const double set_end = ns_to_s(monotonic_ns() - t0);
    std::this_thread::sleep_for(200ms);
    const double read_start = ns_to_s(monotonic_ns() - t0);
    const double joules = read(sensor, "gpu0.energy");
    const double read_end = ns_to_s(monotonic_ns() - t0);
    // 600 W until the set, 200 W after it.
    EXPECT_GE(joules, 600 * (set_start - probe_end) + 200 * (read_start - set_end) - 0.002);
    EXPECT_LE(joules, 600 * (set_end - probe_start) + 200 * (read_end - set_start) + 0.002);
}

}  // namespace
}  // namespace joulecast::sensors
