// Correlations and the Pareto front against values computed by hand.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "analysis/analysis.hpp"
#include "analysis/common.hpp"
#include "core/format.hpp"

namespace joulecast::analysis {

using core::format_energy;
using core::format_fixed;
using core::format_significant;

namespace {

TEST(AnalysisStatistics, PearsonMatchesHandComputedValue) {
    // mean x = 3, mean y = 4; Sxy = 6, Sxx = 10, Syy = 6: r = 6 / sqrt(60).
    auto r = pearson({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5});
    ASSERT_TRUE(r);
    EXPECT_NEAR(*r, 6.0 / std::sqrt(60.0), 1e-12);
    auto negative = pearson({1, 2, 3}, {3, 2, 1});
    ASSERT_TRUE(negative);
    EXPECT_NEAR(*negative, -1.0, 1e-12);
}

TEST(AnalysisStatistics, PearsonIsStableForLargeValues) {
    // MACs of real models are ~1e9; a one-pass formula loses every digit here.
    auto r = pearson({1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4, 1e9 + 5}, {2, 4, 5, 4, 5});
    ASSERT_TRUE(r);
    EXPECT_NEAR(*r, 6.0 / std::sqrt(60.0), 1e-9);
}

TEST(AnalysisStatistics, AverageRanksShareTies) {
    EXPECT_EQ(average_ranks({10, 20, 20, 30}), (std::vector<double>{1, 2.5, 2.5, 4}));
    EXPECT_EQ(average_ranks({5, 1, 5, 5}), (std::vector<double>{3, 1, 3, 3}));
    EXPECT_TRUE(average_ranks({}).empty());
}

TEST(AnalysisStatistics, SpearmanWithTiesMatchesHandComputedValue) {
    // y ranks {1.5, 3.5, 3.5, 5, 1.5}, x ranks 1..5: Sxy = 1.5, Sxx = 10, Syy = 9: rho = 1.5 / sqrt(90).
    auto rho = spearman({1, 2, 3, 4, 5}, {10, 20, 20, 30, 10});
    ASSERT_TRUE(rho);
    EXPECT_NEAR(*rho, 1.5 / std::sqrt(90.0), 1e-12);
}

TEST(AnalysisStatistics, SpearmanIsOneForAMonotoneCurveWherePearsonIsNot) {
    const std::vector<double> x = {1, 2, 3, 4, 5}, y = {1, 8, 27, 64, 1000};
    EXPECT_NEAR(*spearman(x, y), 1.0, 1e-12);
    EXPECT_LT(*pearson(x, y), 0.9);
}

TEST(AnalysisStatistics, UndefinedCorrelationsAreNull) {
    EXPECT_FALSE(pearson({1, 2}, {3, 4}));  // n < 3
    EXPECT_FALSE(spearman({1, 2}, {3, 4}));
    EXPECT_FALSE(pearson({1, 2, 3}, {5, 5, 5}));  // zero variance
    EXPECT_FALSE(spearman({7, 7, 7, 7}, {1, 2, 3, 4}));
    EXPECT_FALSE(pearson({0.1, 0.1, 0.1}, {1, 2, 3}));  // equal values whose mean rounds
    EXPECT_FALSE(pearson({1, 2, 3}, {1, 2}));           // sizes differ
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_FALSE(pearson({1, 2, nan, 4}, {1, 2, 3, 4}));
    EXPECT_FALSE(spearman({1, 2, 3, 4}, {1, std::numeric_limits<double>::infinity(), 3, 4}));
}

TEST(AnalysisStatistics, ParetoFrontOfAHandMadeSet) {
    // (accuracy, J/sample): C is dominated by A, E by B; F duplicates B and both stay.
    const std::vector<std::pair<double, double>> points = {
        {0.90, 10},  // A
        {0.80, 5},   // B
        {0.85, 12},  // C
        {0.95, 20},  // D
        {0.70, 6},   // E
        {0.80, 5},   // F
        {0.80, 7},   // G: same accuracy as B, more energy
    };
    EXPECT_EQ(pareto_front(points), (std::vector<std::size_t>{1, 5, 0, 3}));
}

TEST(AnalysisStatistics, ParetoFrontSkipsNonFiniteAndHandlesEmpty) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(pareto_front({}).empty());
    EXPECT_EQ(pareto_front({{nan, 1}, {0.5, 2}, {0.9, nan}}), (std::vector<std::size_t>{1}));
    EXPECT_EQ(pareto_front({{0.5, 2}}), (std::vector<std::size_t>{0}));
}

TEST(AnalysisStatistics, Formatting) {
    EXPECT_EQ(format_energy(0.0123), "12.3 mJ");
    EXPECT_EQ(format_energy(5.4), "5.40 J");
    EXPECT_EQ(format_energy(1200), "1.20 kJ");
    EXPECT_EQ(format_energy(0.0000052), "5.20 µJ");
    EXPECT_EQ(format_energy(0), "0 J");
    // Three significant digits of the rounded value, also at a prefix's edge.
    EXPECT_EQ(format_energy(99.96), "100 J");
    EXPECT_EQ(format_energy(9.996), "10.0 J");
    EXPECT_EQ(format_energy(999.6), "1.00 kJ");
    EXPECT_EQ(format_energy(-2500), "-2.50 kJ");
    EXPECT_EQ(format_count(1e6), "1 M");
    EXPECT_EQ(format_count(250000), "250 k");
    EXPECT_EQ(format_count(999999.99999), "1 M");
    EXPECT_EQ(format_count(1331.72), "1332");
    EXPECT_EQ(format_count(0.25), "0.25");
    EXPECT_EQ(format_ratio(5.43), "5.4x");
    EXPECT_EQ(format_percent(0.99987), "99.9%");
    EXPECT_EQ(format_percent(1.0), "100%");
    EXPECT_EQ(format_percent(0.003), "0.3%");
    EXPECT_EQ(format_percent(0.4567), "46%");
    EXPECT_EQ(format_significant(std::numeric_limits<double>::quiet_NaN()), "n/a");
    EXPECT_EQ(format_significant(1234567.0), "1.23e+06");
    EXPECT_EQ(format_significant(0.000124, 2), "0.00012");
    EXPECT_EQ(format_significant(13.3333, 4), "13.33");
    EXPECT_EQ(format_fixed(1234.5, 2), "1234.50");
}

}  // namespace
}  // namespace joulecast::analysis
