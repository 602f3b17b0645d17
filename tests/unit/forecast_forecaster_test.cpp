#include "forecast/forecaster.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "forecast/stats.hpp"

namespace joulecast::forecast {

using meter::EpochResult;

namespace {

// A whole synthetic job: energy of epoch i is shape(i) + normal noise; returns every epoch.
std::vector<Observation> synthetic_job(int epochs, const std::function<double(int)>& shape, double noise_sd,
                                       unsigned seed, double duration_s = 10.0) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0, noise_sd);
    std::vector<Observation> job;
    for (int i = 0; i < epochs; ++i) {
        const double e = shape(i) + (noise_sd > 0 ? noise(rng) : 0.0);
        job.push_back({e, duration_s, std::nullopt});
    }
    return job;
}

double total_of(const std::vector<Observation>& job) {
    double sum = 0;
    for (const auto& o : job) sum += o.energy_j;
    return sum;
}

std::span<const Observation> first(const std::vector<Observation>& job, std::size_t k) {
    return std::span<const Observation>(job.data(), k);
}

bool has_note(const Forecast& f, const std::string& fragment) {
    for (const auto& note : f.notes) {
        if (note.find(fragment) != std::string::npos) return true;
    }
    return false;
}

double relative_error(double value, double truth) {
    return std::abs(value - truth) / truth;
}

TEST(ForecastTotal, ConstantSeriesIsExact) {
    const std::vector<Observation> seen(10, Observation{50.0, 2.0, 1000.0});
    auto f = forecast_total(seen, ForecastTarget::epochs(100));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_DOUBLE_EQ(f->total_energy_j, 5000.0);
    EXPECT_DOUBLE_EQ(f->measured_energy_j, 500.0);
    EXPECT_DOUBLE_EQ(f->predicted_energy_j, 4500.0);
    EXPECT_DOUBLE_EQ(f->low_energy_j, 5000.0);
    EXPECT_DOUBLE_EQ(f->high_energy_j, 5000.0);
    EXPECT_DOUBLE_EQ(f->total_duration_s, 200.0);
    EXPECT_DOUBLE_EQ(f->remaining_observations, 90.0);
    EXPECT_DOUBLE_EQ(f->level_j, 50.0);
    EXPECT_DOUBLE_EQ(f->trend_j, 0.0);
    EXPECT_EQ(f->warmup_excluded, 0u);
    EXPECT_EQ(f->observations_used, 10u);
    EXPECT_EQ(f->method, "steady-mean");
    EXPECT_TRUE(f->converged);
}

TEST(ForecastTotal, WarmupSpikeIsExcludedAndTotalWithinOnePercent) {
    // First epoch 3× (compilation, data loading), then steady 100 J with 1% noise.
    const auto job = synthetic_job(
        100, [](int i) { return i == 0 ? 300.0 : 100.0; }, 1.0, 7);
    const double truth = total_of(job);
    auto f = forecast_total(first(job, 10), ForecastTarget::epochs(100));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->warmup_excluded, 1u);
    EXPECT_EQ(f->first_used, 1u);
    EXPECT_TRUE(has_note(*f, "warm-up"));
    EXPECT_LT(relative_error(f->total_energy_j, truth), 0.01);
    EXPECT_LE(f->low_energy_j, truth);
    EXPECT_GE(f->high_energy_j, truth);
    // The spike is counted as measured energy, not dropped.
    EXPECT_NEAR(f->measured_energy_j, total_of(std::vector<Observation>(job.begin(), job.begin() + 10)),
                1e-9);
    EXPECT_TRUE(f->converged);

    // The naive baseline spreads the spike over the whole job: about 20% high here.
    auto naive = naive_forecast(first(job, 10), ForecastTarget::epochs(100));
    ASSERT_TRUE(naive.ok()) << naive.error();
    EXPECT_GT(relative_error(naive->total_energy_j, truth), 0.15);
    EXPECT_LT(relative_error(f->total_energy_j, truth), relative_error(naive->total_energy_j, truth));
}

TEST(ForecastTotal, SlowLinearDriftIsCaptured) {
    // 100 J rising by 0.5 J per epoch; 20 of 100 epochs seen. A flat level would be ~16% low.
    const auto job = synthetic_job(
        100, [](int i) { return 100.0 + 0.5 * i; }, 1.0, 11);
    const double truth = total_of(job);
    auto f = forecast_total(first(job, 20), ForecastTarget::epochs(100));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->method, "steady-trend");
    EXPECT_NEAR(f->trend_j, 0.5, 0.1);
    EXPECT_LT(relative_error(f->total_energy_j, truth), 0.02);
    EXPECT_LE(f->low_energy_j, truth);
    EXPECT_GE(f->high_energy_j, truth);
    auto naive = naive_forecast(first(job, 20), ForecastTarget::epochs(100));
    EXPECT_GT(relative_error(naive->total_energy_j, truth), 0.1);
}

TEST(ForecastTotal, NoisyFlatSeriesDoesNotExtrapolateASpuriousSlope) {
    // 5% noise, 10 of 100 epochs seen: a raw Theil–Sen slope is never exactly 0 here, and extrapolated over
    // 90 epochs it would move the total by several percent in most runs.
    int trended = 0;
    std::vector<double> errors;
    for (unsigned seed = 0; seed < 200; ++seed) {
        const auto job = synthetic_job(
            100, [](int) { return 100.0; }, 5.0, seed);
        auto f = forecast_total(first(job, 10), ForecastTarget::epochs(100));
        ASSERT_TRUE(f.ok()) << f.error();
        if (f->observations_used >= 8) {
            EXPECT_NE(f->raw_trend_j, 0.0);  // a trend needs 8 used observations
        }
        if (f->trend_j != 0) ++trended;
        errors.push_back(relative_error(f->total_energy_j, total_of(job)));
    }
    std::cout << "[ flat ] trend used in " << trended << " of 200; median error " << stats::median(errors)
              << ", p95 " << stats::quantile(errors, 0.95) << "\n";
    EXPECT_LE(trended, 6);
    // The level's own error: 5% / sqrt(10) × 0.9 of the job ≈ 1.4% sd, so a median near 1%.
    EXPECT_LT(stats::median(errors), 0.015);
    EXPECT_LT(stats::quantile(errors, 0.95), 0.05);
}

TEST(ForecastTotal, StepChangeMidRunUsesTheNewLevel) {
    // 10 epochs at 100 J, then the job steps to 130 J (e.g. a larger sequence length) for good.
    const auto job = synthetic_job(
        100, [](int i) { return i < 10 ? 100.0 : 130.0; }, 1.0, 3);
    const double truth = total_of(job);
    auto f = forecast_total(first(job, 20), ForecastTarget::epochs(100));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->first_used, 10u);
    EXPECT_EQ(f->warmup_excluded, 0u);
    EXPECT_TRUE(has_note(*f, "level shift"));
    EXPECT_NEAR(f->level_j, 130.0, 2.0);
    EXPECT_LT(relative_error(f->total_energy_j, truth), 0.01);
    // Fitting a line through the step would have extrapolated it: the trend must not be used here.
    EXPECT_EQ(f->trend_j, 0.0);
}

TEST(ForecastTotal, LevelShiftDetectionCanBeTurnedOff) {
    // A late step: the first half matches the reference, so no warm-up; only the level-shift test sees it.
    const auto job = synthetic_job(
        20, [](int i) { return i < 16 ? 100.0 : 130.0; }, 0.0, 1);
    auto on = forecast_total(job, ForecastTarget::epochs(100));
    ASSERT_TRUE(on.ok()) << on.error();
    EXPECT_EQ(on->first_used, 16u);
    EXPECT_DOUBLE_EQ(on->total_energy_j, 16 * 100.0 + 84 * 130.0);
    ForecastOptions options;
    options.detect_level_shift = false;
    auto off = forecast_total(job, ForecastTarget::epochs(100), options);
    ASSERT_TRUE(off.ok()) << off.error();
    EXPECT_EQ(off->first_used, 0u);
    EXPECT_EQ(off->warmup_excluded, 0u);
}

TEST(ForecastTotal, SingleObservationGivesAWideIntervalAndANote) {
    const std::vector<Observation> seen = {{80.0, 3.0, std::nullopt}};
    auto f = forecast_total(seen, ForecastTarget::epochs(50));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_DOUBLE_EQ(f->total_energy_j, 4000.0);
    EXPECT_DOUBLE_EQ(f->low_energy_j, 80.0 + 3920.0 * 0.5);
    EXPECT_DOUBLE_EQ(f->high_energy_j, 80.0 + 3920.0 * 1.5);
    EXPECT_DOUBLE_EQ(f->total_duration_s, 150.0);
    EXPECT_EQ(f->method, "single-observation");
    EXPECT_FALSE(f->converged);
    EXPECT_TRUE(has_note(*f, "single observation"));
}

TEST(ForecastTotal, TwoObservationsCannotDetectWarmup) {
    const std::vector<Observation> seen = {{300.0, 1.0, std::nullopt}, {100.0, 1.0, std::nullopt}};
    auto f = forecast_total(seen, ForecastTarget::epochs(10));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->warmup_excluded, 0u);
    EXPECT_DOUBLE_EQ(f->total_energy_j, 2000.0);
    EXPECT_TRUE(has_note(*f, "at least 3"));
    EXPECT_FALSE(f->converged);
    EXPECT_LT(f->low_energy_j, 1000.0);  // the spread of 2 observations at t(1): very wide
}

// Ten 1-s windows per 10-s epoch at `watts`, the first `burst` of epoch 1 at `burst_watts`.
std::vector<Observation> windows_of(const std::vector<double>& watts, int burst, double burst_watts) {
    std::vector<Observation> windows;
    for (std::size_t e = 0; e < watts.size(); ++e) {
        for (int k = 0; k < 10; ++k) {
            const double w = (e == 0 && k < burst) ? burst_watts : watts[e] * (1 + 0.01 * ((k % 3) - 1));
            windows.push_back({w, 1.0, std::nullopt});
        }
    }
    return windows;
}

TEST(ForecastTotal, SubEpochWindowsFindAWarmupBurstInATwoEpochProfile) {
    // Epoch 1: 2 s at 60 W then 8 s near 30 W (= 360 J); epoch 2: 10 s near 30 W (300 J). 50 epochs.
    const auto windows = windows_of({30.0, 30.0}, 2, 60.0);
    std::vector<Observation> epochs(2);
    for (std::size_t e = 0; e < 2; ++e) {
        for (int k = 0; k < 10; ++k)
            epochs[e].energy_j += windows[e * 10 + static_cast<std::size_t>(k)].energy_j;
        epochs[e].duration_s = 10.0;
    }
    auto f = forecast_total(epochs, ForecastTarget::epochs(50), {}, windows);
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->warmup_windows, 2u);
    // The burst's excess over the epoch's later median (30 W × 1.0 of the window pattern).
    EXPECT_NEAR(f->warmup_energy_j, 2 * (60.0 - 30.0), 0.5);
    EXPECT_NEAR(f->measured_energy_j, epochs[0].energy_j + epochs[1].energy_j, 1e-9);
    // Steady 300 J × 50 + the 60 J burst; the naive mean would be about (360 + 300) / 2 × 50 = 16500 J.
    EXPECT_NEAR(f->total_energy_j, 300.0 * 50 + 60.0, 0.002 * 15060);
    EXPECT_TRUE(has_note(*f, "warm-up burst"));
    // Without the windows it is the naive mean (the window pattern makes epoch 2 299.7 J).
    auto plain = forecast_total(epochs, ForecastTarget::epochs(50));
    ASSERT_TRUE(plain.ok());
    EXPECT_NEAR(plain->total_energy_j, (epochs[0].energy_j + epochs[1].energy_j) / 2 * 50, 1e-6);
}

TEST(ForecastTotal, SubEpochWarmupIsOneSidedAndIgnoresEpochToEpochNoise) {
    // A first epoch that is entirely higher (no burst inside it) is epoch-to-epoch noise, not warm-up; a
    // first epoch starting LOW is never warm-up either.
    for (const double first_watts : {45.0, 10.0}) {
        const auto windows = windows_of({first_watts == 10.0 ? 30.0 : first_watts, 30.0},
                                        first_watts == 10.0 ? 3 : 0, first_watts);
        std::vector<Observation> epochs(2);
        for (std::size_t e = 0; e < 2; ++e) {
            for (int k = 0; k < 10; ++k)
                epochs[e].energy_j += windows[e * 10 + static_cast<std::size_t>(k)].energy_j;
            epochs[e].duration_s = 10.0;
        }
        auto f = forecast_total(epochs, ForecastTarget::epochs(50), {}, windows);
        ASSERT_TRUE(f.ok()) << f.error();
        EXPECT_EQ(f->warmup_windows, 0u) << first_watts;
        EXPECT_DOUBLE_EQ(f->warmup_energy_j, 0.0);
    }
}

TEST(ForecastTotal, WarmupTestIsOneSided) {
    // A low first epoch is kept (one-sided), a high one far above the reference's own noise is excluded.
    std::vector<Observation> seen(10, Observation{100.0, 1.0, std::nullopt});
    for (std::size_t i = 0; i < seen.size(); ++i) seen[i].energy_j += (i % 2 == 0 ? 1.0 : -1.0);
    seen[0].energy_j = 50.0;
    auto low = forecast_total(seen, ForecastTarget::epochs(100));
    ASSERT_TRUE(low.ok());
    EXPECT_EQ(low->warmup_excluded, 0u);
    seen[0].energy_j = 150.0;
    auto high = forecast_total(seen, ForecastTarget::epochs(100));
    ASSERT_TRUE(high.ok());
    EXPECT_EQ(high->warmup_excluded, 1u);
    // Noise learned from the profile: a 6% first epoch over 5%-noisy epochs is not warm-up.
    const auto noisy = synthetic_job(
        10, [](int i) { return i == 0 ? 106.0 : 100.0; }, 5.0, 3);
    auto kept = forecast_total(noisy, ForecastTarget::epochs(100));
    ASSERT_TRUE(kept.ok());
    EXPECT_EQ(kept->warmup_excluded, 0u);
}

TEST(ForecastTotal, WarmupNeverLeavesFewerThanTwoAndSaysSo) {
    // Still falling at the end: the whole first half is excluded, the rest used, with a note.
    const std::vector<Observation> seen = {{300.0, 1.0, std::nullopt},
                                           {200.0, 1.0, std::nullopt},
                                           {100.0, 1.0, std::nullopt},
                                           {100.0, 1.0, std::nullopt}};
    auto f = forecast_total(seen, ForecastTarget::epochs(10));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->warmup_excluded, 2u);
    EXPECT_EQ(f->observations_used, 2u);
    EXPECT_DOUBLE_EQ(f->total_energy_j, 700.0 + 6 * 100.0);
    EXPECT_TRUE(has_note(*f, "steady state"));
    EXPECT_FALSE(f->converged);
}

TEST(ForecastTotal, SamplesAndDurationTargets) {
    // 5 windows of 2 s, 1000 samples and 10 J each.
    const std::vector<Observation> seen(5, Observation{10.0, 2.0, 1000.0});
    auto by_samples = forecast_total(seen, ForecastTarget::samples(20000));
    ASSERT_TRUE(by_samples.ok()) << by_samples.error();
    EXPECT_DOUBLE_EQ(by_samples->total_energy_j, 200.0);
    EXPECT_DOUBLE_EQ(by_samples->remaining_observations, 15.0);
    EXPECT_DOUBLE_EQ(by_samples->total_duration_s, 40.0);

    auto by_time = forecast_total(seen, ForecastTarget::duration(3600));
    ASSERT_TRUE(by_time.ok()) << by_time.error();
    EXPECT_DOUBLE_EQ(by_time->total_energy_j, 18000.0);
    EXPECT_DOUBLE_EQ(by_time->total_duration_s, 3600.0);

    // A fractional remainder (a samples target that is not a whole number of windows).
    auto partial = forecast_total(seen, ForecastTarget::samples(5500));
    ASSERT_TRUE(partial.ok()) << partial.error();
    EXPECT_DOUBLE_EQ(partial->total_energy_j, 55.0);
}

TEST(ForecastTotal, TargetAlreadyReachedGivesTheMeasuredTotalUpToTheTarget) {
    // A job of 4 epochs profiled over 6: its total is the first 4 epochs' energy, not all 6.
    const std::vector<Observation> seen(6, Observation{10.0, 1.0, std::nullopt});
    auto f = forecast_total(seen, ForecastTarget::epochs(4));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_DOUBLE_EQ(f->total_energy_j, 40.0);
    EXPECT_DOUBLE_EQ(f->low_energy_j, 40.0);
    EXPECT_DOUBLE_EQ(f->high_energy_j, 40.0);
    EXPECT_DOUBLE_EQ(f->total_duration_s, 4.0);
    EXPECT_DOUBLE_EQ(f->predicted_energy_j, 0.0);
    EXPECT_TRUE(has_note(*f, "already reached"));
}

TEST(ForecastTotal, NaiveFigureOfAJobShorterThanTheProfileIsItsFirstEpochs) {
    // `forecast --epochs 1` on a run of 2 epochs (100 J then 300 J): the job is the first epoch, 100 J.
    const std::vector<Observation> seen{{100.0, 1.0, 10.0}, {300.0, 2.0, 30.0}};
    auto naive = naive_forecast(seen, ForecastTarget::epochs(1));
    ASSERT_TRUE(naive.ok()) << naive.error();
    EXPECT_DOUBLE_EQ(naive->total_energy_j, 100.0);
    EXPECT_DOUBLE_EQ(naive->total_duration_s, 1.0);
    EXPECT_TRUE(has_note(*naive, "already reached"));
    auto f = forecast_total(seen, ForecastTarget::epochs(1));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_DOUBLE_EQ(f->total_energy_j, 100.0);
    // Part of an epoch, pro rata: 1.5 epochs, 25 samples (10 + 15 of 30), 2 s (1 + half of the second's 2 s).
    EXPECT_DOUBLE_EQ(naive_forecast(seen, ForecastTarget::epochs(1.5))->total_energy_j, 250.0);
    EXPECT_DOUBLE_EQ(naive_forecast(seen, ForecastTarget::samples(25))->total_energy_j, 250.0);
    EXPECT_DOUBLE_EQ(naive_forecast(seen, ForecastTarget::duration(2))->total_energy_j, 250.0);
    // A target that the profile has not reached is still forecast: 2 more epochs at the mean (200 J).
    EXPECT_DOUBLE_EQ(naive_forecast(seen, ForecastTarget::epochs(4))->total_energy_j, 800.0);
}

TEST(ForecastTotal, LongTrendsAreHeldFlatBeyondTheHorizonCap) {
    // A clean rise over 10 windows; the target is 1000 windows away: the rise stops after 5 × 10 of them.
    std::vector<Observation> seen;
    for (int i = 0; i < 10; ++i) seen.push_back({100.0 + i, 1.0, std::nullopt});
    auto f = forecast_total(seen, ForecastTarget::epochs(1010));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_DOUBLE_EQ(f->trend_j, 1.0);
    // Seen: 1045 J; then 50 windows 110..159, then 950 at 159.
    const double expected = 1045.0 + (110.0 + 159.0) / 2 * 50 + 950 * 159.0;
    EXPECT_NEAR(f->total_energy_j, expected, 1e-6);
    EXPECT_TRUE(has_note(*f, "held flat"));
}

TEST(ForecastTotal, BadInputsAreErrors) {
    const std::vector<Observation> good(3, Observation{10.0, 1.0, std::nullopt});
    EXPECT_FALSE(forecast_total(std::span<const Observation>(), ForecastTarget::epochs(10)).ok());
    EXPECT_FALSE(forecast_total(good, ForecastTarget::epochs(0)).ok());
    EXPECT_FALSE(forecast_total(good, ForecastTarget::epochs(-5)).ok());
    EXPECT_FALSE(forecast_total(good, ForecastTarget::epochs(std::nan(""))).ok());
    EXPECT_FALSE(forecast_total(good, ForecastTarget::duration(INFINITY)).ok());

    auto with_nan = good;
    with_nan[1].energy_j = std::nan("");
    auto r = forecast_total(with_nan, ForecastTarget::epochs(10));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("observation 2"), std::string::npos) << r.error();
    auto negative = good;
    negative[0].duration_s = -1;
    EXPECT_FALSE(forecast_total(negative, ForecastTarget::epochs(10)).ok());

    // A samples target needs samples; a duration target needs durations.
    EXPECT_FALSE(forecast_total(good, ForecastTarget::samples(1000)).ok());
    const std::vector<Observation> timeless(3, Observation{10.0, 0.0, std::nullopt});
    EXPECT_FALSE(forecast_total(timeless, ForecastTarget::duration(60)).ok());

    ForecastOptions bad;
    bad.confidence = 1.5;
    EXPECT_FALSE(forecast_total(good, ForecastTarget::epochs(10), bad).ok());
    EXPECT_FALSE(naive_forecast(with_nan, ForecastTarget::epochs(10)).ok());
    EXPECT_FALSE(naive_forecast(good, ForecastTarget::epochs(0)).ok());
}

TEST(ForecastNaive, MeanOfAllObservationsTimesTheJob) {
    const std::vector<Observation> seen = {
        {30.0, 3.0, 100.0}, {10.0, 1.0, 100.0}, {10.0, 1.0, 100.0}, {10.0, 1.0, 100.0}};
    auto f = naive_forecast(seen, ForecastTarget::epochs(10));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_DOUBLE_EQ(f->total_energy_j, 150.0);
    EXPECT_DOUBLE_EQ(f->low_energy_j, 150.0);
    EXPECT_DOUBLE_EQ(f->high_energy_j, 150.0);
    EXPECT_EQ(f->method, "naive-mean");
    // Per second: 60 J over 6 s = 10 W, for 60 s.
    auto by_time = naive_forecast(seen, ForecastTarget::duration(60));
    EXPECT_DOUBLE_EQ(by_time->total_energy_j, 600.0);
    // Per sample: 60 J over 400 samples, for 1000 samples.
    auto by_samples = naive_forecast(seen, ForecastTarget::samples(1000));
    EXPECT_DOUBLE_EQ(by_samples->total_energy_j, 150.0);
}

// Coverage of the stated 90% interval over many noisy synthetic jobs (loose bounds: 80-98%).
double coverage(int seen, int total, const std::function<double(int)>& shape, double noise_sd, int seeds) {
    int covered = 0;
    for (int seed = 0; seed < seeds; ++seed) {
        const auto job = synthetic_job(total, shape, noise_sd, 1000 + static_cast<unsigned>(seed));
        auto f = forecast_total(first(job, static_cast<std::size_t>(seen)), ForecastTarget::epochs(total));
        if (!f.ok()) ADD_FAILURE() << f.error();
        const double truth = total_of(job);
        if (f.ok() && truth >= f->low_energy_j && truth <= f->high_energy_j) ++covered;
    }
    return static_cast<double>(covered) / seeds;
}

TEST(ForecastCoverage, NinetyPercentIntervalCoversAboutNinetyPercent) {
    const double flat = coverage(
        10, 100, [](int) { return 100.0; }, 5.0, 500);
    const double warm = coverage(
        10, 100, [](int i) { return i == 0 ? 250.0 : 100.0; }, 5.0, 500);
    const double drift = coverage(
        20, 100, [](int i) { return 100.0 + 0.5 * i; }, 1.0, 500);
    std::cout << "[ coverage ] flat " << flat << ", warm-up " << warm << ", drift " << drift << "\n";
    RecordProperty("coverage_flat", std::to_string(flat));
    RecordProperty("coverage_warmup", std::to_string(warm));
    RecordProperty("coverage_drift", std::to_string(drift));
    EXPECT_GE(flat, 0.80);
    EXPECT_LE(flat, 0.98);
    EXPECT_GE(warm, 0.80);
    EXPECT_LE(warm, 0.98);
    EXPECT_GE(drift, 0.80);
    EXPECT_LE(drift, 0.98);
}

TEST(ForecastConversion, ObservationsFromEpochsAndJson) {
    std::vector<EpochResult> epochs(2);
    epochs[0].n = 1;
    epochs[0].end_s = 2.5;
    epochs[0].energy_j = 40.0;
    epochs[0].samples = 640;
    epochs[1].n = 2;
    epochs[1].start_s = 2.5;
    epochs[1].end_s = 4.5;
    epochs[1].energy_j = 30.0;
    const auto observations = observations_from_epochs(epochs);
    ASSERT_EQ(observations.size(), 2u);
    EXPECT_DOUBLE_EQ(observations[0].energy_j, 40.0);
    EXPECT_DOUBLE_EQ(observations[0].duration_s, 2.5);
    EXPECT_EQ(observations[0].samples, 640.0);
    EXPECT_FALSE(observations[1].samples.has_value());

    auto f = forecast_total(observations, ForecastTarget::epochs(4));
    ASSERT_TRUE(f.ok()) << f.error();
    const auto j = forecast_to_json(*f);
    EXPECT_EQ(j["method"], "steady-mean");
    EXPECT_DOUBLE_EQ(j["total_energy_j"].get<double>(), f->total_energy_j);
    EXPECT_EQ(j["observations"], 2);
    EXPECT_TRUE(j.contains("low_energy_j"));
    EXPECT_TRUE(j.contains("converged"));
    EXPECT_TRUE(j["notes"].is_array());
}

}  // namespace
}  // namespace joulecast::forecast
