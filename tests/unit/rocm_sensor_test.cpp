// The ROCm SMI sensor against a fake librocm_smi64 (tests/fakes/fake_rocm_smi.cpp) whose clock the test sets:
// readings at known times, accounted by the meter's Timeline as a run would.

#include "sensors/rocm/rocm_sensor.hpp"

#include <dlfcn.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "meter/energy.hpp"

namespace joulecast::sensors {

using meter::Reading;
using meter::SourceEnergy;
using meter::Timeline;
using meter::TraceChannel;
using meter::WindowEnergy;

namespace {

/// Holds the fake library open (so its clock is the one the sensor's dlopen finds) and sets its script.
class FakeRocm {
public:
    FakeRocm(const char* library, const std::string& script) {
        ::setenv("FAKE_ROCM_SMI_SCRIPT", script.c_str(), 1);
        m_handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
        if (m_handle)
            m_set_time = reinterpret_cast<void (*)(double)>(dlsym(m_handle, "fake_rocm_smi_set_time"));
        set_time(0);
    }
    ~FakeRocm() {
        if (m_handle) dlclose(m_handle);
    }
    bool ok() const { return m_set_time != nullptr; }
    void set_time(double t) {
        if (m_set_time) m_set_time(t);
    }

private:
    void* m_handle = nullptr;
    void (*m_set_time)(double) = nullptr;
};

struct Measured {
    WindowEnergy energy;
    std::vector<ReadStatus> last_status;  ///< per channel, at the last step
};

/// Reads every channel at t = 0, dt, ... seconds (a lost channel is not read again, as the sampler does).
Measured measure(RocmSensor& sensor, FakeRocm& fake, double seconds, double dt = 0.1) {
    std::vector<TraceChannel> channels;
    for (const auto& c : sensor.channels()) channels.push_back({"rocm-smi", c});
    std::vector<Reading> readings;
    std::vector<ReadStatus> status(channels.size(), ReadStatus::ok);
    const int steps = static_cast<int>(std::lround(seconds / dt));
    for (int k = 0; k <= steps; ++k) {
        fake.set_time(k * dt);
        const auto t_ns = static_cast<std::int64_t>(std::llround(k * dt * 1e9));
        for (std::uint32_t c = 0; c < channels.size(); ++c) {
            if (status[c] == ReadStatus::lost) continue;
            double value = 0;
            status[c] = sensor.read(c, value);
            if (status[c] == ReadStatus::ok) readings.push_back({t_ns, c, value});
        }
    }
    const auto end_ns = static_cast<std::int64_t>(std::llround(seconds * 1e9));
    return {Timeline(channels, readings).energy(0, end_ns), status};
}

const SourceEnergy* primary(const WindowEnergy& e, const std::string& device) {
    for (const auto& s : e.sources)
        if (s.device == device && s.accounted) return &s;
    return nullptr;
}

bool mentions(const std::vector<std::string>& lines, const std::string& text) {
    for (const auto& line : lines)
        if (line.find(text) != std::string::npos) return true;
    return false;
}

TEST(RocmSensor, MissingLibraryIsUnavailableWithAReason) {
    RocmSensor sensor("/nonexistent/librocm_smi64.so");
    EXPECT_EQ(sensor.name(), "rocm-smi");
    auto availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("cannot load /nonexistent/librocm_smi64.so"), std::string::npos)
        << availability.reason;
    EXPECT_NE(availability.reason.find("JOULECAST_ROCM_SMI_LIBRARY"), std::string::npos);
}

TEST(RocmSensor, AFailingInitKeepsTheLibrarysStderrLinesInTheReasonNotOnTheTerminal) {
    FakeRocm fake(FAKE_ROCM_SMI_LIBRARY, "init_fails=1");
    ASSERT_TRUE(fake.ok());
    RocmSensor sensor(FAKE_ROCM_SMI_LIBRARY);
    ::testing::internal::CaptureStderr();
    auto availability = sensor.probe();
    const std::string terminal = ::testing::internal::GetCapturedStderr();
    EXPECT_FALSE(availability.available);
    EXPECT_EQ(terminal, "");
    EXPECT_NE(availability.reason.find("rsmi_init failed"), std::string::npos) << availability.reason;
    EXPECT_NE(
        availability.reason.find("the library said: Failed to open drm root directory /sys/class/drm.: No "
                                 "such file or directory; Exception caught: rsmi_init."),
        std::string::npos)
        << availability.reason;
}

TEST(RocmSensor, TwoGpusOfKnownPowerGiveKnownEnergyFromTheirCounters) {
    FakeRocm fake(FAKE_ROCM_SMI_LIBRARY,
                  "gpus=2;gpu0.power=120;gpu1.power=310;gpu1.busy=80;gpu1.memory=4096");
    ASSERT_TRUE(fake.ok());
    RocmSensor sensor(FAKE_ROCM_SMI_LIBRARY);
    auto availability = sensor.probe();
    ASSERT_TRUE(availability.available) << availability.reason;
    ASSERT_EQ(sensor.channels().size(), 8u);  // energy, power, utilisation, memory per GPU
    EXPECT_EQ(sensor.channels()[0].name, "amdgpu0.energy");
    EXPECT_EQ(sensor.channels()[0].behaviour, Behaviour::counter);
    EXPECT_EQ(sensor.channels()[1].name, "amdgpu0.power");
    auto gpus = sensor.gpus();
    ASSERT_EQ(gpus.size(), 2u);
    EXPECT_EQ(gpus[1].name, "Fake AMD Instinct 1");
    EXPECT_EQ(gpus[1].uuid, "0xabcdef0000000001");
    EXPECT_TRUE(mentions(sensor.notes(), "amdgpu0 Fake AMD Instinct 0: energy counter yes"));
    EXPECT_TRUE(mentions(sensor.notes(), "rsmi_dev_current_socket_power_get"));

    double value = -1;
    ASSERT_EQ(sensor.read(6, value), ReadStatus::ok);
    EXPECT_EQ(value, 80.0);
    ASSERT_EQ(sensor.read(7, value), ReadStatus::ok);
    EXPECT_EQ(value, 4096.0);

    const double seconds = 20.0;
    Measured m = measure(sensor, fake, seconds);
    const SourceEnergy* gpu0 = primary(m.energy, "amdgpu0");
    const SourceEnergy* gpu1 = primary(m.energy, "amdgpu1");
    ASSERT_NE(gpu0, nullptr);
    ASSERT_NE(gpu1, nullptr);
    EXPECT_EQ(gpu0->method, Method::counter);
    EXPECT_EQ(gpu1->method, Method::counter);
    // Within one counter tick (15.3 µJ) of P × t, and the integrated power agrees.
    EXPECT_NEAR(gpu0->energy_j, 120.0 * seconds, 1e-3);
    EXPECT_NEAR(gpu1->energy_j, 310.0 * seconds, 1e-3);
    EXPECT_NEAR(m.energy.domain("gpu"), 430.0 * seconds, 2e-3);
    ASSERT_EQ(m.energy.disagreements.size(), 2u);
    EXPECT_NEAR(m.energy.disagreements[0].relative(), 0.0, 1e-4);
    EXPECT_TRUE(sensor.run_warnings(seconds).empty());
}

TEST(RocmSensor, A32BitCounterThatWrapsIsUndone) {
    // 200 W at 15.3 µJ a tick is ~13072 ticks/s: the counter passes 2^32 about 3.3 s in.
    FakeRocm fake(FAKE_ROCM_SMI_LIBRARY, "gpus=1;gpu0.power=200;gpu0.width=32;gpu0.start_ticks=4294924000");
    ASSERT_TRUE(fake.ok());
    RocmSensor sensor(FAKE_ROCM_SMI_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    Measured m = measure(sensor, fake, 10.0);
    const SourceEnergy* gpu0 = primary(m.energy, "amdgpu0");
    ASSERT_NE(gpu0, nullptr);
    EXPECT_EQ(gpu0->method, Method::counter);
    EXPECT_NEAR(gpu0->energy_j, 2000.0, 1e-3);
}

TEST(RocmSensor, CounterDeltaArithmetic) {
    EXPECT_EQ(rsmi_counter_delta(10, 10), 0u);
    EXPECT_EQ(rsmi_counter_delta(10, 25), 15u);
    EXPECT_EQ(rsmi_counter_delta(0xFFFFFFF0ULL, 0x10), 0x20u);        // one 32-bit wrap
    EXPECT_FALSE(rsmi_counter_delta(0x100000000ULL, 5).has_value());  // a 64-bit counter went down: a reset
}

TEST(RocmSensor, ADeviceThatDisappearsKeepsItsEnergySoFarAndTheOtherGoesOn) {
    FakeRocm fake(FAKE_ROCM_SMI_LIBRARY, "gpus=2;gpu0.power=150;gpu1.power=250;gpu1.lost_after=4");
    ASSERT_TRUE(fake.ok());
    RocmSensor sensor(FAKE_ROCM_SMI_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    Measured m = measure(sensor, fake, 10.0);
    EXPECT_EQ(m.last_status[0], ReadStatus::ok);
    EXPECT_EQ(m.last_status[4], ReadStatus::lost);  // amdgpu1.energy
    const SourceEnergy* gpu0 = primary(m.energy, "amdgpu0");
    const SourceEnergy* gpu1 = primary(m.energy, "amdgpu1");
    ASSERT_NE(gpu0, nullptr);
    ASSERT_NE(gpu1, nullptr);
    EXPECT_NEAR(gpu0->energy_j, 1500.0, 1e-3);
    // Read last at 3.9 s: its energy up to then, nothing invented after.
    EXPECT_NEAR(gpu1->energy_j, 250.0 * 3.9, 1e-3);
    double value = 0;
    EXPECT_EQ(sensor.read(5, value), ReadStatus::lost);  // every later read of that GPU
    EXPECT_TRUE(mentions(sensor.run_warnings(10.0), "amdgpu1 (Fake AMD Instinct 1): the device disappeared"));
}

TEST(RocmSensor, ALibraryWithoutTheEnergyCallIntegratesPowerAndSaysSo) {
    FakeRocm fake(FAKE_ROCM_SMI_NOENERGY_LIBRARY, "gpus=2;gpu0.power=90;gpu1.power=300");
    ASSERT_TRUE(fake.ok());
    RocmSensor sensor(FAKE_ROCM_SMI_NOENERGY_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    for (const auto& c : sensor.channels()) EXPECT_NE(c.quantity, Quantity::energy) << c.name;
    EXPECT_TRUE(mentions(sensor.notes(), "lacks rsmi_dev_energy_count_get"));
    EXPECT_TRUE(mentions(sensor.notes(), "energy is integrated from power"));
    const double seconds = 12.0;
    Measured m = measure(sensor, fake, seconds);
    const SourceEnergy* gpu0 = primary(m.energy, "amdgpu0");
    const SourceEnergy* gpu1 = primary(m.energy, "amdgpu1");
    ASSERT_NE(gpu0, nullptr);
    ASSERT_NE(gpu1, nullptr);
    EXPECT_EQ(gpu0->method, Method::integrated);
    EXPECT_EQ(m.energy.domain_method.at("gpu"), "integrated");
    EXPECT_NEAR(gpu0->energy_j, 90.0 * seconds, 1e-6 * 90.0 * seconds);
    EXPECT_NEAR(gpu1->energy_j, 300.0 * seconds, 1e-6 * 300.0 * seconds);
    auto warnings = sensor.run_warnings(seconds);
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_TRUE(mentions(
        warnings, "amdgpu0 (Fake AMD Instinct 0): no ROCm SMI energy counter; its energy is INTEGRATED"));
}

TEST(RocmSensor, AGpuWithNeitherEnergyNorPowerIsNotMeasuredAndSaysWhyNotZeroJoules) {
    FakeRocm fake(FAKE_ROCM_SMI_NOENERGY_LIBRARY, "gpus=2;gpu0.no_power=1;gpu1.power=300");
    ASSERT_TRUE(fake.ok());
    RocmSensor sensor(FAKE_ROCM_SMI_NOENERGY_LIBRARY);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_TRUE(mentions(sensor.notes(), "amdgpu0 Fake AMD Instinct 0: energy counter no"));
    EXPECT_TRUE(mentions(sensor.notes(), "no power reading; this GPU's energy is not measured"));
    const double seconds = 5.0;
    Measured m = measure(sensor, fake, seconds);
    // No figure at all for gpu0 (not a 0 J one); gpu1 is integrated as before.
    EXPECT_EQ(primary(m.energy, "amdgpu0"), nullptr);
    ASSERT_NE(primary(m.energy, "amdgpu1"), nullptr);
    EXPECT_NEAR(m.energy.total_j, 300.0 * seconds, 1e-6 * 300.0 * seconds);
    auto warnings = sensor.run_warnings(seconds);
    EXPECT_TRUE(
        mentions(warnings, "neither an energy counter nor a power reading: its energy is NOT MEASURED"))
        << (warnings.empty() ? "" : warnings.front());
}

}  // namespace
}  // namespace joulecast::sensors
