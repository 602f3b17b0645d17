// run_from_json is the exact inverse of to_json: a run with every field set survives the round trip, every
// value the writer puts in the document is read back (changing it changes the run), and schema /1
// documents still read.

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include "meter/run_json.hpp"

namespace joulecast::meter {

using sensors::Method;

namespace {

using Json = nlohmann::ordered_json;

/// A run with every field away from its default.
RunResult full_run() {
    RunResult r;
    r.id = "0123456789abcdef";
    r.name = "resnet18 b128";
    r.command = {"python3", "train.py", "--epochs", "2"};
    r.exit_code = 3;
    r.status = RunStatus::profiled;
    r.started_at = "2026-12-03T06:00:00Z";
    r.duration_s = 12.5;
    r.origin_monotonic_ns = 123456789012;
    r.host = {"node7", "Some CPU @ 2.0GHz", 16, 64ull << 30};
    r.gpus = {{0, "gpu0", "NVIDIA H100 80GB HBM3", "GPU-aaaa", 700},
              {1, "gpu1", "NVIDIA H100 80GB HBM3", "GPU-bbbb", 650}};
    r.job_id = "slurm-4711";
    r.job_source = "SLURM_JOB_ID";
    r.node = "node7";
    r.node_rank = 3;
    r.node_rank_source = "SLURM_NODEID";

    WindowEnergy& e = r.energy;
    e.start_ns = r.origin_monotonic_ns;
    e.end_ns = r.origin_monotonic_ns + 12'500'000'000;
    e.sources = {{"nvml", "gpu0.energy", "gpu", "gpu0", Method::counter, 4000.5, 13, true},
                 {"nvml", "gpu0.power", "gpu", "gpu0", Method::integrated, 4010.25, 125, false},
                 {"cpu-model", "cpu.power", "cpu", "cpu", Method::modelled, 300.75, 125, true},
                 {"hwmon", "node.energy", "psys", "node", Method::counter, 5000, 12, true}};
    e.domain_j = {{"gpu", 4000.5}, {"cpu", 300.75}, {"psys", 5000}};
    e.domain_method = {{"gpu", "counter"}, {"cpu", "modelled"}, {"psys", "counter"}};
    e.total_j = 9301.25;
    e.measured_j = 9000.5;
    e.modelled_j = 300.75;
    e.disagreements = {{"gpu0", 4000.5, 4010.25}};
    r.attributed = {true, "process-tree CPU time share", "", 150.25, 10.5, 300.75, 20.0};
    r.idle = IdleBaseline{2.0, 75.5, {{"gpu", 70.0}, {"cpu", 5.5}}};
    r.net_energy_j = 8357.5;
    r.mean_power_w = 744.1;
    r.peak_power_w = 812.3;

    PhaseResult train{"train",
                      0.5,
                      10.25,
                      8000,
                      {{"gpu", 7800}, {"cpu", 200}},
                      60000,
                      8000.0 / 60000,
                      0.97,
                      PhaseBoundary::interpolated,
                      {{"lr", "0.1"}},
                      true,
                      7800,
                      200};
    PhaseResult infer{"infer",
                      10.25,
                      12.0,
                      900,
                      {{"gpu", 850}, {"cpu", 50}},
                      std::nullopt,
                      std::nullopt,
                      0.11,
                      PhaseBoundary::counter,
                      {},
                      false,
                      850,
                      50};
    r.phases = {train, infer};
    EpochResult epoch1{1, 0.5, 5.25, 4200, 30000, 0.14, {{"gpu", 4100}, {"cpu", 100}}, 4100, 100};
    EpochResult epoch2{2,    5.25, 10.25, 3800, std::nullopt, std::nullopt, {{"gpu", 3700}, {"cpu", 100}},
                       3700, 100};
    r.epochs = {epoch1, epoch2};
    // Two ranks of a torchrun job; rank 1 never ended its phase.
    PhaseResult train0{"train",
                       0.5,
                       10.0,
                       7900,
                       {{"gpu", 7700}, {"cpu", 200}},
                       30000,
                       std::nullopt,
                       0.96,
                       PhaseBoundary::counter,
                       {{"lr", "0.1"}},
                       true,
                       7700,
                       200};
    PhaseResult train1{"train",
                       0.75,
                       12.5,
                       8100,
                       {{"gpu", 7900}, {"cpu", 200}},
                       std::nullopt,
                       std::nullopt,
                       0.98,
                       PhaseBoundary::integrated,
                       {},
                       false,
                       7900,
                       200};
    EpochResult epoch0r{1, 0.5, 5.0, 4100, 15000, std::nullopt, {{"gpu", 4000}, {"cpu", 100}}, 4000, 100};
    r.ranks = {
        RankResult{
            0, 0, 2, 0, 4242, "torchrun", 1u, "amdgpu1", "rocm-smi processes", 1234.5, {train0}, {epoch0r}},
        RankResult{1, 1, 2, std::nullopt, 4243, "slurm", std::nullopt, "", "", std::nullopt, {train1}, {}}};
    r.gpus[0].used = true;
    r.gpus[0].job_pids = {4242};
    r.gpus[0].other_pids = {99};
    r.gpus[1].mig = true;
    r.gpus[1].used = false;
    r.gpus[1].job_instances = {2};
    r.attributed.gpus = {AttributedGpu{"gpu0", 4000, 3000, "per-process SM utilisation", ""},
                         AttributedGpu{"gpu1", 2000, std::nullopt, "", "unmeasurable: why"}};
    r.attributed.gross_gpu_j = 6000;
    r.attributed.gpu_reason = "gpu1 unmeasurable: why";
    r.training_energy_j = 8000;
    r.inference_energy_j = 900;
    r.meta = {{"model", "resnet18"}, {"params", "11173962"}};
    r.metrics["accuracy"].points = {{5.0, 0.8}, {10.0, 0.9}};
    r.metrics["loss"].points = {{5.0, 0.5}};
    r.tags = {{"study", "s1"}, {"repeat", "2"}};
    r.carbon = CarbonResult{56.0, "country FRA (Our World in Data 2022)", 1.2, 0.17};

    RunForecast f;
    f.target = TargetKind::duration;
    f.target_amount = 3600;
    f.basis = ForecastBasis::windows;
    f.window_s = 30;
    f.total_energy_j = 2.5e6;
    f.low_energy_j = 2.4e6;
    f.high_energy_j = 2.6e6;
    f.confidence = 0.8;
    f.total_duration_s = 3590;
    f.method = "steady-trend";
    f.converged = true;
    f.co2e_g = 40;
    f.low_co2e_g = 38;
    f.high_co2e_g = 42;
    f.measured_energy_j = 9000;
    f.predicted_energy_j = 2.49e6;
    f.measured_duration_s = 12;
    f.observations = 4;
    f.warmup_excluded = 1;
    f.warmup_windows = 3;
    f.warmup_energy_j = 120.5;
    f.first_used = 1;
    f.observations_used = 3;
    f.remaining_observations = 116.5;
    f.level_j = 21000;
    f.trend_j = 1.5;
    f.raw_trend_j = 2.5;
    f.noise_j = 300;
    f.autocorrelation = 0.25;
    f.notes = {"first window excluded as warm-up"};
    r.forecast = f;
    r.control = {{"lines", 12}, {"accepted", 11}, {"malformed", 1}};

    r.sensors = {{"nvml", true, true, "", "gpu", {"field 186"}},
                 {"rapl", false, false, "no powercap", "", {}}};
    r.fallbacks = {"cpu: modelled from TDP"};
    r.problems = {{"nvml", "gpu0.power", 2, false, false}, {"nvml", "gpu0.clock", 0, true, false}};
    r.overhead = {0.012, 0.034, 12.6, 250, 0.1};
    r.warnings = {"a warning"};
    return r;
}

TEST(RunJson, EveryFieldSurvivesTheRoundTrip) {
    const RunResult run = full_run();
    const Json written = to_json(run);
    EXPECT_EQ(written["schema"], "joulecast.run/2");
    auto read = run_from_json(written);
    ASSERT_TRUE(read) << read.error();
    EXPECT_EQ(to_json(*read).dump(), written.dump());
    // And the typed fields themselves, for the ones a reader could silently default.
    EXPECT_EQ(read->status, RunStatus::profiled);
    EXPECT_EQ(read->phases[0].boundary, PhaseBoundary::interpolated);
    EXPECT_EQ(read->phases[1].closed, false);
    EXPECT_EQ(read->forecast->target, TargetKind::duration);
    EXPECT_EQ(read->forecast->basis, ForecastBasis::windows);
    EXPECT_EQ(read->energy.domain_j, run.energy.domain_j);
    EXPECT_EQ(read->job_id, "slurm-4711");
    EXPECT_EQ(read->job_source, "SLURM_JOB_ID");
    EXPECT_EQ(read->node, "node7");
    EXPECT_EQ(read->node_rank, 3);
    EXPECT_EQ(read->node_rank_source, "SLURM_NODEID");
    EXPECT_EQ(read->epochs[0].domain_j, run.epochs[0].domain_j);
    ASSERT_EQ(read->ranks.size(), 2u);
    EXPECT_EQ(read->ranks[0].pid, 4242);
    EXPECT_EQ(read->ranks[0].epochs.at(0).samples, 15000);
    EXPECT_EQ(read->ranks[1].rank, 1);
    EXPECT_EQ(read->ranks[1].local_rank, 1);
    EXPECT_FALSE(read->ranks[1].node_rank);
    EXPECT_EQ(read->ranks[1].launcher, "slurm");
    EXPECT_EQ(read->ranks[0].gpu_index, 1u);
    EXPECT_EQ(read->ranks[0].gpu_device, "amdgpu1");
    EXPECT_EQ(read->ranks[0].gpu_source, "rocm-smi processes");
    EXPECT_EQ(read->ranks[0].gpu_energy_j, 1234.5);
    EXPECT_FALSE(read->ranks[1].gpu_index);
    EXPECT_EQ(read->gpus[0].used, true);
    EXPECT_EQ(read->gpus[0].job_pids, std::vector<int>{4242});
    EXPECT_EQ(read->gpus[0].other_pids, std::vector<int>{99});
    EXPECT_TRUE(read->gpus[1].mig);
    EXPECT_EQ(read->gpus[1].used, false);
    EXPECT_EQ(read->gpus[1].job_instances, std::vector<unsigned>{2});
    EXPECT_EQ(read->gpus[1].device, "gpu1");
    ASSERT_EQ(read->attributed.gpus.size(), 2u);
    EXPECT_EQ(read->attributed.gpus[0].attributed_j, 3000);
    EXPECT_EQ(read->attributed.gpus[0].method, "per-process SM utilisation");
    EXPECT_FALSE(read->attributed.gpus[1].attributed_j);
    EXPECT_EQ(read->attributed.gpus[1].reason, "unmeasurable: why");
    EXPECT_FALSE(read->attributed.gpu_measurable);
    EXPECT_EQ(read->attributed.gross_gpu_j, 6000);
    EXPECT_EQ(read->attributed.gpu_reason, "gpu1 unmeasurable: why");
    EXPECT_EQ(read->ranks[1].phases.at(0).closed, false);
    EXPECT_EQ(read->ranks[1].phases.at(0).boundary, PhaseBoundary::integrated);
    EXPECT_EQ(read->energy.sources.size(), 4u);
    EXPECT_EQ(read->energy.sources[2].method, Method::modelled);
    EXPECT_EQ(read->energy.end_ns - read->energy.start_ns, 12'500'000'000);
}

/// Every leaf of a document with its path ("phases/0/energy_j/gpu").
void leaves(const Json& j, const std::string& path, std::vector<std::string>& out) {
    if (j.is_object()) {
        for (const auto& [key, value] : j.items()) leaves(value, path + "/" + key, out);
    } else if (j.is_array() && !j.empty()) {
        for (std::size_t i = 0; i < j.size(); ++i) leaves(j[i], path + "/" + std::to_string(i), out);
    } else {
        out.push_back(path);
    }
}

/// A different value of the same kind, still valid for the reader.
Json changed(const Json& value, const std::string& path) {
    if (value.is_boolean()) return !value.get<bool>();
    if (value.is_number_unsigned()) return value.get<std::uint64_t>() + 1;
    if (value.is_number_integer()) return value.get<std::int64_t>() + 1;
    if (value.is_number()) return value.get<double>() * 1.5 + 1;
    if (value.is_string()) {
        const std::string text = value.get<std::string>();
        // Enums must stay valid words.
        if (path.ends_with("/status")) return text == "completed" ? "failed" : "completed";
        if (path.ends_with("/boundary")) return text == "counter" ? "modelled" : "counter";
        if (path.ends_with("/method") && path.find("/sources/") != std::string::npos)
            return text == "counter" ? "integrated" : "counter";
        if (path.ends_with("/kind")) return text == "epochs" ? "samples" : "epochs";
        if (path.ends_with("/basis")) return text == "epochs" ? "windows" : "epochs";
        if (path == "/schema") return "joulecast.run/1";
        return text + "x";
    }
    return value;
}

TEST(RunJson, EveryWrittenValueIsReadBack) {
    // A value the writer puts in the document but the reader ignores is a field added to one direction
    // only: changing it would not change the run read back. Derived figures are the exception, listed here.
    const std::set<std::string> derived = {"/idle_power_w",      // idle.power_w
                                           "/sources/0/errors",  // from problems
                                           "/sources/1/errors",
                                           "/sources/2/errors",
                                           "/sources/3/errors",
                                           "/disagreements/0/relative",  // counter_j and integrated_j
                                           "/carbon/samples",            // the run's samples
                                           "/carbon/co2e_per_sample_g",
                                           "/metrics/accuracy/last",
                                           "/metrics/loss/last",
                                           "/schema"};  // /1 and /2 both read
    const Json written = to_json(full_run());
    std::vector<std::string> paths;
    leaves(written, "", paths);
    ASSERT_GT(paths.size(), 150u);
    std::size_t checked = 0;
    for (const std::string& path : paths) {
        const bool in_rank = path.starts_with("/ranks/");
        const bool per_phase_derived =
            ((path.starts_with("/phases/") || in_rank) && path.ends_with("/duration_s")) ||
            path.ends_with("/mean_power_w") || path.ends_with("/co2e_per_sample_g") ||
            ((path.starts_with("/epochs/") || (in_rank && path.find("/epochs/") != std::string::npos)) &&
             path.ends_with("/co2e_g")) ||
            // a GPU's energy comes from the sources, its scope from mig, shared from other_pids
            (path.starts_with("/host/gpus/") &&
             (path.ends_with("/energy_j") || path.ends_with("/energy_scope") || path.ends_with("/shared")));
        const Json::json_pointer pointer(path);
        // null and empty containers stand for absent values: nothing to change in place.
        if (derived.count(path) || per_phase_derived || written[pointer].is_null() ||
            written[pointer].empty())
            continue;
        Json mutated = written;
        mutated[pointer] = changed(written[pointer], path);
        auto read = run_from_json(mutated);
        ASSERT_TRUE(read) << path << ": " << read.error();
        EXPECT_NE(to_json(*read)[pointer], written[pointer]) << path << " is written but not read back";
        ++checked;
    }
    EXPECT_GT(checked, 140u);
}

TEST(RunJson, ARunOfNoJobHasANullJobIdAndReadsBackEmpty) {
    RunResult run = full_run();
    run.job_id.clear();
    run.node_rank.reset();
    const Json written = to_json(run);
    EXPECT_TRUE(written["job"]["id"].is_null());
    EXPECT_TRUE(written["job"]["node_rank"].is_null());
    auto read = run_from_json(written);
    ASSERT_TRUE(read) << read.error();
    EXPECT_EQ(read->job_id, "");
    EXPECT_FALSE(read->node_rank);
    EXPECT_EQ(read->node, "node7");
}

TEST(RunJson, ReadsSchemaOneDocuments) {
    const Json v1 = Json::parse(R"({
      "schema": "joulecast.run/1", "id": "r1", "status": "completed", "exit_code": 0, "duration_s": 10,
      "energy_j": {"total": 1000, "gpu": 800, "cpu": 200, "dram": 0, "measured": 800, "modelled": 200},
      "energy_method": {"gpu": "counter", "cpu": "modelled"},
      "phases": [{"name": "train", "start_s": 1, "end_s": 5, "energy_j": 400, "domain_j": {"gpu": 360, "cpu": 40},
                  "samples": 1000, "boundary": "counter", "closed": true, "fields": {}}],
      "epochs": [{"n": 1, "start_s": 1, "end_s": 3, "energy_j": 210, "samples": 500}],
      "forecast": {"target": {"kind": "epochs", "amount": 10}, "basis": "epochs", "window_s": null,
                   "total_energy_j": 2000, "method": "steady-mean", "level_j": 200, "notes": ["n"]}})");
    auto run = run_from_json(v1);
    ASSERT_TRUE(run) << run.error();
    EXPECT_EQ(run->energy.total_j, 1000);
    EXPECT_EQ(run->energy.domain_j, (std::map<std::string, double>{{"gpu", 800}, {"cpu", 200}}));
    ASSERT_EQ(run->phases.size(), 1u);
    EXPECT_EQ(run->phases[0].energy_j, 400);
    EXPECT_EQ(run->phases[0].domain_j, (std::map<std::string, double>{{"gpu", 360}, {"cpu", 40}}));
    EXPECT_EQ(run->epochs[0].energy_j, 210);
    EXPECT_EQ(run->epochs[0].samples, 500);
    EXPECT_EQ(run->forecast->level_j, 200);
    EXPECT_EQ(run->forecast->notes, std::vector<std::string>{"n"});
    // Written again, it is a /2 document with the phase's energy in the run's shape.
    const Json v2 = to_json(*run);
    EXPECT_EQ(v2["schema"], "joulecast.run/2");
    EXPECT_EQ(v2["phases"][0]["energy_j"]["total"], 400.0);
    EXPECT_EQ(v2["phases"][0]["energy_j"]["gpu"], 360.0);
    EXPECT_FALSE(v2["phases"][0].contains("domain_j"));
}

TEST(RunJson, AGpuWrittenWithoutItsDeviceIsNvmlsGpuOfItsIndex) {
    Json written = to_json(full_run());
    Json& host = written.contains("host") ? written["host"] : written;
    ASSERT_TRUE(host.contains("gpus")) << written.dump();
    host["gpus"][1].erase("device");
    host["gpus"][0]["device"] = "amdgpu0";
    auto read = run_from_json(written);
    ASSERT_TRUE(read) << read.error();
    EXPECT_EQ(read->gpus[0].device, "amdgpu0");
    EXPECT_EQ(read->gpus[1].device, "gpu1");
}

TEST(RunJson, RejectsWhatIsNotARunItReads) {
    EXPECT_FALSE(run_from_json(Json::array({1, 2})));
    EXPECT_FALSE(run_from_json(Json::object()));  // no schema
    auto future = run_from_json(Json{{"schema", "joulecast.run/9"}});
    ASSERT_FALSE(future);
    EXPECT_NE(future.error().find("joulecast.run/9"), std::string::npos);
    auto bad_type = run_from_json(Json{{"schema", "joulecast.run/2"}, {"id", "x"}, {"phases", 3}});
    ASSERT_FALSE(bad_type);
    EXPECT_NE(bad_type.error().find("phases"), std::string::npos);
    auto bad_status = run_from_json(Json{{"schema", "joulecast.run/2"}, {"status", "exploded"}});
    ASSERT_FALSE(bad_status);
    EXPECT_NE(bad_status.error().find("exploded"), std::string::npos);
    auto bad_energy = run_from_json(Json{{"schema", "joulecast.run/2"}, {"energy_j", {{"total", "lots"}}}});
    EXPECT_FALSE(bad_energy);
}

TEST(RunJson, PartialRunsWriteNoExitCode) {
    RunResult r = full_run();
    r.partial = true;
    const Json j = to_json(r);
    EXPECT_TRUE(j["exit_code"].is_null());
    EXPECT_EQ(j["partial"], true);
    auto read = run_from_json(j);
    ASSERT_TRUE(read);
    EXPECT_TRUE(read->partial);
    EXPECT_EQ(to_json(*read).dump(), j.dump());
}

}  // namespace
}  // namespace joulecast::meter
