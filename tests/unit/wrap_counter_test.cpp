#include "sensors/rapl/wrap_counter.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace joulecast::sensors {
namespace {

TEST(WrapCounter, FirstReadingIsTheOrigin) {
    WrapCounter counter(1'000'000);
    EXPECT_FALSE(counter.started());
    EXPECT_TRUE(counter.update(700'000));
    EXPECT_TRUE(counter.started());
    EXPECT_EQ(counter.total_uj(), 0u);
    EXPECT_DOUBLE_EQ(counter.joules(), 0.0);
}

TEST(WrapCounter, EqualReadingsAddNothing) {
    WrapCounter counter(1'000'000);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(counter.update(123'456));
    EXPECT_EQ(counter.total_uj(), 0u);
    EXPECT_EQ(counter.wraps(), 0u);
    EXPECT_EQ(counter.errors(), 0u);
}

TEST(WrapCounter, IncreasesAccumulateExactly) {
    WrapCounter counter(262'143'328'850);
    counter.update(1'000'000);
    counter.update(3'500'000);
    EXPECT_EQ(counter.total_uj(), 2'500'000u);
    EXPECT_DOUBLE_EQ(counter.joules(), 2.5);
    counter.update(3'750'000);
    EXPECT_DOUBLE_EQ(counter.joules(), 2.75);
}

TEST(WrapCounter, OneWrapAddsRangeMinusPreviousPlusCurrent) {
    WrapCounter counter(1000);
    counter.update(900);
    EXPECT_TRUE(counter.update(100));
    EXPECT_EQ(counter.total_uj(), 200u);  // 1000 - 900 + 100
    EXPECT_EQ(counter.wraps(), 1u);
    EXPECT_TRUE(counter.update(150));
    EXPECT_EQ(counter.total_uj(), 250u);
}

TEST(WrapCounter, OneWrapWithARealRange) {
    const std::uint64_t range = 262'143'328'850;  // a typical intel-rapl max_energy_range_uj
    WrapCounter counter(range);
    counter.update(262'143'000'000);
    counter.update(1'000'000);
    EXPECT_EQ(counter.total_uj(), 328'850u + 1'000'000u);
    EXPECT_DOUBLE_EQ(counter.joules(), 1.32885);
}

TEST(WrapCounter, ManyReadsBetweenSeveralWraps) {
    const std::uint64_t range = 1'000'000;
    const std::uint64_t step = 150'000;
    WrapCounter counter(range);
    std::uint64_t raw = 600'000;
    counter.update(raw);
    for (int i = 0; i < 40; ++i) {
        raw += step;
        if (raw >= range) raw -= range;  // counter restarts from 0; the brief's convention: max - prev + cur
        ASSERT_TRUE(counter.update(raw));
    }
    EXPECT_EQ(counter.total_uj(), 40 * step);
    EXPECT_EQ(counter.wraps(), 6u);  // 600k + 6M crosses 1M six times
    EXPECT_EQ(counter.errors(), 0u);
}

TEST(WrapCounter, ReadsFarApart) {
    const std::uint64_t range = 1'000'000;
    WrapCounter counter(range);
    counter.update(10);
    counter.update(range - 10);  // almost a whole range, no wrap
    EXPECT_EQ(counter.total_uj(), range - 20);
    counter.update(range - 20);  // just below: read as one wrap, almost a whole range
    EXPECT_EQ(counter.total_uj(), (range - 20) + (range - 10));
    EXPECT_EQ(counter.wraps(), 1u);
}

TEST(WrapCounter, UnknownRangeTreatsADecreaseAsAnErrorAndNeverGoesNegative) {
    WrapCounter counter(0);
    counter.update(1000);
    counter.update(1500);
    EXPECT_EQ(counter.total_uj(), 500u);
    EXPECT_FALSE(counter.update(200));
    EXPECT_EQ(counter.total_uj(), 500u);
    EXPECT_EQ(counter.errors(), 1u);
    // The bad reading is the new reference: only the broken interval is lost.
    EXPECT_TRUE(counter.update(700));
    EXPECT_EQ(counter.total_uj(), 1000u);
    EXPECT_EQ(counter.wraps(), 0u);
}

TEST(WrapCounter, ReadingAboveAKnownRangeIsRejected) {
    WrapCounter counter(1000);
    counter.update(100);
    EXPECT_FALSE(counter.update(5000));
    EXPECT_EQ(counter.total_uj(), 0u);
    EXPECT_EQ(counter.errors(), 1u);
    EXPECT_TRUE(counter.update(400));
    EXPECT_EQ(counter.total_uj(), 300u);
}

}  // namespace
}  // namespace joulecast::sensors
