#include "forecast/backtest.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace joulecast::forecast {
namespace {

// Ten epochs: the first four as given, then six at `later` J.
CompletedRun ten_epochs(std::string name, std::vector<double> profile, double later) {
    CompletedRun run;
    run.name = std::move(name);
    run.epoch_energy_j = std::move(profile);
    run.epoch_energy_j.resize(10, later);
    return run;
}

std::vector<CompletedRun> hand_made_runs() {
    return {
        ten_epochs("warm", {30, 10, 10, 10}, 10),    // 120 J; forecaster exact, naive 150
        ten_epochs("rise10", {10, 10, 10, 10}, 11),  // 106 J; both say 100
        ten_epochs("rise50", {10, 10, 10, 10}, 15),  // 130 J
        ten_epochs("fall20", {10, 10, 10, 10}, 8),   // 88 J
        ten_epochs("flat", {10, 10, 10, 10}, 10),    // 100 J; both exact
    };
}

TEST(BacktestRuns, PerRunErrorsAndAggregatesOnHandMadeRuns) {
    const auto runs = hand_made_runs();
    auto result = backtest(runs, ProfileLength::epochs(4));
    ASSERT_TRUE(result.ok()) << result.error();
    const BacktestSummary& s = *result;
    ASSERT_EQ(s.runs.size(), 5u);
    EXPECT_TRUE(s.skipped.empty());

    const RunBacktest& warm = s.runs[0];
    EXPECT_EQ(warm.name, "warm");
    EXPECT_EQ(warm.profile_epochs, 4u);
    EXPECT_EQ(warm.epochs, 10u);
    EXPECT_DOUBLE_EQ(warm.measured_j, 120.0);
    EXPECT_DOUBLE_EQ(warm.forecast_j, 120.0);
    EXPECT_DOUBLE_EQ(warm.naive_j, 150.0);
    EXPECT_DOUBLE_EQ(warm.forecast_error_pct, 0.0);
    EXPECT_DOUBLE_EQ(warm.naive_error_pct, 25.0);
    EXPECT_EQ(warm.warmup_excluded, 1u);
    EXPECT_TRUE(warm.covered);

    const double rise10 = (100.0 - 106.0) / 106.0 * 100, rise50 = (100.0 - 130.0) / 130.0 * 100,
                 fall20 = (100.0 - 88.0) / 88.0 * 100;
    EXPECT_DOUBLE_EQ(s.runs[1].forecast_error_pct, rise10);
    EXPECT_DOUBLE_EQ(s.runs[1].naive_error_pct, rise10);
    EXPECT_DOUBLE_EQ(s.runs[2].forecast_error_pct, rise50);
    EXPECT_DOUBLE_EQ(s.runs[3].forecast_error_pct, fall20);
    EXPECT_DOUBLE_EQ(s.runs[4].forecast_error_pct, 0.0);

    // Forecaster APEs sorted: 0, 0, |rise10|, fall20, |rise50|; naive: 0, |rise10|, fall20, |rise50|, 25.
    // Median = the third; p90 sits at position 3.6 (linear interpolation between the 4th and 5th).
    EXPECT_NEAR(s.forecast_median_ape_pct, std::abs(rise10), 1e-9);
    EXPECT_NEAR(s.forecast_p90_ape_pct, fall20 + 0.6 * (std::abs(rise50) - fall20), 1e-9);
    EXPECT_NEAR(s.naive_median_ape_pct, fall20, 1e-9);
    EXPECT_NEAR(s.naive_p90_ape_pct, std::abs(rise50) + 0.6 * (25.0 - std::abs(rise50)), 1e-9);
    EXPECT_LT(s.forecast_median_ape_pct, s.naive_median_ape_pct);

    // Constant profiles have zero-width intervals: only the two exact runs are covered.
    EXPECT_DOUBLE_EQ(s.coverage, 0.4);
}

TEST(BacktestRuns, FractionProfilesRoundUpAndSkipRunsWithNothingLeft) {
    EXPECT_EQ(ProfileLength::fraction(0.1).epochs_for(20), 2u);
    EXPECT_EQ(ProfileLength::fraction(0.1).epochs_for(25), 3u);
    EXPECT_EQ(ProfileLength::fraction(0.1).epochs_for(5), 1u);
    EXPECT_EQ(ProfileLength::fraction(0.3).epochs_for(10), 3u);
    EXPECT_EQ(ProfileLength::epochs(3).epochs_for(2), 3u);
    EXPECT_EQ(ProfileLength::epochs(3).describe(), "3 epochs");
    EXPECT_EQ(ProfileLength::fraction(0.1).describe(), "10% of each run");

    std::vector<CompletedRun> runs(4);
    runs[0].name = "twenty";
    runs[0].epoch_energy_j.assign(20, 5.0);
    runs[0].epoch_duration_s.assign(20, 1.0);
    runs[1].name = "single";
    runs[1].epoch_energy_j = {5.0};
    runs[2].name = "nan";
    runs[2].epoch_energy_j = {5.0, std::nan(""), 5.0};
    runs[3].name = "mismatch";
    runs[3].epoch_energy_j = {5.0, 5.0, 5.0};
    runs[3].epoch_duration_s = {1.0};
    auto result = backtest(runs, ProfileLength::fraction(0.1));
    ASSERT_TRUE(result.ok()) << result.error();
    ASSERT_EQ(result->runs.size(), 1u);
    EXPECT_EQ(result->runs[0].profile_epochs, 2u);
    EXPECT_DOUBLE_EQ(result->runs[0].forecast_j, 100.0);
    ASSERT_EQ(result->skipped.size(), 3u);
    EXPECT_NE(result->skipped[0].find("single"), std::string::npos);
    EXPECT_NE(result->skipped[1].find("nan"), std::string::npos);
    EXPECT_NE(result->skipped[2].find("mismatch"), std::string::npos);
}

TEST(BacktestRuns, AGivenMeasuredTotalIsWhatForecastsAreComparedWith) {
    std::vector<CompletedRun> runs(1);
    runs[0].name = "with-total";
    runs[0].epoch_energy_j.assign(8, 10.0);
    runs[0].total_energy_j = 100.0;  // e.g. the epochs plus 20 J of evaluation
    auto result = backtest(runs, ProfileLength::epochs(2));
    ASSERT_TRUE(result.ok()) << result.error();
    EXPECT_DOUBLE_EQ(result->runs[0].measured_j, 100.0);
    EXPECT_DOUBLE_EQ(result->runs[0].forecast_error_pct, -20.0);
}

TEST(BacktestRuns, BadInputsAreErrors) {
    const auto runs = hand_made_runs();
    EXPECT_FALSE(backtest(std::span<const CompletedRun>(), ProfileLength::epochs(2)).ok());
    EXPECT_FALSE(backtest(runs, ProfileLength::epochs(0)).ok());
    EXPECT_FALSE(backtest(runs, ProfileLength::fraction(0)).ok());
    EXPECT_FALSE(backtest(runs, ProfileLength::fraction(1.5)).ok());
    EXPECT_FALSE(backtest(runs, ProfileLength::fraction(std::nan(""))).ok());
    // Every run skipped (a 10-epoch profile of 10-epoch runs): an error that lists why.
    auto none = backtest(runs, ProfileLength::epochs(10));
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().find("nothing to forecast"), std::string::npos) << none.error();
    ForecastOptions bad;
    bad.confidence = 0;
    EXPECT_FALSE(backtest(runs, ProfileLength::epochs(4), bad).ok());
}

TEST(BacktestRuns, JsonCarriesBothMethodsAndEveryRun) {
    const auto runs = hand_made_runs();
    auto result = backtest(runs, ProfileLength::epochs(4));
    ASSERT_TRUE(result.ok()) << result.error();
    const auto j = backtest_to_json(*result);
    EXPECT_EQ(j["profile"], "4 epochs");
    EXPECT_DOUBLE_EQ(j["forecast"]["median_ape_pct"].get<double>(), result->forecast_median_ape_pct);
    EXPECT_DOUBLE_EQ(j["naive"]["p90_ape_pct"].get<double>(), result->naive_p90_ape_pct);
    ASSERT_EQ(j["runs"].size(), 5u);
    EXPECT_EQ(j["runs"][0]["name"], "warm");
    EXPECT_DOUBLE_EQ(j["runs"][0]["naive_error_pct"].get<double>(), 25.0);
}

}  // namespace
}  // namespace joulecast::forecast
