// Simulation test of the forecaster (issue 15): many synthetic 50-epoch jobs per scenario, forecast from
// profiles of 2, 3 and 5 epochs. Measures how often the stated 90% interval covers the true total and the
// median relative error of the forecast beside the naive mean (carbontracker's figure).
//
// Every job also has sub-epoch windows: each epoch is split into 10 equal-duration windows whose energies
// vary by 5% around the epoch's mean power and sum to the epoch's energy. The warm-up scenario puts its
// excess (0.4 × the steady level) in the first two windows of epoch 1, as a compile / cache-fill burst does.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "forecast/forecaster.hpp"
#include "forecast/stats.hpp"

namespace joulecast::forecast {
namespace {

constexpr int job_epochs = 50;
constexpr int jobs_per_scenario = 500;
constexpr int windows_per_epoch = 10;
constexpr double epoch_seconds = 10.0;
constexpr double steady_j = 300.0;

struct Job {
    std::vector<Observation> epochs;   // all 50
    std::vector<Observation> windows;  // 10 per epoch, in order
};

enum class Scenario { iid, student_t, ar1, warmup, drift, uniform };

const char* scenario_name(Scenario s) {
    switch (s) {
        case Scenario::iid:
            return "i.i.d. 5% noise";
        case Scenario::student_t:
            return "Student-t 3 dof (5% sd)";
        case Scenario::ar1:
            return "AR(1) rho 0.6 (5% sd)";
        case Scenario::warmup:
            return "first epoch 1.4x (5% noise)";
        case Scenario::drift:
            return "0.2%/epoch drift (1% noise)";
        case Scenario::uniform:
            return "uniform 673-1192 J";
    }
    return "?";
}

// Portable draws from the raw 64-bit engine (the standard distributions differ between libraries, so the
// figures pinned below would not be reproducible with them).
struct Draws {
    std::mt19937_64 engine;
    double uniform01() { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }
    double normal() {  // Box–Muller, one value per call
        double u = 0;
        while (u == 0) u = uniform01();
        return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * uniform01());
    }
    double student_t3() {
        const double a = normal(), b = normal(), c = normal();
        return normal() / std::sqrt((a * a + b * b + c * c) / 3);
    }
};

Job simulate(Scenario scenario, Draws& rng) {
    auto normal = [&] { return rng.normal(); };
    auto t3 = [&] { return rng.student_t3(); };
    auto uniform = [&] { return 673 + (1192 - 673) * rng.uniform01(); };
    Job job;
    double ar = normal();  // stationary start: unit variance
    double warmup_excess = 0;
    for (int i = 0; i < job_epochs; ++i) {
        double e = steady_j;
        switch (scenario) {
            case Scenario::iid:
                e = steady_j * (1 + 0.05 * normal());
                break;
            case Scenario::student_t:
                e = steady_j * (1 + 0.05 * t3() / std::sqrt(3.0));  // t3 has variance 3
                break;
            case Scenario::ar1:
                if (i > 0) ar = 0.6 * ar + std::sqrt(1 - 0.36) * normal();
                e = steady_j * (1 + 0.05 * ar);
                break;
            case Scenario::warmup:
                e = steady_j * (1 + 0.05 * normal());
                if (i == 0) {
                    warmup_excess = 0.4 * steady_j;
                    e += warmup_excess;
                }
                break;
            case Scenario::drift:
                e = steady_j * (1 + 0.002 * i) * (1 + 0.01 * normal());
                break;
            case Scenario::uniform:
                e = uniform();
                break;
        }
        e = std::max(e, 0.0);
        job.epochs.push_back({e, epoch_seconds, std::nullopt});
        // Windows: the epoch's steady part spread over 10 windows with 5% noise, rescaled to sum to it;
        // a warm-up excess goes to the first two windows.
        const double steady_part = e - (i == 0 ? warmup_excess : 0.0);
        std::vector<double> shares(windows_per_epoch);
        double share_sum = 0;
        for (double& s : shares) {
            s = std::max(0.0, 1 + 0.05 * normal());
            share_sum += s;
        }
        for (int k = 0; k < windows_per_epoch; ++k) {
            double w = steady_part * shares[static_cast<std::size_t>(k)] / share_sum;
            if (i == 0 && k < 2) w += warmup_excess / 2;
            job.windows.push_back({w, epoch_seconds / windows_per_epoch, std::nullopt});
        }
    }
    return job;
}

struct Figures {
    double coverage = 0;               // fraction of jobs whose true total lies in [low, high]
    double median_error = 0;           // median |forecast − truth| / truth
    double naive_median_error = 0;     // the same for the naive mean
    double median_relative_width = 0;  // median (high − low) / truth
};

Figures measure(Scenario scenario, int profile_epochs) {
    // One seed per scenario: the three profile lengths see the same jobs.
    Draws rng{std::mt19937_64(20261203 + static_cast<unsigned>(scenario))};
    std::vector<double> errors, naive_errors, widths;
    int covered = 0;
    for (int j = 0; j < jobs_per_scenario; ++j) {
        const Job job = simulate(scenario, rng);
        double truth = 0;
        for (const auto& o : job.epochs) truth += o.energy_j;
        const auto profile =
            std::span<const Observation>(job.epochs).first(static_cast<std::size_t>(profile_epochs));
        const auto target = ForecastTarget::epochs(job_epochs);
        const auto windows = std::span<const Observation>(job.windows)
                                 .first(static_cast<std::size_t>(profile_epochs * windows_per_epoch));
        auto f = forecast_total(profile, target, {}, windows);
        auto naive = naive_forecast(profile, target);
        if (!f.ok() || !naive.ok()) {
            ADD_FAILURE() << "forecast failed";
            continue;
        }
        if (truth >= f->low_energy_j && truth <= f->high_energy_j) ++covered;
        errors.push_back(std::abs(f->total_energy_j - truth) / truth);
        naive_errors.push_back(std::abs(naive->total_energy_j - truth) / truth);
        widths.push_back((f->high_energy_j - f->low_energy_j) / truth);
    }
    Figures out;
    out.coverage = static_cast<double>(covered) / jobs_per_scenario;
    out.median_error = stats::median(errors);
    out.naive_median_error = stats::median(naive_errors);
    out.median_relative_width = stats::median(widths);
    return out;
}

constexpr Scenario all_scenarios[] = {Scenario::iid,    Scenario::student_t, Scenario::ar1,
                                      Scenario::warmup, Scenario::drift,     Scenario::uniform};
// Profiles of 2, 3 and 5 epochs carry the targets; 10 and 20 show what longer profiles reach.
constexpr int profiles[] = {2, 3, 5, 10, 20};

// The lowest coverage accepted. The target is 85-95% in every scenario. Two scenarios cannot reach it
// from short profiles (docs/forecast.md, "What the interval can and cannot cover"); for them the bound is
// the measured figure minus 3 points, so a regression still fails.
double coverage_floor(Scenario s, int profile) {
    if (s == Scenario::ar1) {
        switch (profile) {
            case 2:
                return 0.75;  // measured 78.6%
            case 3:
                return 0.70;  // measured 73.2%
            case 5:
                return 0.68;  // measured 71.4%
            default:
                return 0.76;  // measured 79.8% (10), 84.4% (20)
        }
    }
    if (s == Scenario::drift) {
        switch (profile) {
            case 2:
                return 0.32;  // measured 35.0%
            case 20:
                return 0.83;  // measured 86.4%: the trend is found
            default:
                return 0.0;  // measured 0.8% (3), 0.0% (5), 9.2% (10): the drift is not detectable yet
        }
    }
    return 0.85;
}

TEST(ForecastSimulation, CoverageAndErrorPerScenario) {
    std::ostringstream table;
    table << std::fixed << std::setprecision(1);
    table << "| scenario | profile | coverage of 90% | median error | naive median error | median width |\n";
    table << "|---|---|---|---|---|---|\n";
    for (Scenario s : all_scenarios) {
        for (int p : profiles) {
            const Figures f = measure(s, p);
            table << "| " << scenario_name(s) << " | " << p << " | " << 100 * f.coverage << "% | "
                  << std::setprecision(2) << 100 * f.median_error << "% | " << 100 * f.naive_median_error
                  << "% | " << std::setprecision(1) << 100 * f.median_relative_width << "% |\n";
            const std::string where = std::string(scenario_name(s)) + ", " + std::to_string(p) + " epochs";
            EXPECT_GE(f.coverage, coverage_floor(s, p)) << where;
            EXPECT_LE(f.coverage, p <= 5 ? 0.95 : 0.97) << where;
            if (p <= 5) {
                // Never worse than the naive mean (to 0.01 percentage point: equal forecasts tie exactly).
                EXPECT_LE(f.median_error, f.naive_median_error + 1e-4) << where;
            }
            if (s == Scenario::warmup && p == 2) {
                // The simulation itself: the naive mean of a 2-epoch profile whose first epoch is 1.4x is
                // about +19% off (mean 1.2x of the steady level over the 48 further epochs).
                EXPECT_NEAR(f.naive_median_error, 0.19, 0.02);
                // Issue 15: the warm-up burst is found from sub-epoch windows and the 2-epoch profile is
                // forecast from its steady part.
                EXPECT_LE(f.median_error, 0.03);
            }
        }
    }
    std::cout << table.str();
}

}  // namespace
}  // namespace joulecast::forecast
