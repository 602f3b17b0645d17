// analyze() over hand-made rows: optimal batch and ratios, inference share and break-even, the Pareto front
// per configuration, driver rankings, guidelines given with enough data and withheld with too little, and
// NaN / missing values.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "analysis/analysis.hpp"

namespace joulecast::analysis {

using meter::RunStatus;

namespace {

EnergyMethod measured() {
    return {"measured", 1.0};
}

RunRow row(const std::string& model, double batch, double energy_per_sample, std::optional<double> accuracy,
           int repeat) {
    RunRow r;
    r.id =
        model + "-" + std::to_string(static_cast<int>(batch)) + "-" + std::to_string(repeat) + "-0000000000";
    r.name = r.id;
    r.status = RunStatus::completed;
    r.model = model;
    r.model_source = "meta";
    r.device = "GPU";
    r.batch_size = batch;
    r.training_energy_per_sample_j = energy_per_sample;
    r.energy_per_sample_j = energy_per_sample;
    r.basis = "training";
    r.accuracy = accuracy;
    r.method = r.training_method = r.inference_method = measured();
    return r;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const Guideline* find_guideline(const Analysis& a, const std::string& topic, const std::string& part) {
    for (const auto& g : a.guidelines)
        if (g.topic == topic && contains(g.text, part)) return &g;
    return nullptr;
}

const Withheld* find_withheld(const Analysis& a, const std::string& topic, const std::string& part) {
    for (const auto& w : a.withheld)
        if (w.topic == topic && contains(w.reason, part)) return &w;
    return nullptr;
}

std::string dump(const Analysis& a) {
    std::string all;
    for (const auto& g : a.guidelines) all += "guideline: " + g.text + "\n";
    for (const auto& w : a.withheld) all += "withheld: " + w.topic + ": " + w.reason + "\n";
    for (const auto& w : a.warnings) all += "warning: " + w + "\n";
    return all;
}

TEST(AnalysisAnalyze, OptimalBatchPerModelWithRatioToTheWorst) {
    std::vector<RunRow> rows;
    int k = 0;
    for (double e : {0.05, 0.052, 0.048}) rows.push_back(row("resnet18", 32, e, 0.90, ++k));
    for (double e : {0.02, 0.02, 0.02}) rows.push_back(row("resnet18", 128, e, 0.91, ++k));
    for (double e : {0.010, 0.011, 0.009}) rows.push_back(row("resnet18", 512, e, 0.90, ++k));
    for (double e : {0.004, 0.004}) rows.push_back(row("lenet", 64, e, 0.85, ++k));
    for (double e : {0.002, 0.002}) rows.push_back(row("lenet", 256, e, 0.86, ++k));
    const Analysis a = analyze(rows);

    ASSERT_EQ(a.optimal_batches.size(), 2u);
    const OptimalBatch& lenet = a.optimal_batches[0];
    const OptimalBatch& resnet = a.optimal_batches[1];
    EXPECT_EQ(resnet.model, "resnet18");
    EXPECT_EQ(resnet.basis, "training");
    ASSERT_EQ(resnet.batches.size(), 3u);
    EXPECT_EQ(resnet.batches[0].batch_size, 32);
    EXPECT_EQ(resnet.batches[0].n, 3u);
    EXPECT_NEAR(resnet.batches[0].mean_energy_per_sample_j, 0.05, 1e-12);
    EXPECT_NEAR(*resnet.batches[0].sd_j, 0.002, 1e-12);
    EXPECT_EQ(resnet.best_batch, 512);
    EXPECT_EQ(resnet.worst_batch, 32);
    EXPECT_NEAR(*resnet.worst_to_best, 5.0, 1e-9);
    EXPECT_EQ(resnet.method.label, "measured");
    EXPECT_EQ(lenet.best_batch, 256);
    EXPECT_NEAR(*lenet.worst_to_best, 2.0, 1e-9);

    const Guideline* g = find_guideline(a, "batch_size", "resnet18");
    ASSERT_TRUE(g) << dump(a);
    EXPECT_EQ(g->text,
              "batch 512 uses 5.0x less energy per sample than batch 32 for resnet18 (3 runs each; training, "
              "measured)");
    EXPECT_EQ(g->n, 6u);
    EXPECT_EQ(g->method.label, "measured");
    ASSERT_TRUE(
        find_guideline(a, "batch_size", "batch 256 uses 2.0x less energy per sample than batch 64 for lenet"))
        << dump(a);
}

TEST(AnalysisAnalyze, BatchGuidelineWithheldWithOneRunPerBatchOrATinyDifference) {
    std::vector<RunRow> rows = {row("resnet18", 32, 0.05, 0.9, 1), row("resnet18", 512, 0.01, 0.9, 2),
                                row("lenet", 64, 0.0040, 0.8, 3),  row("lenet", 64, 0.0040, 0.8, 4),
                                row("lenet", 256, 0.0038, 0.8, 5), row("lenet", 256, 0.0038, 0.8, 6)};
    const Analysis a = analyze(rows);
    EXPECT_FALSE(find_guideline(a, "batch_size", "")) << dump(a);
    const Withheld* resnet = find_withheld(a, "batch_size", "resnet18");
    ASSERT_TRUE(resnet) << dump(a);
    EXPECT_TRUE(contains(resnet->reason, "has 1 run")) << resnet->reason;
    EXPECT_TRUE(contains(resnet->reason, "at least 2")) << resnet->reason;
    ASSERT_TRUE(find_withheld(a, "batch_size", "lenet: energy per sample differs by only 5%")) << dump(a);
    // The optimal batch is still reported, with its ratio.
    ASSERT_EQ(a.optimal_batches.size(), 2u);
    EXPECT_NEAR(*a.optimal_batches[1].worst_to_best, 5.0, 1e-9);
}

TEST(AnalysisAnalyze, InferenceShareAndBreakEven) {
    std::vector<RunRow> rows;
    for (int k = 1; k <= 2; ++k) {
        RunRow r = row("bert", 16, 0.5, 0.9, k);
        r.training_energy_j = 1000.0;
        r.inference_energy_per_sample_j = 0.001;
        rows.push_back(r);
    }
    Options options;
    options.inferences = 3e6;
    const Analysis a = analyze(rows, options);
    ASSERT_EQ(a.inference_shares.size(), 1u);
    const InferenceShare& s = a.inference_shares[0];
    EXPECT_EQ(s.n, 2u);
    EXPECT_DOUBLE_EQ(s.inferences, 3e6);
    EXPECT_DOUBLE_EQ(s.training_energy_j, 1000.0);
    EXPECT_DOUBLE_EQ(s.lifetime_energy_j, 4000.0);
    EXPECT_DOUBLE_EQ(s.inference_share, 0.75);
    EXPECT_DOUBLE_EQ(*s.break_even_inferences, 1e6);
    EXPECT_EQ(s.method.label, "measured");
    const Guideline* g = find_guideline(a, "inference", "bert batch 16");
    ASSERT_TRUE(g) << dump(a);
    EXPECT_TRUE(contains(g->text, "inference is 75% of lifetime energy at 3 M inferences")) << g->text;
    EXPECT_TRUE(contains(g->text, "outweighs training after 1 M inferences")) << g->text;

    // At the break-even volume inference is exactly half; with no inference energy there is no break-even.
    options.inferences = 1e6;
    EXPECT_DOUBLE_EQ(analyze(rows, options).inference_shares[0].inference_share, 0.5);
    for (auto& r : rows) r.inference_energy_per_sample_j = 0.0;
    const Analysis zero = analyze(rows, options);
    ASSERT_EQ(zero.inference_shares.size(), 1u);
    EXPECT_FALSE(zero.inference_shares[0].break_even_inferences);
    EXPECT_DOUBLE_EQ(zero.inference_shares[0].inference_share, 0.0);
}

TEST(AnalysisAnalyze, ParetoFrontPerConfigurationAveragesRepeats) {
    std::vector<RunRow> rows = {
        row("a", 32, 0.40, 0.79, 1),  row("a", 32, 0.40, 0.81, 2),   // dominated by a/128
        row("a", 128, 0.06, 0.82, 3), row("a", 128, 0.06, 0.82, 4),  // cheapest
        row("b", 32, 0.80, 0.90, 5),  row("b", 32, 0.80, 0.90, 6),   // most accurate
        row("b", 128, 0.10, 0.88, 7), row("b", 128, 0.10, 0.88, 8),
    };
    const Analysis a = analyze(rows);
    const ParetoFront& f = a.pareto;
    EXPECT_EQ(f.grouping, "configuration");
    EXPECT_EQ(f.basis, "training");
    ASSERT_EQ(f.points.size(), 4u);
    // Sorted by energy per sample.
    EXPECT_EQ(f.points[0].label, "a batch 128");
    EXPECT_TRUE(f.points[0].on_front);
    EXPECT_EQ(f.points[1].label, "b batch 128");
    EXPECT_TRUE(f.points[1].on_front);
    EXPECT_EQ(f.points[2].label, "a batch 32");
    EXPECT_FALSE(f.points[2].on_front);
    EXPECT_NEAR(f.points[2].accuracy, 0.80, 1e-12);
    EXPECT_EQ(f.points[2].n, 2u);
    EXPECT_TRUE(f.points[3].on_front);
    ASSERT_TRUE(find_guideline(a, "pareto",
                               "a batch 128 is on the accuracy/energy Pareto front: 0.82 accuracy at "
                               "60.0 mJ/sample"))
        << dump(a);
    ASSERT_TRUE(find_guideline(a, "pareto", "a batch 32 is dominated: a batch 128 reaches 0.82")) << dump(a);

    Options per_run;
    per_run.per_configuration = false;
    const Analysis b = analyze(rows, per_run);
    EXPECT_EQ(b.pareto.grouping, "run");
    EXPECT_EQ(b.pareto.points.size(), 8u);
    // Run a/32 #2 (0.81 at 0.40) is not dominated by a/32 #1 but by a/128.
    for (const auto& p : b.pareto.points) {
        if (p.model == "a" && p.batch_size == 32) {
            EXPECT_FALSE(p.on_front) << p.label;
        }
    }
}

TEST(AnalysisAnalyze, DriverRankingAndCorrelationGuidelines) {
    std::vector<RunRow> rows;
    const double macs[] = {1e8, 2e8, 3e8, 5e8, 8e8, 1.3e9, 2.1e9, 3.4e9};
    for (int k = 0; k < 8; ++k) {
        RunRow r = row("m" + std::to_string(k), 128, 0.0, 0.9, k);
        r.macs = macs[k];
        r.params = 1e6 * (k % 2 == 0 ? 1 : 3);  // weakly related
        r.energy_per_sample_j = r.training_energy_per_sample_j = 1e-10 * macs[k] * (1 + 0.01 * (k % 3));
        rows.push_back(r);
    }
    const Analysis a = analyze(rows);
    ASSERT_EQ(a.drivers.size(), 2u);
    const DriverRanking& eps = a.drivers[0];
    EXPECT_EQ(eps.outcome, "energy_per_sample_j");
    ASSERT_FALSE(eps.drivers.empty());
    EXPECT_EQ(eps.drivers[0].variable, "macs");
    EXPECT_NEAR(eps.drivers[0].spearman, 1.0, 1e-12);
    EXPECT_EQ(eps.drivers[0].n, 8u);
    EXPECT_EQ(eps.drivers[0].direction, "rises with");
    EXPECT_TRUE(eps.drivers[0].supported);
    ASSERT_TRUE(
        find_guideline(a, "driver", "energy per sample rises with MACs (Spearman 1.00, 8 runs, measured)"))
        << dump(a);
    // params (1e6 or 3e6, alternating) correlate weakly with energy: ranked, but no guideline.
    for (const auto& d : eps.drivers) {
        if (d.variable == "params") {
            EXPECT_FALSE(d.supported);
        }
    }
    // batch size is the same in every run: left out of the matrix with the reason.
    bool batch_omitted = false;
    for (const auto& [variable, reason] : a.correlations.omitted)
        if (variable == "batch_size") batch_omitted = contains(reason, "constant");
    EXPECT_TRUE(batch_omitted);
    // No run has E_tr: its ranking is empty and says why; its guideline is withheld.
    EXPECT_TRUE(a.drivers[1].drivers.empty());
    ASSERT_TRUE(find_withheld(a, "driver", "training energy: 0 runs")) << dump(a);

    // Four runs are too few for a correlation guideline even with rho = 1.
    rows.resize(4);
    const Analysis few = analyze(rows);
    EXPECT_FALSE(find_guideline(few, "driver", "")) << dump(few);
    ASSERT_TRUE(find_withheld(few, "driver", "energy per sample: 4 runs with a value; at least 5"))
        << dump(few);
}

TEST(AnalysisAnalyze, CharacteristicsThatMoveTogetherShareOneGuideline) {
    std::vector<RunRow> rows;
    for (int k = 0; k < 6; ++k) {
        RunRow r = row("m" + std::to_string(k), 64, 0.01 * (k + 1), 0.9, k);
        r.params = 1e6 * (k + 1);
        r.macs = 1e8 * (k + 1) * (k + 1);
        rows.push_back(r);
    }
    const Analysis a = analyze(rows);
    std::size_t drivers = 0;
    for (const auto& g : a.guidelines) drivers += g.topic == "driver";
    EXPECT_EQ(drivers, 1u) << dump(a);
    ASSERT_TRUE(
        find_guideline(a, "driver",
                       "energy per sample rises with parameters and MACs (Spearman 1.00, 6 runs, measured; "
                       "these vary together in the runs)"))
        << dump(a);
}

TEST(AnalysisAnalyze, WeakCorrelationIsRankedButGivesNoGuideline) {
    std::vector<RunRow> rows;
    const double batch[] = {32, 64, 128, 256, 32, 64, 128, 256};
    const double energy[] = {0.3, 0.1, 0.4, 0.2, 0.2, 0.4, 0.1, 0.3};
    for (int k = 0; k < 8; ++k) rows.push_back(row("m", batch[k], energy[k], std::nullopt, k));
    const Analysis a = analyze(rows);
    ASSERT_FALSE(a.drivers[0].drivers.empty());
    EXPECT_FALSE(a.drivers[0].drivers[0].supported);
    EXPECT_FALSE(find_guideline(a, "driver", "")) << dump(a);
    ASSERT_TRUE(find_withheld(a, "driver", "is below the threshold")) << dump(a);
    // No accuracy anywhere: no Pareto front, said twice (notes and withheld).
    EXPECT_TRUE(a.pareto.points.empty());
    ASSERT_TRUE(find_withheld(a, "pareto", "no run has both accuracy and energy per sample")) << dump(a);
}

TEST(AnalysisAnalyze, CorrelationMatrixIsPairwiseComplete) {
    std::vector<RunRow> rows;
    const double batch[] = {32, 64, 128, 256, 512};
    const double energy[] = {0.5, 0.3, 0.35, 0.1, 0.05};
    const std::optional<double> accuracy[] = {0.8, std::nullopt, 0.85, 0.9, std::nullopt};
    for (int k = 0; k < 5; ++k) rows.push_back(row("m", batch[k], energy[k], accuracy[k], k));
    const Analysis a = analyze(rows);
    const CorrelationCell* all = a.correlations.find("energy_per_sample_j", "batch_size");
    ASSERT_TRUE(all);
    EXPECT_EQ(all->n, 5u);
    EXPECT_NEAR(*all->spearman, *spearman({32, 64, 128, 256, 512}, {0.5, 0.3, 0.35, 0.1, 0.05}), 1e-12);
    EXPECT_NEAR(*all->spearman, -0.9, 1e-12);  // by hand: sum d^2 = 38, 1 - 6*38/(5*24) = -0.9
    const CorrelationCell* some = a.correlations.find("accuracy", "energy_per_sample_j");
    ASSERT_TRUE(some);
    EXPECT_EQ(some->n, 3u);
    EXPECT_NEAR(*some->pearson, *pearson({0.8, 0.85, 0.9}, {0.5, 0.35, 0.1}), 1e-12);
    const CorrelationCell* diagonal = a.correlations.find("batch_size", "batch_size");
    EXPECT_NEAR(*diagonal->pearson, 1.0, 1e-12);
    EXPECT_FALSE(a.correlations.find("params", "batch_size"));  // no params at all: omitted
}

TEST(AnalysisAnalyze, EmptyAndSingleRunGivePartialResultsAndReasons) {
    const Analysis empty = analyze({});
    EXPECT_TRUE(empty.guidelines.empty());
    ASSERT_FALSE(empty.warnings.empty());
    EXPECT_EQ(empty.warnings[0], "no runs to analyse");
    EXPECT_FALSE(empty.withheld.empty());
    EXPECT_NO_THROW(to_json(empty).dump());

    const Analysis one = analyze({row("solo", 64, 0.01, 0.9, 1)});
    EXPECT_TRUE(one.guidelines.empty()) << dump(one);
    bool said = false;
    for (const auto& w : one.warnings) said = said || contains(w, "only one run");
    EXPECT_TRUE(said) << dump(one);
    EXPECT_TRUE(find_withheld(one, "batch_size", "solo: only batch 64 measured")) << dump(one);
    EXPECT_TRUE(find_withheld(one, "pareto", "only one configuration")) << dump(one);
    ASSERT_EQ(one.configurations.size(), 1u);
    EXPECT_EQ(one.configurations[0].n, 1u);
    EXPECT_FALSE(one.configurations[0].energy_per_sample_sd_j);
}

TEST(AnalysisAnalyze, NanAndMissingValuesAreTreatedAsMissing) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<RunRow> rows = {row("m", 32, 0.05, 0.9, 1), row("m", 32, nan, nan, 2),
                                row("m", 128, 0.01, 0.9, 3),
                                row("m", 128, 0.012, std::numeric_limits<double>::infinity(), 4)};
    rows.push_back(RunRow{});  // nothing at all
    rows.back().model = "";
    const Analysis a = analyze(rows);
    EXPECT_FALSE(a.runs[1].energy_per_sample_j);
    EXPECT_FALSE(a.runs[1].accuracy);
    EXPECT_FALSE(a.runs[3].accuracy);
    ASSERT_FALSE(a.optimal_batches.empty());
    const auto& batches = a.optimal_batches[0].batches;
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(batches[0].n, 1u);  // batch 32: the NaN run is left out
    EXPECT_NEAR(batches[0].mean_energy_per_sample_j, 0.05, 1e-12);
    EXPECT_EQ(batches[1].n, 2u);  // batch 128: an infinite accuracy does not drop the energy
    EXPECT_NEAR(batches[1].mean_energy_per_sample_j, 0.011, 1e-12);
    EXPECT_NEAR(*batches[1].mean_accuracy, 0.9, 1e-12);
    const std::string text = to_json(a).dump();
    EXPECT_EQ(text.find("NaN"), std::string::npos);
    EXPECT_EQ(text.find("nan"), std::string::npos);
    bool warned = false;
    for (const auto& w : a.warnings) warned = warned || contains(w, "without energy per sample");
    EXPECT_TRUE(warned) << dump(a);
}

TEST(AnalysisAnalyze, MethodIsCarriedIntoAggregatesAndGuidelines) {
    std::vector<RunRow> rows;
    for (int k = 0; k < 2; ++k) rows.push_back(row("m", 32, 0.05, 0.9, k));
    for (int k = 2; k < 4; ++k) {
        rows.push_back(row("m", 256, 0.01, 0.9, k));
        rows.back().training_method = {"modelled", 0.0};
        rows.back().method = {"modelled", 0.0};
    }
    const Analysis a = analyze(rows);
    EXPECT_EQ(a.method.label, "mixed");
    EXPECT_NEAR(*a.method.measured_share, 0.5, 1e-12);
    EXPECT_EQ(a.optimal_batches[0].batches[0].method.label, "measured");
    EXPECT_EQ(a.optimal_batches[0].batches[1].method.label, "modelled");
    EXPECT_EQ(a.optimal_batches[0].method.label, "mixed");
    const Guideline* g = find_guideline(a, "batch_size", "batch 256 uses 5.0x less");
    ASSERT_TRUE(g) << dump(a);
    EXPECT_EQ(g->method.label, "mixed");
    EXPECT_TRUE(contains(g->text, "mixed")) << g->text;
    bool warned = false;
    for (const auto& w : a.warnings) warned = warned || contains(w, "modelled");
    EXPECT_TRUE(warned);
    EXPECT_EQ(combine({}).label, "unknown");
    EXPECT_EQ(combine({{"measured", 1.0}, {"unknown", std::nullopt}}).label, "measured");
}

TEST(AnalysisAnalyze, PowerLimitGuideline) {
    std::vector<RunRow> rows;
    for (int k = 0; k < 4; ++k) {
        rows.push_back(row("m", 128, k < 2 ? 0.08 : 0.10, 0.9, k));
        rows.back().power_limit_w = k < 2 ? 200 : 300;
    }
    const Analysis a = analyze(rows);
    ASSERT_TRUE(
        find_guideline(a, "power_limit",
                       "a power limit of 200 W uses 20% less energy per sample than 300 W for m batch 128"))
        << dump(a);
    ASSERT_EQ(a.configurations.size(), 2u);
    EXPECT_EQ(a.configurations[0].label, "m batch 128 200 W");
}

TEST(AnalysisAnalyze, JsonHasEverySection) {
    std::vector<RunRow> rows;
    for (int k = 0; k < 6; ++k) rows.push_back(row("m", k < 3 ? 32 : 256, k < 3 ? 0.05 : 0.01, 0.9, k));
    const auto j = to_json(analyze(rows));
    EXPECT_EQ(j["schema"], "joulecast.analysis/1");
    for (const char* key :
         {"options", "method", "warnings", "runs", "configurations", "correlations", "drivers", "pareto",
          "optimal_batches", "inference_shares", "guidelines", "withheld"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["runs"].size(), 6u);
    EXPECT_EQ(j["runs"][0]["method"]["label"], "measured");
    EXPECT_TRUE(j["runs"][0]["inference_energy_j"].is_null());
    EXPECT_EQ(j["configurations"].size(), 2u);
    EXPECT_EQ(j["optimal_batches"][0]["best_batch"], 256.0);
    const auto& c = j["correlations"];
    const std::size_t k = c["variables"].size();
    EXPECT_EQ(c["spearman"].size(), k);
    EXPECT_EQ(c["n"].size(), k);
    EXPECT_EQ(c["units"].size(), k);
    EXPECT_FALSE(j["guidelines"].empty());
    EXPECT_TRUE(j["guidelines"][0].contains("evidence"));
    EXPECT_EQ(j["guidelines"][0]["method"]["label"], "measured");
}

}  // namespace
}  // namespace joulecast::analysis

namespace joulecast::analysis {
namespace {

// A grid's runs as `joulecast study` stores them: the zoo sends meta classes=10 and infers 1,024 samples.
RunRow study_row(const std::string& model, double batch, double energy_per_sample, double accuracy,
                 int repeat) {
    RunRow r = row(model, batch, energy_per_sample, accuracy, repeat);
    r.classes = 10;
    r.inference_samples = 1024;
    r.at_chance = at_chance_accuracy(r.accuracy, r.classes, r.inference_samples);
    return r;
}

TEST(AnalysisAnalyze, ChanceAccuracyLimitIsOneAndAHalfTimesChanceOrTheBinomialBound) {
    EXPECT_NEAR(chance_accuracy_limit(10, 1024.0), 0.15, 1e-12);
    EXPECT_NEAR(chance_accuracy_limit(2), 0.75, 1e-12);
    // A 50-sample test set: 0.1 + 3.09 sqrt(0.1 x 0.9 / 50) = 0.2311, above 0.15.
    EXPECT_NEAR(chance_accuracy_limit(10, 50.0), 0.1 + 3.09 * std::sqrt(0.09 / 50), 1e-12);
    EXPECT_TRUE(at_chance_accuracy(0.1006, 10.0, 1024.0));
    EXPECT_TRUE(at_chance_accuracy(0.15, 10.0, 1024.0));
    EXPECT_FALSE(at_chance_accuracy(0.16, 10.0, 1024.0));
    EXPECT_TRUE(at_chance_accuracy(12.0, 10.0, 1024.0));  // percent
    EXPECT_FALSE(at_chance_accuracy(0.1, std::nullopt));  // classes unknown: cannot tell
    EXPECT_FALSE(at_chance_accuracy(std::nullopt, 10.0));
}

TEST(AnalysisAnalyze, RunAtChanceAccuracyIsFlaggedAndNeverRecommended) {
    // lenet at batch 512 is the cheapest configuration but ends at chance (0.10): before chance was flagged
    // it was on the Pareto front and the recommended batch size for lenet.
    std::vector<RunRow> rows;
    int k = 0;
    for (int i = 0; i < 2; ++i) {
        rows.push_back(study_row("lenet", 32, 0.0040, 0.78, ++k));
        rows.push_back(study_row("lenet", 512, 0.0010, 0.10, ++k));
        rows.push_back(study_row("mlp", 32, 0.0300, 0.80, ++k));
        rows.push_back(study_row("mlp", 512, 0.0200, 0.74, ++k));
    }
    const Analysis a = analyze(rows);
    const ParetoFront& f = a.pareto;
    ASSERT_EQ(f.points.size(), 4u);
    const ParetoPoint& chance = f.points[0];  // sorted by energy: the cheapest first
    EXPECT_EQ(chance.label, "lenet batch 512");
    EXPECT_TRUE(chance.at_chance);
    EXPECT_FALSE(chance.on_front);
    for (std::size_t i = 1; i < f.points.size(); ++i)
        EXPECT_FALSE(f.points[i].at_chance) << f.points[i].label;
    // Without the chance point, lenet 32 (0.78 at 4 mJ) and mlp 32 (0.80 at 30 mJ) form the front.
    EXPECT_TRUE(f.points[1].on_front) << f.points[1].label;
    EXPECT_EQ(f.points[1].label, "lenet batch 32");
    bool noted = false;
    for (const auto& note : f.notes) noted = noted || contains(note, "at chance accuracy (at most 0.15)");
    EXPECT_TRUE(noted);
    for (const auto& g : a.guidelines) EXPECT_FALSE(contains(g.text, "lenet batch 512")) << g.text;
    EXPECT_FALSE(find_guideline(a, "batch_size", "for lenet")) << dump(a);
    EXPECT_TRUE(find_withheld(a, "pareto", "lenet batch 512 is at chance accuracy")) << dump(a);
    EXPECT_TRUE(find_withheld(a, "batch_size",
                              "lenet: batch 512 uses the least energy per sample but its "
                              "accuracy (0.1) is at chance"))
        << dump(a);
    // mlp's batch guideline stands: 0.74 is far above chance.
    EXPECT_TRUE(find_guideline(a, "batch_size", "for mlp")) << dump(a);
    const auto json = to_json(a);
    EXPECT_TRUE(json["pareto"]["points"][0]["at_chance"].get<bool>());

    // Two study configurations that differ only in what the rows do not show (here the optimiser, in the
    // config hash tag) are two points: averaged together, the one at chance (0.10) and the other (0.61) would
    // make one point at 0.36 that hides the chance flag.
    std::vector<RunRow> optimisers = {study_row("lenet", 512, 0.007, 0.10, 1),
                                      study_row("lenet", 512, 0.007, 0.61, 2),
                                      study_row("lenet", 32, 0.004, 0.75, 3)};
    optimisers[0].tags["config"] = "sgd-hash";
    optimisers[1].tags["config"] = "adam-hash";
    optimisers[2].tags["config"] = "other-hash";
    Options one_run;
    one_run.min_runs_per_group = 1;
    const Analysis b = analyze(optimisers, one_run);
    ASSERT_EQ(b.pareto.points.size(), 3u);
    std::size_t chance_points = 0;
    for (const auto& p : b.pareto.points) chance_points += p.at_chance ? 1 : 0;
    EXPECT_EQ(chance_points, 1u);
    EXPECT_FALSE(json["pareto"]["points"][1]["at_chance"].get<bool>());
}

}  // namespace
}  // namespace joulecast::analysis
