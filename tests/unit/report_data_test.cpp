// The data behind the HTML report: each chart's section from known result documents, and "no data" with a
// reason where a section has nothing to draw.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "meter/run_json.hpp"
#include "report/html/report_data.hpp"
#include "support/attributed_example.hpp"

namespace joulecast::report {

using sensors::Channel;
using sensors::Quantity;

using meter::run_from_json;
using meter::RunResult;

namespace {

using Json = nlohmann::json;

/// A result document as `joulecast run` writes it, with what the report reads: a train phase of `samples`
/// samples costing `train_j`, `epochs` equal epochs, an accuracy, and a counter-measured GPU.
Json document(const std::string& id, const std::string& model, double batch, double train_j, double samples,
              double accuracy, int epochs, const std::string& gpu_method) {
    Json r;
    r["schema"] = "joulecast.run/1";
    r["id"] = id;
    r["name"] = model + "-b" + std::to_string(static_cast<int>(batch));
    r["status"] = "completed";
    r["started_at"] = "2026-11-26T10:00:00Z";
    r["duration_s"] = 10.0;
    r["energy_j"] = {{"total", train_j + 50},
                     {"gpu", train_j + 30},
                     {"cpu", 20.0},
                     {"measured", train_j + 30},
                     {"modelled", 20.0}};
    r["energy_method"] = {{"gpu", gpu_method}, {"cpu", "modelled"}};
    r["training_energy_j"] = train_j;
    r["phases"] = Json::array({{{"name", "train"},
                                {"start_s", 1.0},
                                {"end_s", 9.0},
                                {"energy_j", train_j},
                                {"domain_j", {{"gpu", train_j}}},
                                {"samples", samples},
                                {"energy_per_sample_j", train_j / samples},
                                {"boundary", "counter"}}});
    r["epochs"] = Json::array();
    for (int e = 0; e < epochs; ++e)
        r["epochs"].push_back({{"n", e + 1},
                               {"start_s", 1.0 + 2.0 * e},
                               {"end_s", 3.0 + 2.0 * e},
                               {"energy_j", train_j / epochs},
                               {"samples", samples / epochs}});
    r["meta"] = {{"model", model},
                 {"batch_size", std::to_string(static_cast<int>(batch))},
                 {"params", model == "cnn" ? "1000000" : "200000"}};
    r["metrics"] = {
        {"accuracy", {{"last", accuracy}, {"series", Json::array({Json::array({9.0, accuracy})})}}}};
    return r;
}

/// The run a document describes, as the store reads it back.
RunResult run_of(const Json& document) {
    auto run = run_from_json(document);
    if (!run) throw std::runtime_error(run.error());
    return std::move(run).value();
}

RunResult result(const std::string& id, const std::string& model, double batch, double train_j,
                 double samples, double accuracy, int epochs = 4, const std::string& gpu_method = "counter") {
    return run_of(document(id, model, batch, train_j, samples, accuracy, epochs, gpu_method));
}

struct Fixture {
    std::vector<RunResult> results;
    analysis::Analysis analysis;
};

Fixture six_runs() {
    Fixture f;
    // cnn: 0.1, 0.04, 0.02 J/sample; mlp: 0.05, 0.02, 0.01 J/sample.
    f.results = {result("a1", "cnn", 32, 100, 1000, 0.86),   result("a2", "cnn", 128, 160, 4000, 0.87),
                 result("a3", "cnn", 512, 320, 16000, 0.85), result("b1", "mlp", 32, 50, 1000, 0.81),
                 result("b2", "mlp", 128, 80, 4000, 0.83),   result("b3", "mlp", 512, 160, 16000, 0.80)};
    std::vector<analysis::RunRow> rows;
    for (const auto& r : f.results) rows.push_back(analysis::derive_row(r));
    f.analysis = analysis::analyze(std::move(rows));
    return f;
}

const nlohmann::ordered_json* series_of(const nlohmann::ordered_json& section, const std::string& model) {
    for (const auto& s : section["series"])
        if (s["model"] == model) return &s;
    return nullptr;
}

TEST(ReportData, BatchSectionHasOneSeriesPerModelWithKnownEnergyPerSample) {
    auto f = six_runs();
    auto s = batch_section(f.analysis, f.results);
    ASSERT_EQ(s["status"], "ok") << s.dump(2);
    ASSERT_EQ(s["series"].size(), 2u);
    const auto* cnn = series_of(s, "cnn");
    ASSERT_NE(cnn, nullptr);
    ASSERT_EQ((*cnn)["means"].size(), 3u);
    EXPECT_EQ((*cnn)["means"][0]["batch_size"], 32.0);
    EXPECT_NEAR((*cnn)["means"][0]["energy_per_sample_j"].get<double>(), 0.1, 1e-12);
    EXPECT_NEAR((*cnn)["means"][1]["energy_per_sample_j"].get<double>(), 0.04, 1e-12);
    EXPECT_NEAR((*cnn)["means"][2]["energy_per_sample_j"].get<double>(), 0.02, 1e-12);
    EXPECT_EQ((*cnn)["runs"].size(), 3u);
    EXPECT_EQ((*cnn)["basis"], "training");
    EXPECT_EQ((*cnn)["best_batch"], 512.0);
    // Where the numbers come from: the domains' methods, counted per run.
    const std::string source = s["source"];
    EXPECT_NE(source.find("gpu: counter (6 runs)"), std::string::npos) << source;
    EXPECT_NE(source.find("cpu: modelled (6 runs)"), std::string::npos) << source;
    EXPECT_EQ(s["provenance"]["domains"]["gpu"]["counter"], 6);
}

TEST(ReportData, ParetoSectionMarksTheFront) {
    auto f = six_runs();
    auto s = pareto_section(f.analysis, f.results);
    ASSERT_EQ(s["status"], "ok");
    ASSERT_EQ(s["points"].size(), 6u);
    // mlp-b512 (0.01 J, 0.80) is the cheapest; cnn-b128 (0.04 J, 0.87) the most accurate; cnn-b32 (0.1 J,
    // 0.86) is dominated by cnn-b128.
    std::map<double, bool> front_by_energy;
    for (const auto& p : s["points"]) front_by_energy[p["energy_per_sample_j"].get<double>()] = p["on_front"];
    EXPECT_TRUE(front_by_energy.at(0.01));
    EXPECT_TRUE(front_by_energy.at(0.04));
    EXPECT_FALSE(front_by_energy.at(0.1));
    EXPECT_NE(s["source"].get<std::string>().find("counter"), std::string::npos);
}

TEST(ReportData, CorrelationSectionIsASymmetricMatrixWithUnits) {
    auto f = six_runs();
    auto s = correlation_section(f.analysis);
    ASSERT_EQ(s["status"], "ok") << s.dump(2);
    const std::size_t n = s["variables"].size();
    ASSERT_GE(n, 2u);
    ASSERT_EQ(s["pearson"].size(), n);
    ASSERT_EQ(s["spearman"].size(), n);
    std::optional<std::size_t> batch, energy;
    for (std::size_t i = 0; i < n; ++i) {
        if (s["variables"][i]["name"] == "batch_size") batch = i;
        if (s["variables"][i]["name"] == "energy_per_sample_j") energy = i;
        EXPECT_EQ(s["spearman"][i][i], 1.0);
        for (std::size_t j = 0; j < n; ++j) EXPECT_EQ(s["pearson"][i][j], s["pearson"][j][i]);
    }
    ASSERT_TRUE(batch && energy);
    // Energy per sample falls with batch size in every model: a strong negative rank correlation.
    EXPECT_LT(s["spearman"][*batch][*energy].get<double>(), -0.5);
    EXPECT_EQ(s["n"][*batch][*energy], 6);
    EXPECT_EQ(s["variables"][*energy]["unit"], "J/sample");
}

TEST(ReportData, ForecastSectionComparesForecastAfterKEpochsWithTheMeasuredSum) {
    std::vector<RunResult> results = {result("a1", "cnn", 32, 100, 1000, 0.86, 5),
                                      result("a2", "cnn", 128, 160, 4000, 0.87, 2)};
    auto s = forecast_section(results, 2);
    ASSERT_EQ(s["status"], "ok");
    ASSERT_EQ(s["runs"].size(), 1u);  // the two-epoch run has nothing left to forecast
    const auto& r = s["runs"][0];
    EXPECT_EQ(r["id"], "a1");
    EXPECT_EQ(r["epochs"], 5);
    EXPECT_NEAR(r["actual_j"].get<double>(), 100.0, 1e-9);
    // Equal epochs: the forecast from two is the measured total.
    EXPECT_NEAR(r["forecast_j"].get<double>(), 100.0, 1e-6);
    EXPECT_LE(r["low_j"].get<double>(), r["forecast_j"].get<double>());
    EXPECT_GE(r["high_j"].get<double>(), r["forecast_j"].get<double>());
    EXPECT_NEAR(r["relative_error"].get<double>(), 0.0, 1e-6);
    ASSERT_EQ(s["notes"].size(), 1u);
    EXPECT_NE(s["source"].get<std::string>().find("gpu: counter"), std::string::npos);

    auto none = forecast_section({result("x", "cnn", 32, 100, 1000, 0.9, 2)}, 2);
    EXPECT_EQ(none["status"], "no data");
    EXPECT_NE(none["reason"].get<std::string>().find("more than 2 epochs"), std::string::npos);
    // One line however many runs: not a list of every run's id for the same cause.
    const std::string reason = none["reason"];
    EXPECT_NE(reason.find("the 1 run with epochs mark at most 2"), std::string::npos) << reason;
    EXPECT_EQ(reason.find('\n'), std::string::npos) << reason;
}

TEST(ReportData, EmptyInputsGiveNoDataEverywhereWithReasons) {
    ReportInputs inputs = load_report_inputs(nullptr, ReportRequest{});
    auto data = build_report_data(inputs);
    EXPECT_EQ(data["schema"], "joulecast.report/1");
    EXPECT_EQ(data["runs_analysed"], 0);
    ASSERT_EQ(data["sections"].size(), 5u);
    for (const auto& [key, section] : data["sections"].items()) {
        EXPECT_EQ(section["status"], "no data") << key;
        EXPECT_FALSE(section["reason"].get<std::string>().empty()) << key;
    }
    EXPECT_FALSE(data["warnings"].empty());
}

TEST(ReportData, SingleRunHasNoCorrelationsButItsOwnPoint) {
    std::vector<RunResult> results = {result("a1", "cnn", 32, 100, 1000, 0.86)};
    std::vector<analysis::RunRow> rows = {analysis::derive_row(results[0])};
    auto a = analysis::analyze(std::move(rows));
    auto corr = correlation_section(a);
    EXPECT_EQ(corr["status"], "no data");
    EXPECT_NE(corr["reason"].get<std::string>().find("at least 3 runs"), std::string::npos);
    EXPECT_EQ(batch_section(a, results)["status"], "ok");
    EXPECT_EQ(pareto_section(a, results)["status"], "ok");
}

TEST(ReportData, RunsWithoutSamplesOrBatchSayWhyTheirChartsAreEmpty) {
    RunResult r = result("a1", "cnn", 32, 100, 1000, 0.86);
    r.phases.clear();
    r.epochs.clear();
    r.training_energy_j.reset();
    r.meta.erase("batch_size");
    std::vector<RunResult> results = {r};
    std::vector<analysis::RunRow> rows = {analysis::derive_row(r)};
    auto a = analysis::analyze(std::move(rows));
    auto batch = batch_section(a, results);
    EXPECT_EQ(batch["status"], "no data");
    EXPECT_NE(batch["reason"].get<std::string>().find("batch size"), std::string::npos);
    auto pareto = pareto_section(a, results);
    EXPECT_EQ(pareto["status"], "no data");
    EXPECT_EQ(forecast_section(results, 2)["status"], "no data");
}

TEST(ReportData, TimelineSectionCarriesPhasesEpochsAndHowPowerWasObtained) {
    TimelineRun run;
    run.result = result("a1", "cnn", 32, 100, 1000, 0.86);
    run.chosen_by = "--run";
    Channel power;
    power.name = "gpu0.power";
    power.domain = "gpu";
    power.device = "gpu0";
    power.quantity = Quantity::power;
    run.trace.channels = {{"nvml", power}};
    for (int i = 0; i < 100; ++i)
        run.trace.readings.push_back({static_cast<std::int64_t>(i) * 100'000'000, 0, i < 10 ? 70.0 : 250.0});
    auto s = timeline_section(run, "", 1200);
    ASSERT_EQ(s["status"], "ok");
    EXPECT_EQ(s["run"]["chosen_by"], "--run");
    ASSERT_EQ(s["series"].size(), 1u);
    EXPECT_EQ(s["series"][0]["domain"], "gpu");
    EXPECT_EQ(s["series"][0]["method"], "measured");
    EXPECT_EQ(s["series"][0]["energy_method"], "counter");
    EXPECT_EQ(s["series"][0]["points"].size(), 100u);
    EXPECT_EQ(s["series"][0]["points"][0][1], 70.0);
    EXPECT_EQ(s["series"][0]["points"][99][1], 250.0);
    ASSERT_EQ(s["phases"].size(), 1u);
    EXPECT_EQ(s["phases"][0]["name"], "train");
    EXPECT_EQ(s["epochs"].size(), 4u);
    const std::string source = s["source"];
    EXPECT_NE(source.find("gpu: measured power (nvml:gpu0.power)"), std::string::npos) << source;
    EXPECT_NE(source.find("energy counter read at both ends (train)"), std::string::npos) << source;

    EXPECT_TRUE(s["attributed"].empty()) << "no share measured, no CPU energy: no rows";

    // The job's own share beside the gross: a row per domain and GPU, with how or why not.
    run.result.attributed = test::attributed_example();
    auto shared = timeline_section(run, "", 1200);
    const auto& rows = shared["attributed"];
    ASSERT_EQ(rows.size(), 4u) << rows.dump();
    EXPECT_EQ(rows[0]["part"], "cpu");
    EXPECT_EQ(rows[0]["share"], 0.4);
    EXPECT_EQ(rows[0]["how"], "CPU time share");
    EXPECT_EQ(rows[1]["part"], "dram");
    EXPECT_EQ(rows[1]["attributed_j"], 8.0);
    EXPECT_EQ(rows[2]["part"], "gpu0");
    EXPECT_EQ(rows[2]["attributed_j"], 225.0);
    EXPECT_EQ(rows[2]["share"], 0.75);
    EXPECT_EQ(rows[2]["gross_method"], "counter");
    EXPECT_TRUE(rows[3]["attributed_j"].is_null());
    EXPECT_EQ(rows[3]["how"], "unmeasurable: MIG");

    auto none = timeline_section(std::nullopt, "no runs", 1200);
    EXPECT_EQ(none["status"], "no data");
    EXPECT_EQ(none["reason"], "no runs");
}

TEST(ReportData, ProvenanceCountsMethodsPerDomain) {
    RunResult a = result("a", "cnn", 32, 1, 1, 0.5, 1, "counter");
    RunResult b = result("b", "cnn", 32, 1, 1, 0.5, 1, "integrated");
    RunResult c;
    c.id = "c";
    auto p = energy_provenance({&a, &b, &c});
    EXPECT_EQ(p["domains"]["gpu"]["counter"], 1);
    EXPECT_EQ(p["domains"]["gpu"]["integrated"], 1);
    EXPECT_EQ(p["domains"]["cpu"]["modelled"], 2);
    EXPECT_EQ(p["domains"]["all"]["unknown"], 1);
    EXPECT_EQ(p["text"],
              "all: unknown (1 run); cpu: modelled (2 runs); gpu: counter (1 run), integrated (1 run)");
}

}  // namespace
}  // namespace joulecast::report
