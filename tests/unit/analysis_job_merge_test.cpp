// One job from two nodes' runs with known energies, phases, epochs and samples: the merged totals, spans and
// per-sample figures are those computed by hand.

#include <gtest/gtest.h>

#include <cmath>

#include "analysis/job_merge.hpp"

namespace joulecast::analysis {

using sensors::Method;

using meter::CarbonResult;
using meter::EpochResult;
using meter::PhaseResult;
using meter::RunResult;
using meter::RunStatus;

namespace {

RunResult node_run(const std::string& id, const std::string& node, long long rank,
                   const std::string& started_at, double gpu_j, double cpu_j, double intensity) {
    RunResult r;
    r.id = id;
    r.job_id = "J1";
    r.node = node;
    r.node_rank = rank;
    r.started_at = started_at;
    r.duration_s = 10;
    r.energy.domain_j = {{"gpu", gpu_j}, {"cpu", cpu_j}};
    r.energy.total_j = gpu_j + cpu_j;
    r.energy.measured_j = gpu_j;
    r.energy.modelled_j = cpu_j;
    r.energy.sources = {{"nvml", "gpu0.energy", "gpu", "gpu0", Method::counter, gpu_j, 100, true},
                        {"nvml", "gpu0.power", "gpu", "gpu0", Method::integrated, gpu_j * 1.01, 100, false},
                        {"cpu-model", "cpu.power", "cpu", "cpu", Method::modelled, cpu_j, 100, true}};
    CarbonResult c;
    c.intensity_g_per_kwh = intensity;
    c.co2e_g = r.energy.total_j / 3.6e6 * intensity;
    r.carbon = c;
    return r;
}

PhaseResult phase(const std::string& name, double start, double end, double joules,
                  std::optional<long long> samples, double co2e) {
    PhaseResult p;
    p.name = name;
    p.start_s = start;
    p.end_s = end;
    p.energy_j = joules;
    p.domain_j = {{"gpu", joules}};
    p.samples = samples;
    p.co2e_g = co2e;
    return p;
}

TEST(JobMerge, TwoNodesSumEnergyByDomainAndDeviceAndSpanPhasesOnTheWallClock) {
    // Node a starts at 12:00:00.000, node b half a second later.
    RunResult a = node_run("a1", "node-a", 0, "2026-12-03T12:00:00.000Z", 1000, 200, 100);
    RunResult b = node_run("b1", "node-b", 1, "2026-12-03T12:00:00.500Z", 3000, 400, 500);
    a.phases = {phase("train", 1.0, 6.0, 800, 600, 0.02), phase("infer", 6.0, 8.0, 150, 100, 0.004)};
    b.phases = {phase("train", 0.75, 7.0, 2500, 400, 0.3), phase("infer", 7.0, 9.0, 700, 50, 0.1)};
    EpochResult e1{1, 1.0, 3.5, 400, 300, std::nullopt, {{"gpu", 400}}, 400, 0};
    EpochResult e2{2, 3.5, 6.0, 400, 300, std::nullopt, {{"gpu", 400}}, 400, 0};
    a.epochs = {e1, e2};
    EpochResult f1{1, 0.75, 4.0, 1300, 200, std::nullopt, {{"gpu", 1300}}, 1300, 0};
    EpochResult f2{2, 4.0, 7.0, 1200, 200, std::nullopt, {{"gpu", 1200}}, 1200, 0};
    b.epochs = {f1, f2};

    const JobResult job = merge_job("J1", {b, a});
    EXPECT_EQ(job.job_id, "J1");
    EXPECT_DOUBLE_EQ(job.energy_j, 1200 + 3400);
    EXPECT_DOUBLE_EQ(job.domain_j.at("gpu"), 4000);
    EXPECT_DOUBLE_EQ(job.domain_j.at("cpu"), 600);
    EXPECT_DOUBLE_EQ(job.measured_j, 4000);
    EXPECT_DOUBLE_EQ(job.modelled_j, 600);
    // Devices per node; the secondary (integrated) source is not counted twice.
    ASSERT_EQ(job.device_j.size(), 4u);
    EXPECT_DOUBLE_EQ(job.device_j.at("node-a/gpu0"), 1000);
    EXPECT_DOUBLE_EQ(job.device_j.at("node-b/gpu0"), 3000);
    EXPECT_DOUBLE_EQ(job.device_j.at("node-b/cpu"), 400);
    // Samples: the epochs' sums, over both nodes.
    ASSERT_TRUE(job.samples);
    EXPECT_EQ(*job.samples, 600 + 400);
    EXPECT_DOUBLE_EQ(*job.energy_per_sample_j, 4600.0 / 1000);
    // Carbon at each node's own intensity, summed.
    EXPECT_NEAR(*job.co2e_g, 1200 / 3.6e6 * 100 + 3400 / 3.6e6 * 500, 1e-12);
    EXPECT_EQ(job.started_at, "2026-12-03T12:00:00.000Z");
    EXPECT_DOUBLE_EQ(job.duration_s, 10.5);

    ASSERT_EQ(job.phases.size(), 2u);
    const JobSpan& train = job.phases[0];
    EXPECT_EQ(train.name, "train");
    EXPECT_DOUBLE_EQ(train.start_s, 1.0);  // a began at 1.0; b at 0.5 + 0.75 = 1.25
    EXPECT_DOUBLE_EQ(train.end_s, 7.5);    // b ended at 0.5 + 7.0
    EXPECT_DOUBLE_EQ(train.energy_j, 3300);
    EXPECT_DOUBLE_EQ(train.domain_j.at("gpu"), 3300);
    EXPECT_EQ(train.samples, 1000);
    EXPECT_DOUBLE_EQ(*train.energy_per_sample_j, 3.3);
    EXPECT_NEAR(*train.co2e_g, 0.32, 1e-12);
    EXPECT_EQ(train.nodes, 2u);
    const JobSpan& infer = job.phases[1];
    EXPECT_EQ(infer.name, "infer");
    EXPECT_DOUBLE_EQ(infer.start_s, 6.0);
    EXPECT_DOUBLE_EQ(infer.end_s, 9.5);
    EXPECT_EQ(infer.samples, 150);
    EXPECT_DOUBLE_EQ(*infer.energy_per_sample_j, 850.0 / 150);

    ASSERT_EQ(job.epochs.size(), 2u);
    EXPECT_EQ(job.epochs[0].n, 1);
    EXPECT_DOUBLE_EQ(job.epochs[0].start_s, 1.0);
    EXPECT_DOUBLE_EQ(job.epochs[0].end_s, 4.5);
    EXPECT_DOUBLE_EQ(job.epochs[0].energy_j, 1700);
    EXPECT_EQ(job.epochs[0].samples, 500);
    EXPECT_EQ(job.epochs[1].n, 2);
    EXPECT_DOUBLE_EQ(job.epochs[1].end_s, 7.5);

    // Nodes listed by node rank whatever the order given.
    ASSERT_EQ(job.nodes.size(), 2u);
    EXPECT_EQ(job.nodes[0].node, "node-a");
    EXPECT_EQ(job.nodes[1].node, "node-b");
    EXPECT_TRUE(job.warnings.empty());

    const auto j = to_json(job);
    EXPECT_EQ(j["schema"], "joulecast.job/1");
    EXPECT_DOUBLE_EQ(j["energy_j"]["total"].get<double>(), 4600);
    EXPECT_DOUBLE_EQ(j["energy_j"]["devices"]["node-b/gpu0"].get<double>(), 3000);
    EXPECT_EQ(j["samples"], 1000);
    EXPECT_EQ(j["phases"][0]["name"], "train");
    EXPECT_EQ(j["epochs"][1]["n"], 2);
}

TEST(JobMerge, AMissingSampleCountOrCarbonFigureGivesNoneNotAWrongSum) {
    RunResult a = node_run("a1", "node-a", 0, "2026-12-03T12:00:00.000Z", 1000, 0, 100);
    RunResult b = node_run("b1", "node-b", 1, "2026-12-03T12:00:00.000Z", 1000, 0, 100);
    a.phases = {phase("train", 0, 5, 500, 100, 0.01)};
    b.phases = {phase("train", 0, 5, 500, std::nullopt, 0.01)};
    b.carbon.reset();
    const JobResult job = merge_job("J1", {a, b});
    EXPECT_FALSE(job.samples);
    EXPECT_FALSE(job.energy_per_sample_j);
    EXPECT_FALSE(job.co2e_g);
    ASSERT_EQ(job.phases.size(), 1u);
    EXPECT_FALSE(job.phases[0].samples);
    EXPECT_FALSE(job.phases[0].co2e_g);
    EXPECT_DOUBLE_EQ(job.phases[0].energy_j, 1000);
    EXPECT_FALSE(job.warnings.empty());
}

TEST(JobMerge, APhaseOnOneNodeOnlyIsKeptAndSaid) {
    RunResult a = node_run("a1", "node-a", 0, "2026-12-03T12:00:00.000Z", 1000, 0, 100);
    RunResult b = node_run("b1", "node-b", 1, "not a time", 1000, 0, 100);
    a.phases = {phase("eval", 2, 3, 100, 10, 0)};
    const JobResult job = merge_job("J1", {a, b});
    ASSERT_EQ(job.phases.size(), 1u);
    EXPECT_EQ(job.phases[0].nodes, 1u);
    EXPECT_EQ(job.warnings.size(), 2u);  // the start time of b, and the phase on 1 of 2 nodes
    EXPECT_THROW(merge_job("J1", {}), std::invalid_argument);
}

TEST(JobMerge, JobAsRunIsTheMergedJobWithTheFirstNodesMetaAndTheTagsAllNodesShare) {
    RunResult a = node_run("a1", "node-a", 0, "2026-12-03T12:00:00.000Z", 1000, 200, 100);
    RunResult b = node_run("b1", "node-b", 1, "2026-12-03T12:00:00.500Z", 3000, 400, 500);
    PhaseResult ta = phase("train", 1.0, 6.0, 800, 600, 0.02);
    ta.measured_j = 700;
    ta.modelled_j = 100;
    PhaseResult tb = phase("train", 0.75, 7.0, 2500, 400, 0.3);
    tb.measured_j = 2500;
    a.phases = {ta};
    b.phases = {tb};
    a.training_energy_j = 800;
    b.training_energy_j = 2500;
    a.meta = {{"model", "resnet"}, {"batch_size", "64"}};
    b.meta = {{"model", "other"}, {"dataset", "cifar"}};
    a.tags = {{"study", "s"}, {"node", "a"}};
    b.tags = {{"study", "s"}, {"node", "b"}};
    a.name = b.name = "train-resnet";
    b.status = RunStatus::failed;
    a.gpus.resize(1);
    b.gpus.resize(2);

    const std::vector<RunResult> runs = {b, a};
    const RunResult r = job_as_run(merge_job("J1", runs), runs);
    EXPECT_EQ(r.id, "J1");
    EXPECT_EQ(r.job_id, "J1");
    EXPECT_EQ(r.name, "train-resnet");
    EXPECT_EQ(r.started_at, "2026-12-03T12:00:00.000Z");
    EXPECT_DOUBLE_EQ(r.duration_s, 10.5);  // a from 0 to 10 s, b from 0.5 to 10.5 s
    EXPECT_DOUBLE_EQ(r.energy.total_j, 4600);
    EXPECT_DOUBLE_EQ(r.energy.measured_j, 4000);
    EXPECT_DOUBLE_EQ(r.energy.modelled_j, 600);
    EXPECT_DOUBLE_EQ(r.mean_power_w, 4600 / 10.5);
    EXPECT_TRUE(std::isnan(r.peak_power_w));
    EXPECT_DOUBLE_EQ(*r.training_energy_j, 3300);
    ASSERT_EQ(r.phases.size(), 1u);
    EXPECT_EQ(*r.phases[0].samples, 1000);
    EXPECT_DOUBLE_EQ(r.phases[0].energy_j, 3300);
    EXPECT_DOUBLE_EQ(r.phases[0].measured_j, 3200);
    EXPECT_DOUBLE_EQ(r.phases[0].modelled_j, 100);
    EXPECT_DOUBLE_EQ(*r.phases[0].energy_per_sample_j, 3.3);
    // Meta from node rank 0 first, then what rank 1 adds; tags only those both nodes have alike.
    EXPECT_EQ(r.meta.at("model"), "resnet");
    EXPECT_EQ(r.meta.at("batch_size"), "64");
    EXPECT_EQ(r.meta.at("dataset"), "cifar");
    EXPECT_EQ(r.tags, (std::map<std::string, std::string>{{"study", "s"}}));
    EXPECT_EQ(r.gpus.size(), 3u);
    EXPECT_EQ(r.status, RunStatus::failed);  // not completed when a node's run is not
    ASSERT_TRUE(r.carbon);
    const double co2e = 1200 / 3.6e6 * 100 + 3400 / 3.6e6 * 500;
    EXPECT_NEAR(r.carbon->co2e_g, co2e, 1e-12);
    EXPECT_NEAR(r.carbon->intensity_g_per_kwh, co2e / (4600 / 3.6e6), 1e-9);
}

}  // namespace
}  // namespace joulecast::analysis
