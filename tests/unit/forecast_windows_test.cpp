// observations_from_windows over synthetic traces of known power.

#include <gtest/gtest.h>

#include "forecast/windows.hpp"

namespace joulecast {
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

}  // namespace
}  // namespace joulecast
