#include <algorithm>
#include <cmath>

#include "forecast/estimator.hpp"
#include "forecast/estimator_internal.hpp"
#include "forecast/stats.hpp"

// Cross-validation: the out-of-fold residuals that choose a candidate model, and leave-one-group-out
// validation of the whole fitting procedure.

namespace joulecast::forecast {

using core::Error;
using core::Result;

namespace estimator_detail {

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

}  // namespace estimator_detail

using namespace estimator_detail;

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
        for (const auto& s : *rows) {
            if (s.group != group) rest.rows.push_back(*s.row);
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

}  // namespace joulecast::forecast
