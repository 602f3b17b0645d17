// PhaseRecorder over a synthetic trace: nesting, overlap, unclosed phases, epochs and E_tr/E_in.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "meter/phases.hpp"
#include "meter/run_result.hpp"
#include "support/known_trace.hpp"

namespace joulecast::meter {

using sensors::Behaviour;
using sensors::Channel;
using sensors::Quantity;

namespace {

using test::hundred_watts;
using test::s;

TEST(PhaseRecorder, NestedAndOverlappingPhasesEachGetTheirWindow) {
    PhaseRecorder recorder;
    recorder.begin(1 * s, "train");
    recorder.begin(2 * s, "eval");
    recorder.begin(3 * s, "train");     // nested: a second train inside the first
    recorder.end(4 * s, "train", 100);  // closes the inner one
    recorder.end(5 * s, "train", 500);
    recorder.end(6 * s, "eval");  // overlaps the outer train's end
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.phases.size(), 3u);
    EXPECT_NEAR(result.phases[0].energy_j, 400.0, 1e-6);  // outer train 1..5
    EXPECT_EQ(result.phases[0].samples, 500);
    EXPECT_NEAR(*result.phases[0].energy_per_sample_j, 0.8, 1e-9);
    EXPECT_NEAR(result.phases[1].energy_j, 400.0, 1e-6);  // eval 2..6
    EXPECT_NEAR(result.phases[2].energy_j, 100.0, 1e-6);  // inner train 3..4
    EXPECT_EQ(result.phases[2].samples, 100);
    // E_tr counts the union of training windows once: 1..5 s.
    EXPECT_NEAR(*result.training_energy_j, 400.0, 1e-6);
    EXPECT_FALSE(result.inference_energy_j.has_value());
    EXPECT_EQ(result.phases[0].boundary, PhaseBoundary::counter);
}

TEST(PhaseRecorder, UnclosedPhaseEndsWithTheRunAndSaysSo) {
    PhaseRecorder recorder;
    recorder.begin(8 * s, "infer");
    recorder.end(9 * s, "nothing-open");
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.phases.size(), 1u);
    EXPECT_FALSE(result.phases[0].closed);
    EXPECT_NEAR(result.phases[0].energy_j, 200.0, 1e-6);
    EXPECT_NEAR(*result.inference_energy_j, 200.0, 1e-6);
    EXPECT_EQ(recorder.ignored(), 1u);
}

TEST(PhaseRecorder, EpochMarkersSplitTheEnclosingPhase) {
    PhaseRecorder recorder;
    recorder.begin(2 * s, "train");
    for (int k = 1; k <= 3; ++k) recorder.epoch((2 + 2 * k) * s, std::nullopt, 50);
    recorder.end(8 * s, "train");
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.epochs.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(result.epochs[k].n, static_cast<long long>(k + 1));
        EXPECT_NEAR(result.epochs[k].energy_j, 200.0, 1e-6);  // the first starts with the train phase, at 2 s
        EXPECT_NEAR(*result.epochs[k].energy_per_sample_j, 4.0, 1e-9);
    }
}

TEST(PhaseRecorder, SampleSumsThatPassTheLargestCountAreUnknownNotNegative) {
    constexpr long long most = std::numeric_limits<long long>::max();
    PhaseRecorder recorder;
    recorder.epoch(2 * s, std::nullopt, most);
    recorder.epoch(4 * s, std::nullopt, most);
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.epochs.size(), 2u);
    EXPECT_EQ(result.epochs[0].samples, most);  // each count alone is right
    EXPECT_FALSE(epoch_samples(result).has_value());
    EXPECT_FALSE(run_samples(result).has_value());
    EXPECT_TRUE(samples_overflow(result));

    // Two phases likewise; and sums that fit are exact.
    PhaseRecorder phases;
    phases.begin(1 * s, "train");
    phases.end(2 * s, "train", most);
    phases.begin(3 * s, "train");
    phases.end(4 * s, "train", 1);
    RunResult by_phase;
    phases.finish(by_phase, hundred_watts(), 0, 10 * s);
    EXPECT_FALSE(run_samples(by_phase).has_value());
    EXPECT_TRUE(samples_overflow(by_phase));
    PhaseRecorder fits;
    fits.epoch(2 * s, std::nullopt, most - 5);
    fits.epoch(4 * s, std::nullopt, 5);
    RunResult exact;
    fits.finish(exact, hundred_watts(), 0, 10 * s);
    EXPECT_EQ(run_samples(exact), most);
    EXPECT_FALSE(samples_overflow(exact));
}

TEST(PhaseRecorder, EpochPhasesAndExplicitNumbers) {
    PhaseRecorder recorder;
    recorder.begin(1 * s, "epoch");
    recorder.end(2 * s, "epoch", 10);
    recorder.epoch(5 * s, 7);
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.epochs.size(), 2u);
    EXPECT_NEAR(result.epochs[0].energy_j, 500.0, 1e-6);  // marker: from the run's start (no open phase)
    EXPECT_EQ(result.epochs[0].n, 7);
    EXPECT_NEAR(result.epochs[1].energy_j, 100.0, 1e-6);
}

TEST(PhaseRecorder, MetaLastValueWinsAndMetricsKeepTheirSeries) {
    PhaseRecorder recorder;
    recorder.meta("model", "a");
    recorder.meta("batch_size", "32");
    recorder.meta("model", "b");
    recorder.metric(3 * s, "accuracy", 0.5);
    recorder.metric(4 * s, "accuracy", 0.75);
    recorder.metric(4 * s, "loss", std::nan(""));
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    EXPECT_EQ(result.meta["model"], "b");
    EXPECT_EQ(result.meta["batch_size"], "32");
    EXPECT_EQ(result.metrics["accuracy"].points.size(), 2u);
    EXPECT_DOUBLE_EQ(result.metrics["accuracy"].last(), 0.75);
    EXPECT_DOUBLE_EQ(result.metrics["accuracy"].points[0].first, 3.0);
    EXPECT_EQ(recorder.ignored(), 1u);  // a loss that is not a number
    EXPECT_EQ(result.metrics.count("loss"), 0u);
}

TEST(PhaseRecorder, BoundaryBetweenSparseCounterReadingsIsInterpolated) {
    Channel energy{"gpu0.energy", "gpu", "gpu0", Quantity::energy, Behaviour::counter, false, {}, true};
    Timeline timeline({{"nvml", energy}}, {{0, 0, 0.0}, {10 * s, 0, 1000.0}});
    EXPECT_EQ(boundary_method(timeline, 0, 10 * s, 5'000'000), PhaseBoundary::counter);
    EXPECT_EQ(boundary_method(timeline, 2 * s, 10 * s, 5'000'000), PhaseBoundary::interpolated);
}

}  // namespace
}  // namespace joulecast::meter
