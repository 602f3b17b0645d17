#pragma once
// Backtests the short-profile forecaster on completed runs: forecast each run's total from its first k epochs
// and compare with what was measured, side by side with the naive (carbontracker-style) baseline.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "forecast/forecaster.hpp"

namespace joulecast::forecast {

/// One completed run: its epochs in order and the measured total they are compared with.
struct CompletedRun {
    std::string name;                      ///< for reports, e.g. a run id
    std::vector<double> epoch_energy_j;    ///< energy of each epoch, joules
    std::vector<double> epoch_duration_s;  ///< each epoch's length, seconds; empty when unknown
    /// Measured total of the same epochs, joules; the sum of epoch_energy_j when absent. A total that also
    /// holds energy outside the epochs (setup, evaluation) makes every forecast look low by that much.
    std::optional<double> total_energy_j;
};

/// How long the profile is: a number of epochs, or a fraction of each run's epochs (rounded up, at least 1).
struct ProfileLength {
    enum class Kind { epochs, fraction };
    Kind kind = Kind::epochs;
    double value = 1;  ///< epochs (an integer >= 1) or a fraction in (0, 1]

    static ProfileLength epochs(std::size_t n) { return {Kind::epochs, static_cast<double>(n)}; }
    static ProfileLength fraction(double f) { return {Kind::fraction, f}; }
    /// The profile's epochs for a run of `run_epochs` epochs (may be >= run_epochs: nothing left to
    /// forecast).
    std::size_t epochs_for(std::size_t run_epochs) const;
    /// "3 epochs" or "10% of each run".
    std::string describe() const;
};

struct RunBacktest {
    std::string name;
    std::size_t epochs = 0;          ///< the run's epochs
    std::size_t profile_epochs = 0;  ///< epochs the forecast saw
    double measured_j = 0;           ///< the measured total, joules
    double forecast_j = 0;           ///< forecaster's total, joules
    double forecast_low_j = 0;       ///< its interval at the options' confidence, joules
    double forecast_high_j = 0;
    double naive_j = 0;             ///< naive baseline's total, joules
    double forecast_error_pct = 0;  ///< signed: (forecast − measured) / measured × 100
    double naive_error_pct = 0;     ///< signed, likewise
    bool covered = false;           ///< measured inside [forecast_low_j, forecast_high_j]
    bool converged = false;         ///< the forecast's own `converged`
    std::size_t warmup_excluded = 0;
};

struct BacktestSummary {
    ProfileLength profile;
    double confidence = 0.9;
    std::vector<RunBacktest> runs;     ///< the runs that could be backtested, in input order
    std::vector<std::string> skipped;  ///< "name: reason" for the others
    /// Absolute percentage errors over `runs`: median and 90th percentile (linear interpolation).
    double forecast_median_ape_pct = 0;
    double forecast_p90_ape_pct = 0;
    double naive_median_ape_pct = 0;
    double naive_p90_ape_pct = 0;
    double coverage = 0;  ///< fraction of `runs` whose measured total lies inside the forecast interval
};

/// Backtests every run with the target = its own epoch count. Runs are skipped (with a reason) when the
/// profile covers all their epochs, their energies or durations are not finite and >= 0, their durations do
/// not match their epochs, or their measured total is not positive. Errors for: no runs, a profile of 0
/// epochs or a fraction outside (0, 1], no run left to backtest, or options the forecaster rejects.
core::Result<BacktestSummary> backtest(std::span<const CompletedRun> runs, const ProfileLength& profile,
                                       const ForecastOptions& options = {});

/// The summary as JSON (for `joulecast forecast --backtest --json`).
nlohmann::ordered_json backtest_to_json(const BacktestSummary& summary);

}  // namespace joulecast::forecast
