#include "forecast/estimator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "core/format.hpp"
#include "core/json_fields.hpp"
#include "core/text.hpp"
#include "forecast/estimator_internal.hpp"
#include "forecast/stats.hpp"

namespace joulecast::forecast {

using core::Error;
using core::format_significant;
using core::Result;

namespace estimator_detail {

std::optional<double> task_energy(const CalibrationRow& r, EnergyTask task, PerSample what) {
    if (what == PerSample::time)
        return task == EnergyTask::training ? r.train_seconds_per_sample : r.infer_seconds_per_sample;
    return task == EnergyTask::training ? r.train_energy_per_sample_j : r.infer_energy_per_sample_j;
}
std::optional<double> task_samples(const CalibrationRow& r, EnergyTask task) {
    return task == EnergyTask::training ? r.train_samples : r.infer_samples;
}
std::optional<double> task_total(const CalibrationRow& r, EnergyTask task, PerSample what) {
    if (what == PerSample::time) return std::nullopt;  // no measured total independent of the per-sample time
    return task == EnergyTask::training ? r.train_energy_j : r.infer_energy_j;
}

// Validates every row and returns those that carry the task's energy per sample.
Result<std::vector<Sample>> task_rows(const Calibration& calibration, EnergyTask task, PerSample what) {
    if (calibration.rows.empty()) {
        return Error{"the calibration for '" + calibration.device + "' has no rows"};
    }
    std::vector<Sample> samples;
    for (std::size_t i = 0; i < calibration.rows.size(); ++i) {
        const CalibrationRow& r = calibration.rows[i];
        const std::string where = "calibration row " + std::to_string(i + 1) + " (" + r.model + ")";
        if (!positive_finite(r.params)) return Error{where + ": params must be a positive number"};
        if (!positive_finite(r.macs)) return Error{where + ": macs must be a positive number"};
        if (!positive_finite(r.batch_size)) return Error{where + ": batch_size must be a positive number"};
        if (!(std::isfinite(r.activations) && r.activations >= 0) ||
            !(std::isfinite(r.mac_layers) && r.mac_layers >= 0))
            return Error{where + ": activations and mac_layers must be numbers >= 0 (0: not recorded)"};
        for (const auto& value :
             {r.train_energy_per_sample_j, r.infer_energy_per_sample_j, r.train_samples, r.train_energy_j,
              r.infer_samples, r.infer_energy_j, r.train_seconds_per_sample, r.infer_seconds_per_sample}) {
            if (value && !positive_finite(*value)) {
                return Error{where + ": energies, times and sample counts must be positive numbers"};
            }
        }
        for (double e : r.epoch_energy_j) {
            if (!(std::isfinite(e) && e >= 0)) return Error{where + ": epoch energies must be numbers >= 0"};
        }
        if (r.warmup_j && !(std::isfinite(*r.warmup_j) && *r.warmup_j >= 0))
            return Error{where + ": warmup_j must be a number >= 0"};
        if (auto energy = task_energy(r, task, what)) {
            Sample s{{r.params, r.macs, r.batch_size, r.activations, r.mac_layers}, 0, r.model, &r};
            // Steady state: the first epoch's excess over the later epochs' mean is warm-up, a cost per run.
            const auto& epochs = r.epoch_energy_j;
            const double sum = std::accumulate(epochs.begin(), epochs.end(), 0.0);
            if (task == EnergyTask::training && what == PerSample::energy && r.warmup_j) {
                s.warmup_j = *r.warmup_j;  // measured apart: the train phases are steady state already
                s.warmup_known = true;
            } else if (task == EnergyTask::training && what == PerSample::energy && epochs.size() >= 2 &&
                       sum > 0) {
                const double later = (sum - epochs.front()) / static_cast<double>(epochs.size() - 1);
                const double share = std::max(0.0, epochs.front() - later) / sum;
                const auto total = r.train_energy_j  ? r.train_energy_j
                                   : r.train_samples ? std::optional<double>(*energy * *r.train_samples)
                                                     : std::nullopt;
                if (total) {
                    s.warmup_j = share * *total;
                    s.warmup_known = true;
                }
                *energy *= 1 - share;
            }
            if (!positive_finite(*energy))
                return Error{where + ": no steady-state energy is left after warm-up"};
            s.y = std::log(*energy);
            samples.push_back(std::move(s));
        }
    }
    // Twins (params and MACs, and activations and MAC layers where both are known, within 1%) are one group:
    // held out together, so that a twin never predicts its twin.
    auto near = [](double a, double b) { return std::abs(a - b) <= twin_tolerance * std::max(a, b); };
    auto twins = [&](const ModelCharacteristics& a, const ModelCharacteristics& b) {
        const bool memory = a.knows_memory() && b.knows_memory();
        return near(a.params, b.params) && near(a.macs, b.macs) &&
               (!memory || (near(a.activations, b.activations) && near(a.mac_layers, b.mac_layers)));
    };
    std::vector<std::string> names(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
        std::vector<std::string> members;
        for (const auto& other : samples) {
            if (twins(samples[i].stats, other.stats) &&
                std::find(members.begin(), members.end(), other.group) == members.end())
                members.push_back(other.group);
        }
        std::sort(members.begin(), members.end());
        for (const auto& m : members) names[i] += (names[i].empty() ? "" : "+") + m;
    }
    for (std::size_t i = 0; i < samples.size(); ++i) samples[i].group = names[i];
    return samples;
}

std::vector<std::string> distinct_groups(const std::vector<Sample>& samples) {
    std::vector<std::string> groups;
    for (const auto& s : samples) {
        if (std::find(groups.begin(), groups.end(), s.group) == groups.end()) groups.push_back(s.group);
    }
    return groups;
}

}  // namespace estimator_detail

using namespace estimator_detail;

namespace {

constexpr std::size_t quantile_min_residuals = 20;
// Cholesky pivots below this (on standardised features, unit diagonal) mean collinear features.
constexpr double min_pivot = 1e-10;

double feature_value(Feature f, const ModelCharacteristics& c) {
    const double lm = std::log(c.macs), lp = std::log(c.params), lb = std::log(c.batch_size);
    switch (f) {
        case Feature::log_macs:
            return lm;
        case Feature::log_params:
            return lp;
        case Feature::log_macs_per_param:
            return lm - lp;
        case Feature::log_batch:
            return lb;
        case Feature::log_batch_squared:
            return lb * lb;
        case Feature::log_macs_x_log_batch:
            return lm * lb;
        case Feature::log_macs_per_param_x_log_batch:
            return (lm - lp) * lb;
    }
    return 0;
}

std::vector<double> feature_vector(const std::vector<Feature>& features, const ModelCharacteristics& c) {
    std::vector<double> x;
    x.reserve(features.size());
    for (Feature f : features) x.push_back(feature_value(f, c));
    return x;
}

struct LinearFit {
    std::vector<double> mean, scale, coefficients;
    double intercept = 0;
};

// Solves A w = b for a symmetric positive-definite q × q matrix (row-major) by Cholesky A = L Lᵀ in place
// (lower triangle) and two triangular solves; nullopt when a pivot falls below min_pivot (callers scale A to
// a unit diagonal, so that means collinear columns).
std::optional<std::vector<double>> solve_spd(std::vector<double> a, std::vector<double> b) {
    const std::size_t q = b.size();
    for (std::size_t c = 0; c < q; ++c) {
        double d = a[c * q + c];
        for (std::size_t k = 0; k < c; ++k) d -= a[c * q + k] * a[c * q + k];
        if (!(d > min_pivot)) return std::nullopt;
        a[c * q + c] = std::sqrt(d);
        for (std::size_t r = c + 1; r < q; ++r) {
            double s = a[r * q + c];
            for (std::size_t k = 0; k < c; ++k) s -= a[r * q + k] * a[c * q + k];
            a[r * q + c] = s / a[c * q + c];
        }
    }
    std::vector<double> w(q);
    for (std::size_t r = 0; r < q; ++r) {
        double s = b[r];
        for (std::size_t k = 0; k < r; ++k) s -= a[r * q + k] * w[k];
        w[r] = s / a[r * q + r];
    }
    for (std::size_t r = q; r-- > 0;) {
        double s = w[r];
        for (std::size_t k = r + 1; k < q; ++k) s -= a[k * q + r] * w[k];
        w[r] = s / a[r * q + r];
    }
    return w;
}

// Ridge least squares on standardised columns with an unpenalised intercept; nullopt when the system is
// singular (collinear or too few rows without a ridge).
std::optional<LinearFit> fit_linear(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                                    double ridge) {
    const std::size_t n = y.size(), p = x.empty() ? 0 : x[0].size();
    if (n == 0) return std::nullopt;
    LinearFit fit;
    fit.mean.assign(p, 0);
    fit.scale.assign(p, 1);
    fit.coefficients.assign(p, 0);
    fit.intercept = stats::mean(y);
    std::vector<std::size_t> active;
    for (std::size_t j = 0; j < p; ++j) {
        double sum = 0, sq = 0;
        for (std::size_t i = 0; i < n; ++i) sum += x[i][j];
        fit.mean[j] = sum / static_cast<double>(n);
        for (std::size_t i = 0; i < n; ++i) sq += (x[i][j] - fit.mean[j]) * (x[i][j] - fit.mean[j]);
        const double sd = std::sqrt(sq / static_cast<double>(n));
        // A feature that does not vary carries no information here; it keeps coefficient 0.
        if (sd > 1e-9 * std::max(1.0, std::abs(fit.mean[j]))) {
            fit.scale[j] = sd;
            active.push_back(j);
        }
    }
    const std::size_t q = active.size();
    if (q == 0) return fit;
    std::vector<double> a(q * q, 0), b(q, 0);
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> z(q);
        for (std::size_t k = 0; k < q; ++k)
            z[k] = (x[i][active[k]] - fit.mean[active[k]]) / fit.scale[active[k]];
        for (std::size_t r = 0; r < q; ++r) {
            b[r] += z[r] * (y[i] - fit.intercept) / static_cast<double>(n);
            for (std::size_t c = 0; c < q; ++c) a[r * q + c] += z[r] * z[c] / static_cast<double>(n);
        }
    }
    for (std::size_t k = 0; k < q; ++k) a[k * q + k] += ridge;
    const auto w = solve_spd(std::move(a), std::move(b));
    if (!w) return std::nullopt;
    for (std::size_t k = 0; k < q; ++k) fit.coefficients[active[k]] = (*w)[k];
    return fit;
}

double predict_linear(const LinearFit& fit, const std::vector<double>& x) {
    double y = fit.intercept;
    for (std::size_t j = 0; j < x.size(); ++j) y += fit.coefficients[j] * (x[j] - fit.mean[j]) / fit.scale[j];
    return y;
}

std::optional<LinearFit> fit_samples(const std::vector<Sample>& samples, const std::vector<std::size_t>& use,
                                     const std::vector<Feature>& features, double ridge) {
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    for (std::size_t i : use) {
        x.push_back(feature_vector(features, samples[i].stats));
        y.push_back(samples[i].y);
    }
    return fit_linear(x, y, ridge);
}

double predict_additive(const AdditiveCoefficients& a, const ModelCharacteristics& c) {
    return a.e_mac * c.macs + a.e_act * c.activations +
           (a.e_step + a.e_param * c.params + a.e_layer * c.mac_layers) / c.batch_size + a.e_sample;
}

// The additive terms' columns for one model, in the order fit_additive solves them: MACs, then
// 1/batch and params/batch (or, with memory terms, activations and MAC layers/batch), then the constant.
std::array<double, 4> additive_columns(const ModelCharacteristics& c, bool memory_terms) {
    if (memory_terms) return {c.macs, c.activations, c.mac_layers / c.batch_size, 1};
    return {c.macs, 1 / c.batch_size, c.params / c.batch_size, 1};
}

// The additive family by non-negative least squares on the relative error: minimises
// Σ (predicted_i / measured_i − 1)² over e ≥ 0. With at most four terms the exact NNLS optimum is found by
// trying every support: the optimum is the unconstrained least-squares fit on its own support, so the best
// fit among the supports whose solution is non-negative is it. nullopt when no support can be solved.
std::optional<AdditiveCoefficients> fit_additive(const std::vector<Sample>& samples,
                                                 const std::vector<std::size_t>& use, bool sample_term,
                                                 bool memory_terms) {
    const std::size_t p = sample_term ? 4 : 3, n = use.size();
    if (n == 0) return std::nullopt;
    // Row i: the terms' columns divided by the measured value; the target is 1.
    std::vector<std::vector<double>> z(n, std::vector<double>(p));
    std::vector<double> norm(p, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const Sample& s = samples[use[i]];
        const double measured = std::exp(s.y);
        const auto cols = additive_columns(s.stats, memory_terms);
        for (std::size_t k = 0; k < p; ++k) {
            z[i][k] = cols[k] / measured;
            norm[k] += z[i][k] * z[i][k];
        }
    }
    // Unit-norm columns keep the normal equations well scaled whatever the units (MACs ~1e9, 1/batch ~1e-2).
    for (std::size_t k = 0; k < p; ++k) {
        norm[k] = std::sqrt(norm[k]);
        for (auto& row : z) row[k] /= norm[k];
    }
    std::optional<std::vector<double>> best;
    double best_sse = std::numeric_limits<double>::infinity();
    for (unsigned mask = 1; mask < (1u << p); ++mask) {
        std::vector<std::size_t> support;
        for (std::size_t k = 0; k < p; ++k) {
            if (mask & (1u << k)) support.push_back(k);
        }
        const std::size_t q = support.size();
        if (q > n) continue;
        std::vector<double> a(q * q, 0), b(q, 0);
        for (const auto& row : z) {
            for (std::size_t r = 0; r < q; ++r) {
                b[r] += row[support[r]];
                for (std::size_t c = 0; c < q; ++c) a[r * q + c] += row[support[r]] * row[support[c]];
            }
        }
        const auto w = solve_spd(std::move(a), std::move(b));
        if (!w || std::any_of(w->begin(), w->end(), [](double v) { return !(v >= 0); })) continue;
        double sse = 0;
        for (const auto& row : z) {
            double fitted = 0;
            for (std::size_t r = 0; r < q; ++r) fitted += row[support[r]] * (*w)[r];
            sse += (fitted - 1) * (fitted - 1);
        }
        if (sse < best_sse) {
            best_sse = sse;
            best = std::vector<double>(p, 0);
            for (std::size_t r = 0; r < q; ++r) (*best)[support[r]] = (*w)[r] / norm[support[r]];
        }
    }
    if (!best) return std::nullopt;
    AdditiveCoefficients a;
    a.e_mac = (*best)[0];
    (memory_terms ? a.e_act : a.e_step) = (*best)[1];
    (memory_terms ? a.e_layer : a.e_param) = (*best)[2];
    a.e_sample = sample_term ? (*best)[3] : 0.0;
    a.sample_term = sample_term;
    a.memory_terms = memory_terms;
    return a;
}

FeatureRange range_of(const std::vector<Sample>& samples, double ModelCharacteristics::*member) {
    FeatureRange r{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    for (const auto& s : samples) {
        r.min = std::min(r.min, s.stats.*member);
        r.max = std::max(r.max, s.stats.*member);
    }
    return r;
}

std::string feature_list(const std::vector<Feature>& features) {
    std::string out;
    for (Feature f : features) {
        if (!out.empty()) out += "+";
        out += feature_name(f);
    }
    return out;
}

}  // namespace

namespace estimator_detail {

// Fits `spec` on the rows `use` and returns ln(predicted J per sample) as a function, or nullopt when the
// candidate cannot be fitted (or predicts a non-positive value, which has no log).
std::optional<std::function<std::optional<double>(const ModelCharacteristics&)>> fit_candidate(
    const std::vector<Sample>& samples, const std::vector<std::size_t>& use, const CandidateSpec& spec,
    const EstimatorOptions& options) {
    using Predictor = std::function<std::optional<double>(const ModelCharacteristics&)>;
    if (spec.family == ModelFamily::additive) {
        auto fit = fit_additive(samples, use, spec.sample_term, spec.memory_terms);
        if (!fit) return std::nullopt;
        return Predictor([a = *fit](const ModelCharacteristics& c) -> std::optional<double> {
            const double v = predict_additive(a, c);
            if (!positive_finite(v)) return std::nullopt;
            return std::log(v);
        });
    }
    const auto& features = options.feature_sets[spec.set];
    auto fit = fit_samples(samples, use, features, spec.ridge);
    if (!fit) return std::nullopt;
    return Predictor([f = *fit, features](const ModelCharacteristics& c) -> std::optional<double> {
        return predict_linear(f, feature_vector(features, c));
    });
}

std::optional<Error> validate(const EstimatorOptions& options) {
    if (options.feature_sets.empty()) return Error{"no candidate feature sets"};
    for (const auto& set : options.feature_sets) {
        if (set.empty()) return Error{"an empty candidate feature set"};
    }
    if (options.ridge.empty()) return Error{"no candidate ridge strengths"};
    for (double r : options.ridge) {
        if (!(std::isfinite(r) && r >= 0)) return Error{"ridge strengths must be finite and >= 0"};
    }
    if (!(options.tie_tolerance >= 0)) return Error{"tie_tolerance must be >= 0"};
    return std::nullopt;
}

}  // namespace estimator_detail

std::vector<std::pair<std::string, double>> raw_coefficients(const EnergyModel& model) {
    if (model.family == ModelFamily::additive) {
        const auto& a = model.additive;
        if (a.memory_terms)
            return {{"e_mac", a.e_mac}, {"e_act", a.e_act}, {"e_layer", a.e_layer}, {"e_sample", a.e_sample}};
        return {{"e_mac", a.e_mac}, {"e_step", a.e_step}, {"e_param", a.e_param}, {"e_sample", a.e_sample}};
    }
    double intercept = model.intercept;
    std::vector<std::pair<std::string, double>> out;
    for (std::size_t j = 0; j < model.features.size(); ++j) {
        const double c = model.coefficients[j] / model.feature_scale[j];
        intercept -= c * model.feature_mean[j];
        out.emplace_back(std::string(feature_name(model.features[j])), c);
    }
    out.insert(out.begin(), {"intercept", intercept});
    return out;
}

std::string describe(const EnergyModel& model) {
    if (model.family == ModelFamily::additive) {
        return std::string(model.additive.memory_terms
                               ? "additive: e_mac*MACs + e_act*activations + e_layer*MAC layers/batch"
                               : "additive: e_mac*MACs + (e_step + e_param*params)/batch") +
               (model.additive.sample_term ? " + e_sample" : "");
    }
    return feature_list(model.features) + ", ridge " + format_significant(model.ridge, 4);
}

Result<EnergyModel> fit_energy_model(const Calibration& calibration, EnergyTask task,
                                     const EstimatorOptions& options) {
    if (auto error = validate(options)) return *error;
    auto rows = task_rows(calibration, task, options.per_sample);
    if (!rows) return Error{rows.error()};
    const std::vector<Sample>& samples = *rows;
    if (samples.size() < 3) {
        return Error{"the calibration for '" + calibration.device + "' has " +
                     std::to_string(samples.size()) + " row(s) with " + std::string(task_name(task)) + " " +
                     std::string(per_sample_name(options.per_sample)) + " per sample: at least 3 are needed"};
    }
    const std::vector<std::string> groups = distinct_groups(samples);

    // Leave-one-group-out when there are enough architectures: the estimator's job is an unseen model.
    std::vector<std::vector<std::size_t>> folds;
    std::string scheme;
    if (groups.size() >= 3) {
        for (const auto& g : groups) {
            std::vector<std::size_t> fold;
            for (std::size_t i = 0; i < samples.size(); ++i) {
                if (samples[i].group == g) fold.push_back(i);
            }
            folds.push_back(std::move(fold));
        }
        scheme = "leave-one-group-out over " + std::to_string(groups.size()) + " models";
    } else {
        for (std::size_t i = 0; i < samples.size(); ++i) folds.push_back({i});
        scheme = "leave-one-out over " + std::to_string(samples.size()) + " rows";
    }

    // The candidates. Few architectures cannot support many log-linear slopes: cap the feature count.
    std::vector<CandidateSpec> specs;
    std::size_t max_features = std::numeric_limits<std::size_t>::max();
    if (groups.size() >= 3 && options.spare_architectures > 0) {
        const std::size_t cap =
            groups.size() > options.spare_architectures ? groups.size() - options.spare_architectures : 0;
        std::size_t smallest = max_features;
        for (const auto& set : options.feature_sets) smallest = std::min(smallest, set.size());
        max_features = std::max(cap, smallest);
    }
    for (std::size_t s = 0; s < options.feature_sets.size(); ++s) {
        if (options.feature_sets[s].size() > max_features) continue;
        for (double ridge : options.ridge) {
            specs.push_back(
                {ModelFamily::log_linear, s, ridge, false, false, options.feature_sets[s].size() + 1});
        }
    }
    const bool memory_known =
        std::all_of(samples.begin(), samples.end(), [](const Sample& s) { return s.stats.knows_memory(); });
    if (options.additive) {
        for (bool memory : {false, true}) {
            if (memory && !(options.memory_terms && memory_known)) continue;
            specs.push_back({ModelFamily::additive, 0, 0, false, memory, 3});
            // No constant per sample beside e_act: activations already are the per-sample cost, scaled by the
            // model, and a constant fitted on mid-sized models swamps a tiny one.
            if (!memory) specs.push_back({ModelFamily::additive, 0, 0, true, memory, 4});
        }
    }

    struct Candidate {
        CandidateSpec spec;
        double mse = 0;
        double se = 0;  // standard error of mse over the folds
        std::vector<double> residuals;
    };
    std::vector<Candidate> candidates;
    for (const auto& spec : specs) {
        auto residuals = cross_validate(samples, folds, spec, options);
        if (!residuals) continue;
        double sq = 0;
        for (double r : *residuals) sq += r * r;
        const double mse = sq / static_cast<double>(residuals->size());
        // The spread of the per-fold errors: with few architectures the CV error itself is uncertain.
        double se = 0;
        if (folds.size() >= 2) {
            double var = 0;
            for (const auto& fold : folds) {
                double fold_sq = 0;
                for (std::size_t i : fold) fold_sq += (*residuals)[i] * (*residuals)[i];
                const double fold_mse = fold_sq / static_cast<double>(fold.size());
                var += (fold_mse - mse) * (fold_mse - mse);
            }
            const double f = static_cast<double>(folds.size());
            se = std::sqrt(var / (f - 1) / f);
        }
        candidates.push_back({spec, mse, se, std::move(*residuals)});
    }
    if (candidates.empty()) {
        return Error{"no candidate model could be fitted to the " + std::to_string(samples.size()) +
                     " calibration rows (too few rows, or features that do not vary independently)"};
    }
    const Candidate* best_candidate = &candidates.front();
    for (const auto& c : candidates) {
        if (c.mse < best_candidate->mse) best_candidate = &c;
    }
    const double best = best_candidate->mse;
    std::vector<double> ys;
    for (const auto& s : samples) ys.push_back(s.y);
    const double mean_y = stats::mean(ys);
    double spread = 0;
    for (double y : ys) spread += std::pow(y - mean_y, 2);
    spread /= static_cast<double>(ys.size());
    // Within the tolerance (and, by the one-standard-error rule, within the best candidate's standard error),
    // prefer fewer coefficients, then the additive family (its non-negative physical terms extrapolate more
    // safely), then a stronger ridge: the simpler model generalises.
    const double bar = best * (1 + options.tie_tolerance) +
                       (options.one_standard_error ? best_candidate->se : 0.0) +
                       1e-12 * std::max(spread, 1e-300);
    auto simpler = [](const Candidate& a, const Candidate& b) {
        if (a.spec.coefficients != b.spec.coefficients) return a.spec.coefficients < b.spec.coefficients;
        if (a.spec.family != b.spec.family) return a.spec.family == ModelFamily::additive;
        if (a.spec.ridge != b.spec.ridge) return a.spec.ridge > b.spec.ridge;
        return a.mse < b.mse;
    };
    const Candidate* chosen = nullptr;
    for (const auto& c : candidates) {
        if (c.mse > bar) continue;
        if (!chosen || simpler(c, *chosen)) chosen = &c;
    }

    std::vector<std::size_t> all(samples.size());
    std::iota(all.begin(), all.end(), 0);
    EnergyModel model;
    model.device = calibration.device;
    model.task = task;
    model.per_sample = options.per_sample;
    model.family = chosen->spec.family;
    if (chosen->spec.family == ModelFamily::additive) {
        auto fit = fit_additive(samples, all, chosen->spec.sample_term, chosen->spec.memory_terms);
        if (!fit) return Error{"the chosen additive model could not be fitted to all rows"};
        model.additive = *fit;
    } else {
        const auto& features = options.feature_sets[chosen->spec.set];
        auto fit = fit_samples(samples, all, features, chosen->spec.ridge);
        if (!fit) {
            return Error{"the chosen model (" + feature_list(features) + ") could not be fitted to all rows"};
        }
        model.features = features;
        model.ridge = chosen->spec.ridge;
        model.feature_mean = fit->mean;
        model.feature_scale = fit->scale;
        model.coefficients = fit->coefficients;
        model.intercept = fit->intercept;
    }
    model.cv_residuals = chosen->residuals;
    std::sort(model.cv_residuals.begin(), model.cv_residuals.end());
    model.cv_rmse_log = std::sqrt(chosen->mse);
    model.cv_scheme = scheme;
    model.rows = samples.size();
    model.groups = groups;
    std::vector<double> warmups;
    for (const auto& s : samples) {
        if (s.warmup_known) warmups.push_back(s.warmup_j);
    }
    if (!warmups.empty()) {
        model.warmup_j = stats::median(warmups);
        model.warmup_rows = warmups.size();
    }
    model.params_range = range_of(samples, &ModelCharacteristics::params);
    model.macs_range = range_of(samples, &ModelCharacteristics::macs);
    model.batch_range = range_of(samples, &ModelCharacteristics::batch_size);
    if (model.additive.memory_terms) {
        model.activations_range = range_of(samples, &ModelCharacteristics::activations);
        model.mac_layers_range = range_of(samples, &ModelCharacteristics::mac_layers);
    }
    return model;
}

Result<EnergyEstimate> estimate_energy(const EnergyModel& model, const ModelCharacteristics& c,
                                       std::optional<double> samples, double confidence) {
    if (!positive_finite(c.params) || !positive_finite(c.macs) || !positive_finite(c.batch_size)) {
        return Error{"params, MACs and batch size must be positive numbers"};
    }
    if (samples && !positive_finite(*samples))
        return Error{"the number of samples must be a positive number"};
    if (!(confidence > 0 && confidence < 1)) return Error{"confidence must lie in (0, 1)"};
    if (model.coefficients.size() != model.features.size() ||
        model.feature_mean.size() != model.features.size() ||
        model.feature_scale.size() != model.features.size()) {
        return Error{"the energy model is inconsistent: coefficients and features differ in number"};
    }

    const bool memory = model.family == ModelFamily::additive && model.additive.memory_terms;
    if (memory && !c.knows_memory()) {
        return Error{"the energy model for '" + model.device +
                     "' uses activations and MAC layers, which this model does not give"};
    }

    double log_eps = model.intercept;
    if (model.family == ModelFamily::additive) {
        const double v = predict_additive(model.additive, c);
        if (!positive_finite(v)) return Error{"the additive energy model predicts no positive energy"};
        log_eps = std::log(v);
    } else {
        const auto x = feature_vector(model.features, c);
        for (std::size_t j = 0; j < x.size(); ++j) {
            log_eps += model.coefficients[j] * (x[j] - model.feature_mean[j]) / model.feature_scale[j];
        }
    }

    EnergyEstimate e;
    e.confidence = confidence;
    e.energy_per_sample_j = std::exp(log_eps);
    const auto& r = model.cv_residuals;
    double low = 0, high = 0;
    if (r.size() >= quantile_min_residuals) {
        low = stats::quantile(r, (1 - confidence) / 2);
        high = stats::quantile(r, (1 + confidence) / 2);
        e.interval_method = "cv-quantiles";
    } else if (r.size() >= 2) {
        // Too few residuals for their extreme quantiles: a t interval from their mean and spread instead.
        const double centre = stats::mean(r);
        double sq = 0;
        for (double v : r) sq += (v - centre) * (v - centre);
        const double n = static_cast<double>(r.size());
        const double half = stats::student_t_quantile((1 + confidence) / 2, n - 1) * std::sqrt(sq / (n - 1)) *
                            std::sqrt(1 + 1 / n);
        low = centre - half;
        high = centre + half;
        e.interval_method = "cv-t";
    } else {
        e.interval_method = "none";
        e.notes.push_back("no cross-validation residuals: no interval");
    }
    e.low_j = std::exp(log_eps + low);
    e.high_j = std::exp(log_eps + high);
    if (samples) {
        e.warmup_j = model.warmup_j;
        e.total_energy_j = e.energy_per_sample_j * *samples + e.warmup_j;
        e.total_low_j = e.low_j * *samples + e.warmup_j;
        e.total_high_j = e.high_j * *samples + e.warmup_j;
    }
    auto check_range = [&](const char* what, double value, const FeatureRange& range) {
        if (value < range.min || value > range.max) {
            e.notes.push_back(std::string(what) + " " + format_significant(value, 4) +
                              " lies outside the calibration's [" + format_significant(range.min, 4) + ", " +
                              format_significant(range.max, 4) + "]: extrapolating");
        }
    };
    check_range("params", c.params, model.params_range);
    check_range("MACs", c.macs, model.macs_range);
    check_range("batch size", c.batch_size, model.batch_range);
    if (memory) {
        check_range("activations", c.activations, model.activations_range);
        check_range("MAC layers", c.mac_layers, model.mac_layers_range);
    }
    return e;
}

}  // namespace joulecast::forecast
