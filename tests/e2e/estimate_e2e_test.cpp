// End to end: `joulecast estimate` with the real binary: a calibration built from a store of real runs (fake
// NVML, a shell child marking phases, samples and meta with `joulecast mark`), the shipped H100 calibration,
// the fallback for an uncalibrated GPU, --validate, and bad inputs.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <thread>

#include <nlohmann/json.hpp>

#include "forecast/calibration_sources.hpp"
#include "store/run_store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using forecast::EnergyEstimate;
using forecast::EnergyTask;
using forecast::estimate_energy;
using forecast::EstimatorOptions;
using forecast::fit_energy_model;
using forecast::ModelCharacteristics;
using forecast::parse_shipped_calibration;
using forecast::shipped_calibrations;

using store::RunStore;

namespace {

using test::ProcessOptions;
using test::ProcessResult;
using test::run_process;
using test::TempDir;

const char* const h100 = "NVIDIA H100 80GB HBM3";

ProcessOptions env_for(const TempDir& dir, const std::string& gpu_name = "", double power_w = 100) {
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    if (!gpu_name.empty()) {
        options.env["JOULECAST_NVML_LIBRARY"] = FAKE_NVML_LIBRARY;
        options.env["FAKE_NVML_SCRIPT"] =
            "gpus=1;gpu0.name=" + gpu_name + ";gpu0.power=" + std::to_string(power_w);
    }
    // A CPU that no table knows (written by each test), and no RAPL: the fake GPU is the only energy source.
    options.env["JOULECAST_PROC_ROOT"] = dir.str() + "/proc";
    return options;
}

ProcessResult estimate(const TempDir& dir, std::vector<std::string> args, const std::string& gpu = "") {
    std::vector<std::string> argv = {JOULECAST_BINARY, "estimate"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, env_for(dir, gpu));
}

nlohmann::json parse(const ProcessResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return nlohmann::json::object();
    return nlohmann::json::parse(r.out);
}

// The library's own estimate from the shipped H100 calibration, for comparison with the CLI's.
EnergyEstimate library_estimate(EnergyTask task, const ModelCharacteristics& stats, double samples,
                                double scale = 1) {
    auto shipped = shipped_calibrations();
    EXPECT_TRUE(shipped);
    for (auto s : *shipped) {
        if (s.calibration.device != h100) continue;
        for (auto& r : s.calibration.rows)
            for (auto* v : {&r.train_energy_per_sample_j, &r.infer_energy_per_sample_j, &r.train_energy_j,
                            &r.infer_energy_j})
                if (*v) **v *= scale;
        EstimatorOptions options;
        options.memory_terms = stats.knows_memory();  // as the command does for a model without them
        auto model = fit_energy_model(s.calibration, task, options);
        EXPECT_TRUE(model) << model.error();
        auto e = estimate_energy(*model, stats, samples, 0.9);
        EXPECT_TRUE(e) << e.error();
        return *e;
    }
    ADD_FAILURE() << "no shipped H100 calibration";
    return {};
}

TEST(EstimateEndToEnd, ShippedH100GivesTheLibraryNumbersLabelledAsAModel) {
    TempDir dir;
    dir.write("proc/cpuinfo", "processor\t: 0\nmodel name\t: Imaginary CPU 1\n");
    auto j = parse(estimate(dir, {"--params", "11173962", "--macs", "555422720", "--batch", "128",
                                  "--samples-per-epoch", "50000", "--epochs", "10", "--inferences", "1000000",
                                  "--device", h100, "--intensity", "400", "--json"}));
    ASSERT_EQ(j["schema"], "joulecast.estimate/1");
    EXPECT_EQ(j["estimate"], "model");
    EXPECT_EQ(j["device"], h100);
    EXPECT_EQ(j["calibration"]["origin"], "shipped");
    EXPECT_EQ(j["calibration"]["file"], "data/calibration/nvidia-h100-80gb-hbm3.json");
    EXPECT_EQ(j["calibration"]["measured_on"], "2026-11-26");
    EXPECT_EQ(j["calibration"]["rows"], 18);
    EXPECT_TRUE(j["calibration"]["fallback"].is_null());

    const ModelCharacteristics stats{11173962, 555422720, 128};
    const auto train = library_estimate(EnergyTask::training, stats, 500000);
    const auto infer = library_estimate(EnergyTask::inference, stats, 1000000);
    EXPECT_NEAR(j["training"]["energy_per_sample_j"].get<double>(), train.energy_per_sample_j, 1e-12);
    // The total is steady-state energy per sample × samples plus the fitted warm-up per run.
    EXPECT_GT(train.warmup_j, 0);
    EXPECT_NEAR(j["training"]["warmup_j"].get<double>(), train.warmup_j, 1e-9);
    EXPECT_EQ(j["training"]["warmup_rows"], 18);
    EXPECT_NEAR(j["training"]["energy_j"].get<double>(), train.energy_per_sample_j * 500000 + train.warmup_j,
                1e-6);
    EXPECT_NEAR(j["training"]["energy_low_j"].get<double>(), *train.total_low_j, 1e-6);
    EXPECT_NEAR(j["inference"]["energy_j"].get<double>(), infer.energy_per_sample_j * 1e6, 1e-6);
    EXPECT_LT(j["training"]["low_j"].get<double>(), j["training"]["energy_per_sample_j"].get<double>());
    EXPECT_GT(j["training"]["high_j"].get<double>(), j["training"]["energy_per_sample_j"].get<double>());
    // No durations in the shipped data: time is energy / the study's mean power, and says so.
    EXPECT_NE(j["training"]["time_method"].get<std::string>().find("ROUGH"), std::string::npos);
    EXPECT_NEAR(j["training"]["time_s"].get<double>(), *train.total_energy_j / 266.4, 1e-6);
    // CO2e = kWh x 400 g/kWh for E_tr + E_in.
    const double total = *train.total_energy_j + *infer.total_energy_j;
    EXPECT_NEAR(j["carbon"]["co2e_g"].get<double>(), total / 3.6e6 * 400, 1e-9);

    // The text form says the same, and that it is a model estimate.
    auto text = estimate(
        dir, {"--params", "11173962", "--macs", "555422720", "--batch", "128", "--device", "h100 80gb"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("MODEL ESTIMATE"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("shipped data/calibration/nvidia-h100-80gb-hbm3.json"), std::string::npos);
    EXPECT_NE(text.out.find("measured 2026-11-26"), std::string::npos);

    // With its activations and MAC layers (resnet18's), training uses the fit with memory terms.
    auto memory =
        parse(estimate(dir, {"--params", "11173962", "--macs", "555422720", "--activations", "614410",
                             "--mac-layers", "21", "--batch", "128", "--samples-per-epoch", "50000",
                             "--epochs", "10", "--device", h100, "--json"}));
    const ModelCharacteristics full{11173962, 555422720, 128, 614410, 21};
    const auto train_memory = library_estimate(EnergyTask::training, full, 500000);
    EXPECT_NEAR(memory["training"]["energy_per_sample_j"].get<double>(), train_memory.energy_per_sample_j,
                1e-12);
    EXPECT_NE(memory["training"]["fit"].get<std::string>().find("e_act*activations"), std::string::npos)
        << memory["training"]["fit"];
    EXPECT_EQ(memory["model"]["activations"], 614410);
    EXPECT_EQ(memory["model"]["mac_layers"], 21);
    EXPECT_TRUE(j["model"]["activations"].is_null());
    auto half = estimate(dir, {"--params", "1e6", "--macs", "1e8", "--activations", "1e5", "--batch", "8"});
    EXPECT_EQ(half.exit_code, 2);
    EXPECT_NE(half.err.find("--activations and --mac-layers go together"), std::string::npos) << half.err;
}

TEST(EstimateEndToEnd, ThisMachinesGpuIsTheDefaultDevice) {
    TempDir dir;
    dir.write("proc/cpuinfo", "processor\t: 0\nmodel name\t: Imaginary CPU 1\n");
    auto j = parse(estimate(dir, {"--params", "1e6", "--macs", "1e8", "--batch", "64", "--json"}, h100));
    EXPECT_EQ(j["device"], h100);
    EXPECT_NE(j["device_from"].get<std::string>().find("GPU"), std::string::npos);
    EXPECT_EQ(j["calibration"]["origin"], "shipped");
}

TEST(EstimateEndToEnd, UncalibratedGpuSaysWhatItFallsBackTo) {
    TempDir dir;
    dir.write("proc/cpuinfo", "processor\t: 0\nmodel name\t: Imaginary CPU 1\n");
    auto r = estimate(dir, {"--params", "11173962", "--macs", "555422720", "--batch", "128",
                            "--samples-per-epoch", "1000", "--device", "NVIDIA H100 PCIe", "--json"});
    auto j = parse(r);
    EXPECT_NE(r.err.find("no calibration for 'NVIDIA H100 PCIe'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("falling back"), std::string::npos) << r.err;
    EXPECT_EQ(j["calibration"]["origin"], "scaled");
    EXPECT_EQ(j["calibration"]["reference_device"], h100);
    EXPECT_DOUBLE_EQ(j["calibration"]["energy_scale"].get<double>(), 0.5);
    const auto scaled = library_estimate(EnergyTask::training, {11173962, 555422720, 128}, 1000, 0.5);
    EXPECT_NEAR(j["training"]["energy_per_sample_j"].get<double>(), scaled.energy_per_sample_j, 1e-12);
}

TEST(EstimateEndToEnd, ValidateShippedH100PrintsErrorPerArchitecture) {
    TempDir dir;
    dir.write("proc/cpuinfo", "processor\t: 0\nmodel name\t: Imaginary CPU 1\n");
    auto r = estimate(dir, {"--validate", "--device", h100});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* part : {"training energy per sample: MAPE", "total energy MAPE", "resnet18", "vgg19",
                             "lenet", "mobilenetv2", "simpledla", "preactresnet18"})
        EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
    auto j = parse(estimate(dir, {"--validate", "--device", h100, "--json"}));
    ASSERT_EQ(j["schema"], "joulecast.estimate-validation/1");
    ASSERT_GE(j["validations"].size(), 2u);
    EXPECT_EQ(j["validations"][0]["what"], "training energy");
    // resnet18 and preactresnet18 are twins: one group of six rows.
    ASSERT_EQ(j["validations"][0]["groups"].size(), 5u);
    EXPECT_NE(r.out.find("preactresnet18+resnet18"), std::string::npos) << r.out;
    EXPECT_TRUE(j["validations"][0]["mape_total_energy_pct"].is_number());
}

// Three architectures x two batch sizes measured for real under a fake GPU; energy per sample P x t / n.
TEST(EstimateEndToEnd, CalibrationFromStoredRunsOnThisDevice) {
    TempDir dir;
    dir.write("proc/cpuinfo", "processor\t: 0\nmodel name\t: Imaginary CPU 1\n");
    struct Config {
        const char* model;
        double params, macs;
        int batch, samples;
        double power_w;
    };
    const Config configs[] = {
        {"a", 1e5, 1e6, 32, 100, 150},  {"a", 1e5, 1e6, 128, 400, 200}, {"b", 1e6, 1e8, 32, 100, 300},
        {"b", 1e6, 1e8, 128, 400, 400}, {"c", 1e7, 1e9, 32, 100, 500},  {"c", 1e7, 1e9, 128, 400, 600},
    };
    const std::string gpu = "Calibrated Test GPU";
    const std::string mark = std::string(JOULECAST_BINARY) + " mark";
    std::vector<ProcessResult> results(std::size(configs));
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < std::size(configs); ++i) {
        threads.emplace_back([&, i] {
            const Config& c = configs[i];
            char meta[200];
            std::snprintf(meta, sizeof meta, " meta model=%s params=%.0f macs=%.0f batch_size=%d", c.model,
                          c.params, c.macs, c.batch);
            const std::string script = mark + meta + " && " + mark + " begin train && sleep 0.3 && " + mark +
                                       " end train samples=" + std::to_string(c.samples) + " && " + mark +
                                       " begin infer && sleep 0.1 && " + mark + " end infer samples=50";
            results[i] = run_process({JOULECAST_BINARY, "run", "--quiet", "--", "sh", "-c", script},
                                     env_for(dir, gpu, c.power_w));
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) ASSERT_EQ(r.exit_code, 0) << r.err;

    auto j = parse(estimate(dir, {"--params", "1e6", "--macs", "1e8", "--batch", "64", "--samples-per-epoch",
                                  "1000", "--device", gpu, "--json"}));
    EXPECT_EQ(j["calibration"]["origin"], "store");
    EXPECT_EQ(j["calibration"]["rows"], 6);
    EXPECT_EQ(j["calibration"]["architectures"].size(), 3u);
    // Config b's J/sample lies between its batch-32 and batch-128 measurements: ~300x0.3/100 and
    // ~400x0.3/400.
    const double eps = j["training"]["energy_per_sample_j"];
    EXPECT_GT(eps, 0.25);
    EXPECT_LT(eps, 1.2);
    // Stored runs carry phase durations, so time is fitted, not derived from power.
    EXPECT_NE(j["training"]["time_method"].get<std::string>().find("fitted"), std::string::npos)
        << j["training"]["time_method"];
    EXPECT_GT(j["training"]["time_s"].get<double>(), 0.1);

    auto v = estimate(dir, {"--validate", "--device", gpu});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    EXPECT_NE(v.out.find("stored runs in"), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("training time per sample"), std::string::npos) << v.out;

    // The same calibration saved in the shipped form loads as a shipped calibration would, row for row.
    const std::string saved = dir.str() + "/saved.json";
    auto w = estimate(dir, {"--save-calibration", saved, "--device", gpu});
    ASSERT_EQ(w.exit_code, 0) << w.err;
    EXPECT_NE(w.out.find("6 rows, 3 architectures"), std::string::npos) << w.out;
    std::ifstream in(saved);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto loaded = parse_shipped_calibration("saved.json", text);
    ASSERT_TRUE(loaded) << loaded.error();
    EXPECT_EQ(loaded->calibration.device, gpu);
    ASSERT_EQ(loaded->calibration.rows.size(), 6u);
    for (const auto& row : loaded->calibration.rows) {
        ASSERT_TRUE(row.train_energy_per_sample_j.has_value());
        EXPECT_GT(*row.train_energy_per_sample_j, 0);
    }
    EXPECT_FALSE(loaded->measured_on.empty());
    EXPECT_EQ(estimate(dir, {"--save-calibration", saved, "--device", "No Such GPU"}).exit_code, 1);
}

TEST(EstimateEndToEnd, BadInputsGiveClearMessagesAndNonZeroExits) {
    TempDir dir;
    dir.write("proc/cpuinfo", "processor\t: 0\nmodel name\t: Imaginary CPU 1\n");
    const std::vector<std::string> model = {"--params", "1e6", "--macs", "1e8", "--batch", "64"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = model;
        args.insert(args.end(), extra.begin(), extra.end());
        return estimate(dir, args);
    };
    auto r = with({"--samples-per-epoch", "100", "--epochs", "0", "--device", h100});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--epochs: expected a positive whole number, got '0'"), std::string::npos) << r.err;

    r = with({"--device", "Imaginary Accelerator 9000"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no calibration for 'Imaginary Accelerator 9000'"), std::string::npos) << r.err;

    r = estimate(dir, {"nosuchmodel", "--batch", "64", "--device", h100});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("nosuchmodel"), std::string::npos) << r.err;

    r = estimate(dir, {dir.str() + "/missing.onnx", "--batch", "64", "--device", h100});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("missing.onnx"), std::string::npos) << r.err;

    r = estimate(dir, {"--params", "1e6", "--macs", "1e8", "--device", h100});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--batch"), std::string::npos) << r.err;

    // Counts beyond any model are refused with the bound, not estimated into 60-digit figures.
    r = estimate(dir, {"--params", "1e300", "--macs", "1e8", "--batch", "64", "--device", h100});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--params: 1e300 is beyond any model (at most 1e+15"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    r = estimate(dir, {"--params", "1e6", "--macs", "1e19", "--batch", "64", "--device", h100});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--macs: 1e19 is beyond any model"), std::string::npos) << r.err;

    r = estimate(dir, {"--params", "1e6", "--batch", "64"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--params and --macs go together"), std::string::npos) << r.err;

    // An empty store on a machine whose CPU has no calibration (the default device): no estimate, and why.
    { RunStore store(dir.str() + "/runs.db"); }
    r = with({});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no calibration for 'Imaginary CPU 1'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("no stored runs"), std::string::npos) << r.err;
    r = estimate(dir, {"--validate"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no calibration for 'Imaginary CPU 1'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace joulecast
