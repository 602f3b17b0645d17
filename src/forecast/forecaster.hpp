#pragma once
// Forecasts a job's total energy from a short profile: the energy of its first epochs (training) or of its
// first fixed time windows (an inference service).
//
// Method (forecast_total):
//   1. Warm-up: leading observations of the first half are compared, one after another, with a robust fit
//      of the later half (its median; a Theil–Sen line when it has 10+ points) and excluded while they lie
//      more than `warmup_threshold` spreads away. The spread blends the reference's MAD with a prior noise
//      of `warmup_noise_prior` × level (the MAD of a few points is often near 0 by chance) and adds the
//      uncertainty of the reference's level and slope. At most the first half is excluded, so at least 2
//      observations remain from 3 on; when the whole first half goes, the forecast says so and is not
//      `converged` (unless the level-shift test explains it as a step). With 2 observations nothing is
//      excluded (noted).
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
//   4. Interval on the remainder: Student t (m−1 degrees of freedom without a trend, m−2 with one) times the
//      standard deviation of: level × remaining (level variance σ²/m), the noise of the remaining
//      observations themselves (σ² each), and, with a trend, slope × Σ future offsets (the slope's
//      variance plus the square of what shrinkage removed). Observations already seen count as measured:
//      only the remainder is predicted and uncertain. Limits: noise is taken as independent between
//      observations (autocorrelated series are covered less often than stated), and a trend too weak to be
//      significant is taken as none, so extrapolating far beyond the profile does not cover it.
//
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
#include "meter/run_result.hpp"

namespace joulecast {

/// One epoch (or one fixed time window) of a job, in order.
struct Observation {
    double energy_j = 0;            ///< energy of this epoch / window, joules (>= 0)
    double duration_s = 0;          ///< its length, seconds (>= 0; > 0 needed for a duration target)
    std::optional<double> samples;  ///< samples processed in it (needed for a samples target)
};

/// How much of the job the forecast is for. The amount counts the WHOLE job, observed part included.
struct ForecastTarget {
    using Kind = TargetKind;
    Kind kind = Kind::epochs;
    double amount = 0;  ///< epochs / windows, samples, or seconds (> 0, finite)

    static ForecastTarget epochs(double n) { return {Kind::epochs, n}; }
    static ForecastTarget samples(double n) { return {Kind::samples, n}; }
    static ForecastTarget duration(double seconds) { return {Kind::duration, seconds}; }
};

struct ForecastOptions {
    double confidence = 0.9;        ///< two-sided confidence of [low, high], in (0, 1)
    double warmup_threshold = 3.5;  ///< robust z beyond which a leading observation is warm-up
    /// Prior noise of a steady observation, as a fraction of the level, blended into the warm-up scale (4
    /// pseudo-observations) so that the MAD of a few observations cannot make every deviation an outlier.
    double warmup_noise_prior = 0.02;
    bool detect_level_shift = true;          ///< use only the last regime after a significant step
    std::size_t min_trend_observations = 5;  ///< fewer used observations: level only, no trend
    /// Slope z (slope / standard error) at and below which the trend is shrunk to 0; above it the slope is
    /// scaled by 1 − (threshold / z)⁴. Raised by t/z at the fit's degrees of freedom for short series.
    double trend_shrink_z = 3.0;
    double trend_horizon_factor = 5.0;      ///< extrapolate a trend at most this × used observations ahead
    double single_observation_width = 0.5;  ///< ± this fraction of the predicted remainder from 1 observation
    double converged_width = 0.05;          ///< `converged` needs (high − low) / 2 <= this × total
};

struct Forecast {
    double total_energy_j = 0;  ///< measured + predicted remainder, joules
    double low_energy_j = 0;    ///< lower bound of the total at `confidence` (>= measured), joules
    double high_energy_j = 0;   ///< upper bound of the total at `confidence`, joules
    double confidence = 0.9;
    double measured_energy_j = 0;   ///< sum over the observations seen (warm-up included), joules
    double predicted_energy_j = 0;  ///< the remainder only, joules
    double total_duration_s = 0;    ///< measured + predicted remaining duration, seconds
    double measured_duration_s = 0;
    std::size_t observations = 0;       ///< observations seen
    std::size_t warmup_excluded = 0;    ///< leading observations excluded as warm-up
    std::size_t first_used = 0;         ///< index of the first observation the fit used (after a level shift)
    std::size_t observations_used = 0;  ///< observations the fit used
    double remaining_observations = 0;  ///< predicted further observations (may be fractional)
    double level_j = 0;      ///< steady-state energy per observation, fitted at the last one, joules
    double trend_j = 0;      ///< change of energy per observation, per observation (after shrinkage), J
    double raw_trend_j = 0;  ///< the Theil–Sen slope before shrinkage, J per observation
    double noise_j = 0;      ///< residual standard deviation per observation, joules
    /// "steady-mean" (no trend used), "steady-trend" (a Theil–Sen trend used), "single-observation",
    /// "naive-mean" (naive_forecast).
    std::string method;
    /// True when the forecast rests on a steady state: at least 3 used observations, no warm-up fallback, and
    /// a half-width of the interval at most options.converged_width of the total.
    bool converged = false;
    std::vector<std::string> notes;  ///< plain-language remarks: what was excluded and why, fallbacks
};

/// Forecasts the whole job's energy from the observations so far (see the method above). Errors for: no
/// observations, a NaN / infinite / negative energy, duration or samples, a target that is not positive and
/// finite, a samples target with observations lacking samples (or none used having any), a duration target
/// whose used observations have no duration, an out-of-range option. A target already reached gives the
/// measured total with a note.
Result<Forecast> forecast_total(std::span<const Observation> observations, const ForecastTarget& target,
                                const ForecastOptions& options = {});

/// The carbontracker-style baseline: the mean of ALL observations so far (warm-up included) per observation
/// × the whole job (per second × duration, per sample × samples for those targets). No interval (low = high
/// = total). Same errors as forecast_total.
Result<Forecast> naive_forecast(std::span<const Observation> observations, const ForecastTarget& target);

/// Observations from a run's epochs (energy, end − start, samples), in order.
std::vector<Observation> observations_from_epochs(const std::vector<EpochResult>& epochs);

/// The forecast as JSON for the run result's "forecast" object and for `joulecast forecast --json`.
nlohmann::ordered_json forecast_to_json(const Forecast& forecast);

}  // namespace joulecast
