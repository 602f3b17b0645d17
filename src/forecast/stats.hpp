#pragma once
// Small robust-statistics helpers shared by the forecaster, the backtest and the estimator.
// Pure functions on plain numbers; no units of their own (they carry whatever the caller passes).

#include <cstddef>
#include <span>
#include <vector>

namespace joulecast::forecast::stats {

/// Median of the values (mean of the two middle ones for an even count); NaN when empty.
double median(std::span<const double> values);

/// Quantile at probability p in [0, 1] with linear interpolation between order statistics (the "type 7"
/// rule of R and NumPy's default); NaN when empty.
double quantile(std::span<const double> values, double p);

/// Arithmetic mean; NaN when empty.
double mean(std::span<const double> values);

/// Croux & Rousseeuw (1992) small-sample correction for the MAD: 1 for n <= 1, tabulated for n <= 9,
/// n / (n - 0.8) above.
double mad_small_sample_factor(std::size_t n);

/// Robust standard deviation: 1.4826 × median(|v − median(v)|) × the small-sample factor, consistent for
/// normal data. 0 for fewer than 2 values.
double mad_sigma(std::span<const double> values);

/// Robust scale of values that are already residuals (centred by a fit): 1.4826 × median(|r|) × factor.
double mad_sigma_of_residuals(std::span<const double> residuals);

/// Theil–Sen slope: the median of the pairwise slopes (y_j − y_i) / (x_j − x_i) over pairs with x_j ≠ x_i.
/// Above 1500 points, consecutive points are first averaged into 1000 blocks to keep the pair count bounded.
/// 0 when fewer than two distinct x.
double theil_sen_slope(std::span<const double> x, std::span<const double> y);

/// Standard normal quantile (inverse CDF) for p in (0, 1).
double normal_quantile(double p);

/// Student t quantile for p in (0, 1) and df > 0 (need not be an integer); the normal quantile above
/// df = 1e6.
double student_t_quantile(double p, double df);

}  // namespace joulecast::forecast::stats
