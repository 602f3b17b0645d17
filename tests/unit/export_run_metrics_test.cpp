#include "export/run_metrics.hpp"

#include <gtest/gtest.h>

#include "support/attributed_example.hpp"

namespace joulecast::exporter {

using meter::AttributedEnergy;
using meter::EpochResult;
using meter::PhaseResult;
using meter::RankResult;
using meter::RunResult;
using meter::RunStatus;

namespace {

PhaseResult phase(const std::string& name, double start_s, double end_s, double gpu_j,
                  std::optional<long long> samples = std::nullopt) {
    PhaseResult p;
    p.name = name;
    p.start_s = start_s;
    p.end_s = end_s;
    p.energy_j = gpu_j;
    p.domain_j = {{"gpu", gpu_j}};
    p.samples = samples;
    return p;
}

TEST(ExportRunMetrics, RendersPhasesRanksAndEpochsOfAKnownRun) {
    RunResult r;
    r.id = "00ff";
    r.name = "bert \"base\"";
    r.host.hostname = "node1";
    r.status = RunStatus::completed;
    r.duration_s = 10;
    r.energy.domain_j = {{"gpu", 2000}, {"cpu", 500}};
    // Two train phases add up; the train inside the first is not counted again.
    r.phases = {phase("train", 0, 4, 800, 100), phase("train", 1, 2, 200, 7), phase("train", 5, 9, 900, 50),
                phase("eval", 4, 5, 150)};
    RankResult rank;
    rank.rank = 1;
    rank.phases = {phase("train", 0, 9, 1900)};
    r.ranks = {rank};
    EpochResult e1, e2;
    e1.n = 1;
    e1.energy_j = 1000;
    e2.n = 2;
    e2.energy_j = 950.5;
    r.epochs = {e1, e2};
    const std::string text = render_run_metrics(r);
    const std::string labels = "run_id=\"00ff\",name=\"bert \\\"base\\\"\"";
    for (const std::string& line : {
             "joulecast_run_info{" + labels + ",host=\"node1\",status=\"completed\"} 1\n",
             "joulecast_run_energy_joules_total{" + labels + ",domain=\"cpu\"} 500\n",
             "joulecast_run_energy_joules_total{" + labels + ",domain=\"gpu\"} 2000\n",
             "joulecast_run_energy_joules_total{" + labels + ",phase=\"eval\",domain=\"gpu\"} 150\n",
             "joulecast_run_energy_joules_total{" + labels + ",phase=\"train\",domain=\"gpu\"} 1700\n",
             "joulecast_run_energy_joules_total{" + labels +
                 ",rank=\"1\",phase=\"train\",domain=\"gpu\"} 1900\n",
             "joulecast_run_duration_seconds{" + labels + "} 10\n",
             "joulecast_run_epochs_total{" + labels + "} 2\n",
             "joulecast_run_epoch{" + labels + "} 2\n",
             "joulecast_run_last_epoch_energy_joules{" + labels + "} 950.5\n",
             "joulecast_run_samples_total{" + labels + ",phase=\"train\"} 150\n",
             std::string("# TYPE joulecast_run_energy_joules_total counter\n"),
         })
        EXPECT_NE(text.find(line), std::string::npos) << line << "\nnot in\n" << text;
    EXPECT_EQ(text.find("phase=\"eval\"} "), std::string::npos) << "eval has no samples";
}

TEST(ExportRunMetrics, NamelessRunHasNoNameLabel) {
    RunResult r;
    r.id = "ab";
    r.status = RunStatus::running;
    const std::string text = render_run_metrics(r);
    EXPECT_NE(text.find("joulecast_run_epochs_total{run_id=\"ab\"} 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("status=\"running\""), std::string::npos) << text;
    EXPECT_EQ(text.find("joulecast_run_last_epoch_energy_joules{"), std::string::npos) << text;
}

TEST(ExportRunMetrics, AttributedEnergyIsServedWhereTheShareWasMeasuredAndSaysHowOrWhyNot) {
    RunResult r;
    r.id = "ab";
    r.status = RunStatus::completed;
    r.energy.domain_j = {{"gpu", 500}, {"cpu", 100}, {"dram", 20}};
    r.energy.domain_method = {{"gpu", "counter"}, {"cpu", "modelled"}, {"dram", "modelled"}};
    r.attributed = test::attributed_example();
    AttributedEnergy& a = r.attributed;
    const std::string text = render_run_metrics(r);
    for (const std::string& line : {
             std::string("# TYPE joulecast_run_attributed_energy_joules_total counter\n"),
             std::string("joulecast_run_attributed_energy_joules_total{run_id=\"ab\",domain=\"cpu\",gross_"
                         "method=\"modelled\"} 40\n"),
             std::string("joulecast_run_attributed_energy_joules_total{run_id=\"ab\",domain=\"dram\",gross_"
                         "method=\"modelled\"} 8\n"),
             std::string("joulecast_run_attributed_energy_joules_total{run_id=\"ab\",domain=\"gpu\","
                         "device=\"gpu0\",gross_method=\"counter\"} 225\n"),
             std::string("joulecast_run_attributed_gross_energy_joules_total{run_id=\"ab\",domain=\"gpu\","
                         "device=\"gpu0\",gross_method=\"counter\"} 300\n"),
             std::string("joulecast_run_attributed_gross_energy_joules_total{run_id=\"ab\",domain=\"cpu\","
                         "gross_method=\"modelled\"} 100\n"),
             std::string("joulecast_run_attribution_info{run_id=\"ab\",domain=\"cpu\",measured=\"true\","
                         "share_method=\"CPU time share\"} 1\n"),
             std::string("joulecast_run_attribution_info{run_id=\"ab\",domain=\"gpu\",device=\"gpu1\","
                         "measured=\"false\",reason=\"unmeasurable: MIG\"} 1\n"),
         })
        EXPECT_NE(text.find(line), std::string::npos) << line << "\nnot in\n" << text;
    EXPECT_EQ(text.find("device=\"gpu1\",gross_method"), std::string::npos)
        << "gpu1's share was not measured:\n"
        << text;

    // No share measured: no energy series, the reason instead; nothing at all for a run with no energy.
    a = AttributedEnergy{};
    a.reason = "unmeasurable: the command did not start";
    const std::string unmeasured = render_run_metrics(r);
    EXPECT_EQ(unmeasured.find("joulecast_run_attributed_energy_joules_total{"), std::string::npos)
        << unmeasured;
    EXPECT_NE(
        unmeasured.find("joulecast_run_attribution_info{run_id=\"ab\",domain=\"cpu\",measured=\"false\","
                        "reason=\"unmeasurable: the command did not start\"} 1\n"),
        std::string::npos)
        << unmeasured;
    a = AttributedEnergy{};
    EXPECT_EQ(render_run_metrics(r).find("attribut"), std::string::npos);
}

TEST(ExportRunMetrics, PushgatewayPathEncodesValuesThatAreNotPlain) {
    EXPECT_EQ(base64url(""), "");
    EXPECT_EQ(base64url("f"), "Zg==");
    EXPECT_EQ(base64url("fo"), "Zm8=");
    EXPECT_EQ(base64url("foo"), "Zm9v");
    EXPECT_EQ(base64url("\xfb\xff"), "-_8=");
    EXPECT_EQ(pushgateway_path("joulecast", "node-1.lab", "00ff"),
              "/metrics/job/joulecast/instance/node-1.lab/run_id/00ff");
    EXPECT_EQ(pushgateway_path("joulecast", "a/b", ""),
              "/metrics/job/joulecast/instance@base64/YS9i/run_id@base64/=");
}

TEST(ExportRunMetrics, MergeKeepsEachFamilyOnceAndDropsWhatIsNotARunLine) {
    RunResult a, b;
    a.id = "aa";
    a.energy.domain_j = {{"gpu", 10}};
    b.id = "bb";
    b.energy.domain_j = {{"gpu", 20}};
    std::size_t dropped = 99;
    const std::string merged = merge_run_texts(
        {render_run_metrics(a), render_run_metrics(b),
         "node_cpu_seconds_total 5\njoulecast_run_info{run_id=\"x\" 1\n# TYPE joulecast_run_x\n"
         "joulecast_run_info{run_id=\"cut\"} 1"},
        &dropped);
    EXPECT_EQ(dropped, 4u);
    const std::string energy =
        "# TYPE joulecast_run_energy_joules_total counter\n"
        "joulecast_run_energy_joules_total{run_id=\"aa\",domain=\"gpu\"} 10\n"
        "joulecast_run_energy_joules_total{run_id=\"bb\",domain=\"gpu\"} 20\n";
    EXPECT_NE(merged.find(energy), std::string::npos) << merged;
    EXPECT_EQ(merged.find("# TYPE joulecast_run_info"), merged.rfind("# TYPE joulecast_run_info")) << merged;
    EXPECT_EQ(merged.find("node_cpu"), std::string::npos) << merged;
    EXPECT_EQ(merged.find("cut"), std::string::npos) << merged;
    // Families without samples (no epoch ended in either run) are left out.
    EXPECT_EQ(merged.find("joulecast_run_last_epoch_energy_joules"), std::string::npos) << merged;
}

}  // namespace
}  // namespace joulecast::exporter
