// derive_row: hand-made result documents (complete, nested phases, missing and bad fields) and a real one
// produced by the joulecast binary under a fake GPU with a shell workload that marks phases.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "analysis/analysis.hpp"
#include "core/clock.hpp"
#include "meter/run_json.hpp"
#include "store/run_store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::analysis {

using sensors::Channel;
using sensors::Quantity;

using meter::run_from_json;
using meter::RunResult;
using meter::TraceChannel;

using store::RunStore;
using store::StoredTrace;

namespace {

using Json = nlohmann::ordered_json;

/// The run a document describes, as the store reads it back (the schema added where a test leaves it out).
RunResult run_of(Json document) {
    if (!document.contains("schema")) document["schema"] = "joulecast.run/2";
    auto run = run_from_json(document);
    if (!run) throw std::runtime_error(run.error());
    return std::move(run).value();
}

const char* const complete_result = R"({
  "schema": "joulecast.run/1", "id": "abcdef0123456789", "name": "r1", "status": "completed",
  "started_at": "2026-01-01T00:00:00Z", "duration_s": 10,
  "host": {"hostname": "h", "cpu_model": "Some CPU", "cores": 8, "gpus": [
    {"index": 0, "name": "NVIDIA H100", "uuid": "a", "power_limit_w": 700},
    {"index": 1, "name": "NVIDIA H100", "uuid": "b", "power_limit_w": 700}]},
  "energy_j": {"total": 1000, "gpu": 800, "cpu": 200, "dram": 0, "measured": 800, "modelled": 200},
  "energy_method": {"gpu": "counter", "cpu": "modelled"},
  "power_w": {"mean": 100, "peak": 150},
  "phases": [
    {"name": "train", "start_s": 1, "end_s": 5, "energy_j": 400, "domain_j": {"gpu": 360, "cpu": 40}, "samples": 1000},
    {"name": "train", "start_s": 2, "end_s": 3, "energy_j": 90, "domain_j": {"gpu": 90}, "samples": 100},
    {"name": "train", "start_s": 5, "end_s": 7, "energy_j": 200, "domain_j": {"gpu": 180, "cpu": 20}, "samples": 500},
    {"name": "eval", "start_s": 7, "end_s": 8, "energy_j": 30, "domain_j": {"gpu": 30}, "samples": 10},
    {"name": "infer", "start_s": 8, "end_s": 9, "energy_j": 50, "domain_j": {"gpu": 50}, "samples": 2000}],
  "epochs": [{"n": 1, "samples": 750}, {"n": 2, "samples": 750}],
  "training_energy_j": 600, "inference_energy_j": 50,
  "meta": {"model": "resnet18", "params": "11000000", "macs": "550000000", "batch_size": "128",
           "dataset": "fashion-mnist", "learning_rate": "0.01"},
  "metrics": {"accuracy": {"last": 0.91, "series": [[1, 0.5], [2, 0.91]]}, "loss": {"last": 0.3, "series": [[2, 0.3]]}},
  "tags": {"study": "s", "repeat": "1", "power_limit_w": "300", "threads": "4"}
})";

TEST(AnalysisDerive, CompleteResultGivesEveryDerivedMetric) {
    const RunRow r = derive_row(run_of(Json::parse(complete_result)));
    EXPECT_EQ(r.id, "abcdef0123456789");
    EXPECT_EQ(r.model, "resnet18");
    EXPECT_EQ(r.model_source, "meta");
    EXPECT_EQ(r.device, "2x NVIDIA H100");
    EXPECT_EQ(r.dataset, "fashion-mnist");
    EXPECT_EQ(r.batch_size, 128.0);
    EXPECT_EQ(r.learning_rate, 0.01);
    EXPECT_EQ(r.threads, 4.0);
    EXPECT_EQ(r.power_limit_w, 300.0);  // the tag wins over the host's enforced limit
    EXPECT_EQ(r.epochs, 2.0);           // counted from epochs[]
    EXPECT_EQ(r.params, 11e6);
    EXPECT_EQ(r.macs, 550e6);
    EXPECT_DOUBLE_EQ(*r.macs_per_param, 50.0);
    // The train phase at 2..3 s lies inside 1..5 s and is not counted twice.
    EXPECT_EQ(r.training_samples, 1500.0);
    EXPECT_DOUBLE_EQ(*r.training_time_s, 6.0);
    EXPECT_EQ(r.training_energy_j, 600.0);
    EXPECT_DOUBLE_EQ(*r.training_energy_per_sample_j, 0.4);
    EXPECT_EQ(r.inference_samples, 2000.0);
    EXPECT_DOUBLE_EQ(*r.inference_energy_per_sample_j, 0.025);
    EXPECT_EQ(r.basis, "training");
    EXPECT_DOUBLE_EQ(*r.energy_per_sample_j, 0.4);
    EXPECT_DOUBLE_EQ(*r.samples_per_j, 2.5);
    EXPECT_DOUBLE_EQ(*r.work_params_per_s, 11e6 * 1500 / 6.0);
    EXPECT_EQ(r.mean_power_w, 100.0);
    EXPECT_EQ(r.peak_power_w, 150.0);
    EXPECT_EQ(r.duration_s, 10.0);
    EXPECT_DOUBLE_EQ(*r.accuracy, 0.91);
    EXPECT_DOUBLE_EQ(*r.loss, 0.3);
    EXPECT_EQ(r.total_energy_j, 1000.0);
    // Method: the run is 80% measured; its train phases 540 of 600 J (gpu counter), its infer phase all.
    EXPECT_EQ(r.method.label, "mixed");
    EXPECT_DOUBLE_EQ(*r.method.measured_share, 0.8);
    EXPECT_EQ(r.training_method.label, "mixed");
    EXPECT_DOUBLE_EQ(*r.training_method.measured_share, 0.9);
    EXPECT_EQ(r.inference_method.label, "measured");
    EXPECT_EQ(r.tags.at("study"), "s");
    EXPECT_FALSE(r.gpu_utilisation_pct);  // no trace given
}

TEST(AnalysisDerive, MissingAndBadFieldsBecomeNullWithNotes) {
    const RunRow r = derive_row(run_of(Json::parse(R"({
      "id": "0123", "name": "lonely", "energy_j": {"total": 100},
      "meta": {"params": "abc", "batch_size": "true"},
      "metrics": {"accuracy": {"series": []}},
      "epochs": [{"n": 1, "samples": 50}]})")));
    EXPECT_EQ(r.model, "lonely");
    EXPECT_EQ(r.model_source, "name");
    EXPECT_EQ(r.device, "unknown");
    EXPECT_FALSE(r.params);
    EXPECT_FALSE(r.macs);
    EXPECT_FALSE(r.macs_per_param);
    EXPECT_FALSE(r.batch_size);
    EXPECT_FALSE(r.accuracy);
    EXPECT_FALSE(r.training_energy_j);
    EXPECT_FALSE(r.work_params_per_s);
    // No train or infer phase: the whole run's energy over the epochs' samples, and the basis says so.
    EXPECT_EQ(r.basis, "total");
    EXPECT_DOUBLE_EQ(*r.energy_per_sample_j, 2.0);
    EXPECT_EQ(r.method.label, "unknown");  // no measured/modelled split in the document
    auto has_note = [&](const std::string& part) {
        for (const auto& n : r.notes)
            if (n.find(part) != std::string::npos) return true;
        return false;
    };
    EXPECT_TRUE(has_note("no accuracy"));
    EXPECT_TRUE(has_note("total energy / samples"));
    EXPECT_TRUE(has_note("no params"));
}

TEST(AnalysisDerive, NonFiniteNumbersAndNonObjectsDoNotCrash) {
    Json result = Json::parse(R"({"id": "1", "name": "n", "tags": {"model": "lenet", "batch_size": "64"}})");
    result["energy_j"]["total"] = std::numeric_limits<double>::quiet_NaN();
    result["duration_s"] = std::numeric_limits<double>::infinity();
    result["phases"] = Json::array({{{"name", "train"}, {"start_s", 0}, {"end_s", 1}, {"energy_j", 5}}});
    const RunRow r = derive_row(run_of(result));
    EXPECT_EQ(r.model, "lenet");
    EXPECT_EQ(r.model_source, "tag");
    EXPECT_EQ(r.batch_size, 64.0);
    EXPECT_FALSE(r.total_energy_j);
    EXPECT_FALSE(r.duration_s);
    EXPECT_EQ(r.training_energy_j, 5.0);           // summed from the phases when the document lacks it
    EXPECT_FALSE(r.training_energy_per_sample_j);  // the phase has no samples
    EXPECT_FALSE(r.energy_per_sample_j);
    EXPECT_EQ(r.basis, "none");
    // Documents that are not runs never reach derive_row: the reader refuses them with a reason.
    EXPECT_FALSE(run_from_json(Json::array({1, 2})));
    EXPECT_FALSE(run_from_json(Json(nullptr)));
    EXPECT_FALSE(
        run_from_json(Json::parse("{\"schema\": \"joulecast.run/2\", \"phases\": 3, \"meta\": [1]}")));
}

TEST(AnalysisDerive, UtilisationComesFromTheTraceWithinTheCommand) {
    StoredTrace trace;
    auto channel = [](const std::string& name, const std::string& domain, Quantity quantity) {
        Channel c;
        c.name = name;
        c.domain = domain;
        c.device = domain + "0";
        c.quantity = quantity;
        return TraceChannel{"test", c};
    };
    trace.channels = {channel("gpu0.utilisation", "gpu", Quantity::utilisation),
                      channel("gpu1.utilisation", "gpu", Quantity::utilisation),
                      channel("cpu.utilisation", "cpu", Quantity::utilisation),
                      channel("gpu0.power", "gpu", Quantity::power)};
    trace.readings = {
        {-1'000'000'000, 0, 100.0},  // idle baseline before the command: left out
        {1'000'000'000, 0, 50.0},   {2'000'000'000, 0, 70.0},  {1'000'000'000, 1, 20.0},
        {1'000'000'000, 2, 30.0},   {1'000'000'000, 3, 400.0}, {20'000'000'000, 0, 0.0},  // after the end
    };
    const RunRow r = derive_row(run_of(Json::parse(complete_result)), &trace);
    EXPECT_DOUBLE_EQ(*r.gpu_utilisation_pct, 40.0);  // mean of GPU 0 (60) and GPU 1 (20)
    EXPECT_DOUBLE_EQ(*r.cpu_utilisation_pct, 30.0);
}

TEST(AnalysisDerive, RealResultFromTheBinaryUnderAFakeGpu) {
    test::TempDir dir;
    auto json_path = dir.path() / "r.json";
    const std::string mark = std::string(JOULECAST_BINARY) + " mark";
    const std::string script = mark + " meta model=toy params=1000 macs=5000 batch_size=32 && " + mark +
                               " begin train && sleep 0.3 && " + mark + " epoch samples=100 && " + mark +
                               " end train samples=100 && " + mark + " begin infer && sleep 0.2 && " + mark +
                               " end infer samples=50 && " + mark + " metric accuracy=0.9 loss=0.25";
    test::ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    options.env["JOULECAST_NVML_LIBRARY"] = FAKE_NVML_LIBRARY;
    options.env["FAKE_NVML_SCRIPT"] = "gpus=1;gpu0.power=200;gpu0.utilisation=75;gpu0.name=TestGPU";
    options.env["JOULECAST_PROC_ROOT"] = dir.str() + "/no-proc";  // the fake GPU is the only energy source
    auto run = test::run_process({JOULECAST_BINARY, "run", "--quiet", "--json", json_path.string(), "--tag",
                                  "repeat=1", "--", "sh", "-c", script},
                                 options);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::ifstream in(json_path);
    const nlohmann::json file = nlohmann::json::parse(in);

    RunStore store(dir.str() + "/runs.db");
    const std::string id = file["id"];
    const StoredTrace trace = store.trace(id);
    const RunRow r = derive_row(store.get(id), &trace);
    const RunRow from_file = derive_row(run_of(Json(file)));

    double train_s = 0;
    for (const auto& p : file["phases"])
        if (p["name"] == "train") train_s = p["end_s"].get<double>() - p["start_s"].get<double>();
    ASSERT_GT(train_s, 0.25);
    const double e_tr = file["training_energy_j"];
    EXPECT_NEAR(e_tr, 200.0 * train_s, 0.01 * 200.0 * train_s);

    EXPECT_EQ(r.id, id);
    EXPECT_EQ(r.model, "toy");
    EXPECT_EQ(r.device, "TestGPU");
    EXPECT_EQ(r.batch_size, 32.0);
    EXPECT_EQ(r.params, 1000.0);
    EXPECT_EQ(r.macs, 5000.0);
    EXPECT_DOUBLE_EQ(*r.macs_per_param, 5.0);
    EXPECT_EQ(r.training_samples, 100.0);
    EXPECT_EQ(r.inference_samples, 50.0);
    EXPECT_EQ(r.basis, "training");
    EXPECT_NEAR(*r.energy_per_sample_j, e_tr / 100.0, 1e-9);
    EXPECT_NEAR(*r.inference_energy_per_sample_j, file["inference_energy_j"].get<double>() / 50.0, 1e-9);
    EXPECT_NEAR(*r.training_time_s, train_s, 1e-9);
    EXPECT_NEAR(*r.work_params_per_s, 1000.0 * 100.0 / train_s, 1e-6);
    EXPECT_NEAR(*r.mean_power_w, 200.0, 4.0);
    EXPECT_EQ(r.method.label, "measured");
    EXPECT_EQ(r.training_method.label, "measured");
    EXPECT_DOUBLE_EQ(*r.accuracy, 0.9);
    EXPECT_DOUBLE_EQ(*r.loss, 0.25);
    EXPECT_EQ(r.tags.at("repeat"), "1");
    ASSERT_TRUE(r.gpu_utilisation_pct) << "no utilisation readings stored";
    EXPECT_DOUBLE_EQ(*r.gpu_utilisation_pct, 75.0);
    EXPECT_FALSE(r.cpu_utilisation_pct);  // no /proc: no CPU model
    // The file and the store give the same figures.
    EXPECT_EQ(from_file.energy_per_sample_j, r.energy_per_sample_j);
    EXPECT_EQ(from_file.accuracy, r.accuracy);
}

}  // namespace
}  // namespace joulecast::analysis
