// The joulecast-zoo program: exit statuses and messages, `models` and `inspect` JSON, and a tiny synthetic
// training job under the real `joulecast run --json`, whose result must hold its phases, epochs, meta and
// metrics.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace {

using joulecast::test::ProcessOptions;
using joulecast::test::ProcessResult;
using joulecast::test::run_process;
using joulecast::test::TempDir;
using nlohmann::json;

ProcessResult zoo(std::vector<std::string> args, const TempDir& dir) {
    args.insert(args.begin(), JOULECAST_ZOO_BINARY);
    ProcessOptions options;
    options.env = joulecast::test::isolated_env(dir.str());
    options.env["JOULECAST_SOCKET"] = "";
    options.env["OMP_NUM_THREADS"] = "1";
    return run_process(args, options);
}

// clang-format off
const std::vector<std::string> tiny_job = {
    "train", "--model", "mlp", "--dataset", "synthetic", "--input", "1x8x8", "--classes", "4",
    "--train-samples", "64", "--test-samples", "32", "--batch-size", "16", "--epochs", "2", "--threads", "1",
    "--quiet"};
// clang-format on

TEST(ZooCli, TrainsUnderJoulecastRunWithPhasesEpochsMetaAndMetrics) {
    TempDir dir;
    std::string result_path = dir.str() + "/result.json";
    std::vector<std::string> argv = {JOULECAST_BINARY, "run", "--quiet",           "--json",
                                     result_path,      "--",  JOULECAST_ZOO_BINARY};
    argv.insert(argv.end(), tiny_job.begin(), tiny_job.end());
    ProcessOptions options;
    options.env = joulecast::test::isolated_env(dir.str());
    ProcessResult run = run_process(argv, options);
    ASSERT_EQ(run.exit_code, 0) << run.err << run.out;

    std::ifstream in(result_path);
    ASSERT_TRUE(in.good()) << run.err;
    json result = json::parse(in);
    EXPECT_EQ(result["schema"], "joulecast.run/2");
    EXPECT_EQ(result["exit_code"], 0);

    int train_phases = 0, infer_phases = 0;
    for (const auto& phase : result["phases"]) {
        if (phase["name"] == "train") {
            ++train_phases;
            EXPECT_EQ(phase["samples"], 64) << phase.dump();
        } else if (phase["name"] == "infer") {
            ++infer_phases;
            EXPECT_EQ(phase["samples"], 32) << phase.dump();
        }
    }
    EXPECT_EQ(train_phases, 2) << result["phases"].dump();
    EXPECT_EQ(infer_phases, 1) << result["phases"].dump();

    ASSERT_EQ(result["epochs"].size(), 2u) << result["epochs"].dump();
    EXPECT_EQ(result["epochs"][0]["n"], 1);
    EXPECT_EQ(result["epochs"][1]["n"], 2);
    EXPECT_EQ(result["epochs"][0]["samples"], 64);
    EXPECT_EQ(result["epochs"][1]["samples"], 64);

    // The params and MACs sent as meta match what `inspect` computes for the same shape.
    ProcessResult inspect = zoo({"inspect", "mlp", "--input", "1x8x8", "--classes", "4", "--json"}, dir);
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    json stats = json::parse(inspect.out);
    const auto& meta = result["meta"];
    EXPECT_EQ(meta.value("model", ""), "mlp");
    EXPECT_EQ(meta.value("params", ""), std::to_string(stats["params"].get<long long>()));
    EXPECT_EQ(meta.value("macs", ""), std::to_string(stats["macs"].get<long long>()));
    // MLP at 1x8x8 with 4 classes: linear outputs 512 + 512 + 4 = 1,028 in 3 calls.
    EXPECT_EQ(stats["activations"], 1'028);
    EXPECT_EQ(stats["mac_layers"], 3);
    EXPECT_EQ(meta.value("activations", ""), "1028");
    EXPECT_EQ(meta.value("mac_layers", ""), "3");
    EXPECT_EQ(meta.value("batch_size", ""), "16");
    EXPECT_EQ(meta.value("dataset", ""), "synthetic");

    ASSERT_TRUE(result["metrics"].contains("accuracy")) << result["metrics"].dump();
    double accuracy = result["metrics"]["accuracy"]["last"];
    EXPECT_GE(accuracy, 0.0);
    EXPECT_LE(accuracy, 1.0);
    ASSERT_TRUE(result["metrics"].contains("loss"));
    EXPECT_EQ(result["metrics"]["loss"]["series"].size(), 2u);
}

TEST(ZooCli, TrainJsonIsOneLine) {
    TempDir dir;
    std::vector<std::string> args = tiny_job;
    args.push_back("--json");
    ProcessResult run = zoo(args, dir);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    ASSERT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 1) << run.out;
    json out = json::parse(run.out);
    EXPECT_EQ(out["model"], "mlp");
    EXPECT_EQ(out["input"], "1x8x8");
    EXPECT_EQ(out["train_samples"], 64);
    EXPECT_EQ(out["test_samples"], 32);
    EXPECT_EQ(out["per_epoch"].size(), 2u);
    EXPECT_EQ(out["threads"], 1);
    EXPECT_EQ(out["activations"], 1'028);
    EXPECT_EQ(out["mac_layers"], 3);
    EXPECT_GT(out["train_samples_per_s"].get<double>(), 0);
    EXPECT_GE(out["accuracy"].get<double>(), 0);
}

TEST(ZooCli, InspectJsonHasExactKeysAndLayers) {
    TempDir dir;
    ProcessResult run =
        zoo({"inspect", "LeNet", "--input", "3x32x32", "--classes", "10", "--json", "--layers"}, dir);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    json out = json::parse(run.out);
    for (const char* key : {"model", "input", "classes", "params", "macs", "macs_per_param", "activations",
                            "mac_layers", "layers"})
        EXPECT_TRUE(out.contains(key)) << key;
    EXPECT_EQ(out["model"], "lenet");
    EXPECT_EQ(out["input"], "3x32x32");
    EXPECT_EQ(out["classes"], 10);
    double params = out["params"], macs = out["macs"];
    EXPECT_GT(params, 0);
    EXPECT_NEAR(out["macs_per_param"].get<double>(), macs / params, 1e-9 * macs / params);
    ASSERT_FALSE(out["layers"].empty());
    long long layer_params = 0;
    for (const auto& layer : out["layers"]) layer_params += layer["params"].get<long long>();
    EXPECT_EQ(layer_params, out["params"].get<long long>());

    // LeNet at 3x32x32: conv 6x28x28 + conv 16x10x10 + linear 120 + 84 + 10 = 6,518 elements in 5 calls.
    EXPECT_EQ(out["activations"], 6'518);
    EXPECT_EQ(out["mac_layers"], 5);

    ProcessResult plain = zoo({"inspect", "lenet", "--json"}, dir);
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_FALSE(json::parse(plain.out).contains("layers"));
    EXPECT_EQ(json::parse(plain.out)["activations"], 6'518);
}

// A model with batch norms through the JSON: ResNet18's 20 convs and 1 linear write 614,410 elements per
// sample (see ZooActivations.ResNet18ExcludesNormOutputs); the text output names both counts.
TEST(ZooCli, InspectReportsActivationsWithoutNorms) {
    TempDir dir;
    ProcessResult run = zoo({"inspect", "resnet18", "--json"}, dir);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    json out = json::parse(run.out);
    EXPECT_EQ(out["activations"], 614'410);
    EXPECT_EQ(out["mac_layers"], 21);

    ProcessResult text = zoo({"inspect", "lenet"}, dir);
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("activations     6,518"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("mac_layers      5 "), std::string::npos) << text.out;
}

TEST(ZooCli, ModelsListsEveryModel) {
    TempDir dir;
    ProcessResult run = zoo({"models", "--json"}, dir);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    json out = json::parse(run.out);
    std::vector<std::string> names;
    for (const auto& model : out) {
        names.push_back(model["name"]);
        EXPECT_GT(model["params"].get<long long>(), 0) << model.dump();
        EXPECT_GT(model["macs"].get<long long>(), 0) << model.dump();
        EXPECT_GT(model["activations"].get<long long>(), 0) << model.dump();
        EXPECT_GE(model["mac_layers"].get<long long>(), 3) << model.dump();
        if (model["name"] == "lenet") EXPECT_EQ(model["activations"], 6'518);
        EXPECT_FALSE(model["description"].get<std::string>().empty());
    }
    for (const char* expected : {"lenet", "mlp", "resnet18"})
        EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
}

TEST(ZooCli, UsageErrorsExitTwo) {
    TempDir dir;
    ProcessResult unknown = zoo({"train", "--model", "nosuchnet", "--dataset", "synthetic"}, dir);
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("nosuchnet"), std::string::npos) << unknown.err;
    EXPECT_NE(unknown.err.find("resnet18"), std::string::npos) << unknown.err;  // lists the names

    ProcessResult inspect = zoo({"inspect", "nosuchnet"}, dir);
    EXPECT_EQ(inspect.exit_code, 2);
    EXPECT_NE(inspect.err.find("lenet"), std::string::npos) << inspect.err;

    for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
             {"train", "--model", "mlp", "--batch-size", "0"},
             {"train", "--model", "mlp", "--epochs", "two"},
             {"train", "--model", "mlp", "--precision", "fp16"},
             {"train", "--model", "mlp", "--dataset", "imagenet"},
             {"train", "--model", "mlp", "--input", "3x32x32"},  // synthetic only
             {"train", "--model", "mlp", "--bogus"},
             {"train", "--dataset", "synthetic"},  // no model
             {"inspect", "mlp", "--input", "3by32"},
             {"frobnicate"},
         }) {
        ProcessResult run = zoo(bad, dir);
        EXPECT_EQ(run.exit_code, 2) << ::testing::PrintToString(bad) << run.err;
        EXPECT_FALSE(run.err.empty());
    }
}

TEST(ZooCli, MissingDatasetFilesExitOneNamingThePackage) {
    TempDir dir;
    ProcessResult run = zoo({"train", "--model", "mlp", "--data-dir", dir.str() + "/empty"}, dir);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("dataset-fashion-mnist"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("train-images-idx3-ubyte.gz"), std::string::npos) << run.err;

    ProcessResult cifar = zoo({"train", "--model", "mlp", "--dataset", "cifar10"}, dir);
    EXPECT_EQ(cifar.exit_code, 1);
    EXPECT_NE(cifar.err.find("--data-dir"), std::string::npos) << cifar.err;
}

}  // namespace
