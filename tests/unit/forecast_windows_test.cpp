// observations_from_windows over synthetic traces of known power.

#include <gtest/gtest.h>

#include "forecast/windows.hpp"

namespace joulecast::forecast {

using sensors::Behaviour;
using sensors::Channel;
using sensors::Quantity;

using meter::Reading;
using meter::Timeline;
using meter::TraceChannel;

namespace {

constexpr std::int64_t s = 1'000'000'000;
using std::chrono::milliseconds;

TraceChannel power_channel() {
    Channel c;
    c.name = "gpu0.power";
    c.domain = "gpu";
    c.device = "gpu0";
    c.quantity = Quantity::power;
    c.behaviour = Behaviour::gauge;
    return {"nvml", c};
}

/// Power read every 100 ms from t = 0 to 10 s: 200 W until 4 s, 500 W from then on (a step between readings).
Timeline step_timeline() {
    std::vector<Reading> readings;
    for (int i = 0; i <= 100; ++i) readings.push_back({i * s / 10, 0, i < 40 ? 200.0 : 500.0});
    return Timeline({power_channel()}, readings);
}

TEST(ForecastWindows, WholeWindowsOfKnownEnergyAndTheTrailingPartIsDropped) {
    Timeline timeline = step_timeline();
    // 2.5 s of 1 s windows from 1 s: [1,2], [2,3]; the half window [3, 3.5] is dropped.
    auto o = observations_from_windows(timeline, 1 * s, 3 * s + s / 2, milliseconds(1000));
    ASSERT_EQ(o.size(), 2u);
    for (const auto& w : o) {
        EXPECT_NEAR(w.energy_j, 200.0, 1e-9);
        EXPECT_DOUBLE_EQ(w.duration_s, 1.0);
        EXPECT_FALSE(w.samples.has_value());
    }
}

TEST(ForecastWindows, WindowsAcrossAStepMatchTheTimeline) {
    Timeline timeline = step_timeline();
    auto o = observations_from_windows(timeline, 0, 10 * s, milliseconds(2000));
    ASSERT_EQ(o.size(), 5u);
    EXPECT_NEAR(o[0].energy_j, 400.0, 1e-9);
    // [2, 4]: 200 W, but the trapezoid between the readings at 3.9 s (200 W) and 4.0 s (500 W) is 35 J not 20
    // J.
    EXPECT_NEAR(o[1].energy_j, 400.0 + 15.0, 1e-9);
    EXPECT_NEAR(o[2].energy_j, 1000.0, 1e-9);
    EXPECT_NEAR(o[4].energy_j, 1000.0, 1e-9);
    double sum = 0;
    for (const auto& w : o) sum += w.energy_j;
    EXPECT_NEAR(sum, timeline.energy(0, 10 * s).total_j, 1e-9);
}

TEST(ForecastWindows, OddWindowLengthsAccumulateNoDrift) {
    Timeline timeline = step_timeline();
    // 300 ms windows over [0, 3.9]: exactly 13 windows of 200 W × 0.3 s.
    auto o = observations_from_windows(timeline, 0, 3 * s + 9 * s / 10, milliseconds(300));
    ASSERT_EQ(o.size(), 13u);
    for (const auto& w : o) EXPECT_NEAR(w.energy_j, 60.0, 1e-9);
    EXPECT_NEAR(o.back().duration_s, 0.3, 1e-12);
}

TEST(ForecastWindows, NoWholeWindowOrABadLengthGivesNothing) {
    Timeline timeline = step_timeline();
    EXPECT_TRUE(observations_from_windows(timeline, 0, s / 2, milliseconds(1000)).empty());
    EXPECT_TRUE(observations_from_windows(timeline, 2 * s, s, milliseconds(100)).empty());
    EXPECT_TRUE(observations_from_windows(timeline, 0, 10 * s, milliseconds(0)).empty());
    EXPECT_TRUE(observations_from_windows(timeline, 0, 10 * s, milliseconds(-5)).empty());
}

TEST(ForecastWindows, FeedsTheForecasterForADurationTarget) {
    // A steady 200 W service: 4 s of 1 s windows forecast 60 s at 12 kJ.
    Timeline timeline = step_timeline();
    auto o = observations_from_windows(timeline, 0, 4 * s - 1, milliseconds(1000));
    ASSERT_EQ(o.size(), 3u);
    auto f = forecast_total(o, ForecastTarget::duration(60.0));
    ASSERT_TRUE(f) << f.error();
    EXPECT_NEAR(f->total_energy_j, 12000.0, 1e-6);
    EXPECT_NEAR(f->total_duration_s, 60.0, 1e-9);
}

TEST(ForecastWindows, GrowingWindowsMatchTheWholeComputationAsTheTraceGrows) {
    // A GPU counter read once a second, 0.3 s past each window's edge, beside its power read every 100 ms,
    // fed 0.5 s at a time: the counter's next reading moves the energy of the window before it, which the
    // settling windows take up (with none, this test fails).
    Channel counter = power_channel().channel;
    counter.name = "gpu0.energy";
    counter.quantity = Quantity::energy;
    counter.behaviour = Behaviour::counter;
    const std::vector<TraceChannel> channels = {{"nvml", counter}, power_channel()};
    auto watts = [](std::int64_t t) { return t < 7 * s ? 200.0 : 450.0; };
    std::vector<Reading> all;
    double joules = 0;
    for (std::int64_t t = 0; t <= 20 * s; t += s / 10) {
        if (t > 0) joules += watts(t - s / 10) * 0.1 * 1.01;     // the counter 1% above the gauge
        if (t % s == 3 * s / 10) all.push_back({t, 0, joules});  // off the windows' edges
        all.push_back({t, 1, watts(t)});
    }
    Timeline live(channels, {});
    GrowingWindows growing(0, milliseconds(1000));
    std::vector<Reading> so_far;
    std::size_t next = 0;
    for (std::int64_t now = s / 2; now <= 20 * s; now += s / 2) {
        std::vector<Reading> fresh;
        while (next < all.size() && all[next].t_ns <= now) fresh.push_back(all[next++]);
        live.extend(fresh);
        so_far.insert(so_far.end(), fresh.begin(), fresh.end());
        const auto& windows = growing.update(live, now);
        const auto expected =
            observations_from_windows(Timeline(channels, so_far), 0, now, milliseconds(1000));
        ASSERT_EQ(windows.size(), expected.size()) << "at " << now;
        for (std::size_t k = 0; k < windows.size(); ++k)
            EXPECT_DOUBLE_EQ(windows[k].energy_j, expected[k].energy_j) << "window " << k << " at " << now;
    }
    EXPECT_EQ(growing.observations().size(), 20u);
    EXPECT_NEAR(growing.observations()[3].energy_j, 200.0 * 1.01, 1e-9);
    EXPECT_NEAR(growing.observations()[15].energy_j, 450.0 * 1.01, 1e-9);
}

}  // namespace
}  // namespace joulecast::forecast
