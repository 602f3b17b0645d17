// Energy accounting over synthetic traces with known answers.

#include <gtest/gtest.h>

#include "meter/energy.hpp"
#include "meter/run_result.hpp"

namespace joulecast::meter {

using sensors::Behaviour;
using sensors::Channel;
using sensors::Method;
using sensors::Quantity;

namespace {

constexpr std::int64_t s = 1'000'000'000;

TraceChannel channel(std::string sensor, std::string name, std::string domain, std::string device, Quantity q,
                     bool modelled = false, bool accounted = true) {
    Channel c;
    c.name = std::move(name);
    c.domain = std::move(domain);
    c.device = std::move(device);
    c.quantity = q;
    c.behaviour = q == Quantity::energy ? Behaviour::counter : Behaviour::gauge;
    c.modelled = modelled;
    c.accounted = accounted;
    return {std::move(sensor), c};
}

TEST(EnergyAccounting, IntegratesConstantPowerExactly) {
    std::vector<Reading> readings;
    for (int i = 0; i <= 100; ++i) readings.push_back({i * s / 10, 0, 250.0});
    Timeline timeline({channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)}, readings);
    WindowEnergy e = timeline.energy(0, 10 * s);
    EXPECT_DOUBLE_EQ(e.total_j, 2500.0);
    EXPECT_DOUBLE_EQ(e.domain("gpu"), 2500.0);
    EXPECT_EQ(e.domain_method.at("gpu"), "integrated");
    // A window that does not fall on readings: linear interpolation at both edges.
    EXPECT_NEAR(timeline.energy(s / 20, 3 * s + s / 20).total_j, 750.0, 1e-9);
}

TEST(EnergyAccounting, ACounterThatGoesDownIsAResetNeverNegativeEnergy) {
    // 1000 -> 1100 (+100 J), down to 800 (a reset: nothing counted across it), 800 -> 850 (+50 J).
    const std::vector<Reading> readings{
        {0, 0, 1000.0}, {s / 2, 0, 1100.0}, {s, 0, 800.0}, {3 * s / 2, 0, 850.0}};
    const std::vector<TraceChannel> channels{channel("nvml", "gpu0.energy", "gpu", "gpu0", Quantity::energy)};
    Timeline timeline(channels, readings);
    EXPECT_DOUBLE_EQ(timeline.energy(0, 3 * s / 2).total_j, 150.0);
    EXPECT_DOUBLE_EQ(timeline.channel_energy(0, s / 2, s), 0.0);
    EXPECT_DOUBLE_EQ(timeline.channel_energy(0, s, 3 * s / 2), 50.0);
    EXPECT_EQ(timeline.counter_resets(0), 1u);

    // The same readings added in two batches, as a live trace grows.
    Timeline live(channels, {readings[0], readings[1]});
    live.extend({readings[2], readings[3]});
    EXPECT_DOUBLE_EQ(live.energy(0, 3 * s / 2).total_j, 150.0);
    EXPECT_EQ(live.counter_resets(0), 1u);

    RunResult result;
    append_counter_reset_warnings(result, timeline);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_NE(result.warnings[0].find("nvml/gpu0.energy"), std::string::npos);
    EXPECT_NE(result.warnings[0].find("went down 1 time"), std::string::npos);
}

TEST(EnergyAccounting, TrapezoidOnARamp) {
    // Power rises linearly from 0 to 100 W over 10 s: energy is exactly 500 J by the trapezoid rule.
    std::vector<Reading> readings;
    for (int i = 0; i <= 10; ++i) readings.push_back({i * s, 0, 10.0 * i});
    Timeline timeline({channel("x", "p", "cpu", "cpu", Quantity::power)}, readings);
    EXPECT_NEAR(timeline.energy(0, 10 * s).total_j, 500.0, 1e-9);
    EXPECT_NEAR(timeline.energy(2 * s, 4 * s).total_j, 60.0, 1e-9);  // (20+40)/2 × 2
}

TEST(EnergyAccounting, CounterDeltaIsPrimaryAndPowerIsSecondary) {
    // Counter read every second, power every 100 ms; both from a constant 300 W with the counter 1% higher.
    std::vector<Reading> readings;
    for (int i = 0; i <= 5; ++i) readings.push_back({i * s, 0, 303.0 * i});
    for (int i = 0; i <= 50; ++i) readings.push_back({i * s / 10, 1, 300.0});
    Timeline timeline({channel("nvml", "gpu0.energy", "gpu", "gpu0", Quantity::energy),
                       channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)},
                      readings);
    WindowEnergy e = timeline.energy(0, 5 * s);
    EXPECT_DOUBLE_EQ(e.total_j, 1515.0);
    EXPECT_EQ(e.domain_method.at("gpu"), "counter");
    ASSERT_EQ(e.sources.size(), 2u);
    EXPECT_EQ(e.sources[0].method, Method::counter);
    EXPECT_TRUE(e.sources[0].accounted);
    EXPECT_EQ(e.sources[1].method, Method::integrated);
    EXPECT_FALSE(e.sources[1].accounted);
    EXPECT_DOUBLE_EQ(e.sources[1].energy_j, 1500.0);
    ASSERT_EQ(e.disagreements.size(), 1u);
    EXPECT_NEAR(e.disagreements[0].relative(), -1.0 / 101.0, 1e-12);
    EXPECT_EQ(e.sources[0].samples, 6u);
}

TEST(EnergyAccounting, SparseCounterIsSplitAlongMeasuredPower) {
    // 100 W for the first half second, 500 W for the second: the counter only knows 300 J after 1 s.
    // A window over the first half must get 50 J, not the 150 J a straight line would give.
    std::vector<Reading> readings = {{0, 0, 0.0}, {s, 0, 300.0}};
    for (int i = 0; i <= 10; ++i) readings.push_back({i * s / 10, 1, i <= 5 ? 100.0 : 500.0});
    // Make the step sharp: a reading at 0.5 s + 1 ns of 500 W.
    readings.push_back({s / 2 + 1, 1, 500.0});
    std::sort(readings.begin(), readings.end(), [](auto& a, auto& b) { return a.t_ns < b.t_ns; });
    Timeline timeline({channel("nvml", "gpu0.energy", "gpu", "gpu0", Quantity::energy),
                       channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)},
                      readings);
    EXPECT_NEAR(timeline.energy(0, s / 2).total_j, 50.0, 0.01);
    EXPECT_NEAR(timeline.energy(s / 2, s).total_j, 250.0, 0.01);
    EXPECT_NEAR(timeline.energy(0, s).total_j, 300.0, 1e-9);
}

TEST(EnergyAccounting, ATimelineExtendedInPiecesEqualsOneBuiltAtOnce) {
    // The sparse-counter case fed as a live trace, one batch per 0.2 s (the counter's reading at 1 s comes in
    // the last one). After every batch, energies and bounds match a Timeline built from the readings so far.
    std::vector<Reading> readings = {{0, 0, 0.0}, {s, 0, 300.0}};
    for (int i = 0; i <= 10; ++i) readings.push_back({i * s / 10, 1, i <= 5 ? 100.0 : 500.0});
    std::stable_sort(readings.begin(), readings.end(), [](auto& a, auto& b) { return a.t_ns < b.t_ns; });
    const std::vector<TraceChannel> channels = {
        channel("nvml", "gpu0.energy", "gpu", "gpu0", Quantity::energy),
        channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)};
    Timeline live(channels, {});
    EXPECT_DOUBLE_EQ(live.energy(0, s).total_j, 0.0);
    std::vector<Reading> so_far;
    int batches = 0;
    for (std::size_t i = 0; i < readings.size();) {
        std::vector<Reading> batch;
        const std::int64_t slot = readings[i].t_ns / (s / 5);
        while (i < readings.size() && readings[i].t_ns / (s / 5) == slot) batch.push_back(readings[i++]);
        live.extend(batch);
        so_far.insert(so_far.end(), batch.begin(), batch.end());
        ++batches;
        const Timeline whole(channels, so_far);
        EXPECT_EQ(live.first_ns(), whole.first_ns());
        EXPECT_EQ(live.last_ns(), whole.last_ns());
        for (std::int64_t from : {std::int64_t{0}, s / 4, s / 2})
            for (std::int64_t to : {s / 2 + s / 10, 9 * s / 10, s})
                EXPECT_DOUBLE_EQ(live.energy(from, to).total_j, whole.energy(from, to).total_j)
                    << "after batch " << batches << ", window " << from << ".." << to;
    }
    EXPECT_EQ(batches, 6);
    live.extend({{s / 2, 1, 999.0}});  // older than the power channel's newest reading: skipped
    // The counter's 300 J split along the measured power: 50 J of the gauge's 280 J lie in the first half.
    EXPECT_NEAR(live.energy(0, s / 2).total_j, 300.0 * 50 / 280, 1e-9);
    EXPECT_NEAR(live.energy(0, s).total_j, 300.0, 1e-9);
}

TEST(EnergyAccounting, CounterWithoutPowerInterpolatesLinearly) {
    Timeline timeline({channel("rapl", "package-0.energy", "cpu", "package-0", Quantity::energy)},
                      {{0, 0, 0.0}, {2 * s, 0, 100.0}});
    EXPECT_DOUBLE_EQ(timeline.energy(0, s).total_j, 50.0);
    EXPECT_DOUBLE_EQ(timeline.energy(0, 2 * s).total_j, 100.0);
}

TEST(EnergyAccounting, ModelledEnergyIsKeptApartFromMeasured) {
    std::vector<Reading> readings;
    for (int i = 0; i <= 10; ++i) {
        readings.push_back({i * s, 0, 200.0 * i});  // gpu counter: 200 W
        readings.push_back({i * s, 1, 40.0});       // cpu model: 40 W
        readings.push_back({i * s, 2, 6.0});        // dram model: 6 W
    }
    Timeline timeline({channel("nvml", "gpu0.energy", "gpu", "gpu0", Quantity::energy),
                       channel("cpu-model", "cpu.power", "cpu", "cpu", Quantity::power, true),
                       channel("dram-model", "dram.power", "dram", "dram", Quantity::power, true)},
                      readings);
    WindowEnergy e = timeline.energy(0, 10 * s);
    EXPECT_DOUBLE_EQ(e.total_j, 2460.0);
    EXPECT_DOUBLE_EQ(e.measured_j, 2000.0);
    EXPECT_DOUBLE_EQ(e.modelled_j, 460.0);
    EXPECT_EQ(e.domain_method.at("cpu"), "modelled");
    EXPECT_EQ(e.domain_method.at("gpu"), "counter");
    EXPECT_DOUBLE_EQ(e.mean_power_w(), 246.0);
}

TEST(EnergyAccounting, ContainedZonesAreNotCountedTwice) {
    std::vector<Reading> readings = {{0, 0, 0.0},  {s, 0, 50.0}, {0, 1, 0.0},
                                     {s, 1, 30.0}, {0, 2, 0.0},  {s, 2, 8.0}};
    Timeline timeline(
        {channel("rapl", "package-0.energy", "cpu", "package-0", Quantity::energy),
         channel("rapl", "package-0.core.energy", "core", "package-0", Quantity::energy, false, false),
         channel("rapl", "package-0.dram.energy", "dram", "package-0", Quantity::energy)},
        readings);
    WindowEnergy e = timeline.energy(0, s);
    EXPECT_DOUBLE_EQ(e.total_j, 58.0);
    EXPECT_DOUBLE_EQ(e.domain("cpu"), 50.0);
    EXPECT_DOUBLE_EQ(e.domain("dram"), 8.0);
    EXPECT_DOUBLE_EQ(e.domain("core"), 0.0);
}

TEST(EnergyAccounting, SeveralGpusAddUp) {
    std::vector<Reading> readings;
    for (int i = 0; i <= 4; ++i) {
        readings.push_back({i * s, 0, 100.0 * i});
        readings.push_back({i * s, 1, 400.0 * i});
    }
    Timeline timeline({channel("nvml", "gpu0.energy", "gpu", "gpu0", Quantity::energy),
                       channel("nvml", "gpu1.energy", "gpu", "gpu1", Quantity::energy)},
                      readings);
    EXPECT_DOUBLE_EQ(timeline.energy(0, 4 * s).domain("gpu"), 2000.0);
}

TEST(EnergyAccounting, PeakPowerSeesAStep) {
    std::vector<Reading> readings;
    for (int i = 0; i <= 40; ++i) readings.push_back({i * s / 10, 0, i < 20 ? 70.0 : 600.0});
    Timeline timeline({channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)}, readings);
    EXPECT_NEAR(timeline.peak_power_w(0, 4 * s, s / 10), 600.0, 1e-9);
    auto bins = timeline.power(0, 4 * s, s / 10);
    ASSERT_EQ(bins.size(), 40u);
    EXPECT_NEAR(bins.front().second, 70.0, 1e-9);
}

TEST(EnergyAccounting, EmptyTraceGivesZeroNotNaN) {
    Timeline timeline({channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)}, {});
    WindowEnergy e = timeline.energy(0, s);
    EXPECT_EQ(e.total_j, 0.0);
    EXPECT_TRUE(e.sources.empty());
    EXPECT_EQ(timeline.peak_power_w(0, s, s / 10), 0.0);
}

}  // namespace
}  // namespace joulecast::meter
