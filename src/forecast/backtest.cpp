#include "forecast/backtest.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "forecast/stats.hpp"

namespace joulecast::forecast {

using core::Error;
using core::Result;

namespace {

bool all_finite_non_negative(const std::vector<double>& values) {
    for (double v : values) {
        if (!std::isfinite(v) || v < 0) return false;
    }
    return true;
}

}  // namespace

std::size_t ProfileLength::epochs_for(std::size_t run_epochs) const {
    if (kind == Kind::epochs) return static_cast<std::size_t>(value);
    const double k = std::ceil(value * static_cast<double>(run_epochs) - 1e-9);
    return std::max<std::size_t>(1, static_cast<std::size_t>(k));
}

std::string ProfileLength::describe() const {
    std::ostringstream out;
    if (kind == Kind::epochs) {
        out << static_cast<std::size_t>(value) << (value == 1 ? " epoch" : " epochs");
    } else {
        out << value * 100 << "% of each run";
    }
    return out.str();
}

Result<BacktestSummary> backtest(std::span<const CompletedRun> runs, const ProfileLength& profile,
                                 const ForecastOptions& options) {
    if (runs.empty()) return Error{"no completed runs to backtest"};
    if (profile.kind == ProfileLength::Kind::epochs &&
        !(profile.value >= 1 && std::floor(profile.value) == profile.value)) {
        return Error{"the profile must be a whole number of epochs >= 1"};
    }
    if (profile.kind == ProfileLength::Kind::fraction && !(profile.value > 0 && profile.value <= 1)) {
        return Error{"the profile fraction must lie in (0, 1]"};
    }

    BacktestSummary summary;
    summary.profile = profile;
    summary.confidence = options.confidence;
    for (const CompletedRun& run : runs) {
        const std::string label = run.name.empty() ? "(unnamed run)" : run.name;
        const std::size_t n = run.epoch_energy_j.size();
        const std::size_t k = profile.epochs_for(n);
        if (!all_finite_non_negative(run.epoch_energy_j) || !all_finite_non_negative(run.epoch_duration_s)) {
            summary.skipped.push_back(label + ": an epoch energy or duration is not finite and >= 0");
            continue;
        }
        if (!run.epoch_duration_s.empty() && run.epoch_duration_s.size() != n) {
            summary.skipped.push_back(label + ": " + std::to_string(run.epoch_duration_s.size()) +
                                      " durations for " + std::to_string(n) + " epochs");
            continue;
        }
        if (k >= n) {
            summary.skipped.push_back(label + ": " + std::to_string(n) +
                                      " epochs leave nothing to forecast after " + std::to_string(k));
            continue;
        }
        const double measured = run.total_energy_j.value_or(
            std::accumulate(run.epoch_energy_j.begin(), run.epoch_energy_j.end(), 0.0));
        if (!std::isfinite(measured) || measured <= 0) {
            summary.skipped.push_back(label + ": the measured total is not a positive number");
            continue;
        }
        std::vector<Observation> observations(k);
        for (std::size_t i = 0; i < k; ++i) {
            observations[i].energy_j = run.epoch_energy_j[i];
            observations[i].duration_s = run.epoch_duration_s.empty() ? 0.0 : run.epoch_duration_s[i];
        }
        const ForecastTarget target = ForecastTarget::epochs(static_cast<double>(n));
        auto forecast = forecast_total(observations, target, options);
        if (!forecast) return Error{label + ": " + forecast.error()};
        auto naive = naive_forecast(observations, target);
        if (!naive) return Error{label + ": " + naive.error()};

        RunBacktest r;
        r.name = run.name;
        r.epochs = n;
        r.profile_epochs = k;
        r.measured_j = measured;
        r.forecast_j = forecast->total_energy_j;
        r.forecast_low_j = forecast->low_energy_j;
        r.forecast_high_j = forecast->high_energy_j;
        r.naive_j = naive->total_energy_j;
        r.forecast_error_pct = (r.forecast_j - measured) / measured * 100;
        r.naive_error_pct = (r.naive_j - measured) / measured * 100;
        r.covered = measured >= r.forecast_low_j && measured <= r.forecast_high_j;
        r.converged = forecast->converged;
        r.warmup_excluded = forecast->warmup_excluded;
        summary.runs.push_back(std::move(r));
    }
    if (summary.runs.empty()) {
        std::string reasons;
        for (const auto& s : summary.skipped) reasons += "\n  " + s;
        return Error{"no run could be backtested with a profile of " + profile.describe() + ":" + reasons};
    }

    std::vector<double> forecast_ape, naive_ape;
    std::size_t covered = 0;
    for (const auto& r : summary.runs) {
        forecast_ape.push_back(std::abs(r.forecast_error_pct));
        naive_ape.push_back(std::abs(r.naive_error_pct));
        if (r.covered) ++covered;
    }
    summary.forecast_median_ape_pct = stats::median(forecast_ape);
    summary.forecast_p90_ape_pct = stats::quantile(forecast_ape, 0.9);
    summary.naive_median_ape_pct = stats::median(naive_ape);
    summary.naive_p90_ape_pct = stats::quantile(naive_ape, 0.9);
    summary.coverage = static_cast<double>(covered) / static_cast<double>(summary.runs.size());
    return summary;
}

nlohmann::ordered_json backtest_to_json(const BacktestSummary& s) {
    nlohmann::ordered_json j;
    j["profile"] = s.profile.describe();
    j["confidence"] = s.confidence;
    j["forecast"] = {{"median_ape_pct", s.forecast_median_ape_pct},
                     {"p90_ape_pct", s.forecast_p90_ape_pct},
                     {"coverage", s.coverage}};
    j["naive"] = {{"median_ape_pct", s.naive_median_ape_pct}, {"p90_ape_pct", s.naive_p90_ape_pct}};
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    for (const auto& r : s.runs) {
        runs.push_back({{"name", r.name},
                        {"epochs", r.epochs},
                        {"profile_epochs", r.profile_epochs},
                        {"measured_j", r.measured_j},
                        {"forecast_j", r.forecast_j},
                        {"forecast_low_j", r.forecast_low_j},
                        {"forecast_high_j", r.forecast_high_j},
                        {"naive_j", r.naive_j},
                        {"forecast_error_pct", r.forecast_error_pct},
                        {"naive_error_pct", r.naive_error_pct},
                        {"covered", r.covered},
                        {"converged", r.converged},
                        {"warmup_excluded", r.warmup_excluded}});
    }
    j["runs"] = std::move(runs);
    j["skipped"] = s.skipped;
    return j;
}

}  // namespace joulecast::forecast
