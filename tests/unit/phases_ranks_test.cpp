// PhaseRecorder with ranks: two simulated ranks of one job over a known power trace (100 W for 10 s), fed
// control lines as the server hands them over (through dispatch_control).

#include <gtest/gtest.h>

#include "control/dispatch.hpp"
#include "meter/phases.hpp"
#include "support/control_line.hpp"
#include "support/known_trace.hpp"

namespace joulecast::control {

using meter::PhaseRecorder;
using meter::RankResult;
using meter::RunResult;

namespace {

using test::hundred_watts;
using test::s;
constexpr auto line = test::control_line;

// Connection 1 is rank 0, connection 2 is rank 1.
void hello_two_ranks(PhaseRecorder& recorder) {
    dispatch_control(recorder, 0,
                     line("hello rank=0 local_rank=0 world_size=2 node_rank=0 launcher=torchrun pid=100"), 1);
    dispatch_control(recorder, 0,
                     line("hello rank=1 local_rank=1 world_size=2 node_rank=0 launcher=torchrun pid=101"), 2);
}

TEST(PhaseRanks, OnePhaseAndOneEpochPerNumberWithSamplesSummed) {
    PhaseRecorder recorder;
    hello_two_ranks(recorder);
    dispatch_control(recorder, 1 * s, line("begin train"), 1);
    dispatch_control(recorder, s + s / 2, line("begin train"), 2);
    dispatch_control(recorder, 3 * s, line("epoch n=0 samples=100"), 1);
    dispatch_control(recorder, 3 * s + s / 2, line("epoch n=0 samples=50"), 2);
    dispatch_control(recorder, 5 * s, line("epoch n=1 samples=100"), 1);
    dispatch_control(recorder, 5 * s, line("end train samples=200"), 1);
    dispatch_control(recorder, 6 * s, line("epoch n=1 samples=50"), 2);
    dispatch_control(recorder, 6 * s, line("end train samples=100"), 2);
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);

    // The job: train from rank 0's begin (1 s) to rank 1's end (6 s) = 500 J of the node, 300 samples.
    ASSERT_EQ(result.phases.size(), 1u);
    EXPECT_DOUBLE_EQ(result.phases[0].start_s, 1.0);
    EXPECT_DOUBLE_EQ(result.phases[0].end_s, 6.0);
    EXPECT_NEAR(result.phases[0].energy_j, 500.0, 1e-6);
    EXPECT_EQ(result.phases[0].samples, 300);
    EXPECT_NEAR(*result.phases[0].energy_per_sample_j, 500.0 / 300, 1e-9);
    EXPECT_NEAR(*result.training_energy_j, 500.0, 1e-6);
    // Epoch 0: 1..3.5 s (250 J), epoch 1: 3..6 s (300 J); 150 samples each.
    ASSERT_EQ(result.epochs.size(), 2u);
    EXPECT_EQ(result.epochs[0].n, 0);
    EXPECT_NEAR(result.epochs[0].energy_j, 250.0, 1e-6);
    EXPECT_EQ(result.epochs[0].samples, 150);
    EXPECT_NEAR(*result.epochs[0].energy_per_sample_j, 250.0 / 150, 1e-9);
    EXPECT_EQ(result.epochs[1].n, 1);
    EXPECT_DOUBLE_EQ(result.epochs[1].start_s, 3.0);
    EXPECT_DOUBLE_EQ(result.epochs[1].end_s, 6.0);
    EXPECT_NEAR(*result.epochs[1].energy_per_sample_j, 2.0, 1e-9);

    // Each rank's view: its own window with the node's energy, its own samples, no per-sample figure.
    ASSERT_EQ(result.ranks.size(), 2u);
    const RankResult& one = result.ranks[1];
    EXPECT_EQ(one.rank, 1);
    EXPECT_EQ(one.local_rank, 1);
    EXPECT_EQ(one.world_size, 2);
    EXPECT_EQ(one.pid, 101);
    EXPECT_EQ(one.launcher, "torchrun");
    ASSERT_EQ(one.phases.size(), 1u);
    EXPECT_NEAR(one.phases[0].energy_j, 450.0, 1e-6);  // 1.5..6 s
    EXPECT_EQ(one.phases[0].samples, 100);
    EXPECT_FALSE(one.phases[0].energy_per_sample_j);
    ASSERT_EQ(one.epochs.size(), 2u);
    EXPECT_EQ(one.epochs[1].samples, 50);
    EXPECT_EQ(result.ranks[0].pid, 100);
    EXPECT_TRUE(result.warnings.empty());
}

TEST(PhaseRanks, ARankThatNeverEndsItsPhaseIsReportedAndTheOthersAreKept) {
    PhaseRecorder recorder;
    hello_two_ranks(recorder);
    dispatch_control(recorder, 1 * s, line("begin train"), 1);
    dispatch_control(recorder, 2 * s, line("begin train"), 2);
    dispatch_control(recorder, 5 * s, line("end train samples=200"), 1);  // rank 1 dies without its end
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.phases.size(), 1u);
    EXPECT_TRUE(result.phases[0].closed);
    EXPECT_DOUBLE_EQ(result.phases[0].end_s, 5.0);
    EXPECT_NEAR(*result.phases[0].energy_per_sample_j, 400.0 / 200, 1e-9);
    ASSERT_EQ(result.ranks.size(), 2u);
    EXPECT_TRUE(result.ranks[0].phases.at(0).closed);
    EXPECT_FALSE(result.ranks[1].phases.at(0).closed);
    EXPECT_DOUBLE_EQ(result.ranks[1].phases[0].end_s, 10.0);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_NE(result.warnings[0].find("rank 1 never ended its phase 'train'"), std::string::npos);
}

TEST(PhaseRanks, NestingIsKeptAndAnEndClosesOnlyItsOwnRanksPhase) {
    PhaseRecorder recorder;
    hello_two_ranks(recorder);
    dispatch_control(recorder, 1 * s, line("begin train"), 1);
    dispatch_control(recorder, 1 * s, line("begin train"), 2);
    dispatch_control(recorder, 2 * s, line("begin eval"), 1);
    dispatch_control(recorder, 2 * s, line("begin eval"), 2);
    dispatch_control(recorder, 3 * s, line("end eval samples=10"), 2);
    dispatch_control(recorder, 4 * s, line("end eval samples=10"), 1);
    dispatch_control(recorder, 8 * s, line("end train"), 2);
    dispatch_control(recorder, 9 * s, line("end train"), 1);
    RunResult result;
    recorder.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.phases.size(), 2u);
    EXPECT_EQ(result.phases[0].name, "train");
    EXPECT_DOUBLE_EQ(result.phases[0].end_s, 9.0);
    EXPECT_EQ(result.phases[1].name, "eval");
    EXPECT_DOUBLE_EQ(result.phases[1].end_s, 4.0);
    EXPECT_EQ(result.phases[1].samples, 20);
    EXPECT_DOUBLE_EQ(result.ranks[1].phases.at(1).end_s, 3.0);
}

TEST(PhaseRanks, ConnectionsOfOneRankAreOneRankAndOldClientsStayRankless) {
    PhaseRecorder ranked;
    dispatch_control(ranked, 0, line("hello rank=0 pid=100"), 1);
    dispatch_control(ranked, 0, line("hello rank=0 pid=555"), 3);  // a forked data-loader worker of rank 0
    dispatch_control(ranked, 1 * s, line("begin train"), 1);
    dispatch_control(ranked, 2 * s, line("end train samples=5"), 3);
    RunResult result;
    ranked.finish(result, hundred_watts(), 0, 10 * s);
    ASSERT_EQ(result.ranks.size(), 1u);
    EXPECT_EQ(result.ranks[0].pid, 100);
    ASSERT_EQ(result.phases.size(), 1u);
    EXPECT_TRUE(result.phases[0].closed);

    // No hello: as before ranks existed, each begin is its own phase and there is no ranks[].
    PhaseRecorder old;
    dispatch_control(old, 1 * s, line("begin train"), 1);
    dispatch_control(old, 2 * s, line("begin train"), 2);
    dispatch_control(old, 3 * s, line("end train"), 2);
    dispatch_control(old, 4 * s, line("end train"), 1);
    RunResult plain;
    old.finish(plain, hundred_watts(), 0, 10 * s);
    EXPECT_EQ(plain.phases.size(), 2u);
    EXPECT_TRUE(plain.ranks.empty());
}

}  // namespace
}  // namespace joulecast::control
