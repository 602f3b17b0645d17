#include "forecast/forecaster.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>

#include "core/format.hpp"
#include "core/text.hpp"
#include "forecast/stats.hpp"
#include "meter/run_json.hpp"

namespace joulecast::forecast {

using core::Error;
using core::format_significant;
using core::Result;

using meter::EpochResult;
using meter::write_forecast_working;

namespace {

// Variance inflation of the Theil–Sen slope over least squares for normal noise (its asymptotic efficiency
// is about 0.91).
constexpr double theil_sen_variance_inflation = 1.1;
constexpr std::size_t level_shift_min_observations = 8;
constexpr std::size_t level_shift_min_segment = 3;
constexpr double level_shift_cost_ratio = 0.6;
constexpr double level_shift_z = 4.0;
constexpr std::size_t level_shift_max_splits = 200;

bool finite_non_negative(double value) {
    return std::isfinite(value) && value >= 0;
}

// Checks what both forecasters need; the error names the first bad observation.
std::optional<Error> validate(std::span<const Observation> observations, const ForecastTarget& target) {
    if (observations.empty()) return Error{"no observations to forecast from: at least one epoch is needed"};
    if (!std::isfinite(target.amount) || target.amount <= 0) {
        return Error{"the forecast target must be a positive finite number, not " +
                     format_significant(target.amount, 4)};
    }
    for (std::size_t i = 0; i < observations.size(); ++i) {
        const Observation& o = observations[i];
        const std::string where = "observation " + std::to_string(i + 1);
        if (!finite_non_negative(o.energy_j)) return Error{where + ": energy must be finite and >= 0"};
        if (!finite_non_negative(o.duration_s)) return Error{where + ": duration must be finite and >= 0"};
        if (o.samples && !finite_non_negative(*o.samples)) {
            return Error{where + ": samples must be finite and >= 0"};
        }
        if (target.kind == ForecastTarget::Kind::samples && !o.samples) {
            return Error{where +
                         " has no sample count: a samples target needs samples for every observation"};
        }
    }
    return std::nullopt;
}

std::optional<Error> validate(const ForecastOptions& o) {
    if (!(o.confidence > 0 && o.confidence < 1)) return Error{"confidence must lie in (0, 1)"};
    if (!(o.warmup_threshold > 0)) return Error{"warmup_threshold must be > 0"};
    if (!(o.trend_shrink_z >= 0)) return Error{"trend_shrink_z must be >= 0"};
    if (!(o.trend_horizon_factor >= 0)) return Error{"trend_horizon_factor must be >= 0"};
    if (!(o.single_observation_width >= 0)) return Error{"single_observation_width must be >= 0"};
    if (!(o.converged_width >= 0)) return Error{"converged_width must be >= 0"};
    if (o.min_trend_observations < 3) return Error{"min_trend_observations must be >= 3"};
    if (!(o.drift_prior >= 0)) return Error{"drift_prior must be >= 0"};
    if (o.autocorrelation_min_observations < 4) return Error{"autocorrelation_min_observations must be >= 4"};
    if (!(o.short_profile_autocorrelation >= 0 && o.short_profile_autocorrelation < 1))
        return Error{"short_profile_autocorrelation must lie in [0, 1)"};
    return std::nullopt;
}

double shrink_weight(double slope, double standard_error, double shrink_z) {
    if (slope == 0) return 0;
    if (standard_error <= 0) return 1;
    const double z = std::abs(slope) / standard_error;
    if (z <= shrink_z) return 0;
    // A fourth power: nothing at the threshold, and almost no shrinkage of a clearly significant trend.
    return 1 - std::pow(shrink_z / z, 4);
}

struct ReferenceFit {
    double level = 0;   // robust level of the reference at its centre
    double slope = 0;   // Theil–Sen slope (0 for a short reference)
    double scale = 0;   // robust residual standard deviation
    double centre = 0;  // mean position of the reference
    double sxx = 0;     // Σ (position − centre)², for the slope's standard error; 0 without a slope
};

// A robust line (or, for a short reference, a level) through the observations [begin, end).
ReferenceFit fit_reference(const std::vector<double>& y, std::size_t begin, std::size_t end,
                           const ForecastOptions& options) {
    std::vector<double> xs,
        ys(y.begin() + static_cast<std::ptrdiff_t>(begin), y.begin() + static_cast<std::ptrdiff_t>(end));
    for (std::size_t i = begin; i < end; ++i) xs.push_back(static_cast<double>(i));
    ReferenceFit fit;
    fit.centre = stats::mean(xs);
    fit.level = stats::median(ys);
    fit.scale = stats::mad_sigma(ys);
    // A slope needs more points than the forecast's own fit: from a few, extrapolated back to the start, its
    // uncertainty would swamp the comparison.
    if (ys.size() < 2 * options.min_trend_observations) return fit;
    fit.slope = stats::theil_sen_slope(xs, ys);
    std::vector<double> residuals(ys.size());
    for (std::size_t i = 0; i < ys.size(); ++i) residuals[i] = ys[i] - fit.slope * (xs[i] - fit.centre);
    fit.level = stats::median(residuals);
    for (double& r : residuals) r -= fit.level;
    fit.scale = stats::mad_sigma_of_residuals(residuals);
    for (double x : xs) fit.sxx += (x - fit.centre) * (x - fit.centre);
    return fit;
}

// Floor of the warm-up test's noise scale, as a fraction of the level (boundary and counter jitter).
constexpr double warmup_resolution = 0.005;
// The noise assumed for a reference of only 2 observations, as a fraction of the level: about the noisiest
// steady epochs seen (the H100 MobileNetV2 runs with uneven data loading, 673-1192 J, have 16%).
constexpr double warmup_noisy_limit = 0.15;

// One-sided Student-t bound, in spreads, for the probability of `z` normal spreads at `df` degrees of
// freedom: the noise is learned from the reference alone, so few reference points give a wide bound.
double one_sided_bound(double z, double df) {
    // The t quantile far in the tail takes many density evaluations; the same (z, df) recur for every
    // forecast, so they are computed once.
    static std::mutex mutex;
    static std::map<std::pair<double, double>, double> cache;
    const std::lock_guard<std::mutex> lock(mutex);
    const auto key = std::make_pair(z, df);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    const double bound = stats::student_t_quantile(0.5 * std::erfc(-z / M_SQRT2), df);
    if (cache.size() < 4096) cache.emplace(key, bound);
    return bound;
}

// Number of leading warm-up observations; `limited` when every candidate was excluded. One-sided: only
// observations ABOVE the steady reference are warm-up (a first epoch below it is noise or a short epoch).
std::size_t detect_warmup(const std::vector<double>& y, const ForecastOptions& options, bool& limited) {
    const std::size_t n = y.size();
    limited = false;
    if (n < 3) return 0;
    // Candidates are the first half and the reference is the later half: warm-up sits at the start, and a
    // fixed reference stops one underestimated scale from excluding observation after observation.
    const std::size_t half = n / 2;
    const ReferenceFit fit = fit_reference(y, half, n, options);
    const std::size_t k = n - half;
    const double df = static_cast<double>(k) - (fit.sxx > 0 ? 2.0 : 1.0);
    if (df < 1) return 0;
    // The noise is the reference's own residual standard deviation: no prior, so it cannot outweigh the data.
    double ss = 0;
    for (std::size_t i = half; i < n; ++i) {
        const double r = y[i] - fit.level - fit.slope * (static_cast<double>(i) - fit.centre);
        ss += r * r;
    }
    const double raw_scale = std::sqrt(ss / df);
    // A resolution floor: epoch boundaries and counters move a steady epoch by a fraction of a percent, which
    // is not warm-up however quiet the reference is.
    double scale = std::max(raw_scale, warmup_resolution * std::abs(fit.level));
    double bound = one_sided_bound(options.warmup_threshold, df);
    if (df < 2) {
        // A noise level from 2 points (1 degree of freedom) is no basis: the t bound (≈ 1400 spreads) would
        // be crossed only when the two happen to agree closely. Instead the noise is taken as at most
        // warmup_noisy_limit of the level (normal bound): only a first epoch far above any ordinary noise is
        // warm-up.
        scale = std::max(raw_scale, warmup_noisy_limit * std::abs(fit.level));
        bound = options.warmup_threshold;
    }
    const double level_var = scale * scale / static_cast<double>(k);
    // The reference's slope is used unshrunk, with its uncertainty in the spread: whether the start fits the
    // later trend is the question, so the burden of proof is on "warm-up", not on "trend".
    const double slope_var = fit.sxx > 0 ? scale * scale / fit.sxx * theil_sen_variance_inflation : 0.0;
    std::size_t warmup = 0;
    for (std::size_t i = 0; i < half; ++i) {
        const double offset = static_cast<double>(i) - fit.centre;
        const double predicted = fit.level + fit.slope * offset;
        const double spread = std::sqrt(scale * scale + level_var + slope_var * offset * offset);
        const double excess = y[i] - predicted;
        const bool warm = spread > 0 ? excess > bound * spread : excess > 0;
        if (!warm) break;
        warmup = i + 1;
    }
    limited = warmup == half;
    return warmup;
}

// Fewest windows in the later half of the first observation for the sub-epoch warm-up test.
constexpr std::size_t window_reference_min = 5;

struct WindowWarmup {
    std::size_t windows = 0;
    double excess_j = 0;
};

// Sub-epoch warm-up: the windows of the first observation's first half, from the start, whose power lies
// above the median power of its second half by more than the one-sided bound × that half's standard
// deviation. Their energy above that median is subtracted from the first observation. The reference is the
// same epoch's later part, not later epochs: epoch-to-epoch noise (often larger than the noise between
// windows) is then never mistaken for a burst.
WindowWarmup remove_window_warmup(std::span<const Observation> windows, std::vector<double>& y,
                                  std::span<const Observation> observations, const ForecastOptions& options) {
    WindowWarmup out;
    const double first_s = observations[0].duration_s;
    if (!(first_s > 0)) return out;
    std::vector<double> power, reference;
    double t = 0;
    for (const auto& w : windows) {
        if (!(w.duration_s > 0) || !finite_non_negative(w.energy_j)) return out;
        const double middle = t + w.duration_s / 2;
        t += w.duration_s;
        if (middle > first_s) break;
        power.push_back(w.energy_j / w.duration_s);
        if (middle >= first_s / 2) reference.push_back(power.back());
    }
    if (reference.size() < window_reference_min) return out;
    // Median level (a spike in the reference does not move it); standard deviation as the spread (the MAD of
    // a few windows is often near 0 by chance, which would make ordinary noise a burst).
    const double level_w = stats::median(reference);
    double ss = 0;
    const double mean_w = stats::mean(reference);
    for (double v : reference) ss += (v - mean_w) * (v - mean_w);
    const double k = static_cast<double>(reference.size());
    const double spread = std::sqrt(ss / (k - 1)) * std::sqrt(1 + 1 / k);
    const double bound = one_sided_bound(options.warmup_threshold, static_cast<double>(reference.size() - 1));
    const std::size_t candidates = power.size() - reference.size();
    double excess = 0;
    for (std::size_t i = 0; i < candidates; ++i) {
        const double above = power[i] - level_w;
        if (!(spread > 0 ? above > bound * spread : above > 0)) break;
        excess += above * windows[i].duration_s;
        ++out.windows;
    }
    out.excess_j = std::min(excess, y[0]);
    y[0] -= out.excess_j;
    return out;
}

double sum_abs_deviation(std::span<const double> values, double centre) {
    double sum = 0;
    for (double v : values) sum += std::abs(v - centre);
    return sum;
}

// Start (index into y) of the last regime after significant level shifts at or after `first`.
std::size_t detect_level_shift(const std::vector<double>& y, std::size_t first, std::size_t& shifts) {
    shifts = 0;
    std::size_t current = first;
    while (y.size() - current >= level_shift_min_observations) {
        const std::span<const double> segment(y.data() + current, y.size() - current);
        const std::size_t len = segment.size();
        std::vector<double> xs(len);
        std::iota(xs.begin(), xs.end(), 0.0);
        const double slope = stats::theil_sen_slope(xs, segment);
        std::vector<double> line_residuals(len);
        for (std::size_t i = 0; i < len; ++i) line_residuals[i] = segment[i] - slope * xs[i];
        const double intercept = stats::median(line_residuals);
        const double line_cost = sum_abs_deviation(line_residuals, intercept);
        if (line_cost <= 0) break;

        const std::size_t last_split = len - level_shift_min_segment;
        const std::size_t splits = last_split - level_shift_min_segment + 1;
        const std::size_t stride = std::max<std::size_t>(1, splits / level_shift_max_splits);
        double best_cost = std::numeric_limits<double>::infinity();
        std::size_t best_split = 0;
        double best_left = 0, best_right = 0;
        for (std::size_t t = level_shift_min_segment; t <= last_split; t += stride) {
            const auto left = segment.first(t), right = segment.subspan(t);
            const double left_median = stats::median(left), right_median = stats::median(right);
            const double cost = sum_abs_deviation(left, left_median) + sum_abs_deviation(right, right_median);
            if (cost < best_cost) {
                best_cost = cost;
                best_split = t;
                best_left = left_median;
                best_right = right_median;
            }
        }
        if (best_cost >= level_shift_cost_ratio * line_cost) break;
        std::vector<double> step_residuals(len);
        for (std::size_t i = 0; i < len; ++i)
            step_residuals[i] = segment[i] - (i < best_split ? best_left : best_right);
        const double sigma = stats::mad_sigma_of_residuals(step_residuals);
        const double se = sigma * std::sqrt(1.0 / static_cast<double>(best_split) +
                                            1.0 / static_cast<double>(len - best_split));
        if (std::abs(best_right - best_left) <= level_shift_z * se) break;
        current += best_split;
        ++shifts;
    }
    return current;
}

// Σ over the future positions n, n+1, ... (m of them, m may be fractional) of (position − centre), the
// position being held at n − 1 + cap once it passes that.
double future_offset_sum(double n, double m, double centre, double cap) {
    auto uncapped = [&](double count) { return count * (n - centre) + count * (count - 1) / 2; };
    if (m <= cap) return uncapped(m);
    return uncapped(cap) + (m - cap) * (n - 1 + cap - centre);
}

// Lag-1 autocorrelation of the residuals about level + slope × (x − centre); 0 when they have no spread.
double lag1_autocorrelation(std::span<const double> ys, std::span<const double> xs, double level,
                            double slope, double centre) {
    std::vector<double> r(ys.size());
    for (std::size_t i = 0; i < ys.size(); ++i) r[i] = ys[i] - level - slope * (xs[i] - centre);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
        den += r[i] * r[i];
        if (i + 1 < r.size()) num += r[i] * r[i + 1];
    }
    return den > 0 ? num / den : 0.0;
}

struct Totals {
    double energy_j = 0;
    double duration_s = 0;
    double samples = 0;
};

Totals totals(std::span<const Observation> observations) {
    Totals t;
    for (const auto& o : observations) {
        t.energy_j += o.energy_j;
        t.duration_s += o.duration_s;
        t.samples += o.samples.value_or(0);
    }
    return t;
}

// The measured totals of the job when the profile already ran past the target (a job of 1 epoch profiled over
// 2): the observations up to the target, the last one pro rata; nothing when the target lies beyond them.
std::optional<Totals> measured_up_to(std::span<const Observation> observations,
                                     const ForecastTarget& target) {
    Totals t;
    double reached = 0;
    for (const auto& o : observations) {
        double amount = 1;
        if (target.kind == ForecastTarget::Kind::samples) amount = o.samples.value_or(0);
        if (target.kind == ForecastTarget::Kind::duration) amount = o.duration_s;
        const double share = amount > 0 ? std::min(1.0, (target.amount - reached) / amount) : 1.0;
        if (share <= 0) return t;
        t.energy_j += share * o.energy_j;
        t.duration_s += share * o.duration_s;
        t.samples += share * o.samples.value_or(0);
        reached += share * amount;
        if (share < 1) return t;
    }
    if (reached >= target.amount * (1 - 1e-12)) return t;
    return std::nullopt;
}

std::string passed_note(const ForecastTarget& target, std::size_t observations);

// Sets a forecast's totals to the measured ones when the profile ran past its target.
bool settle_on_measured(Forecast& f, std::span<const Observation> observations,
                        const ForecastTarget& target) {
    const auto measured = measured_up_to(observations, target);
    if (!measured) return false;
    f.total_energy_j = f.low_energy_j = f.high_energy_j = measured->energy_j;
    f.total_duration_s = measured->duration_s;
    f.predicted_energy_j = 0;
    f.remaining_observations = 0;
    f.notes.push_back(passed_note(target, observations.size()));
    return true;
}

// Remaining observations for the target, at the per-observation rates of the used observations.
Result<double> remaining_observations(const ForecastTarget& target, const Totals& seen, std::size_t count,
                                      const Totals& used, std::size_t used_count) {
    const double per_observation_n = static_cast<double>(used_count);
    switch (target.kind) {
        case ForecastTarget::Kind::epochs:
            return std::max(0.0, target.amount - static_cast<double>(count));
        case ForecastTarget::Kind::samples: {
            const double rate = used.samples / per_observation_n;
            if (rate <= 0)
                return Error{"the observations used have no samples: cannot forecast a samples target"};
            return std::max(0.0, target.amount - seen.samples) / rate;
        }
        case ForecastTarget::Kind::duration: {
            const double rate = used.duration_s / per_observation_n;
            if (rate <= 0)
                return Error{"the observations used have no duration: cannot forecast a duration target"};
            return std::max(0.0, target.amount - seen.duration_s) / rate;
        }
    }
    return Error{"unknown forecast target"};
}

std::string target_words(const ForecastTarget& target);

std::string passed_note(const ForecastTarget& target, std::size_t observations) {
    return "the target (" + target_words(target) + ") is already reached by the " +
           std::to_string(observations) +
           " measured: the total is the measured energy up to the target, not of all of them";
}

std::string target_words(const ForecastTarget& target) {
    switch (target.kind) {
        case ForecastTarget::Kind::epochs:
            return format_significant(target.amount, 4) + " observations";
        case ForecastTarget::Kind::samples:
            return format_significant(target.amount, 4) + " samples";
        case ForecastTarget::Kind::duration:
            return format_significant(target.amount, 4) + " s";
    }
    return "?";
}

}  // namespace

Result<Forecast> forecast_total(std::span<const Observation> observations, const ForecastTarget& target,
                                const ForecastOptions& options, std::span<const Observation> windows) {
    if (auto error = validate(observations, target)) return *error;
    if (auto error = validate(options)) return *error;

    const std::size_t n = observations.size();
    const Totals seen = totals(observations);
    std::vector<double> y(n);
    for (std::size_t i = 0; i < n; ++i) y[i] = observations[i].energy_j;

    Forecast f;
    f.confidence = options.confidence;
    f.observations = n;
    f.measured_energy_j = seen.energy_j;
    f.measured_duration_s = seen.duration_s;

    if (!windows.empty()) {
        const WindowWarmup burst = remove_window_warmup(windows, y, observations, options);
        f.warmup_windows = burst.windows;
        f.warmup_energy_j = burst.excess_j;
        if (burst.windows > 0) {
            f.notes.push_back("warm-up burst in the first " + std::to_string(burst.windows) + " of " +
                              std::to_string(windows.size()) +
                              " sub-epoch windows: " + format_significant(burst.excess_j, 4) +
                              " J above the steady power, counted as measured and not extrapolated");
        }
    }
    bool limited = false;
    f.warmup_excluded = detect_warmup(y, options, limited);
    std::size_t shifts = 0;
    f.first_used = f.warmup_excluded;
    if (options.detect_level_shift) {
        if (limited) {
            // A whole first half unlike the second may be a step rather than a warm-up: prefer the step when
            // the level-shift test finds one over the whole series.
            const std::size_t start = detect_level_shift(y, 0, shifts);
            if (shifts > 0) {
                f.warmup_excluded = 0;
                limited = false;
                f.first_used = start;
            }
        }
        if (shifts == 0) f.first_used = detect_level_shift(y, f.warmup_excluded, shifts);
    }
    if (n == 2) {
        f.notes.push_back(
            windows.empty()
                ? "only 2 observations and no sub-epoch windows: warm-up detection needs at least 3"
                : "only 2 observations: whole-epoch warm-up detection needs at least 3 (the "
                  "sub-epoch windows were tested)");
    }
    if (limited) {
        f.notes.push_back(
            "the whole first half differs from the later observations and was excluded: the job "
            "may not have reached a steady state yet");
    } else if (f.warmup_excluded > 0) {
        f.notes.push_back("excluded " + std::to_string(f.warmup_excluded) +
                          " leading observation(s) as warm-up (counted as measured, not used for the level)");
    }
    if (shifts > 0) {
        f.notes.push_back("level shift detected: only observations from " + std::to_string(f.first_used + 1) +
                          " on are used");
    }
    const std::size_t m = n - f.first_used;
    f.observations_used = m;
    const Totals used = totals(observations.subspan(f.first_used));

    auto remaining = remaining_observations(target, seen, n, used, m);
    if (!remaining) return Error{remaining.error()};
    const double rest = *remaining;
    f.remaining_observations = rest;
    f.total_duration_s = seen.duration_s + rest * used.duration_s / static_cast<double>(m);

    // Level, trend and residual scale of the used observations.
    const std::span<const double> ys(y.data() + f.first_used, m);
    std::vector<double> xs(m);
    std::iota(xs.begin(), xs.end(), static_cast<double>(f.first_used));
    const double centre = stats::mean(xs);
    const double level_at_centre = stats::mean(ys);
    double sxx = 0;
    for (double x : xs) sxx += (x - centre) * (x - centre);

    double slope = 0, slope_se = 0, slope_used = 0, sigma = 0, df = 0;
    // The slope's standard error from the level-only residuals (no trend fitted), replaced by the trend
    // fit's.
    double data_slope_se = 0;
    if (m == 1) {
        f.method = "single-observation";
    } else {
        double ss = 0;
        for (double v : ys) ss += (v - level_at_centre) * (v - level_at_centre);
        df = static_cast<double>(m - 1);
        sigma = std::sqrt(ss / df);
        data_slope_se = sigma / std::sqrt(sxx);
    }
    if (m >= 2 && m < options.min_trend_observations) {
        f.notes.push_back("only " + std::to_string(m) + " steady observations: no trend fitted (needs " +
                          std::to_string(options.min_trend_observations) + ")");
    } else if (m >= options.min_trend_observations) {
        slope = stats::theil_sen_slope(xs, ys);
        double ss = 0;
        for (std::size_t i = 0; i < m; ++i) {
            const double r = ys[i] - level_at_centre - slope * (xs[i] - centre);
            ss += r * r;
        }
        const double trend_df = static_cast<double>(m - 2);
        const double trend_sigma = std::sqrt(ss / trend_df);
        const double se = trend_sigma / std::sqrt(sxx) * std::sqrt(theil_sen_variance_inflation);
        // The threshold grows as t/z at few degrees of freedom, where the slope's own error is poorly known.
        const double threshold = options.trend_shrink_z * stats::student_t_quantile(0.975, trend_df) /
                                 stats::normal_quantile(0.975);
        data_slope_se = se;
        const double weight = shrink_weight(slope, se, threshold);
        if (weight > 0) {
            // A trend is used: its residuals, its degrees of freedom and its slope's uncertainty.
            slope_used = slope * weight;
            slope_se = se;
            sigma = trend_sigma;
            df = trend_df;
        }
    }
    f.raw_trend_j = slope;
    f.trend_j = slope_used;
    f.noise_j = sigma;
    f.level_j = level_at_centre + slope_used * (static_cast<double>(n - 1) - centre);

    const double half_quantile = 0.5 + options.confidence / 2;
    double half_width = 0;
    if (m == 1) {
        f.predicted_energy_j = rest * level_at_centre;
        half_width = options.single_observation_width * f.predicted_energy_j;
        f.notes.push_back("a single observation: the forecast is it × the rest of the job, with a ±" +
                          format_significant(100 * options.single_observation_width, 4) +
                          "% interval that is a convention, not a measurement of spread");
    } else {
        const double cap = options.trend_horizon_factor * static_cast<double>(m);
        const double offsets = future_offset_sum(static_cast<double>(n), rest, centre, cap);
        if (slope_used != 0 && rest > cap) {
            f.notes.push_back("trend extrapolated over " + format_significant(cap, 4) +
                              " further observations, then held flat");
        }
        f.predicted_energy_j = rest * level_at_centre + slope_used * offsets;
        if (f.predicted_energy_j < 0) {
            f.predicted_energy_j = 0;
            f.notes.push_back("the falling trend would predict negative energy: remainder set to 0");
        }
        // Autocorrelated noise: the level's variance and the remaining observations' summed noise grow by
        // (1 + r) / (1 − r), r the lag-1 autocorrelation of the residuals (bias-corrected by + 1/m), or an
        // assumed one when the profile is too short to estimate it.
        double r = options.short_profile_autocorrelation;
        if (m >= options.autocorrelation_min_observations) {
            // The sample lag-1 autocorrelation is biased low by about (1 + 4ρ) / m: solved for ρ.
            const double mm = static_cast<double>(m);
            const double r1 =
                lag1_autocorrelation(ys, xs, level_at_centre, slope_used == 0 ? 0.0 : slope, centre);
            r = std::clamp((r1 + 1 / mm) / (1 - 4 / mm), 0.0, 0.9);
        }
        f.autocorrelation = r;
        const double inflation = (1 + r) / (1 - r);
        const double noise_var =
            inflation * (rest * rest * sigma * sigma / static_cast<double>(m) + rest * sigma * sigma);
        // With a trend: the slope's uncertainty and the part of it that the shrinkage took away, over the
        // capped horizon. Without one: a drift the profile cannot rule out is kept, its variance the data's
        // slope variance bounded by the drift allowance, over the whole remainder (a drift does not stop).
        double trend_var = 0, drift_var = 0;
        if (slope_used != 0) {
            trend_var = offsets * offsets * (slope_se * slope_se + std::pow(slope - slope_used, 2));
        } else {
            const double allowance = options.drift_prior * std::abs(level_at_centre);
            const double uncapped = future_offset_sum(static_cast<double>(n), rest, centre,
                                                      std::numeric_limits<double>::infinity());
            // A profile without any spread (se = 0) rules a drift out; so does a zero allowance.
            double kept = 0;
            if (data_slope_se > 0 && allowance > 0)
                kept = 1 / (1 / (data_slope_se * data_slope_se) + 1 / (allowance * allowance));
            drift_var = uncapped * uncapped * kept;
        }
        // The noise part is estimated (Student t); the drift allowance is a stated prior (normal).
        const double t = stats::student_t_quantile(half_quantile, df);
        const double z = stats::normal_quantile(half_quantile);
        half_width = std::sqrt(t * t * (noise_var + trend_var) + z * z * drift_var);
        f.method = slope_used != 0 ? "steady-trend" : "steady-mean";
    }
    f.total_energy_j = seen.energy_j + f.predicted_energy_j;
    f.low_energy_j = seen.energy_j + std::max(0.0, f.predicted_energy_j - half_width);
    f.high_energy_j = seen.energy_j + f.predicted_energy_j + half_width;

    if (rest == 0) {
        if (!settle_on_measured(f, observations, target))
            f.notes.push_back("the target (" + target_words(target) +
                              ") is already reached: the total is measured");
        f.converged = true;
    } else {
        f.converged =
            m >= 3 && !limited && n >= 3 && half_width <= options.converged_width * f.total_energy_j;
    }
    return f;
}

Result<Forecast> naive_forecast(std::span<const Observation> observations, const ForecastTarget& target) {
    if (auto error = validate(observations, target)) return *error;
    const std::size_t n = observations.size();
    const Totals seen = totals(observations);
    Forecast f;
    f.method = "naive-mean";
    f.observations = n;
    f.observations_used = n;
    f.measured_energy_j = seen.energy_j;
    f.measured_duration_s = seen.duration_s;
    const double mean_energy = seen.energy_j / static_cast<double>(n);
    const double mean_duration = seen.duration_s / static_cast<double>(n);
    f.level_j = mean_energy;
    auto remaining = remaining_observations(target, seen, n, seen, n);
    if (!remaining) return Error{remaining.error()};
    f.remaining_observations = *remaining;
    // remaining × mean per observation equals (per second × seconds) and (per sample × samples) here.
    f.predicted_energy_j = *remaining * mean_energy;
    f.total_energy_j = seen.energy_j + f.predicted_energy_j;
    f.low_energy_j = f.high_energy_j = f.total_energy_j;
    f.total_duration_s = seen.duration_s + *remaining * mean_duration;
    if (*remaining == 0 && settle_on_measured(f, observations, target)) return f;
    f.notes.push_back("mean of all observations (warm-up included) × the rest of the job; no interval");
    return f;
}

std::vector<Observation> observations_from_epochs(const std::vector<EpochResult>& epochs) {
    std::vector<Observation> observations;
    observations.reserve(epochs.size());
    for (const auto& e : epochs) {
        Observation o;
        o.energy_j = e.energy_j;
        o.duration_s = std::max(0.0, e.end_s - e.start_s);
        if (e.samples) o.samples = static_cast<double>(*e.samples);
        observations.push_back(o);
    }
    return observations;
}

nlohmann::ordered_json forecast_to_json(const Forecast& f) {
    nlohmann::ordered_json working;
    write_forecast_working(working, f);
    nlohmann::ordered_json j;
    j["method"] = f.method;
    j["total_energy_j"] = f.total_energy_j;
    j["low_energy_j"] = f.low_energy_j;
    j["high_energy_j"] = f.high_energy_j;
    j["confidence"] = f.confidence;
    // The working, with the two figures that joulecast.forecast/1 places among it: the total duration before
    // the measured one, and `converged` before the notes.
    for (auto it = working.begin(); it != working.end(); ++it) {
        if (it.key() == "measured_duration_s") j["total_duration_s"] = f.total_duration_s;
        if (it.key() == "notes") j["converged"] = f.converged;
        j[it.key()] = it.value();
    }
    return j;
}

}  // namespace joulecast::forecast
