#pragma once
// Forecasts a job's total energy from a short profile: the energy of its first epochs (training) or of its
// first fixed time windows (an inference service).
//
// Method (forecast_total):
//   0. Sub-epoch warm-up (when fixed time windows covering the profile are given): leading windows whose
//      power lies above the later half of the windows (median + threshold × MAD spread, one-sided) are a
//      warm-up burst; their excess over that median is removed from the epochs that hold them and reported
//      as `warmup_energy_j` (measured, counted once, not extrapolated). A 2-epoch profile whose first epoch
//      starts with a burst is then forecast from its steady part.
//   1. Warm-up: leading observations of the first half are compared, one after another, with a robust fit
//      of the later half (its median; a Theil–Sen line when it has 10+ points) and excluded while they lie
//      ABOVE it by more than a one-sided Student-t prediction bound: the noise is the standard deviation of
//      the reference's own residuals (learned from the profile, no prior), the quantile is t at the
//      probability of `warmup_threshold` normal spreads with the reference's degrees of freedom, and the
//      spread adds the reference's level and slope uncertainty; the noise is floored at 0.5% of the level.
//      A reference of 2 observations gives no noise level: there the bound is 3.5 × 15% of the level
//      (about the noisiest steady epochs seen), so short profiles rely on the sub-epoch test (0) for
//      moderate warm-up. At most the first half is
//      excluded; when the whole first half goes, the forecast says so and is not `converged` (unless the
//      level-shift test explains it as a step). With 2 observations nothing is excluded (noted).
//   2. Level shift: with 8+ steady observations, one split into two constant segments (medians) that fits
//      much better than one robust line (L1 cost below 0.6×) and whose shift is significant (> 4 robust
//      standard errors) starts a new regime; only the last regime is used. Repeated on the last regime.
//   3. Level and trend over the used observations: Theil–Sen slope (robust to single spikes, which would
//      otherwise tilt a line extrapolated over many epochs), kept only when significant: it is scaled by
//      max(0, 1 − (c/z)⁴), z = slope / standard error, c = trend_shrink_z × t₀.₉₇₅(m−2) / z₀.₉₇₅, so a noisy
//      flat series extrapolates no spurious slope. The level is the MEAN at the centroid, not a median,
//      because a total is a sum: recurring spikes (checkpoints, evaluation) belong in it. With fewer than
//      `min_trend_observations` used observations no trend is fitted. A trend is extrapolated at most
//      `trend_horizon_factor` × (used observations) past the last one; the level is held after that.
//   4. Interval on the remainder: see docs/forecast.md ("Interval") for the variance terms: the level's,
//      the remaining observations' own noise (both scaled by the autocorrelation factor), the trend's (kept
//      when the trend is shrunk to zero or not fitted, bounded by a drift prior) and a floor for profiles
//      too short to estimate the noise.
// Targets: a number of epochs / windows in the whole job (seen ones included), a number of samples in the
// whole job (converted to observations at the mean samples per used observation), or a duration of the
// whole job (converted at the mean duration per used observation).

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "meter/forecast_working.hpp"
#include "meter/run_result.hpp"

namespace joulecast::forecast {

/// One epoch (or one fixed time window) of a job, in order.
struct Observation {
    double energy_j = 0;            ///< energy of this epoch / window, joules (>= 0)
    double duration_s = 0;          ///< its length, seconds (>= 0; > 0 needed for a duration target)
    std::optional<double> samples;  ///< samples processed in it (needed for a samples target)
};

/// How much of the job the forecast is for. The amount counts the WHOLE job, observed part included.
struct ForecastTarget {
    using Kind = meter::TargetKind;
    Kind kind = Kind::epochs;
    double amount = 0;  ///< epochs / windows, samples, or seconds (> 0, finite)

    static ForecastTarget epochs(double n) { return {Kind::epochs, n}; }
    static ForecastTarget samples(double n) { return {Kind::samples, n}; }
    static ForecastTarget duration(double seconds) { return {Kind::duration, seconds}; }
};

struct ForecastOptions {
    double confidence = 0.9;  ///< two-sided confidence of [low, high], in (0, 1)
    /// One-sided z (converted to a t quantile at the reference's degrees of freedom) above which a leading
    /// observation or sub-epoch window is warm-up.
    double warmup_threshold = 3.5;
    bool detect_level_shift = true;          ///< use only the last regime after a significant step
    std::size_t min_trend_observations = 8;  ///< fewer used observations: level only, no trend
    /// Slope z (slope / standard error) at and below which the trend is shrunk to 0; above it the slope is
    /// scaled by 1 − (threshold / z)⁴. Raised by t/z at the fit's degrees of freedom for short series.
    double trend_shrink_z = 3.0;
    double trend_horizon_factor = 5.0;  ///< extrapolate a trend at most this × used observations ahead
    /// Drift allowance: the standard deviation, as a fraction of the level per observation, of a trend the
    /// profile cannot rule out. When no trend is used (too few observations, or shrunk to zero) the slope's
    /// variance kept in the interval is 1 / (1/se² + 1/(drift_prior × level)²): the data's own slope
    /// uncertainty se, bounded by this allowance.
    double drift_prior = 0.0002;
    /// Fewest used observations from which the lag-1 autocorrelation of the residuals is estimated.
    std::size_t autocorrelation_min_observations = 8;
    /// Lag-1 autocorrelation assumed below that: a profile too short to tell independent noise from
    /// correlated noise gets the interval of mildly correlated noise.
    double short_profile_autocorrelation = 0.1;
    double single_observation_width = 0.5;  ///< ± this fraction of the predicted remainder from 1 observation
    double converged_width = 0.05;          ///< `converged` needs (high − low) / 2 <= this × total
};

/// A forecast, with the forecaster's working (measured part, warm-up, fit; meter/forecast_working.hpp).
struct Forecast : meter::ForecastWorking {
    double total_energy_j = 0;  ///< measured + predicted remainder, joules
    double low_energy_j = 0;    ///< lower bound of the total at `confidence` (>= measured), joules
    double high_energy_j = 0;   ///< upper bound of the total at `confidence`, joules
    double confidence = 0.9;
    double total_duration_s = 0;  ///< measured + predicted remaining duration, seconds
    /// "steady-mean" (no trend used), "steady-trend" (a Theil–Sen trend used), "single-observation",
    /// "naive-mean" (naive_forecast).
    std::string method;
    /// True when the forecast rests on a steady state: at least 3 used observations, no warm-up fallback, and
    /// a half-width of the interval at most options.converged_width of the total.
    bool converged = false;
};

/// Forecasts the whole job's energy from the observations so far (see the method above). Errors for: no
/// observations, a NaN / infinite / negative energy, duration or samples, a target that is not positive and
/// finite, a samples target with observations lacking samples (or none used having any), a duration target
/// whose used observations have no duration, an out-of-range option. A target already reached gives the
/// measured total with a note.
///
/// `windows` (optional): consecutive fixed time windows covering the observations from the first one's start
/// (the run's power timeline cut into equal windows, see windows.hpp), used for the sub-epoch warm-up test
/// (step 0). Ignored unless there are at least 8 and the observations have durations.
core::Result<Forecast> forecast_total(std::span<const Observation> observations, const ForecastTarget& target,
                                      const ForecastOptions& options = {},
                                      std::span<const Observation> windows = {});

/// The carbontracker-style baseline: the mean of ALL observations so far (warm-up included) per observation
/// × the whole job (per second × duration, per sample × samples for those targets). No interval (low = high
/// = total). Same errors as forecast_total.
core::Result<Forecast> naive_forecast(std::span<const Observation> observations,
                                      const ForecastTarget& target);

/// Observations from a run's epochs (energy, end − start, samples), in order.
std::vector<Observation> observations_from_epochs(const std::vector<meter::EpochResult>& epochs);

/// The forecast as JSON for the run result's "forecast" object and for `joulecast forecast --json`.
nlohmann::ordered_json forecast_to_json(const Forecast& forecast);

}  // namespace joulecast::forecast
