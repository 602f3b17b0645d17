// dispatch_control: each control message becomes the typed PhaseRecorder call it stands for, with the
// protocol's rules on fields (samples apart from the phase's fields, the last value of a key wins, metric
// values that are not numbers ignored, hello only with a rank and a connection).

#include <gtest/gtest.h>

#include "control/dispatch.hpp"
#include "support/control_line.hpp"
#include "support/known_trace.hpp"

namespace joulecast::control {

using meter::PhaseRecorder;
using meter::PhaseResult;
using meter::RankResult;
using meter::RunResult;

namespace {

using test::hundred_watts;
using test::s;
constexpr auto line = test::control_line;

TEST(ControlDispatch, BeginKeepsItsFieldsAndSamplesApart) {
    PhaseRecorder recorder;
    dispatch_control(recorder, 1 * s, line("begin train samples=5 model=a lr=0.1 model=b"));
    dispatch_control(recorder, 3 * s, line("end train samples=40 note=ignored"));
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.phases.size(), 1u);
    const PhaseResult& phase = result.phases[0];
    EXPECT_EQ(phase.samples, 40);  // the end's samples replace the begin's
    EXPECT_NEAR(phase.energy_j, 200.0, 1e-6);
    EXPECT_NEAR(*phase.energy_per_sample_j, 5.0, 1e-9);
    const std::map<std::string, std::string> fields{{"lr", "0.1"}, {"model", "b"}};
    EXPECT_EQ(phase.fields, fields);
    EXPECT_TRUE(phase.closed);
}

TEST(ControlDispatch, EpochNumbersAndSamplesAreNumbers) {
    PhaseRecorder recorder;
    dispatch_control(recorder, 2 * s, line("epoch n=4 samples=20"));
    dispatch_control(recorder, 6 * s, line("epoch samples=10"));
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.epochs.size(), 2u);
    EXPECT_EQ(result.epochs[0].n, 4);
    EXPECT_EQ(result.epochs[0].samples, 20);
    EXPECT_NEAR(*result.epochs[0].energy_per_sample_j, 10.0, 1e-9);  // 200 J from the run's start / 20
    EXPECT_EQ(result.epochs[1].n, 5);                                // counted on from the explicit number
    EXPECT_NEAR(result.epochs[1].energy_j, 400.0, 1e-6);
}

TEST(ControlDispatch, MetaAndMetricFieldsInOrderAndNonNumbersIgnored) {
    PhaseRecorder recorder;
    dispatch_control(recorder, 1 * s, line("meta model=a batch_size=32 model=c"));
    // The parser refuses a metric that is not a number; a message built by hand still must not become one.
    ControlMessage metric;
    metric.verb = ControlMessage::Verb::metric;
    metric.fields = {{"accuracy", "0.75"}, {"loss", "n/a"}, {"accuracy", "0.8"}};
    dispatch_control(recorder, 4 * s, metric);
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    EXPECT_EQ(result.meta.at("model"), "c");
    EXPECT_EQ(result.meta.at("batch_size"), "32");
    ASSERT_EQ(result.metrics.at("accuracy").points.size(), 2u);
    EXPECT_DOUBLE_EQ(result.metrics.at("accuracy").points[0].second, 0.75);
    EXPECT_DOUBLE_EQ(result.metrics.at("accuracy").points[1].first, 4.0);
    EXPECT_DOUBLE_EQ(result.metrics.at("accuracy").last(), 0.8);
    EXPECT_EQ(result.metrics.count("loss"), 0u);
    EXPECT_EQ(recorder.ignored(), 1u);
}

TEST(ControlDispatch, HelloNamesARankOnlyWithARankAndAConnection) {
    PhaseRecorder recorder;
    dispatch_control(recorder, 0, line("hello pid=7"), 1);         // no rank: connection 1 stays rank-less
    dispatch_control(recorder, 0, line("hello rank=3 pid=8"), 0);  // no connection: nothing to name
    dispatch_control(recorder, 0,
                     line("hello rank=2 local_rank=0 world_size=4 node_rank=1 pid=9 launcher=slurm"), 2);
    dispatch_control(recorder, 1 * s, line("begin train"), 2);
    dispatch_control(recorder, 2 * s, line("end train"), 1);  // rank-less: cannot end rank 2's phase
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.ranks.size(), 1u);
    const RankResult& rank = result.ranks[0];
    EXPECT_EQ(rank.rank, 2);
    EXPECT_EQ(rank.local_rank, 0);
    EXPECT_EQ(rank.world_size, 4);
    EXPECT_EQ(rank.node_rank, 1);
    EXPECT_EQ(rank.pid, 9);
    EXPECT_EQ(rank.launcher, "slurm");
    ASSERT_EQ(rank.phases.size(), 1u);
    EXPECT_FALSE(rank.phases[0].closed);
    EXPECT_EQ(recorder.ignored(), 1u);
}

TEST(ControlDispatch, PhaseBoundariesAskForReadings) {
    int boundaries = 0;
    PhaseRecorder recorder([&boundaries] { ++boundaries; });
    dispatch_control(recorder, 1 * s, line("begin train"));
    dispatch_control(recorder, 2 * s, line("epoch"));
    dispatch_control(recorder, 3 * s, line("meta a=b"));
    dispatch_control(recorder, 3 * s, line("metric loss=0.5"));
    dispatch_control(recorder, 4 * s, line("end train"));
    dispatch_control(recorder, 5 * s, line("end nothing-open"));  // a boundary asked all the same, as before
    EXPECT_EQ(boundaries, 4);
}

}  // namespace
}  // namespace joulecast::control
