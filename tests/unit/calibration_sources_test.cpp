#include "forecast/calibration_sources.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "meter/run_json.hpp"

namespace joulecast::forecast {

using meter::run_from_json;
using meter::RunResult;

namespace {

using Json = nlohmann::ordered_json;

// A stored run result (joulecast.run/1, the fields calibrations_from_results reads).
Json run_result(const std::string& id, const std::string& model, double params, double macs, double batch,
                double train_j, double train_samples, double train_s, bool gpu_energy = true) {
    // Meta values are text, as the control channel carries them.
    Json meta = {{"model", model},
                 {"params", Json(params).dump()},
                 {"macs", Json(macs).dump()},
                 {"batch_size", Json(batch).dump()}};
    Json r = {{"schema", "joulecast.run/1"},
              {"id", id},
              {"name", model + "-b" + std::to_string(static_cast<int>(batch))},
              {"status", "completed"},
              {"started_at", "2026-11-20T10:00:00Z"},
              {"host",
               {{"hostname", "h"},
                {"cpu_model", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"},
                {"gpus", Json::array({{{"index", 0}, {"name", "Test GPU"}, {"uuid", "u"}}})}}},
              {"energy_j", {{"total", train_j + 10}, {"gpu", gpu_energy ? train_j : 0.0}, {"cpu", 10}}},
              {"energy_method", {{"gpu", "counter"}, {"cpu", "counter"}}},
              {"phases", Json::array({{{"name", "train"},
                                       {"start_s", 0.0},
                                       {"end_s", train_s},
                                       {"duration_s", train_s},
                                       {"energy_j", train_j},
                                       {"samples", train_samples}}})},
              {"training_energy_j", train_j},
              {"inference_energy_j", nullptr},
              {"meta", meta}};
    return r;
}

/// The runs the documents describe, as the store reads them back.
std::vector<RunResult> runs_of(const std::vector<Json>& documents) {
    std::vector<RunResult> runs;
    for (const auto& d : documents) {
        auto run = run_from_json(d);
        if (!run) throw std::runtime_error(run.error());
        runs.push_back(std::move(run).value());
    }
    return runs;
}

TEST(CalibrationSources, ShippedH100LoadsWithItsProvenance) {
    auto shipped = shipped_calibrations();
    ASSERT_TRUE(shipped) << shipped.error();
    const CalibrationSource* h100 = nullptr;
    for (const auto& s : *shipped) {
        EXPECT_EQ(s.origin, CalibrationOrigin::shipped);
        EXPECT_EQ(s.file.find("h100-study-summary"), std::string::npos)
            << "a study summary is not a calibration";
        if (s.calibration.device == "NVIDIA H100 80GB HBM3") h100 = &s;
    }
    ASSERT_NE(h100, nullptr);
    EXPECT_EQ(h100->file, "data/calibration/nvidia-h100-80gb-hbm3.json");
    EXPECT_EQ(h100->calibration.rows.size(), 18u);
    EXPECT_EQ(h100->architectures().size(), 6u);
    EXPECT_EQ(h100->measured_on, "2026-11-26");
    EXPECT_NE(h100->how.find("NVML total-energy counter"), std::string::npos);
    ASSERT_TRUE(h100->mean_power_w);
    EXPECT_NEAR(*h100->mean_power_w, 71911.08853531162 / 269.88597266700003, 0.1);
    // No measured durations in that data set: time can only be the labelled rough figure.
    for (const auto& r : h100->calibration.rows) EXPECT_FALSE(r.train_seconds_per_sample);
}

TEST(CalibrationSources, ShippedH100FitsAndValidates) {
    auto shipped = shipped_calibrations();
    ASSERT_TRUE(shipped) << shipped.error();
    for (const auto& s : *shipped) {
        if (s.calibration.device != "NVIDIA H100 80GB HBM3") continue;
        auto model = fit_energy_model(s.calibration, EnergyTask::training);
        ASSERT_TRUE(model) << model.error();
        EXPECT_EQ(model->rows, 18u);
        auto v = validate_leave_one_group_out(s.calibration, EnergyTask::training);
        ASSERT_TRUE(v) << v.error();
        // resnet18 and preactresnet18 (same MACs, activations and MAC layers; params 0.03% apart) are held
        // out together: five groups, the twins' one with six rows.
        ASSERT_EQ(v->groups.size(), 5u);
        bool twins = false;
        for (const auto& g : v->groups) {
            EXPECT_NE(g.model, "resnet18");
            EXPECT_NE(g.model, "preactresnet18");
            if (g.model == "preactresnet18+resnet18") {
                twins = true;
                EXPECT_EQ(g.rows, 6u);
            }
        }
        EXPECT_TRUE(twins);
        // Fitted to steady state (first-epoch warm-up excluded), held out by twin group: 8.98% (median
        // 3.78%). The old fit (warm-up as per-sample cost, twins apart) gave 16.3% (median 7.62%).
        EXPECT_LT(v->mape_energy_per_sample_pct, 10.0);
        EXPECT_LT(v->median_ape_pct, 5.0);
        // Warm-up is fitted from all 18 rows' per-epoch energies; the totals include it.
        EXPECT_EQ(model->warmup_rows, 18u);
        EXPECT_GT(model->warmup_j, 0);
        ASSERT_TRUE(v->mape_total_energy_pct);
        EXPECT_TRUE(std::isfinite(*v->mape_total_energy_pct));
        std::printf("H100 leave-one-architecture-out training MAPE: %.2f%% (median %.2f%%)\n",
                    v->mape_energy_per_sample_pct, v->median_ape_pct);
    }
}

TEST(CalibrationSources, ParseShippedNamesTheFileOnBadInput) {
    auto bad = parse_shipped_calibration("x.json", "{not json");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("data/calibration/x.json"), std::string::npos);
    auto no_rows =
        parse_shipped_calibration("y.json", R"({"schema":"joulecast.calibration/1","device":"D"})");
    ASSERT_FALSE(no_rows);
    EXPECT_NE(no_rows.error().find("rows"), std::string::npos);
}

// train.py --windows: a "warmup" phase before the train windows. Its excess over the steady energy per sample
// (the windows') is the row's warm-up per run; a warm-up cheaper than steady state gives 0, none gives none.
TEST(CalibrationSources, WarmupPhaseExcessOverSteadyStateIsTheRowsWarmup) {
    auto with_warmup = [](const std::string& id, double warmup_j, long long warmup_samples) {
        Json r = run_result(id, "m" + id, 1e6, 1e8, 32, 64, 100, 2.0);  // windows: 0.64 J per sample
        r["phases"].insert(r["phases"].begin(), Json{{"name", "warmup"},
                                                     {"start_s", -1.0},
                                                     {"end_s", 0.0},
                                                     {"duration_s", 1.0},
                                                     {"energy_j", warmup_j},
                                                     {"samples", warmup_samples}});
        return r;
    };
    std::vector<Json> results = {with_warmup("1", 30.0, 20), with_warmup("2", 5.0, 20),
                                 run_result("3", "m3", 1e6, 1e8, 32, 64, 100, 2.0)};
    const StoreCalibrations s = calibrations_from_results(runs_of(results), "/tmp/runs.db");
    ASSERT_EQ(s.devices.size(), 1u);
    const auto& rows = s.devices[0].calibration.rows;
    ASSERT_EQ(rows.size(), 3u);
    // Steady state is the train phase alone: 64 J / 100 samples, the warm-up not in it.
    EXPECT_DOUBLE_EQ(*rows[0].train_energy_per_sample_j, 0.64);
    ASSERT_TRUE(rows[0].warmup_j);
    EXPECT_NEAR(*rows[0].warmup_j, 30.0 - 0.64 * 20, 1e-9);  // 17.2 J
    ASSERT_TRUE(rows[1].warmup_j);
    EXPECT_DOUBLE_EQ(*rows[1].warmup_j, 0.0);  // 5 J < 12.8 J of steady cost
    EXPECT_FALSE(rows[2].warmup_j);
}

TEST(CalibrationSources, RowsFromStoredRunsGroupedByDevice) {
    std::vector<Json> results = {
        run_result("a1", "m1", 1e6, 1e8, 32, 64, 100, 2.0),
        run_result("a2", "m2", 4e6, 8e8, 128, 90, 1000, 4.0),
        run_result("c1", "m1", 1e6, 1e8, 32, 30, 100, 3.0, /*gpu_energy=*/false),
    };
    Json no_meta = run_result("n1", "m3", 1, 1, 1, 1, 1, 1);
    no_meta["meta"] = Json::object();  // not a model workload: silently not used
    results.push_back(no_meta);
    Json half = run_result("h1", "m4", 1e6, 1e8, 32, 64, 100, 2.0);
    half["meta"].erase("macs");
    results.push_back(half);
    Json failed = run_result("f1", "m5", 1e6, 1e8, 32, 64, 100, 2.0);
    failed["status"] = "failed";
    results.push_back(failed);
    results[0]["epochs"] = Json::array({{{"n", 1}, {"start_s", 0.0}, {"end_s", 1.2}, {"energy_j", 40.0}},
                                        {{"n", 2}, {"start_s", 1.2}, {"end_s", 2.0}, {"energy_j", 24.0}}});
    Json text_meta = run_result("t1", "m6", 0, 0, 0, 50, 200, 1.0);
    text_meta["meta"] = {{"model", "m6"}, {"params", "2000"}, {"macs", "300000"}, {"batch_size", "64"}};
    results.push_back(text_meta);

    const StoreCalibrations s = calibrations_from_results(runs_of(results), "/tmp/runs.db");
    ASSERT_EQ(s.devices.size(), 2u);
    EXPECT_EQ(s.runs_used, 4u);
    const auto& gpu = s.devices[0];
    EXPECT_EQ(gpu.calibration.device, "Test GPU");
    EXPECT_EQ(gpu.origin, CalibrationOrigin::store);
    ASSERT_EQ(gpu.calibration.rows.size(), 3u);
    const auto& r = gpu.calibration.rows[0];
    EXPECT_EQ(r.model, "m1");
    EXPECT_DOUBLE_EQ(r.params, 1e6);
    EXPECT_DOUBLE_EQ(r.batch_size, 32);
    EXPECT_DOUBLE_EQ(*r.train_energy_per_sample_j, 0.64);
    EXPECT_DOUBLE_EQ(*r.train_samples, 100);
    EXPECT_DOUBLE_EQ(*r.train_seconds_per_sample, 0.02);
    EXPECT_FALSE(r.infer_energy_per_sample_j);
    EXPECT_EQ(r.epoch_energy_j, (std::vector<double>{40.0, 24.0}));              // kept for the warm-up fit
    EXPECT_TRUE(gpu.calibration.rows[1].epoch_energy_j.empty());                 // no epochs recorded
    EXPECT_DOUBLE_EQ(*gpu.calibration.rows[2].train_energy_per_sample_j, 0.25);  // meta given as text
    EXPECT_DOUBLE_EQ(gpu.calibration.rows[2].macs, 300000);
    // A run on a GPU machine without GPU energy belongs to its CPU.
    EXPECT_EQ(s.devices[1].calibration.device, "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
    EXPECT_DOUBLE_EQ(*s.devices[1].calibration.rows[0].train_energy_per_sample_j, 0.30);
    ASSERT_EQ(s.skipped.size(), 1u);
    EXPECT_NE(s.skipped[0].find("macs"), std::string::npos);
    EXPECT_EQ(gpu.measured_on, "2026-11-20");
}

// A store calibration following J/sample = e^-18 × MACs^0.9 × batch^-0.6 exactly.
CalibrationSource synthetic_store(const std::string& device, int architectures) {
    const double specs[][2] = {{6e4, 4e5}, {1e6, 4e7}, {1.1e7, 5.6e8}, {3.5e6, 3e8}};
    CalibrationSource s;
    s.origin = CalibrationOrigin::store;
    s.calibration.device = device;
    for (int a = 0; a < architectures; ++a)
        for (double b : {32.0, 128.0, 512.0}) {
            CalibrationRow r;
            r.model = "arch" + std::to_string(a);
            r.params = specs[a][0];
            r.macs = specs[a][1];
            r.batch_size = b;
            r.train_energy_per_sample_j = std::exp(-18.0) * std::pow(r.macs, 0.9) * std::pow(b, -0.6);
            r.train_seconds_per_sample = 1e-9 * r.macs / b;
            s.calibration.rows.push_back(r);
        }
    return s;
}

TEST(CalibrationSources, StoredRunsWinWithThreeArchitecturesAndGiveKnownNumbers) {
    StoreCalibrations store;
    store.devices.push_back(synthetic_store("NVIDIA H100 80GB HBM3", 4));
    auto shipped = shipped_calibrations();
    ASSERT_TRUE(shipped);
    auto chosen = choose_calibration("nvidia h100 80gb hbm3", store, *shipped);
    ASSERT_TRUE(chosen) << chosen.error();
    EXPECT_EQ(chosen->source.origin, CalibrationOrigin::store);
    EXPECT_EQ(chosen->device, "NVIDIA H100 80GB HBM3");
    EXPECT_FALSE(chosen->fallback);

    // --params/--macs path: an unseen model on the exact law is predicted exactly.
    auto model = fit_energy_model(chosen->source.calibration, EnergyTask::training);
    ASSERT_TRUE(model) << model.error();
    auto e = estimate_energy(*model, {2e6, 1e8, 64}, 1000.0);
    ASSERT_TRUE(e) << e.error();
    const double expected = std::exp(-18.0) * std::pow(1e8, 0.9) * std::pow(64, -0.6);
    EXPECT_NEAR(e->energy_per_sample_j / expected, 1.0, 1e-6);
    EXPECT_NEAR(*e->total_energy_j / (1000 * expected), 1.0, 1e-6);

    // Time with the same machinery: seconds per sample = 1e-9 × MACs / batch.
    EstimatorOptions time;
    time.per_sample = PerSample::time;
    auto t_model = fit_energy_model(chosen->source.calibration, EnergyTask::training, time);
    ASSERT_TRUE(t_model) << t_model.error();
    EXPECT_EQ(t_model->per_sample, PerSample::time);
    auto t = estimate_energy(*t_model, {2e6, 1e8, 64});
    ASSERT_TRUE(t) << t.error();
    EXPECT_NEAR(t->energy_per_sample_j / (1e-9 * 1e8 / 64), 1.0, 1e-6);
}

TEST(CalibrationSources, TooFewStoredArchitecturesFallBackToShipped) {
    StoreCalibrations store;
    store.devices.push_back(synthetic_store("NVIDIA H100 80GB HBM3", 2));
    auto shipped = shipped_calibrations();
    ASSERT_TRUE(shipped);
    auto chosen = choose_calibration("h100 80gb", store, *shipped);  // a unique part of the name
    ASSERT_TRUE(chosen) << chosen.error();
    EXPECT_EQ(chosen->source.origin, CalibrationOrigin::shipped);
    EXPECT_EQ(chosen->source.calibration.rows.size(), 18u);
    EXPECT_NE(chosen->reason.find("only 2 architecture"), std::string::npos) << chosen->reason;
}

TEST(CalibrationSources, UncalibratedGpuFallsBackToNearestTdpScaled) {
    auto shipped = shipped_calibrations();
    ASSERT_TRUE(shipped);
    auto chosen = choose_calibration("NVIDIA H100 PCIe", {}, *shipped);  // 350 W in data/gpu_specs.csv
    ASSERT_TRUE(chosen) << chosen.error();
    EXPECT_EQ(chosen->source.origin, CalibrationOrigin::scaled);
    EXPECT_DOUBLE_EQ(chosen->energy_scale, 0.5);  // 350 W / 700 W
    EXPECT_EQ(chosen->reference_device, "NVIDIA H100 80GB HBM3");
    ASSERT_TRUE(chosen->fallback);
    EXPECT_NE(chosen->fallback->find("no calibration for 'NVIDIA H100 PCIe'"), std::string::npos);
    EXPECT_NE(chosen->fallback->find("crude"), std::string::npos);
    for (const auto& s : *shipped) {
        if (s.calibration.device != "NVIDIA H100 80GB HBM3") continue;
        EXPECT_DOUBLE_EQ(*chosen->source.calibration.rows[0].train_energy_per_sample_j,
                         0.5 * *s.calibration.rows[0].train_energy_per_sample_j);
    }
}

TEST(CalibrationSources, UnknownDeviceIsAnErrorThatSaysWhatToDo) {
    auto shipped = shipped_calibrations();
    ASSERT_TRUE(shipped);
    auto chosen = choose_calibration("Imaginary Accelerator 9000", {}, *shipped);
    ASSERT_FALSE(chosen);
    EXPECT_NE(chosen.error().find("no calibration for 'Imaginary Accelerator 9000'"), std::string::npos);
    EXPECT_NE(chosen.error().find("NVIDIA H100 80GB HBM3"), std::string::npos);
    EXPECT_NE(chosen.error().find("joulecast study"), std::string::npos);
    // A CPU with a known TDP but no calibrated CPU to scale from.
    auto cpu = choose_calibration("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", {}, *shipped);
    ASSERT_FALSE(cpu);
    EXPECT_NE(cpu.error().find("no calibrated CPU"), std::string::npos) << cpu.error();
}

TEST(CalibrationSources, DeviceTdpFromTables) {
    auto gpu = device_tdp("nvidia h100 80gb hbm3");
    ASSERT_TRUE(gpu);
    EXPECT_TRUE(gpu->is_gpu);
    EXPECT_DOUBLE_EQ(gpu->tdp_w, 700);
    auto cpu = device_tdp("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
    ASSERT_TRUE(cpu);
    EXPECT_FALSE(cpu->is_gpu);
    EXPECT_GT(cpu->tdp_w, 0);
    EXPECT_FALSE(device_tdp("Imaginary Accelerator 9000"));
}

}  // namespace
}  // namespace joulecast::forecast
