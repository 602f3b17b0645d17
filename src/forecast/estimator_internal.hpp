#pragma once
// Internal to the estimator's sources (estimator.cpp: fitting, estimator_validation.cpp: cross-validation,
// estimator_json.cpp: names and JSON): the calibration rows as fitted, the candidate models and the helpers
// the fitting and the validation share. Not part of the module's interface.

#include <cmath>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "forecast/estimator.hpp"

namespace joulecast::forecast::estimator_detail {

constexpr double validation_confidence = 0.9;
// Architectures whose characteristics agree within this relative tolerance are twins (one validation group).
constexpr double twin_tolerance = 0.01;

inline bool positive_finite(double v) {
    return std::isfinite(v) && v > 0;
}

std::optional<double> task_samples(const CalibrationRow& r, EnergyTask task);
std::optional<double> task_total(const CalibrationRow& r, EnergyTask task, PerSample what);

struct Sample {
    ModelCharacteristics stats;
    double y = 0;  // ln(J per sample)
    std::string group;
    const CalibrationRow* row = nullptr;
    double warmup_j = 0;  ///< training energy: the row's warm-up per run, joules (0 when not known)
    bool warmup_known = false;
};

// Validates every row and returns those that carry the task's energy per sample.
core::Result<std::vector<Sample>> task_rows(const Calibration& calibration, EnergyTask task, PerSample what);

// The distinct model names, in first-seen order.
std::vector<std::string> distinct_groups(const std::vector<Sample>& samples);

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
    const EstimatorOptions& options);

// Out-of-fold residuals (measured − predicted, log space) in sample order; nullopt when a fold cannot be
// fitted.
std::optional<std::vector<double>> cross_validate(const std::vector<Sample>& samples,
                                                  const std::vector<std::vector<std::size_t>>& folds,
                                                  const CandidateSpec& spec, const EstimatorOptions& options);

// The options' error, if any.
std::optional<core::Error> validate(const EstimatorOptions& options);

}  // namespace joulecast::forecast::estimator_detail
