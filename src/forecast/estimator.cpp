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
#include "forecast/stats.hpp"

namespace joulecast {
namespace {

constexpr std::string_view calibration_schema = "joulecast.calibration/1";
constexpr std::string_view model_schema = "joulecast.energy_model/1";
constexpr std::size_t quantile_min_residuals = 20;
constexpr double validation_confidence = 0.9;
// Cholesky pivots below this (on standardised features, unit diagonal) mean collinear features.
constexpr double min_pivot = 1e-10;

constexpr Feature all_features[] = {Feature::log_macs,
                                    Feature::log_params,
                                    Feature::log_macs_per_param,
                                    Feature::log_batch,
                                    Feature::log_batch_squared,
                                    Feature::log_macs_x_log_batch,
                                    Feature::log_macs_per_param_x_log_batch};

bool positive_finite(double v) {
    return std::isfinite(v) && v > 0;
}

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

struct Sample {
    ModelCharacteristics stats;
    double y = 0;  // ln(J per sample)
    std::string group;
    const CalibrationRow* row = nullptr;
};

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
        if (const auto energy = task_energy(r, task, what)) {
            samples.push_back({{r.params, r.macs, r.batch_size, r.activations, r.mac_layers},
                               std::log(*energy),
                               r.model,
                               &r});
        }
    }
    return samples;
}

std::vector<std::string> distinct_groups(const std::vector<Sample>& samples) {
    std::vector<std::string> groups;
    for (const auto& s : samples) {
        if (std::find(groups.begin(), groups.end(), s.group) == groups.end()) groups.push_back(s.group);
    }
    return groups;
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

// One candidate model: a log-linear feature set with a ridge strength, or the additive family.
struct CandidateSpec {
    ModelFamily family = ModelFamily::log_linear;
    std::size_t set = 0;  // index into options.feature_sets (log-linear)
    double ridge = 0;
    bool sample_term = false;      // additive
    bool memory_terms = false;     // additive: activations and MAC layers instead of steps and params
    std::size_t coefficients = 0;  // fitted coefficients, intercept included: the complexity
};

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

// Out-of-fold residuals (measured − predicted, log space) in sample order; nullopt when a fold cannot be
// fitted.
std::optional<std::vector<double>> cross_validate(const std::vector<Sample>& samples,
                                                  const std::vector<std::vector<std::size_t>>& folds,
                                                  const CandidateSpec& spec,
                                                  const EstimatorOptions& options) {
    std::vector<double> residuals(samples.size(), 0);
    std::vector<bool> held(samples.size());
    for (const auto& fold : folds) {
        std::fill(held.begin(), held.end(), false);
        for (std::size_t i : fold) held[i] = true;
        std::vector<std::size_t> train;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            if (!held[i]) train.push_back(i);
        }
        if (train.size() < 2) return std::nullopt;
        auto predict = fit_candidate(samples, train, spec, options);
        if (!predict) return std::nullopt;
        for (std::size_t i : fold) {
            const auto log_predicted = (*predict)(samples[i].stats);
            if (!log_predicted) return std::nullopt;
            residuals[i] = samples[i].y - *log_predicted;
        }
    }
    return residuals;
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

}  // namespace

std::string_view task_name(EnergyTask task) {
    return task == EnergyTask::training ? "training" : "inference";
}

std::string_view per_sample_name(PerSample what) {
    return what == PerSample::time ? "time" : "energy";
}

std::string_view feature_name(Feature feature) {
    switch (feature) {
        case Feature::log_macs:
            return "log_macs";
        case Feature::log_params:
            return "log_params";
        case Feature::log_macs_per_param:
            return "log_macs_per_param";
        case Feature::log_batch:
            return "log_batch";
        case Feature::log_batch_squared:
            return "log_batch_squared";
        case Feature::log_macs_x_log_batch:
            return "log_macs_x_log_batch";
        case Feature::log_macs_per_param_x_log_batch:
            return "log_macs_per_param_x_log_batch";
    }
    return "?";
}

std::optional<Feature> feature_from_name(std::string_view name) {
    for (Feature f : all_features) {
        if (feature_name(f) == name) return f;
    }
    return std::nullopt;
}

std::vector<std::vector<Feature>> default_feature_sets() {
    using F = Feature;
    return {
        {F::log_macs, F::log_batch},
        {F::log_macs, F::log_macs_per_param, F::log_batch},
        {F::log_macs, F::log_batch, F::log_batch_squared},
        {F::log_macs, F::log_batch, F::log_macs_x_log_batch},
        {F::log_macs, F::log_macs_per_param, F::log_batch, F::log_batch_squared},
        {F::log_macs, F::log_macs_per_param, F::log_batch, F::log_macs_x_log_batch},
        {F::log_macs, F::log_macs_per_param, F::log_batch, F::log_batch_squared, F::log_macs_x_log_batch},
    };
}

std::string_view family_name(ModelFamily family) {
    return family == ModelFamily::additive ? "additive" : "log_linear";
}

std::optional<ModelFamily> family_from_name(std::string_view name) {
    if (name == "additive") return ModelFamily::additive;
    if (name == "log_linear") return ModelFamily::log_linear;
    return std::nullopt;
}

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
        e.total_energy_j = e.energy_per_sample_j * *samples;
        e.total_low_j = e.low_j * *samples;
        e.total_high_j = e.high_j * *samples;
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

Result<LogoValidation> validate_leave_one_group_out(const Calibration& calibration, EnergyTask task,
                                                    const EstimatorOptions& options) {
    if (auto error = validate(options)) return *error;
    auto rows = task_rows(calibration, task, options.per_sample);
    if (!rows) return Error{rows.error()};
    const std::vector<std::string> groups = distinct_groups(*rows);
    if (groups.size() < 2) {
        return Error{"leave-one-group-out needs at least 2 models with " + std::string(task_name(task)) +
                     " " + std::string(per_sample_name(options.per_sample)) + "; the calibration has " +
                     std::to_string(groups.size())};
    }

    LogoValidation v;
    v.device = calibration.device;
    v.task = task;
    v.per_sample = options.per_sample;
    std::vector<double> apes, total_apes;
    std::size_t inside = 0;
    for (const auto& group : groups) {
        Calibration rest;
        rest.device = calibration.device;
        for (const auto& row : calibration.rows) {
            if (row.model != group) rest.rows.push_back(row);
        }
        auto model = fit_energy_model(rest, task, options);
        if (!model) {
            v.skipped.push_back(group + ": " + model.error());
            continue;
        }
        GroupValidation g;
        g.model = group;
        g.chosen = describe(*model);
        std::vector<double> group_apes, group_total_apes;
        for (const auto& s : *rows) {
            if (s.group != group) continue;
            const CalibrationRow& row = *s.row;
            auto estimate = estimate_energy(*model, s.stats, task_samples(row, task), validation_confidence);
            if (!estimate) return Error{group + ": " + estimate.error()};
            HeldOutPrediction p;
            p.model = group;
            p.batch_size = row.batch_size;
            p.measured_j = std::exp(s.y);
            p.predicted_j = estimate->energy_per_sample_j;
            p.ape_pct = std::abs(p.predicted_j - p.measured_j) / p.measured_j * 100;
            p.inside_interval = p.measured_j >= estimate->low_j && p.measured_j <= estimate->high_j;
            if (p.inside_interval) ++inside;
            const auto total = task_total(row, task, options.per_sample);
            if (total && estimate->total_energy_j) {
                p.measured_total_j = *total;
                p.predicted_total_j = *estimate->total_energy_j;
                const double ape = std::abs(*p.predicted_total_j - *total) / *total * 100;
                group_total_apes.push_back(ape);
                total_apes.push_back(ape);
            }
            group_apes.push_back(p.ape_pct);
            apes.push_back(p.ape_pct);
            v.predictions.push_back(std::move(p));
        }
        g.rows = group_apes.size();
        g.mape_energy_per_sample_pct = stats::mean(group_apes);
        if (!group_total_apes.empty()) g.mape_total_energy_pct = stats::mean(group_total_apes);
        v.groups.push_back(std::move(g));
    }
    if (apes.empty()) {
        std::string reasons;
        for (const auto& s : v.skipped) reasons += "\n  " + s;
        return Error{"leave-one-group-out: no fold could be fitted:" + reasons};
    }
    v.mape_energy_per_sample_pct = stats::mean(apes);
    v.median_ape_pct = stats::median(apes);
    if (!total_apes.empty()) v.mape_total_energy_pct = stats::mean(total_apes);
    v.coverage = static_cast<double>(inside) / static_cast<double>(apes.size());
    return v;
}

// ---- JSON ----

namespace {

// Reads fields of one JSON object and remembers the first problem.
class FieldReader {
public:
    FieldReader(const nlohmann::ordered_json& object, std::string where)
        : m_object(object), m_where(std::move(where)) {
        if (!object.is_object()) fail("is not a JSON object");
    }
    double number(const char* key) {
        auto value = optional_number(key);
        if (!value && !m_error) fail(std::string("lacks the number '") + key + "'");
        return value.value_or(0);
    }
    std::optional<double> optional_number(const char* key) {
        if (m_error || !m_object.contains(key) || m_object[key].is_null()) return std::nullopt;
        if (!m_object[key].is_number()) {
            fail(std::string("'") + key + "' is not a number");
            return std::nullopt;
        }
        return m_object[key].get<double>();
    }
    std::string text(const char* key, bool required) {
        if (m_error) return {};
        if (!m_object.contains(key) || m_object[key].is_null()) {
            if (required) fail(std::string("lacks the string '") + key + "'");
            return {};
        }
        if (!m_object[key].is_string()) {
            fail(std::string("'") + key + "' is not a string");
            return {};
        }
        return m_object[key].get<std::string>();
    }
    std::vector<double> numbers(const char* key) {
        std::vector<double> out;
        if (m_error) return out;
        if (!m_object.contains(key) || !m_object[key].is_array()) {
            fail(std::string("lacks the array '") + key + "'");
            return out;
        }
        for (const auto& v : m_object[key]) {
            if (!v.is_number()) {
                fail(std::string("'") + key + "' holds a value that is not a number");
                return {};
            }
            out.push_back(v.get<double>());
        }
        return out;
    }
    void fail(const std::string& what) {
        if (!m_error) m_error = Error{m_where + " " + what};
    }
    const std::optional<Error>& error() const { return m_error; }

private:
    const nlohmann::ordered_json& m_object;
    std::string m_where;
    std::optional<Error> m_error;
};

std::optional<Error> check_schema(const nlohmann::ordered_json& json, std::string_view expected) {
    if (!json.is_object())
        return Error{"expected a JSON object with \"schema\": \"" + std::string(expected) + "\""};
    if (json.contains("schema") &&
        (!json["schema"].is_string() || json["schema"].get<std::string>() != expected)) {
        return Error{"unsupported schema " + json["schema"].dump() + ": expected \"" + std::string(expected) +
                     "\""};
    }
    return std::nullopt;
}

nlohmann::ordered_json positive_or_null(double value) {
    return value > 0 ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json range_json(const FeatureRange& r) {
    return {{"min", r.min}, {"max", r.max}};
}

FeatureRange range_from(FieldReader& parent, const nlohmann::ordered_json& json, const char* key) {
    if (!json.contains(key)) {
        parent.fail(std::string("lacks '") + key + "'");
        return {};
    }
    FieldReader reader(json[key], std::string("'") + key + "'");
    FeatureRange r{reader.number("min"), reader.number("max")};
    if (reader.error()) parent.fail(reader.error()->message);
    return r;
}

}  // namespace

nlohmann::ordered_json calibration_to_json(const Calibration& calibration) {
    nlohmann::ordered_json j;
    j["schema"] = calibration_schema;
    j["device"] = calibration.device;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const auto& r : calibration.rows) {
        rows.push_back({{"model", r.model},
                        {"params", r.params},
                        {"macs", r.macs},
                        {"batch_size", r.batch_size},
                        {"activations", positive_or_null(r.activations)},
                        {"mac_layers", positive_or_null(r.mac_layers)},
                        {"train_energy_per_sample_j", optional_json(r.train_energy_per_sample_j)},
                        {"infer_energy_per_sample_j", optional_json(r.infer_energy_per_sample_j)},
                        {"train_samples", optional_json(r.train_samples)},
                        {"train_energy_j", optional_json(r.train_energy_j)},
                        {"infer_samples", optional_json(r.infer_samples)},
                        {"infer_energy_j", optional_json(r.infer_energy_j)},
                        {"train_seconds_per_sample", optional_json(r.train_seconds_per_sample)},
                        {"infer_seconds_per_sample", optional_json(r.infer_seconds_per_sample)},
                        {"measured_at", r.measured_at},
                        {"how", r.how}});
    }
    j["rows"] = std::move(rows);
    return j;
}

Result<Calibration> calibration_from_json(const nlohmann::ordered_json& json) {
    if (auto error = check_schema(json, calibration_schema)) return *error;
    Calibration c;
    FieldReader top(json, "the calibration");
    c.device = top.text("device", true);
    if (top.error()) return *top.error();
    if (!json.contains("rows") || !json["rows"].is_array())
        return Error{"the calibration lacks the array 'rows'"};
    for (std::size_t i = 0; i < json["rows"].size(); ++i) {
        FieldReader f(json["rows"][i], "calibration row " + std::to_string(i + 1));
        CalibrationRow r;
        r.model = f.text("model", true);
        r.params = f.number("params");
        r.macs = f.number("macs");
        r.batch_size = f.number("batch_size");
        r.activations = f.optional_number("activations").value_or(0);  // absent in older calibrations
        r.mac_layers = f.optional_number("mac_layers").value_or(0);
        r.train_energy_per_sample_j = f.optional_number("train_energy_per_sample_j");
        r.infer_energy_per_sample_j = f.optional_number("infer_energy_per_sample_j");
        r.train_samples = f.optional_number("train_samples");
        r.train_energy_j = f.optional_number("train_energy_j");
        r.infer_samples = f.optional_number("infer_samples");
        r.infer_energy_j = f.optional_number("infer_energy_j");
        r.train_seconds_per_sample = f.optional_number("train_seconds_per_sample");
        r.infer_seconds_per_sample = f.optional_number("infer_seconds_per_sample");
        r.measured_at = f.text("measured_at", false);
        r.how = f.text("how", false);
        if (f.error()) return *f.error();
        c.rows.push_back(std::move(r));
    }
    return c;
}

nlohmann::ordered_json energy_model_to_json(const EnergyModel& m) {
    nlohmann::ordered_json j;
    j["schema"] = model_schema;
    j["device"] = m.device;
    j["task"] = task_name(m.task);
    j["per_sample"] = per_sample_name(m.per_sample);
    j["family"] = family_name(m.family);
    j["additive"] = {{"e_mac", m.additive.e_mac},
                     {"e_step", m.additive.e_step},
                     {"e_param", m.additive.e_param},
                     {"e_sample", m.additive.e_sample},
                     {"e_act", m.additive.e_act},
                     {"e_layer", m.additive.e_layer},
                     {"sample_term", m.additive.sample_term},
                     {"memory_terms", m.additive.memory_terms}};
    nlohmann::ordered_json features = nlohmann::ordered_json::array();
    for (Feature f : m.features) features.push_back(feature_name(f));
    j["features"] = std::move(features);
    j["ridge"] = m.ridge;
    j["feature_mean"] = m.feature_mean;
    j["feature_scale"] = m.feature_scale;
    j["coefficients"] = m.coefficients;
    j["intercept"] = m.intercept;
    nlohmann::ordered_json raw;
    for (const auto& [name, value] : raw_coefficients(m)) raw[name] = value;
    j["raw_coefficients"] = std::move(raw);  // for readers; not read back
    j["cv_residuals"] = m.cv_residuals;
    j["cv_rmse_log"] = m.cv_rmse_log;
    j["cv_scheme"] = m.cv_scheme;
    j["rows"] = m.rows;
    j["groups"] = m.groups;
    j["params_range"] = range_json(m.params_range);
    j["macs_range"] = range_json(m.macs_range);
    j["batch_range"] = range_json(m.batch_range);
    if (m.additive.memory_terms) {
        j["activations_range"] = range_json(m.activations_range);
        j["mac_layers_range"] = range_json(m.mac_layers_range);
    }
    return j;
}

Result<EnergyModel> energy_model_from_json(const nlohmann::ordered_json& json) {
    if (auto error = check_schema(json, model_schema)) return *error;
    FieldReader f(json, "the energy model");
    EnergyModel m;
    m.device = f.text("device", true);
    const std::string task = f.text("task", true);
    if (!f.error() && task != "training" && task != "inference") {
        f.fail("has task '" + task + "': expected training or inference");
    }
    m.task = task == "inference" ? EnergyTask::inference : EnergyTask::training;
    const std::string per_sample = f.text("per_sample", false);  // absent in models written before time
    if (!f.error() && !per_sample.empty() && per_sample != "energy" && per_sample != "time") {
        f.fail("has per_sample '" + per_sample + "': expected energy or time");
    }
    m.per_sample = per_sample == "time" ? PerSample::time : PerSample::energy;
    // "family" is absent in models written before the additive family: log-linear.
    const std::string family = f.text("family", false);
    if (!f.error() && !family.empty() && !family_from_name(family)) {
        f.fail("has family '" + family + "': expected log_linear or additive");
    }
    m.family = family_from_name(family).value_or(ModelFamily::log_linear);
    if (!f.error() && m.family == ModelFamily::additive) {
        if (!json.contains("additive")) {
            f.fail("lacks 'additive'");
        } else {
            FieldReader a(json["additive"], "'additive'");
            m.additive.e_mac = a.number("e_mac");
            m.additive.e_step = a.number("e_step");
            m.additive.e_param = a.number("e_param");
            m.additive.e_sample = a.number("e_sample");
            const auto& flag = json["additive"].is_object() && json["additive"].contains("sample_term")
                                   ? json["additive"]["sample_term"]
                                   : nlohmann::ordered_json(nullptr);
            m.additive.sample_term = flag.is_boolean() ? flag.get<bool>() : m.additive.e_sample > 0;
            // e_act, e_layer and memory_terms are absent in models written before the memory terms.
            m.additive.e_act = a.optional_number("e_act").value_or(0);
            m.additive.e_layer = a.optional_number("e_layer").value_or(0);
            const auto& memory = json["additive"].is_object() && json["additive"].contains("memory_terms")
                                     ? json["additive"]["memory_terms"]
                                     : nlohmann::ordered_json(nullptr);
            m.additive.memory_terms = memory.is_boolean() && memory.get<bool>();
            if (a.error()) f.fail(a.error()->message);
            for (double v : {m.additive.e_mac, m.additive.e_step, m.additive.e_param, m.additive.e_sample,
                             m.additive.e_act, m.additive.e_layer}) {
                if (!f.error() && !(std::isfinite(v) && v >= 0))
                    f.fail("has a negative additive coefficient");
            }
        }
    }
    if (!f.error() && (!json.contains("features") || !json["features"].is_array()))
        f.fail("lacks 'features'");
    if (!f.error()) {
        for (const auto& name : json["features"]) {
            const auto feature = name.is_string() ? feature_from_name(name.get<std::string>()) : std::nullopt;
            if (!feature) {
                f.fail("has an unknown feature " + name.dump());
                break;
            }
            m.features.push_back(*feature);
        }
    }
    m.ridge = f.number("ridge");
    m.feature_mean = f.numbers("feature_mean");
    m.feature_scale = f.numbers("feature_scale");
    m.coefficients = f.numbers("coefficients");
    m.intercept = f.number("intercept");
    m.cv_residuals = f.numbers("cv_residuals");
    m.cv_rmse_log = f.number("cv_rmse_log");
    m.cv_scheme = f.text("cv_scheme", false);
    m.rows = static_cast<std::size_t>(f.number("rows"));
    m.params_range = range_from(f, json, "params_range");
    m.macs_range = range_from(f, json, "macs_range");
    m.batch_range = range_from(f, json, "batch_range");
    if (m.additive.memory_terms) {
        m.activations_range = range_from(f, json, "activations_range");
        m.mac_layers_range = range_from(f, json, "mac_layers_range");
    }
    if (!f.error() && json.contains("groups") && json["groups"].is_array()) {
        for (const auto& g : json["groups"]) {
            if (g.is_string()) m.groups.push_back(g.get<std::string>());
        }
    }
    if (f.error()) return *f.error();
    const std::size_t p = m.features.size();
    if (m.feature_mean.size() != p || m.feature_scale.size() != p || m.coefficients.size() != p) {
        return Error{"the energy model has " + std::to_string(p) +
                     " features but a different number of means, scales or coefficients"};
    }
    for (double s : m.feature_scale) {
        if (!positive_finite(s))
            return Error{"the energy model has a feature scale that is not a positive number"};
    }
    std::sort(m.cv_residuals.begin(), m.cv_residuals.end());
    return m;
}

nlohmann::ordered_json validation_to_json(const LogoValidation& v) {
    nlohmann::ordered_json j;
    j["device"] = v.device;
    j["task"] = task_name(v.task);
    j["per_sample"] = per_sample_name(v.per_sample);
    j["mape_energy_per_sample_pct"] = v.mape_energy_per_sample_pct;
    j["median_ape_pct"] = v.median_ape_pct;
    j["mape_total_energy_pct"] = optional_json(v.mape_total_energy_pct);
    j["coverage"] = v.coverage;
    nlohmann::ordered_json groups = nlohmann::ordered_json::array();
    for (const auto& g : v.groups) {
        groups.push_back({{"model", g.model},
                          {"rows", g.rows},
                          {"mape_energy_per_sample_pct", g.mape_energy_per_sample_pct},
                          {"mape_total_energy_pct", optional_json(g.mape_total_energy_pct)},
                          {"chosen", g.chosen}});
    }
    j["groups"] = std::move(groups);
    nlohmann::ordered_json predictions = nlohmann::ordered_json::array();
    for (const auto& p : v.predictions) {
        predictions.push_back({{"model", p.model},
                               {"batch_size", p.batch_size},
                               {"measured_j", p.measured_j},
                               {"predicted_j", p.predicted_j},
                               {"ape_pct", p.ape_pct},
                               {"inside_interval", p.inside_interval},
                               {"measured_total_j", optional_json(p.measured_total_j)},
                               {"predicted_total_j", optional_json(p.predicted_total_j)}});
    }
    j["predictions"] = std::move(predictions);
    j["skipped"] = v.skipped;
    return j;
}

}  // namespace joulecast
