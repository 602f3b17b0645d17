// Study summaries and --resume: measurements read from run results, means over repeats with n, totals, the
// JSON document, and the completed runs a study finds in the store.

#include <gtest/gtest.h>

#include <sstream>

#include "core/format.hpp"
#include "meter/run_json.hpp"
#include "report/summary.hpp"
#include "store/run_store.hpp"
#include "study/grid.hpp"
#include "study/plan.hpp"
#include "study/study.hpp"
#include "study/summary.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::study {

using core::format_clock;

using meter::CarbonResult;
using meter::parse_run_status;
using meter::PhaseBoundary;
using meter::PhaseResult;
using meter::RunResult;
using meter::RunStatus;
using meter::to_json;

using store::RunStore;

namespace {

// A finished run result as joulecast would write it: two training epochs as "train" phases, one inference.
RunResult result_of(const std::string& id, double train_j, long long train_samples, double infer_j,
                    long long infer_samples, double accuracy, const std::string& status = "completed") {
    RunResult r;
    r.id = id;
    r.status = parse_run_status(status).value();
    r.exit_code = status == "completed" ? 0 : 1;
    r.duration_s = 10;
    r.energy.total_j = train_j + infer_j + 5;
    PhaseResult t1{"train", 0,   1, train_j / 2, {}, train_samples / 2, {}, 0, PhaseBoundary::counter,
                   {},      true};
    PhaseResult t2{
        "train", 1,   2, train_j / 2, {}, train_samples - train_samples / 2, {}, 0, PhaseBoundary::counter,
        {},      true};
    PhaseResult inner{"train", 1.2, 1.5, 1, {}, 999, {}, 0, PhaseBoundary::counter,
                      {},      true};  // nested: not counted
    PhaseResult in{"infer", 2, 3, infer_j, {}, infer_samples, {}, 0, PhaseBoundary::counter, {}, true};
    r.phases = {t1, t2, inner, in};
    r.training_energy_j = train_j;
    r.inference_energy_j = infer_j;
    r.metrics["accuracy"].points = {{3.0, accuracy - 0.1}, {3.5, accuracy}};
    r.carbon = CarbonResult{400, "test", 1.0, 0.25};
    return r;
}

const SummaryRow* config_row(const StudySummary& summary, const std::string& model) {
    for (const auto& row : summary.rows)
        if (*row.config.find("model") == model) return &row;
    return nullptr;
}

TEST(StudySummary, RecordReadsEnergyPerSampleFromOutermostPhasesAndTheLastAccuracy) {
    RunRecord record;
    fill_from_result(record, result_of("r1", 200, 1000, 30, 500, 0.8));
    EXPECT_EQ(record.run_id, "r1");
    EXPECT_EQ(record.status, RunStatus::completed);
    EXPECT_DOUBLE_EQ(record.energy_j, 235);
    EXPECT_DOUBLE_EQ(record.co2e_g, 0.25);
    ASSERT_TRUE(record.train_samples);
    EXPECT_EQ(*record.train_samples, 1000);
    EXPECT_DOUBLE_EQ(*record.train_j_per_sample(), 0.2);
    EXPECT_DOUBLE_EQ(*record.infer_j_per_sample(), 0.06);
    EXPECT_DOUBLE_EQ(*record.accuracy, 0.8);
}

TEST(StudySummary, RecordWithoutPhasesHasNoPerSampleEnergy) {
    RunResult r;
    r.id = "x";
    r.status = RunStatus::failed;
    r.exit_code = 3;
    RunRecord record;
    fill_from_result(record, r);
    EXPECT_EQ(record.status, RunStatus::failed);
    EXPECT_EQ(record.exit_code, 3);
    EXPECT_FALSE(record.train_j_per_sample());
    EXPECT_FALSE(record.infer_j_per_sample());
    EXPECT_FALSE(record.accuracy);
}

TEST(StudySummary, MeansOverCompletedRepeatsWithNAndTotalsOverAllRuns) {
    auto grid = parse_grid(
        "[study]\nname = \"s\"\nrepeats = 2\norder = \"given\"\n[grid]\nmodels = [\"lenet\", "
        "\"mlp\"]\nbatch_sizes = [32]\nepochs = 1\n",
        "g.toml", "g");
    auto runs = plan_runs(grid);  // lenet#1 mlp#1 lenet#2 mlp#2
    std::vector<RunRecord> records;
    auto add = [&](std::size_t i, const RunResult& result) {
        RunRecord record;
        record.config_index = runs[i].config_index;
        record.config = runs[i].config;
        record.repeat = runs[i].repeat;
        fill_from_result(record, result);
        records.push_back(record);
    };
    add(0, result_of("a", 100, 1000, 10, 100, 0.5));
    add(1, result_of("b", 300, 1000, 20, 100, 0.7));
    add(2, result_of("c", 200, 1000, 30, 100, 0.6));
    add(3, result_of("d", 999, 1000, 99, 100, 0.9, "failed"));

    auto summary = summarise(grid, records, 4, 50, "400 g/kWh");
    EXPECT_EQ(summary.columns, (std::vector<std::string>{"model", "batch_size"}));
    ASSERT_EQ(summary.rows.size(), 2u);
    const auto& lenet = summary.rows[0];
    EXPECT_EQ(*lenet.config.find("model"), "lenet");
    EXPECT_EQ(lenet.n, 2);
    EXPECT_EQ(lenet.failed, 0);
    EXPECT_NEAR(*lenet.train_j_per_sample, 0.15, 1e-12);
    EXPECT_NEAR(*lenet.infer_j_per_sample, 0.2, 1e-12);
    EXPECT_NEAR(*lenet.accuracy, 0.55, 1e-12);
    EXPECT_NEAR(*lenet.energy_j, (115.0 + 235.0) / 2, 1e-9);
    const auto& mlp = summary.rows[1];
    EXPECT_EQ(mlp.n, 1);
    EXPECT_EQ(mlp.failed, 1);
    EXPECT_NEAR(*mlp.train_j_per_sample, 0.3, 1e-12);  // the failed run is not averaged in
    EXPECT_EQ(summary.completed, 3);
    EXPECT_EQ(summary.failed, 1);
    EXPECT_NEAR(summary.energy_j, 115 + 325 + 235 + 1103, 1e-9);  // ... but its energy was spent
    EXPECT_NEAR(summary.co2e_g, 1.0, 1e-12);
    EXPECT_NEAR(summary.run_time_s, 40, 1e-12);

    std::ostringstream table;
    print_study_summary(table, summary);
    EXPECT_NE(table.str().find("3 of 4 runs completed, 1 failed"), std::string::npos) << table.str();
    EXPECT_NE(table.str().find("150.000"), std::string::npos)
        << table.str();  // lenet: 0.15 J = 150 mJ/sample
    EXPECT_NE(table.str().find("1 (1 failed)"), std::string::npos) << table.str();

    auto json = to_json(summary, records);
    EXPECT_EQ(json["schema"], "joulecast.study/1");
    EXPECT_EQ(json["totals"]["completed"], 3);
    EXPECT_EQ(json["rows"].size(), 2u);
    EXPECT_EQ(json["rows"][0]["config"]["model"], "lenet");
    EXPECT_NEAR(json["rows"][0]["train_energy_per_sample_j"].get<double>(), 0.15, 1e-12);
    EXPECT_EQ(json["runs"].size(), 4u);
    EXPECT_EQ(json["runs"][3]["status"], "failed");
}

TEST(StudySummary, ConfigurationAtChanceAccuracyIsFlaggedInTableAndJson) {
    auto grid = parse_grid("[grid]\nmodels = [\"lenet\", \"mlp\"]\nbatch_sizes = [512]\n", "g.toml", "g");
    auto runs = plan_runs(grid);
    std::vector<RunRecord> records;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        RunResult result = result_of("r" + std::to_string(i), 100, 2048, 10, 1024,
                                     *runs[i].config.find("model") == "lenet" ? 0.1006 : 0.71);
        result.meta["classes"] = "10";  // as joulecast-zoo sends it
        RunRecord record;
        record.config_index = runs[i].config_index;
        record.config = runs[i].config;
        fill_from_result(record, result);
        records.push_back(record);
    }
    auto summary = summarise(grid, records, runs.size(), 20, "");
    ASSERT_EQ(summary.rows.size(), 2u);
    const SummaryRow& lenet = *config_row(summary, "lenet");
    const SummaryRow& mlp = *config_row(summary, "mlp");
    EXPECT_TRUE(lenet.at_chance);
    ASSERT_TRUE(lenet.chance_limit);
    EXPECT_NEAR(*lenet.chance_limit, 0.15, 1e-12);  // 1.5 / 10 classes (1,024 test samples)
    EXPECT_FALSE(mlp.at_chance);
    EXPECT_EQ(summary.at_chance, 1);

    std::ostringstream table;
    print_study_summary(table, summary);
    EXPECT_NE(table.str().find("0.101 CHANCE"), std::string::npos) << table.str();
    EXPECT_EQ(table.str().find("0.710 CHANCE"), std::string::npos) << table.str();
    EXPECT_NE(table.str().find("CHANCE: 1 configuration no better than guessing (accuracy at most 0.150"),
              std::string::npos)
        << table.str();

    auto json = to_json(summary, records);
    EXPECT_EQ(json["totals"]["at_chance"], 1);
    for (const auto& row : json["rows"]) {
        EXPECT_EQ(row["at_chance"].get<bool>(), row["config"]["model"] == "lenet") << row.dump();
        EXPECT_NEAR(row["chance_accuracy_limit"].get<double>(), 0.15, 1e-12);
    }
}

TEST(StudySummary, FormatsDurations) {
    EXPECT_EQ(format_clock(12.34), "12.3s");
    EXPECT_EQ(format_clock(65), "1m05s");
    EXPECT_EQ(format_clock(7380), "2h03m");
}

TEST(StudyResume, CompletedRunsAreThoseOfThisStudyCompletedNewestFirst) {
    test::TempDir dir;
    const std::string db = dir.str() + "/runs.db";
    {
        RunStore store(db);
        auto stored = [&](const std::string& id, const std::map<std::string, std::string>& tags,
                          const std::string& status, double train_j) {
            RunResult r = result_of(id, train_j, 1000, 10, 100, 0.5, status);
            r.tags = tags;
            r.started_at = "2026-01-01T00:00:0" + id.substr(id.size() - 1) + ".000Z";
            store.finish_run(r, to_json(r));
        };
        stored("run1", {{"study", "s"}, {"config", "aaaa"}, {"repeat", "1"}}, "completed", 100);
        stored("run2", {{"study", "s"}, {"config", "aaaa"}, {"repeat", "2"}}, "failed", 100);
        stored("run3", {{"study", "s"}, {"config", "bbbb"}, {"repeat", "1"}}, "interrupted", 100);
        stored("run4", {{"study", "other"}, {"config", "cccc"}, {"repeat", "1"}}, "completed", 100);
        stored("run5", {{"study", "s"}, {"config", "aaaa"}, {"repeat", "1"}}, "completed", 300);  // a rerun
    }
    auto records = completed_runs(db, "s");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].config.hash, "aaaa");
    EXPECT_EQ(records[0].repeat, 1);
    EXPECT_TRUE(records[0].resumed);
    EXPECT_EQ(records[0].run_id, "run5");
    EXPECT_NEAR(*records[0].train_j_per_sample(), 0.3, 1e-12);
    EXPECT_TRUE(completed_runs(db, "nobody").empty());
}

}  // namespace
}  // namespace joulecast::study
