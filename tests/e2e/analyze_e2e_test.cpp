// End to end: eight real runs (2 models x 2 batch sizes x 2 repeats) under a fake GPU whose constant power
// differs per configuration, each a shell workload marking train and infer phases, meta and accuracy with
// `joulecast mark`; then `joulecast analyze` over the store. Energy per sample is P x t / samples, so the
// cheap and dear configurations are known in advance: batch 128 runs 10x the samples at 1.25-1.5x the power.
// Needs the dispatcher line for `analyze` in src/cli/main.cpp.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "store/run_store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using store::RunStore;

namespace {

using test::ProcessOptions;
using test::ProcessResult;
using test::run_process;
using test::TempDir;

struct Config {
    std::string model;
    int batch;
    double power_w;
    int train_samples;
    double accuracy;
    double params, macs;
};

// m1 b32 ~0.6 J/sample, m1 b128 ~0.09, m2 b32 ~1.2, m2 b128 ~0.15 (train phase ~0.3 s).
const Config configs[] = {
    {"m1", 32, 200, 100, 0.80, 1e6, 1e8},
    {"m1", 128, 300, 1000, 0.82, 1e6, 1e8},
    {"m2", 32, 400, 100, 0.90, 4e6, 8e8},
    {"m2", 128, 500, 1000, 0.88, 4e6, 8e8},
};

ProcessOptions env_for(const TempDir& dir, double power_w) {
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    options.env["JOULECAST_NVML_LIBRARY"] = FAKE_NVML_LIBRARY;
    options.env["FAKE_NVML_SCRIPT"] = "gpus=1;gpu0.power=" + std::to_string(power_w) + ";gpu0.utilisation=80";
    options.env["JOULECAST_PROC_ROOT"] = dir.str() + "/no-proc";  // the fake GPU is the only energy source
    return options;
}

ProcessResult measure(const TempDir& dir, const Config& c, int repeat, const std::string& study) {
    const std::string mark = std::string(JOULECAST_BINARY) + " mark";
    char meta[256];
    std::snprintf(meta, sizeof meta, " meta model=%s params=%.0f macs=%.0f batch_size=%d dataset=toy",
                  c.model.c_str(), c.params, c.macs, c.batch);
    const std::string script = mark + meta + " && " + mark + " begin train && sleep 0.3 && " + mark +
                               " end train samples=" + std::to_string(c.train_samples) + " && " + mark +
                               " begin infer && sleep 0.1 && " + mark + " end infer samples=500 && " + mark +
                               " metric accuracy=" + std::to_string(c.accuracy);
    return run_process(
        {JOULECAST_BINARY, "run", "--quiet", "--name",
         c.model + "-b" + std::to_string(c.batch) + "-r" + std::to_string(repeat), "--tag", "study=" + study,
         "--tag", "model=" + c.model, "--tag", "batch_size=" + std::to_string(c.batch), "--tag",
         "repeat=" + std::to_string(repeat), "--", "sh", "-c", script},
        env_for(dir, c.power_w));
}

nlohmann::json analyze_json(const TempDir& dir, std::vector<std::string> extra) {
    std::vector<std::string> argv = {JOULECAST_BINARY, "analyze", "--db", dir.str() + "/runs.db", "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run_process(argv, env_for(dir, 100));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return nlohmann::json::object();
    return nlohmann::json::parse(r.out);
}

const nlohmann::json* find_by(const nlohmann::json& array, const std::string& key,
                              const nlohmann::json& value) {
    for (const auto& item : array)
        if (item.contains(key) && item[key] == value) return &item;
    return nullptr;
}

bool any_text(const nlohmann::json& array, const std::string& key, const std::string& part) {
    for (const auto& item : array)
        if (item[key].get<std::string>().find(part) != std::string::npos) return true;
    return false;
}

TEST(AnalysisEndToEnd, StudyOfEightRunsGivesKnownOptimaFrontAndGuidelines) {
    TempDir dir;
    // The eight study runs and one run of another study, concurrently (each mostly sleeps).
    std::vector<ProcessResult> results(9);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] { results[i] = measure(dir, configs[i % 4], i / 4 + 1, "grid"); });
    threads.emplace_back([&] { results[8] = measure(dir, configs[0], 1, "other"); });
    for (auto& t : threads) t.join();
    for (const auto& r : results) ASSERT_EQ(r.exit_code, 0) << r.err;

    auto a = analyze_json(dir, {"--study", "grid", "--inferences", "1000"});
    ASSERT_EQ(a["schema"], "joulecast.analysis/1");
    ASSERT_EQ(a["runs"].size(), 8u) << a["warnings"].dump();
    EXPECT_EQ(a["method"]["label"], "measured");

    // Each run's energy per sample is its stored E_tr / training samples, and P x t / samples.
    RunStore store(dir.str() + "/runs.db");
    for (const auto& run : a["runs"]) {
        const auto result = store.get(run["id"].get<std::string>());
        const double samples = run["batch_size"] == 32 ? 100 : 1000;
        EXPECT_EQ(run["basis"], "training");
        EXPECT_EQ(run["training_samples"], samples);
        EXPECT_NEAR(run["energy_per_sample_j"].get<double>(), result.training_energy_j.value() / samples,
                    1e-12);
        const double power =
            run["model"] == "m1" ? (samples == 100 ? 200 : 300) : (samples == 100 ? 400 : 500);
        const double train_s = run["training_time_s"];
        EXPECT_GT(train_s, 0.29);
        EXPECT_NEAR(run["energy_per_sample_j"].get<double>(), power * train_s / samples,
                    0.02 * power * train_s / samples);
        EXPECT_NEAR(run["inference_energy_per_sample_j"].get<double>(),
                    result.inference_energy_j.value() / 500.0, 1e-12);
        EXPECT_EQ(run["method"]["label"], "measured");
        EXPECT_EQ(run["device"], "Fake GPU 0");
        EXPECT_DOUBLE_EQ(run["macs_per_param"].get<double>(), 100.0 + 100.0 * (run["model"] == "m2"));
        EXPECT_DOUBLE_EQ(run["gpu_utilisation_pct"].get<double>(), 80.0);
        EXPECT_EQ(run["tags"]["study"], "grid");
    }

    // Optimal batch: 128 for both models, two runs per batch size, 5x to 9x cheaper than 32.
    ASSERT_EQ(a["optimal_batches"].size(), 2u);
    for (const auto& o : a["optimal_batches"]) {
        EXPECT_EQ(o["best_batch"], 128.0) << o.dump();
        EXPECT_EQ(o["worst_batch"], 32.0);
        EXPECT_GT(o["worst_to_best"].get<double>(), 4.0);
        EXPECT_LT(o["worst_to_best"].get<double>(), 10.0);
        for (const auto& b : o["batches"]) EXPECT_EQ(b["n"], 2);
        EXPECT_EQ(o["method"]["label"], "measured");
    }
    EXPECT_TRUE(any_text(a["guidelines"], "text", "less energy per sample than batch 32 for m1 (2 runs each"))
        << a["guidelines"].dump(2);
    EXPECT_TRUE(
        any_text(a["guidelines"], "text", "less energy per sample than batch 32 for m2 (2 runs each"));

    // Energy per sample falls with batch size: Spearman -0.87 over 8 runs (every batch-128 run is cheaper
    // than every batch-32 run), strong enough for a guideline.
    const auto* eps = find_by(a["drivers"], "outcome", "energy_per_sample_j");
    ASSERT_TRUE(eps);
    const auto* batch = find_by((*eps)["drivers"], "variable", "batch_size");
    ASSERT_TRUE(batch) << eps->dump(2);
    EXPECT_NEAR((*batch)["spearman"].get<double>(), -32.0 / std::sqrt(32.0 * 42.0), 1e-9);
    EXPECT_EQ((*batch)["n"], 8);
    EXPECT_TRUE((*batch)["supported"].get<bool>());
    EXPECT_TRUE(
        any_text(a["guidelines"], "text", "energy per sample falls with batch size (Spearman -0.87, 8 runs"));

    // Pareto per configuration: m1 b32 (0.80 at ~0.6 J) is dominated by m1 b128 (0.82 at ~0.09 J).
    EXPECT_EQ(a["pareto"]["grouping"], "configuration");
    ASSERT_EQ(a["pareto"]["points"].size(), 4u);
    std::map<std::string, bool> on_front;
    for (const auto& p : a["pareto"]["points"]) on_front[p["label"]] = p["on_front"];
    EXPECT_FALSE(on_front["m1 batch 32"]);
    EXPECT_TRUE(on_front["m1 batch 128"]);
    EXPECT_TRUE(on_front["m2 batch 128"]);
    EXPECT_TRUE(on_front["m2 batch 32"]);

    // Inference share at N = 1000: break-even = E_tr / e_in = 500 x t_train / t_infer, about 1500.
    ASSERT_EQ(a["inference_shares"].size(), 4u);
    for (const auto& s : a["inference_shares"]) {
        const double e_tr = s["training_energy_j"], e_in = s["inference_energy_per_sample_j"];
        EXPECT_NEAR(s["break_even_inferences"].get<double>(), e_tr / e_in, 1e-6);
        EXPECT_NEAR(s["inference_share"].get<double>(), 1000 * e_in / (e_tr + 1000 * e_in), 1e-12);
        EXPECT_GT(s["break_even_inferences"].get<double>(), 700);
        EXPECT_LT(s["break_even_inferences"].get<double>(), 2200);
    }

    // The terminal form says the same, with the method.
    auto text = run_process({JOULECAST_BINARY, "analyze", "--db", dir.str() + "/runs.db", "--study", "grid"},
                            env_for(dir, 100));
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("Guidelines"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("batch 128 uses"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("measured"), std::string::npos);
    EXPECT_NE(text.out.find("Pareto"), std::string::npos);

    // One run only (the other study): partial results and reasons, no guideline, exit 0.
    auto one = analyze_json(dir, {"--study", "other"});
    ASSERT_EQ(one["runs"].size(), 1u);
    EXPECT_TRUE(one["guidelines"].empty());
    EXPECT_FALSE(one["withheld"].empty());
    bool said = false;
    for (const auto& w : one["warnings"])
        said = said || w.get<std::string>().find("only one run") != std::string::npos;
    EXPECT_TRUE(said) << one["warnings"].dump();
}

TEST(AnalysisEndToEnd, EmptyStoreAndBadOptions) {
    TempDir dir;
    // No store file at all: an empty analysis, exit 0, and no file created.
    auto empty = run_process({JOULECAST_BINARY, "analyze", "--db", dir.str() + "/none.db", "--json"},
                             env_for(dir, 100));
    ASSERT_EQ(empty.exit_code, 0) << empty.err;
    auto j = nlohmann::json::parse(empty.out);
    EXPECT_TRUE(j["runs"].empty());
    EXPECT_TRUE(j["guidelines"].empty());
    EXPECT_NE(j["warnings"].dump().find("no run store"), std::string::npos) << j["warnings"].dump();
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "none.db"));
    auto text = run_process({JOULECAST_BINARY, "analyze", "--db", dir.str() + "/none.db"}, env_for(dir, 100));
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_NE(text.out.find("no run store"), std::string::npos) << text.out;

    for (const std::vector<std::string>& bad :
         std::vector<std::vector<std::string>>{{"--inferences", "-5"},
                                               {"--inferences", "lots"},
                                               {"--bogus"},
                                               {"--status", "happy"},
                                               {"--since", "yesterday-ish"},
                                               {"stray"},
                                               {"--tag", "=v"},
                                               {"--limit", "0"}}) {
        std::vector<std::string> argv = {JOULECAST_BINARY, "analyze", "--db", dir.str() + "/none.db"};
        argv.insert(argv.end(), bad.begin(), bad.end());
        auto r = run_process(argv, env_for(dir, 100));
        EXPECT_EQ(r.exit_code, 2) << bad[0] << ": " << r.err;
        EXPECT_NE(r.err.find("usage: joulecast analyze"), std::string::npos) << r.err;
    }
}

}  // namespace
}  // namespace joulecast
