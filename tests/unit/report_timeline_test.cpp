// The report's power timeline: known power scripts in a stored trace must come back per domain and per bin.

#include <gtest/gtest.h>

#include <cmath>

#include "report/html/timeline.hpp"

namespace joulecast::report {

using sensors::Behaviour;
using sensors::Channel;
using sensors::Quantity;

using meter::Reading;
using meter::TraceChannel;

using store::StoredTrace;

namespace {

TraceChannel channel(const std::string& sensor, const std::string& name, const std::string& domain,
                     const std::string& device, Quantity quantity, bool modelled = false,
                     bool accounted = true) {
    Channel c;
    c.name = name;
    c.domain = domain;
    c.device = device;
    c.quantity = quantity;
    c.behaviour = quantity == Quantity::energy ? Behaviour::counter : Behaviour::gauge;
    c.modelled = modelled;
    c.accounted = accounted;
    return {sensor, c};
}

std::int64_t ns(double seconds) {
    return static_cast<std::int64_t>(std::llround(seconds * 1e9));
}

/// Readings of `channel` every `step` seconds over [from, to]: a gauge gives power(t), a counter its
/// integral.
void add(StoredTrace& trace, std::uint32_t index, double from, double to, double step,
         const std::function<double(double)>& value) {
    for (double t = from; t <= to + 1e-9; t += step) trace.readings.push_back({ns(t), index, value(t)});
}

TEST(ReportTimeline, StepInPowerLandsInTheRightBins) {
    StoredTrace trace;
    trace.channels = {channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)};
    add(trace, 0, 0.05, 1.95, 0.1, [](double t) { return t < 1.0 ? 100.0 : 300.0; });
    auto timeline = power_timeline(trace, 2.0, 4);
    ASSERT_EQ(timeline.series.size(), 1u);
    ASSERT_EQ(timeline.bins, 4u);
    EXPECT_DOUBLE_EQ(timeline.bin_s, 0.5);
    EXPECT_DOUBLE_EQ(timeline.bin_centre_s(0), 0.25);
    const auto& p = timeline.series[0].power_w;
    EXPECT_NEAR(*p[0], 100.0, 1e-9);
    EXPECT_NEAR(*p[1], 100.0, 1e-9);
    EXPECT_NEAR(*p[2], 300.0, 1e-9);
    EXPECT_NEAR(*p[3], 300.0, 1e-9);
    EXPECT_EQ(timeline.series[0].method, "measured");
    EXPECT_EQ(timeline.series[0].channels, std::vector<std::string>{"nvml:gpu0.power"});
}

TEST(ReportTimeline, CounterOnlyDeviceGetsPowerFromDifferences) {
    StoredTrace trace;
    trace.channels = {channel("rapl", "package-0.energy", "cpu", "package-0", Quantity::energy)};
    // 40 W until 1 s, then 80 W: the counter is the integral, read every 0.25 s.
    auto energy = [](double t) { return t < 1.0 ? 40.0 * t : 40.0 + 80.0 * (t - 1.0); };
    add(trace, 0, 0.0, 2.0, 0.25, energy);
    auto timeline = power_timeline(trace, 2.0, 4);
    ASSERT_EQ(timeline.series.size(), 1u);
    EXPECT_EQ(timeline.series[0].method, "counter");
    const auto& p = timeline.series[0].power_w;
    EXPECT_NEAR(*p[0], 40.0, 1e-9);
    EXPECT_NEAR(*p[1], 40.0, 1e-9);
    EXPECT_NEAR(*p[2], 80.0, 1e-9);
    EXPECT_NEAR(*p[3], 80.0, 1e-9);
}

TEST(ReportTimeline, GaugePreferredOverCounterAndDevicesOfADomainAdd) {
    StoredTrace trace;
    trace.channels = {channel("nvml", "gpu0.energy", "gpu", "gpu0", Quantity::energy),
                      channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power),
                      channel("nvml", "gpu1.power", "gpu", "gpu1", Quantity::power),
                      channel("cpu-model", "cpu.power", "cpu", "cpu", Quantity::power, true),
                      channel("rapl", "core.energy", "core", "package-0", Quantity::energy, false, false),
                      channel("nvml", "gpu0.utilisation", "gpu", "gpu0", Quantity::utilisation)};
    add(trace, 0, 0.0, 1.0, 0.5, [](double t) { return 999.0 * t; });  // ignored: gpu0 has a gauge
    add(trace, 1, 0.05, 0.95, 0.1, [](double) { return 100.0; });
    add(trace, 2, 0.05, 0.95, 0.1, [](double) { return 200.0; });
    add(trace, 3, 0.05, 0.95, 0.1, [](double) { return 35.0; });
    add(trace, 4, 0.0, 1.0, 0.1, [](double t) { return 5.0 * t; });
    add(trace, 5, 0.05, 0.95, 0.1, [](double) { return 90.0; });
    auto timeline = power_timeline(trace, 1.0, 5);
    ASSERT_EQ(timeline.series.size(), 2u);  // core is not accounted; utilisation is no power
    EXPECT_EQ(timeline.series[0].domain, "gpu");
    EXPECT_EQ(timeline.series[0].method, "measured");
    EXPECT_EQ(timeline.series[0].channels.size(), 2u);
    EXPECT_EQ(timeline.series[1].domain, "cpu");
    EXPECT_EQ(timeline.series[1].method, "modelled");
    for (std::size_t i = 0; i < timeline.bins; ++i) {
        EXPECT_NEAR(*timeline.series[0].power_w[i], 300.0, 1e-9) << i;
        EXPECT_NEAR(*timeline.series[1].power_w[i], 35.0, 1e-9) << i;
    }
}

TEST(ReportTimeline, IdleReadingsBeforeTheCommandStayOutAndGapsHoldTheLastValue) {
    StoredTrace trace;
    trace.channels = {channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)};
    add(trace, 0, -1.0, -0.1, 0.1, [](double) { return 70.0; });  // idle baseline
    trace.readings.push_back({ns(0.1), 0, 250.0});
    trace.readings.push_back({ns(1.9), 0, 150.0});
    auto timeline = power_timeline(trace, 2.0, 4);
    ASSERT_EQ(timeline.bins, 2u);  // the densest channel has two readings inside the run
    const auto& p = timeline.series[0].power_w;
    EXPECT_NEAR(*p[0], 250.0, 1e-9);
    EXPECT_NEAR(*p[1], 150.0, 1e-9);

    // Without a known duration the readings' own span is used; a gap holds the previous value.
    StoredTrace late;
    late.channels = trace.channels;
    add(late, 0, 1.0, 2.0, 0.1, [](double) { return 80.0; });
    late.readings.insert(late.readings.begin(), Reading{ns(0.0), 0, 10.0});
    auto span = power_timeline(late, std::nullopt, 20);
    EXPECT_DOUBLE_EQ(span.start_s, 0.0);
    ASSERT_EQ(span.bins, 12u);
    EXPECT_NEAR(*span.series[0].power_w[0], 10.0, 1e-9);
    EXPECT_NEAR(*span.series[0].power_w[3], 10.0, 1e-9);  // held
    EXPECT_NEAR(*span.series[0].power_w[11], 80.0, 1e-9);
}

TEST(ReportTimeline, BinsAreCappedAndEmptyTracesSayWhy) {
    StoredTrace trace;
    trace.channels = {channel("nvml", "gpu0.power", "gpu", "gpu0", Quantity::power)};
    add(trace, 0, 0.0, 10.0, 0.001, [](double t) { return 100.0 + t; });
    auto timeline = power_timeline(trace, 10.0, 50);
    EXPECT_EQ(timeline.bins, 50u);
    EXPECT_NEAR(*timeline.series[0].power_w[49], 100.0 + 9.9, 0.01);

    auto empty = power_timeline(StoredTrace{}, 1.0);
    EXPECT_TRUE(empty.series.empty());
    ASSERT_FALSE(empty.notes.empty());
    StoredTrace no_readings;
    no_readings.channels = trace.channels;
    EXPECT_TRUE(power_timeline(no_readings, 1.0).series.empty());
}

}  // namespace
}  // namespace joulecast::report
