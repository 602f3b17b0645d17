// End to end: the joulecast binary's `inspect` on an ONNX file (JSON and text), its usage errors, and the
// hand-over of built-in model names to joulecast-zoo (a fake one here) or the message when there is none.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/testing/onnx_graph_builder.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::OnnxGraphBuilder;
using test::run_process;
using test::TempDir;

// x[N,8] -> Gemm 8->4 (transB) -> Relu: 32 MACs, 36 parameters and 4 activations per sample, 1 MAC layer.
std::filesystem::path tiny_model(const TempDir& dir) {
    OnnxGraphBuilder g;
    g.input("x", {"N", 8});
    g.weight("fc.weight", {4, 8});
    g.weight("fc.bias", {4});
    auto& fc = g.node("Gemm", {"x", "fc.weight", "fc.bias"}, {"h"}, "fc");
    OnnxGraphBuilder::attr(fc, "transB", std::int64_t{1});
    g.node("Relu", {"h"}, {"y"}, "relu");
    g.output("y");
    return g.write(dir.path() / "tiny.onnx");
}

TEST(OnnxCli, InspectJson) {
    TempDir dir;
    auto model = tiny_model(dir);
    auto r = run_process({JOULECAST_BINARY, "inspect", model.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["source"], "onnx");
    EXPECT_EQ(j["params"], 36);  // 4 x 8 + 4
    EXPECT_EQ(j["buffers"], 0);
    EXPECT_EQ(j["macs"], 32);  // 1 x 4 x 8
    EXPECT_DOUBLE_EQ(j["macs_per_param"].get<double>(), 32.0 / 36.0);
    EXPECT_EQ(j["input"], "1x8");
    EXPECT_EQ(j["elementwise_ops"], 4);
    EXPECT_EQ(j["activations"], 4);  // the Gemm's 1x4 output
    EXPECT_EQ(j["mac_layers"], 1);
    ASSERT_EQ(j["layers"].size(), 2u);
    EXPECT_EQ(j["layers"][0]["node"], "fc");
    EXPECT_EQ(j["layers"][0]["kind"], "mac");
    EXPECT_EQ(j["layers"][0]["output"], "1x4");

    r = run_process({JOULECAST_BINARY, "inspect", "--batch", "16", model.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["macs"], 16 * 32);
    EXPECT_EQ(j["activations"], 16 * 4);  // for the batch, as macs
    EXPECT_EQ(j["mac_layers"], 1);
}

TEST(OnnxCli, InspectTextWithLayers) {
    TempDir dir;
    auto r = run_process({JOULECAST_BINARY, "inspect", tiny_model(dir).string(), "--layers"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("parameters:        36"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("MACs:              32"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("activations:       4 per sample (outputs of MAC layers)"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("MAC layers:        1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("relu"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Gemm"), std::string::npos) << r.out;
}

TEST(OnnxCli, ErrorsAndUsage) {
    TempDir dir;
    auto model = tiny_model(dir);
    auto r = run_process({JOULECAST_BINARY, "inspect", model.string(), "--bogus"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    r = run_process({JOULECAST_BINARY, "inspect", model.string(), "--batch", "0"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    r = run_process({JOULECAST_BINARY, "inspect"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    r = run_process({JOULECAST_BINARY, "inspect", (dir.path() / "missing.onnx").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;
    auto junk = dir.write("junk.onnx", std::string("\xff\xff\xff\xff not protobuf", 18));
    r = run_process({JOULECAST_BINARY, "inspect", junk.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("not an ONNX model"), std::string::npos) << r.err;
}

// A copy of joulecast in a folder of its own, so that no real joulecast-zoo sits beside it.
std::filesystem::path lone_joulecast(const TempDir& dir) {
    auto bin = dir.path() / "bin";
    std::filesystem::create_directories(bin);
    std::filesystem::copy_file(JOULECAST_BINARY, bin / "joulecast");
    return bin / "joulecast";
}

TEST(OnnxCli, BuiltInModelsWithoutZoo) {
    TempDir dir;
    auto joulecast = lone_joulecast(dir);
    test::ProcessOptions options;
    options.env["PATH"] = (dir.path() / "empty").string();
    auto r = run_process({joulecast.string(), "inspect", "resnet18", "--input", "1x28x28"}, options);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("built-in models need joulecast-zoo"), std::string::npos) << r.err;
    r = run_process({joulecast.string(), "models"}, options);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("libtorch"), std::string::npos) << r.err;
}

TEST(OnnxCli, BuiltInModelsAreHandedToTheZooBesideJoulecast) {
    TempDir dir;
    auto joulecast = lone_joulecast(dir);
    auto zoo = dir.write("bin/joulecast-zoo", "#!/bin/sh\necho \"zoo: $*\"\nexit 3\n");
    ::chmod(zoo.c_str(), 0755);
    test::ProcessOptions options;
    options.env["PATH"] = (dir.path() / "empty").string();
    auto r = run_process({joulecast.string(), "inspect", "resnet18", "--input", "1x28x28", "--classes", "10"},
                         options);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "zoo: inspect resnet18 --input 1x28x28 --classes 10\n");
    r = run_process({joulecast.string(), "models", "--json"}, options);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "zoo: models --json\n");
    r = run_process({joulecast.string(), "models", "--bogus"}, options);
    EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace joulecast
