// control/limits: a workload cannot make joulecast hold unbounded phases or metric names; what is dropped is
// counted, and the `end` of a dropped phase never closes another phase of the same name.

#include <gtest/gtest.h>

#include <string>

#include "control/limits.hpp"

namespace joulecast::control {
namespace {

ControlMessage parsed(const std::string& line) {
    auto message = parse_control_line(line);
    if (!message) throw std::runtime_error(message.error());
    return *message;
}

bool admit(ControlLimits& limits, const std::string& line) {
    ControlMessage message = parsed(line);
    return limits.admit(message);
}

TEST(ControlLimits, BeginsBeyondTheOpenLimitAreDroppedWithTheirEnds) {
    ControlLimits limits;
    for (std::size_t i = 0; i < ControlLimits::k_max_open_phases; ++i) EXPECT_TRUE(admit(limits, "begin p"));
    EXPECT_FALSE(admit(limits, "begin p"));  // one too many
    EXPECT_FALSE(admit(limits, "begin q"));
    EXPECT_EQ(limits.dropped_phases(), 2u);
    EXPECT_FALSE(admit(limits, "end q"));   // closes the dropped q
    EXPECT_FALSE(admit(limits, "end p"));   // closes the dropped p, not an admitted one
    EXPECT_TRUE(admit(limits, "end p"));    // the innermost admitted p
    EXPECT_TRUE(admit(limits, "begin r"));  // room again
    EXPECT_TRUE(admit(limits, "end r"));
    EXPECT_TRUE(admit(limits, "end nothing-open"));  // left to the recorder, which ignores it
    EXPECT_TRUE(admit(limits, "epoch samples=3"));
    EXPECT_TRUE(admit(limits, "meta k=v"));
    EXPECT_EQ(limits.dropped_phases(), 2u);
}

TEST(ControlLimits, NewMetricNamesBeyondTheLimitAreDroppedKnownOnesKept) {
    ControlLimits limits;
    for (std::size_t i = 0; i < ControlLimits::k_max_metric_names; ++i)
        EXPECT_TRUE(admit(limits, "metric m" + std::to_string(i) + "=1"));
    ControlMessage mixed = parsed("metric m0=2 extra=3 m1=4");
    EXPECT_TRUE(limits.admit(mixed));
    ASSERT_EQ(mixed.fields.size(), 2u);
    EXPECT_EQ(mixed.fields[0].first, "m0");
    EXPECT_EQ(mixed.fields[1].first, "m1");
    EXPECT_FALSE(admit(limits, "metric extra=5"));
    EXPECT_EQ(limits.dropped_metric_points(), 2u);
}

TEST(ControlLimits, MetricValuesBeyondTheTotalLimitAreDroppedAndCounted) {
    // 500k values of one name took 285 MB: values beyond the first k_max_metric_points are dropped.
    ControlLimits limits;
    for (std::uint64_t i = 0; i < ControlLimits::k_max_metric_points; ++i) {
        ControlMessage m = parsed("metric loss=1");
        ASSERT_TRUE(limits.admit(m)) << i;
    }
    EXPECT_EQ(limits.dropped_metric_points(), 0u);
    ControlMessage two = parsed("metric loss=2 acc=3");
    EXPECT_FALSE(limits.admit(two));
    EXPECT_TRUE(two.fields.empty());
    EXPECT_EQ(limits.dropped_metric_points(), 2u);
    // Other markers are not affected.
    EXPECT_TRUE(admit(limits, "begin train"));
}

}  // namespace
}  // namespace joulecast::control
