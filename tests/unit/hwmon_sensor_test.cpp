// The hwmon sensor against fake /sys/class/hwmon trees whose counters and gauges a helper advances at known
// rates; readings are taken at known times and accounted by the meter's Timeline, as a run would.

#include "sensors/hwmon/hwmon_sensor.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "meter/energy.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::sensors {

using meter::Reading;
using meter::SourceEnergy;
using meter::Timeline;
using meter::TraceChannel;
using meter::WindowEnergy;

namespace {

using test::TempDir;

/// A fake hwmon tree: energy counters (µJ) that advance at a rate, and power gauges (µW) that hold a level.
class FakeHwmon {
public:
    explicit FakeHwmon(const TempDir& dir) : m_dir(dir) {}

    void device(const std::string& id, const std::string& driver) {
        m_dir.write("class/hwmon/" + id + "/name", driver + "\n");
    }
    void label(const std::string& id, const std::string& input, const std::string& text) {
        m_dir.write("class/hwmon/" + id + "/" + input + "_label", text + "\n");
    }
    /// energy<n>_input starting at `start_uj`, rising at `watts`.
    void energy(const std::string& id, unsigned n, double watts, std::uint64_t start_uj = 1'000'000) {
        m_counters.push_back({"class/hwmon/" + id + "/energy" + std::to_string(n) + "_input", watts,
                              static_cast<double>(start_uj)});
        write_counter(m_counters.back());
    }
    /// power<n>_<suffix> ("input" or "average") holding `watts`.
    void power(const std::string& id, unsigned n, const std::string& suffix, double watts) {
        m_dir.write("class/hwmon/" + id + "/power" + std::to_string(n) + "_" + suffix,
                    std::to_string(static_cast<long long>(std::llround(watts * 1e6))) + "\n");
    }
    /// Moves every counter on by `seconds` at its rate.
    void advance(double seconds) {
        for (auto& counter : m_counters) {
            counter.uj += counter.watts * seconds * 1e6;
            write_counter(counter);
        }
    }

private:
    struct Counter {
        std::string relative;
        double watts;
        double uj;
    };
    void write_counter(const Counter& counter) {
        m_dir.write(counter.relative,
                    std::to_string(static_cast<std::uint64_t>(std::llround(counter.uj))) + "\n");
    }
    const TempDir& m_dir;
    std::vector<Counter> m_counters;
};

/// Reads every channel at t = 0, dt, 2 dt, ... (advancing the tree in between) and accounts [0, seconds].
WindowEnergy measure(HwmonSensor& sensor, FakeHwmon& tree, double seconds, double dt = 0.1) {
    std::vector<TraceChannel> channels;
    for (const auto& c : sensor.channels()) channels.push_back({"hwmon", c});
    std::vector<Reading> readings;
    const int steps = static_cast<int>(std::lround(seconds / dt));
    for (int k = 0; k <= steps; ++k) {
        if (k > 0) tree.advance(dt);
        const auto t_ns = static_cast<std::int64_t>(std::llround(k * dt * 1e9));
        for (std::uint32_t c = 0; c < channels.size(); ++c) {
            double value = 0;
            EXPECT_EQ(sensor.read(c, value), ReadStatus::ok) << channels[c].channel.name;
            readings.push_back({t_ns, c, value});
        }
    }
    return Timeline(channels, readings).energy(0, static_cast<std::int64_t>(std::llround(seconds * 1e9)));
}

const SourceEnergy* source(const WindowEnergy& e, const std::string& device, bool accounted = true) {
    for (const auto& s : e.sources)
        if (s.device == device && s.accounted == accounted) return &s;
    return nullptr;
}

const Channel* channel(const HwmonSensor& sensor, const std::string& name) {
    for (const auto& c : sensor.channels())
        if (c.name == name) return &c;
    return nullptr;
}

bool notes_mention(const HwmonSensor& sensor, const std::string& text) {
    for (const auto& note : sensor.notes())
        if (note.find(text) != std::string::npos) return true;
    return false;
}

/// The tree of the issue: an Intel GPU (xe) at 40 W whose package counter sits inside its card counter, an
/// amdgpu at 150 W (power only), an AMD CPU socket at 90 W with core counters, an ACPI meter at 300 W, and a
/// driver joulecast does not know.
void build_mixed_tree(FakeHwmon& tree) {
    tree.device("hwmon0", "xe");
    tree.energy("hwmon0", 1, 40.0);
    tree.label("hwmon0", "energy1", "card");
    tree.energy("hwmon0", 2, 30.0);
    tree.label("hwmon0", "energy2", "pkg");
    tree.device("hwmon2", "amdgpu");
    tree.power("hwmon2", 1, "average", 149.0);  // the driver's average: not used where the input exists
    tree.power("hwmon2", 1, "input", 150.0);
    tree.label("hwmon2", "power1", "PPT");
    tree.device("hwmon3", "amd_energy");
    tree.energy("hwmon3", 1, 10.0);
    tree.label("hwmon3", "energy1", "Ecore000");
    tree.energy("hwmon3", 65, 90.0);
    tree.label("hwmon3", "energy65", "Esocket0");
    tree.device("hwmon10", "power_meter");
    tree.power("hwmon10", 1, "average", 300.0);
    tree.device("hwmon4", "nct6775");
    tree.power("hwmon4", 1, "input", 12.0);
    tree.device("hwmon5", "coretemp");  // no power or energy input: ignored
}

TEST(HwmonSensor, MissingClassIsUnavailableWithAReason) {
    TempDir dir;
    HwmonSensor sensor(dir.str());
    EXPECT_EQ(sensor.name(), "hwmon");
    auto availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_EQ(availability.reason, "no hwmon: " + dir.str() + "/class/hwmon does not exist");
}

TEST(HwmonSensor, OnlyTemperatureSensorsIsUnavailable) {
    TempDir dir;
    dir.write("class/hwmon/hwmon0/name", "coretemp\n");
    dir.write("class/hwmon/hwmon0/temp1_input", "45000\n");
    HwmonSensor sensor(dir.str());
    auto availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("no readable hwmon energy or power input"), std::string::npos);
}

TEST(HwmonSensor, KnownRatesGiveKnownEnergiesAndNothingCountsTwice) {
    TempDir dir;
    FakeHwmon tree(dir);
    build_mixed_tree(tree);
    HwmonSensor sensor(dir.str());
    auto availability = sensor.probe();
    ASSERT_TRUE(availability.available) << availability.reason;

    // Classification: channel, domain, counted.
    struct Expected {
        const char* name;
        const char* domain;
        bool accounted;
        Behaviour behaviour;
    };
    const Expected expected[] = {
        {"intel-gpu0.energy", "gpu", true, Behaviour::counter},
        {"intel-gpu0-pkg.energy", "gpu", false, Behaviour::counter},
        {"amdgpu0.power", "gpu", true, Behaviour::gauge},
        {"amd-socket0.energy", "cpu", true, Behaviour::counter},
        {"nct6775-0-p1.power", "other", false, Behaviour::gauge},
        {"node0.power", "node", false, Behaviour::gauge},
    };
    ASSERT_EQ(sensor.channels().size(), std::size(expected));
    for (const auto& want : expected) {
        const Channel* c = channel(sensor, want.name);
        ASSERT_NE(c, nullptr) << want.name;
        EXPECT_EQ(c->domain, want.domain) << want.name;
        EXPECT_EQ(c->accounted, want.accounted) << want.name;
        EXPECT_EQ(c->behaviour, want.behaviour) << want.name;
    }
    EXPECT_TRUE(notes_mention(sensor, "1 core counters not read"));
    EXPECT_TRUE(notes_mention(sensor, "nct6775): driver not recognised; available, not counted"));
    EXPECT_TRUE(notes_mention(sensor, "the whole node, reported and not counted"));

    const double seconds = 10.0;
    WindowEnergy e = measure(sensor, tree, seconds);
    auto near = [](double measured, double expected_j) {
        return std::abs(measured - expected_j) <= 0.02 * expected_j;
    };

    const SourceEnergy* intel = source(e, "intel-gpu0");
    ASSERT_NE(intel, nullptr);
    EXPECT_EQ(intel->method, Method::counter);
    EXPECT_TRUE(near(intel->energy_j, 40.0 * seconds)) << intel->energy_j;
    const SourceEnergy* amd = source(e, "amdgpu0");
    ASSERT_NE(amd, nullptr);
    EXPECT_EQ(amd->method, Method::integrated);
    EXPECT_TRUE(near(amd->energy_j, 150.0 * seconds)) << amd->energy_j;
    const SourceEnergy* socket = source(e, "amd-socket0");
    ASSERT_NE(socket, nullptr);
    EXPECT_EQ(socket->method, Method::counter);
    EXPECT_TRUE(near(socket->energy_j, 90.0 * seconds)) << socket->energy_j;

    // The node meter is reported beside its components, never added to them.
    const SourceEnergy* node = source(e, "node0", false);
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node->method, Method::integrated);
    EXPECT_TRUE(near(node->energy_j, 300.0 * seconds)) << node->energy_j;
    const SourceEnergy* pkg = source(e, "intel-gpu0-pkg", false);
    ASSERT_NE(pkg, nullptr);
    EXPECT_TRUE(near(pkg->energy_j, 30.0 * seconds)) << pkg->energy_j;

    EXPECT_TRUE(near(e.domain("gpu"), 190.0 * seconds)) << e.domain("gpu");
    EXPECT_TRUE(near(e.domain("cpu"), 90.0 * seconds)) << e.domain("cpu");
    EXPECT_EQ(e.domain("node"), 0.0);
    EXPECT_EQ(e.domain("other"), 0.0);
    EXPECT_TRUE(near(e.total_j, 280.0 * seconds)) << e.total_j;  // 40 + 150 + 90: no pkg, node or cores
    EXPECT_EQ(e.domain_method.at("gpu"), "counter+integrated");
}

TEST(HwmonSensor, DevicesMeasuredElsewhereAreNotRead) {
    TempDir dir;
    FakeHwmon tree(dir);
    build_mixed_tree(tree);
    HwmonOptions options;
    options.amd_gpus_elsewhere = true;
    options.cpu_elsewhere = true;
    HwmonSensor sensor(dir.str(), options);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_EQ(channel(sensor, "amdgpu0.power"), nullptr);
    EXPECT_EQ(channel(sensor, "amd-socket0.energy"), nullptr);
    EXPECT_TRUE(notes_mention(sensor, "hwmon2 (amdgpu): not read, ROCm SMI measures AMD GPUs"));
    EXPECT_TRUE(notes_mention(sensor, "hwmon3 (amd_energy): not read, RAPL measures the CPU packages"));
    WindowEnergy e = measure(sensor, tree, 5.0);
    EXPECT_NEAR(e.total_j, 40.0 * 5.0, 0.02 * 200.0);  // the Intel GPU alone
}

TEST(HwmonSensor, I915UnlabelledCounterAndAResetIsAnErrorNotNegativeEnergy) {
    TempDir dir;
    dir.write("class/hwmon/hwmon1/name", "i915\n");
    dir.write("class/hwmon/hwmon1/energy1_input", "5000000\n");
    HwmonSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    ASSERT_EQ(sensor.channels().size(), 1u);
    EXPECT_EQ(sensor.channels()[0].name, "intel-gpu0.energy");
    double value = -1;
    dir.write("class/hwmon/hwmon1/energy1_input", "7500000\n");
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 2.5);
    dir.write("class/hwmon/hwmon1/energy1_input", "1000\n");  // the driver reloaded
    EXPECT_EQ(sensor.read(0, value), ReadStatus::error);
    dir.write("class/hwmon/hwmon1/energy1_input", "1001000\n");
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 3.5);  // 2.5 J before the reset, 1 J after it
    dir.write("class/hwmon/hwmon1/energy1_input", "garbage\n");
    EXPECT_EQ(sensor.read(0, value), ReadStatus::error);
    EXPECT_EQ(sensor.read(9, value), ReadStatus::error);
}

TEST(HwmonSensor, Ina3221RailsFromVoltsTimesAmpsAndTheInputRailIsNotCounted) {
    TempDir dir;
    dir.write("class/hwmon/hwmon0/name", "ina3221\n");
    dir.write("class/hwmon/hwmon0/in1_label", "VDD_IN\n");
    dir.write("class/hwmon/hwmon0/in1_input", "5000\n");    // mV
    dir.write("class/hwmon/hwmon0/curr1_input", "2400\n");  // mA: 12 W
    dir.write("class/hwmon/hwmon0/in2_label", "VDD_CPU_GPU_CV\n");
    dir.write("class/hwmon/hwmon0/in2_input", "5000\n");
    dir.write("class/hwmon/hwmon0/curr2_input", "1000\n");  // 5 W
    dir.write("class/hwmon/hwmon1/name", "ina226\n");
    dir.write("class/hwmon/hwmon1/power1_input", "3250000\n");  // µW
    HwmonSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    const Channel* input = channel(sensor, "vdd_in.power");
    ASSERT_NE(input, nullptr);
    EXPECT_EQ(input->domain, "node");
    EXPECT_FALSE(input->accounted);
    const Channel* rail = channel(sensor, "vdd_cpu_gpu_cv.power");
    ASSERT_NE(rail, nullptr);
    EXPECT_EQ(rail->domain, "board");
    EXPECT_TRUE(rail->accounted);
    ASSERT_NE(channel(sensor, "ina226-hwmon1-1.power"), nullptr);
    std::vector<double> watts;
    for (std::size_t c = 0; c < sensor.channels().size(); ++c) {
        double value = -1;
        ASSERT_EQ(sensor.read(c, value), ReadStatus::ok);
        watts.push_back(value);
    }
    ASSERT_EQ(watts.size(), 3u);
    EXPECT_DOUBLE_EQ(watts[0], 12.0);
    EXPECT_DOUBLE_EQ(watts[1], 5.0);
    EXPECT_DOUBLE_EQ(watts[2], 3.25);
}

TEST(HwmonSensor, UnreadableInputIsSkippedWithANoteAndTheRestStays) {
    TempDir dir;
    dir.write("class/hwmon/hwmon0/name", "amdgpu\n");
    dir.write("class/hwmon/hwmon0/power1_average", "not a number\n");
    dir.write("class/hwmon/hwmon1/name", "power_meter\n");
    dir.write("class/hwmon/hwmon1/power1_average", "250000000\n");
    HwmonSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    ASSERT_EQ(sensor.channels().size(), 1u);
    EXPECT_EQ(sensor.channels()[0].name, "node0.power");
    EXPECT_TRUE(
        notes_mention(sensor, "hwmon0 (amdgpu) power1_average: cannot read (not a number); not read"));
}

}  // namespace
}  // namespace joulecast::sensors
