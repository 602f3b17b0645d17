// ONNX model characteristics: small graphs built with the generated protobuf classes, written to a temporary
// directory, inspected, and compared with counts worked out by hand in the comments. Where the build found
// Debian's libonnx, the shapes are also checked against ONNX's own shape inference (a separate oracle
// program, so that its protobuf runtime never meets ours in one process).

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>

#include "model/onnx_inspect.hpp"
#include "model/testing/onnx_graph_builder.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using namespace model;
using test::Dim;
using test::OnnxGraphBuilder;
using test::TempDir;
using B = OnnxGraphBuilder;

const OnnxLayer& layer(const OnnxStats& stats, const std::string& node) {
    for (const auto& l : stats.layers)
        if (l.node == node) return l;
    throw std::runtime_error("no layer " + node);
}

OnnxStats inspect_ok(const TempDir& dir, const OnnxGraphBuilder& g, const OnnxOptions& options = {}) {
    auto path = g.write(dir.path() / "model.onnx");
    auto stats = inspect_onnx(path.string(), options);
    if (!stats) throw std::runtime_error("inspect failed: " + stats.error());
    return stats.value();
}

std::string inspect_error(const TempDir& dir, const OnnxGraphBuilder& g, const OnnxOptions& options = {}) {
    auto path = g.write(dir.path() / "model.onnx");
    auto stats = inspect_onnx(path.string(), options);
    return stats ? std::string("(no error)") : stats.error();
}

// Whether our shape ("1x8x16") agrees with ONNX's ("batch_sizex8x16"): same rank, equal sizes, and each of
// ONNX's symbols that `symbols` lists standing for that size; a symbol ONNX made up itself ("unk__0", where
// it could not follow the arithmetic) is not checked. "?" (no shape) agrees with anything.
bool agrees(const std::string& ours, const std::string& onnx,
            const std::map<std::string, std::int64_t>& symbols) {
    if (onnx == "?" || onnx == ours) return true;
    if (onnx == "scalar" || ours == "scalar") return false;
    auto parts = [](const std::string& text) {
        std::vector<std::string> out;
        std::istringstream in(text);
        for (std::string part; std::getline(in, part, 'x');) out.push_back(part);
        return out;
    };
    auto a = parts(ours), b = parts(onnx);
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        bool number = !b[i].empty() && b[i].find_first_not_of("0123456789") == std::string::npos;
        auto symbol = symbols.find(b[i]);
        if (number && a[i] != b[i]) return false;
        if (!number && symbol != symbols.end() && a[i] != std::to_string(symbol->second)) return false;
    }
    return true;
}

// Checks every node's first output shape against ONNX's shape inference (with data propagation), where the
// build has the oracle; `symbols` gives the size each symbolic input dimension stands for in `stats`.
void cross_check(const TempDir& dir, OnnxGraphBuilder& g, const OnnxStats& stats,
                 const std::map<std::string, std::int64_t>& symbols = {}) {
#ifdef ONNX_SHAPE_ORACLE
    auto path = g.write(dir.path() / "oracle.onnx");
    auto result = test::run_process({ONNX_SHAPE_ORACLE, path.string()});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::map<std::string, std::string> onnx_shapes;
    std::istringstream lines(result.out);
    std::string name, dims;
    while (lines >> name >> dims) onnx_shapes[name] = dims;
    const auto& graph = g.model().graph();
    ASSERT_EQ(static_cast<std::size_t>(graph.node_size()), stats.layers.size());
    int compared = 0;
    for (int i = 0; i < graph.node_size(); ++i) {
        auto it = onnx_shapes.find(graph.node(i).output(0));
        if (it == onnx_shapes.end()) continue;
        const OnnxLayer& ours = stats.layers[static_cast<std::size_t>(i)];
        EXPECT_TRUE(agrees(ours.output_shape, it->second, symbols))
            << "node " << ours.node << ": joulecast " << ours.output_shape << ", ONNX " << it->second;
        ++compared;
    }
    EXPECT_GT(compared, 0);
#else
    (void)dir, (void)g, (void)stats, (void)symbols;  // OnnxShapeOracle.Available reports the skip
#endif
}

TEST(OnnxShapeOracle, Available) {
#ifndef ONNX_SHAPE_ORACLE
    GTEST_SKIP() << "no ONNX shape oracle in this build (libonnx not found): shapes are not cross-checked";
#endif
    // The comparison itself must be able to fail.
    EXPECT_TRUE(agrees("1x8x16", "batch_sizex8x16", {{"batch_size", 1}}));
    EXPECT_FALSE(agrees("2x8x16", "batch_sizex8x16", {{"batch_size", 1}}));
    EXPECT_FALSE(agrees("1x8x15", "batch_sizex8x16", {{"batch_size", 1}}));
    EXPECT_FALSE(agrees("1x8", "1x8x1", {}));
    EXPECT_TRUE(agrees("3x100", "unk__0xunk__1", {}));
}

// x[N,3,32,32] -> Conv 3->16, 3x3, stride 2, pad 1 -> BatchNorm -> Relu -> GlobalAveragePool -> Flatten
// -> Gemm 16->10 (transB).
OnnxGraphBuilder small_cnn(Dim batch) {
    OnnxGraphBuilder g;
    g.input("x", {batch, 3, 32, 32});
    g.weight("conv.weight", {16, 3, 3, 3});
    g.weight("conv.bias", {16});
    for (const char* n : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}) g.weight(n, {16});
    g.weight("fc.weight", {10, 16});
    g.weight("fc.bias", {10});
    auto& conv = g.node("Conv", {"x", "conv.weight", "conv.bias"}, {"c"}, "conv");
    B::attr(conv, "kernel_shape", std::vector<std::int64_t>{3, 3});
    B::attr(conv, "strides", std::vector<std::int64_t>{2, 2});
    B::attr(conv, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    g.node("BatchNormalization", {"c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, {"b"},
           "bn");
    g.node("Relu", {"b"}, {"r"}, "relu");
    g.node("GlobalAveragePool", {"r"}, {"p"}, "pool");
    g.node("Flatten", {"p"}, {"f"}, "flatten");
    auto& fc = g.node("Gemm", {"f", "fc.weight", "fc.bias"}, {"y"}, "fc");
    B::attr(fc, "transB", std::int64_t{1});
    g.output("y");
    return g;
}

TEST(OnnxInspect, SmallCnnCountsParamsBuffersAndMacs) {
    TempDir dir;
    auto g = small_cnn(1);
    OnnxStats s = inspect_ok(dir, g);
    // conv: out = floor((32 + 1 + 1 - 3) / 2) + 1 = 16 -> 1x16x16x16.
    //       MACs = 16 x 16 x 16 (Cout x H x W) x 3 x 3 x 3 (Cin x kH x kW) = 4096 x 27 = 110,592;
    //       params = 16*3*3*3 + 16 = 448.
    // bn:   params = scale 16 + bias 16 = 32; buffers = running mean 16 + running var 16 = 32; 4096 norm ops.
    // relu: 4096 element-wise ops; pool: 4096 additions; flatten: nothing.
    // fc:   [1,16] x [10,16]^T: MACs = 1 x 10 x 16 = 160; params = 160 + 10 = 170.
    EXPECT_EQ(s.params, 448 + 32 + 170);
    EXPECT_EQ(s.buffers, 32);
    EXPECT_EQ(s.macs, 110592 + 160);
    EXPECT_EQ(s.norm_ops, 4096);
    EXPECT_EQ(s.elementwise_ops, 4096 + 4096);
    EXPECT_DOUBLE_EQ(s.macs_per_param(), 110752.0 / 650.0);
    EXPECT_EQ(s.input_shape, "1x3x32x32");
    EXPECT_EQ(s.opset, 17);
    ASSERT_EQ(s.layers.size(), 6u);

    const OnnxLayer& conv = layer(s, "conv");
    EXPECT_EQ(conv.op, "Conv");
    EXPECT_EQ(conv.kind, "mac");
    EXPECT_EQ(conv.output_shape, "1x16x16x16");
    EXPECT_EQ(conv.params, 448);
    EXPECT_EQ(conv.macs, 110592);
    EXPECT_EQ(layer(s, "bn").kind, "norm");
    EXPECT_EQ(layer(s, "bn").params, 32);
    EXPECT_EQ(layer(s, "bn").ops, 4096);
    EXPECT_EQ(layer(s, "relu").kind, "elementwise");
    EXPECT_EQ(layer(s, "pool").output_shape, "1x16x1x1");
    EXPECT_EQ(layer(s, "flatten").kind, "no-mac");
    EXPECT_EQ(layer(s, "flatten").output_shape, "1x16");
    EXPECT_EQ(layer(s, "flatten").macs, 0);
    EXPECT_EQ(layer(s, "fc").output_shape, "1x10");
    EXPECT_EQ(layer(s, "fc").macs, 160);
    cross_check(dir, g, s);
}

TEST(OnnxInspect, SymbolicBatchIsSetToTheGivenBatch) {
    TempDir dir;
    auto g = small_cnn("N");
    OnnxStats one = inspect_ok(dir, g);
    EXPECT_EQ(one.macs, 110752);  // per sample, as above
    EXPECT_EQ(one.input_shape, "1x3x32x32");

    OnnxStats four = inspect_ok(dir, g, OnnxOptions{4, {}});
    EXPECT_EQ(four.batch, 4);
    EXPECT_EQ(four.macs, 4 * 110752);
    EXPECT_EQ(four.norm_ops, 4 * 4096);
    EXPECT_EQ(four.params, 650);  // parameters do not grow with the batch
    EXPECT_EQ(four.input_shape, "4x3x32x32");
    EXPECT_EQ(layer(four, "fc").output_shape, "4x10");
    auto old_api = inspect_onnx((dir.path() / "model.onnx").string(), 4);
    ASSERT_TRUE(old_api) << old_api.error();
    EXPECT_EQ(old_api->macs, 4 * 110752);
    cross_check(dir, g, one, {{"N", 1}});

    // A leading dimension with no value at all is the batch too.
    auto unnamed = small_cnn(Dim::unknown());
    EXPECT_EQ(inspect_ok(dir, unnamed, OnnxOptions{2, {}}).macs, 2 * 110752);
}

TEST(OnnxInspect, AFixedBatchOfOneIsNeverLabelledAsTheGivenBatch) {
    // `--batch 4` on a model whose input is fixed at 1: the counts are per sample and say so.
    TempDir dir;
    auto g = small_cnn(1);
    OnnxStats s = inspect_ok(dir, g, OnnxOptions{4, {}});
    EXPECT_EQ(s.batch, 1);
    EXPECT_EQ(s.macs, 110752);
    bool noted = false;
    for (const auto& note : s.notes)
        noted = noted || note.find("--batch 4 does not apply") != std::string::npos;
    EXPECT_TRUE(noted);
    // A fixed batch of 2 is the batch the counts are for.
    auto two = small_cnn(2);
    OnnxStats fixed = inspect_ok(dir, two, OnnxOptions{4, {}});
    EXPECT_EQ(fixed.batch, 2);
    EXPECT_EQ(fixed.macs, 2 * 110752);
}

TEST(OnnxInspect, MacTotalsThatPassTheLargestCountAreRefusedNotNegative) {
    // Each node's count fits in 64 bits at this batch (conv: 110,592 x b < 2^63), their sum does not.
    TempDir dir;
    auto g = small_cnn("N");
    const std::int64_t b = 83'350'000'000'000;
    std::string error = inspect_error(dir, g, OnnxOptions{b, {}});
    EXPECT_NE(error.find("pass 2^63 - 1"), std::string::npos) << error;
    EXPECT_NE(error.find("smaller --batch"), std::string::npos) << error;
}

// activations: elements of the first output of every node with MACs; mac_layers: how many such nodes.
TEST(OnnxInspect, ActivationsAndMacLayersOfASmallCnn) {
    TempDir dir;
    auto g = small_cnn("N");
    OnnxStats one = inspect_ok(dir, g);
    // conv writes 1x16x16x16 = 4,096 elements, fc 1x10 = 10; bn, relu, pool and flatten have no MACs.
    EXPECT_EQ(layer(one, "conv").output_elements, 4096);
    EXPECT_EQ(layer(one, "relu").output_elements, 4096);  // known for every node, counted only for MAC ones
    EXPECT_EQ(layer(one, "flatten").output_elements, 16);
    EXPECT_EQ(layer(one, "fc").output_elements, 10);
    EXPECT_EQ(one.activations, 4096 + 10);
    EXPECT_EQ(one.mac_layers, 2);
    EXPECT_TRUE(one.notes.empty());

    OnnxStats four = inspect_ok(dir, g, OnnxOptions{4, {}});
    EXPECT_EQ(four.activations, 4 * (4096 + 10));  // for the batch, as macs
    EXPECT_EQ(four.mac_layers, 2);                 // the same graph
}

TEST(OnnxInspect, ActivationsOfDepthwiseConvolutionsAreLargeForTheirMacs) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("x", {1, 32, 28, 28});
    g.weight("dw.weight", {32, 1, 3, 3});
    auto& dw = g.node("Conv", {"x", "dw.weight"}, {"d"}, "depthwise");
    B::attr(dw, "group", std::int64_t{32});
    B::attr(dw, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    g.weight("pw.weight", {64, 32, 1, 1});
    g.node("Conv", {"d", "pw.weight"}, {"y"}, "pointwise");
    g.output("y");
    OnnxStats s = inspect_ok(dir, g);
    // depthwise: 1x32x28x28 = 25,088 elements for 25,088 x 9 MACs; pointwise: 1x64x28x28 = 50,176 elements
    // for 50,176 x 32 MACs.
    EXPECT_EQ(s.activations, 25088 + 50176);
    EXPECT_EQ(s.mac_layers, 2);
    EXPECT_EQ(s.macs, 25088 * 9 + 50176 * 32);
}

// A MAC operator that does no work (an inner dimension of 0) is not a MAC layer: the rule is macs > 0.
TEST(OnnxInspect, MacOperatorWithoutWorkIsNoMacLayer) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("x", {1, std::int64_t{0}});
    g.weight("w", {0, 4});
    g.node("MatMul", {"x", "w"}, {"e"}, "empty");  // [1,0] x [0,4] -> 1x4 zeros, 0 MACs
    g.weight("w2", {4, 3});
    g.node("MatMul", {"e", "w2"}, {"y"}, "fc");  // [1,4] x [4,3]: 12 MACs, 3 elements
    g.output("y");
    OnnxStats s = inspect_ok(dir, g);
    EXPECT_EQ(layer(s, "empty").kind, "mac");
    EXPECT_EQ(layer(s, "empty").macs, 0);
    EXPECT_EQ(s.macs, 12);
    EXPECT_EQ(s.activations, 3);
    EXPECT_EQ(s.mac_layers, 1);
}

// The inspector never keeps a MAC node whose output it cannot infer (that is an error), so the rule for an
// unknown output is checked on layers built by hand, as a caller with its own layer list would.
TEST(OnnxInspect, MacLayerWithUnknownOutputMakesActivationsUnknownWithANote) {
    OnnxStats s;
    s.notes.push_back("an earlier note");
    auto add = [&s](const std::string& node, std::int64_t macs, std::int64_t elements) {
        OnnxLayer l;
        l.node = node;
        l.macs = macs;
        l.output_elements = elements;
        l.kind = macs > 0 ? "mac" : "elementwise";
        s.layers.push_back(l);
    };
    add("conv", 1000, 200);
    add("relu", 0, 200);
    add("mystery", 500, -1);
    add("fc", 80, 10);
    s.activations = 99;  // recomputed, not added to
    count_mac_layers(s);
    EXPECT_EQ(s.activations, 0);  // unknown, not the 210 that the known layers add up to
    EXPECT_EQ(s.mac_layers, 3);
    ASSERT_EQ(s.notes.size(), 2u);
    EXPECT_EQ(s.notes[1], "activations unknown: the output shape of mystery is not known");
    s.layers[2].output_elements = 40;  // once known, the sum of all three
    s.notes.resize(1);
    count_mac_layers(s);
    EXPECT_EQ(s.activations, 200 + 40 + 10);
    EXPECT_EQ(s.notes.size(), 1u);
}

// torchvision's ResNet-18 as PyTorch exports it in training-free form (Conv without bias, BatchNormalization
// with running statistics, MaxPool, BasicBlocks with Add, GlobalAveragePool, Flatten, Gemm).
OnnxGraphBuilder resnet18() {
    OnnxGraphBuilder g;
    g.input("input", {"batch_size", 3, 224, 224});
    int n = 0;
    auto conv_bn = [&](const std::string& in, std::int64_t cin, std::int64_t cout, std::int64_t k,
                       std::int64_t stride, bool relu) {
        std::string id = std::to_string(n++);
        g.weight("conv" + id + ".weight", {cout, cin, k, k});
        auto& conv = g.node("Conv", {in, "conv" + id + ".weight"}, {"c" + id}, "conv" + id);
        B::attr(conv, "kernel_shape", std::vector<std::int64_t>{k, k});
        B::attr(conv, "strides", std::vector<std::int64_t>{stride, stride});
        B::attr(conv, "pads", std::vector<std::int64_t>(4, k / 2));
        for (const char* p : {".weight", ".bias", ".running_mean", ".running_var"})
            g.weight("bn" + id + p, {cout});
        g.node("BatchNormalization",
               {"c" + id, "bn" + id + ".weight", "bn" + id + ".bias", "bn" + id + ".running_mean",
                "bn" + id + ".running_var"},
               {"b" + id}, "bn" + id);
        if (!relu) return "b" + id;
        g.node("Relu", {"b" + id}, {"r" + id}, "relu" + id);
        return "r" + id;
    };
    std::string x = conv_bn("input", 3, 64, 7, 2, true);
    auto& pool = g.node("MaxPool", {x}, {"pool"}, "maxpool");
    B::attr(pool, "kernel_shape", std::vector<std::int64_t>{3, 3});
    B::attr(pool, "strides", std::vector<std::int64_t>{2, 2});
    B::attr(pool, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    x = "pool";
    std::int64_t cin = 64;
    for (std::int64_t cout : {64, 128, 256, 512}) {
        for (int block = 0; block < 2; ++block) {
            std::int64_t stride = block == 0 && cout != 64 ? 2 : 1;
            std::string shortcut = x;
            if (stride != 1) shortcut = conv_bn(x, cin, cout, 1, stride, false);
            std::string y = conv_bn(conv_bn(x, cin, cout, 3, stride, true), cout, cout, 3, 1, false);
            std::string id = std::to_string(n++);
            g.node("Add", {y, shortcut}, {"sum" + id}, "add" + id);
            g.node("Relu", {"sum" + id}, {"out" + id}, "relu_out" + id);
            x = "out" + id;
            cin = cout;
        }
    }
    g.node("GlobalAveragePool", {x}, {"gap"}, "avgpool");
    g.node("Flatten", {"gap"}, {"flat"}, "flatten");
    g.weight("fc.weight", {1000, 512});
    g.weight("fc.bias", {1000});
    auto& fc = g.node("Gemm", {"flat", "fc.weight", "fc.bias"}, {"logits"}, "fc");
    B::attr(fc, "transB", std::int64_t{1});
    g.output("logits");
    return g;
}

TEST(OnnxInspect, ResNet18MatchesPyTorchsParameterCount) {
    TempDir dir;
    auto g = resnet18();
    OnnxStats s = inspect_ok(dir, g);
    // PyTorch: sum(p.numel() for p in torchvision.models.resnet18().parameters()) == 11,689,512, of which
    // BatchNorm weight and bias 9,600 (4,800 channels); the running mean and variance (9,600) are buffers.
    EXPECT_EQ(s.params, 11689512);
    EXPECT_EQ(s.buffers, 9600);
    // MACs at 224x224: conv1 112*112*64*147 = 118,013,952; layer1 4 x 56*56*64*576 = 462,422,016; layers 2-4
    // 411,041,792 each (first 3x3 conv at stride 2 57,802,752 + three 3x3 convs 346,816,512 + 1x1 downsample
    // 6,422,528); fc 512,000: 1,814,073,344 (the 1.81 GMACs usually quoted).
    EXPECT_EQ(s.macs, 1814073344);
    EXPECT_EQ(layer(s, "maxpool").output_shape, "1x64x56x56");
    EXPECT_EQ(layer(s, "avgpool").output_shape, "1x512x1x1");
    cross_check(dir, g, s, {{"batch_size", 1}});
}

TEST(OnnxInspect, GroupedAndDepthwiseConvolutions) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("x", {1, 32, 28, 28});
    g.weight("dw.weight", {32, 1, 3, 3});
    g.weight("pw.weight", {64, 8, 1, 1});
    g.weight("pw.bias", {64});
    auto& dw = g.node("Conv", {"x", "dw.weight"}, {"d"}, "depthwise");
    B::attr(dw, "group", std::int64_t{32});
    B::attr(dw, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    auto& pw = g.node("Conv", {"d", "pw.weight", "pw.bias"}, {"y"}, "grouped");
    B::attr(pw, "group", std::int64_t{4});
    g.output("y");
    OnnxStats s = inspect_ok(dir, g);
    // depthwise: 32 groups of one channel, 3x3, same padding -> 1x32x28x28;
    //            MACs = 32 x 28 x 28 x (32/32 = 1) x 9 = 225,792; params 32*1*3*3 = 288.
    // grouped:   4 groups of 8 input channels, 1x1 -> 1x64x28x28;
    //            MACs = 64 x 28 x 28 x (32/4 = 8) x 1 = 401,408; params 64*8 + 64 = 576.
    EXPECT_EQ(layer(s, "depthwise").output_shape, "1x32x28x28");
    EXPECT_EQ(layer(s, "depthwise").macs, 225792);
    EXPECT_EQ(layer(s, "grouped").output_shape, "1x64x28x28");
    EXPECT_EQ(layer(s, "grouped").macs, 401408);
    EXPECT_EQ(s.macs, 225792 + 401408);
    EXPECT_EQ(s.params, 288 + 576);
    cross_check(dir, g, s);
}

TEST(OnnxInspect, ConvTranspose) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("x", {1, 8, 7, 7});
    g.weight("up.weight", {8, 4, 4, 4});  // [Cin, Cout/group, kH, kW]
    g.weight("up.bias", {4});
    auto& up = g.node("ConvTranspose", {"x", "up.weight", "up.bias"}, {"u"}, "up");
    B::attr(up, "strides", std::vector<std::int64_t>{2, 2});
    B::attr(up, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    g.weight("up2.weight", {4, 2, 3, 3});
    auto& up2 = g.node("ConvTranspose", {"u", "up2.weight"}, {"y"}, "up2");
    B::attr(up2, "strides", std::vector<std::int64_t>{2, 2});
    B::attr(up2, "output_padding", std::vector<std::int64_t>{1, 1});
    g.output("y");
    OnnxStats s = inspect_ok(dir, g);
    // up:  out = 2 x (7 - 1) + 0 + 4 - 1 - 1 = 14 -> 1x4x14x14;
    //      MACs = Cin 8 x 7 x 7 (input positions) x Cout 4 x 4 x 4 = 25,088; params 8*4*4*4 + 4 = 516.
    // up2: out = 2 x (14 - 1) + 1 + 3 = 30 -> 1x2x30x30; MACs = 4 x 14 x 14 x 2 x 3 x 3 = 14,112; params 72.
    EXPECT_EQ(layer(s, "up").output_shape, "1x4x14x14");
    EXPECT_EQ(layer(s, "up").macs, 25088);
    EXPECT_EQ(layer(s, "up2").output_shape, "1x2x30x30");
    EXPECT_EQ(layer(s, "up2").macs, 14112);
    EXPECT_EQ(s.params, 516 + 72);
    cross_check(dir, g, s);
}

TEST(OnnxInspect, GemmWithTransposedOperands) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("a", {"batch", 64});
    g.weight("w1", {32, 64});  // stored [out, in] as PyTorch's Linear does: transB
    g.weight("b1", {32});
    auto& fc1 = g.node("Gemm", {"a", "w1", "b1"}, {"h"}, "fc1");
    B::attr(fc1, "transB", std::int64_t{1});
    g.node("Transpose", {"h"}, {"ht"}, "t");  // [32, batch]
    g.weight("w2", {32, 5});
    auto& fc2 = g.node("Gemm", {"ht", "w2"}, {"y"}, "fc2");
    B::attr(fc2, "transA", std::int64_t{1});  // A^T: [batch, 32] x [32, 5]
    B::attr(fc2, "alpha", 0.5f);
    g.output("y");
    OnnxStats s = inspect_ok(dir, g, OnnxOptions{3, {}});
    // fc1: M 3, K 64, N 32: MACs 3 x 32 x 64 = 6,144; params 2048 + 32.
    // fc2: A = ht^T [3, 32], B [32, 5]: MACs 3 x 5 x 32 = 480; params 160.
    EXPECT_EQ(layer(s, "fc1").output_shape, "3x32");
    EXPECT_EQ(layer(s, "fc1").macs, 6144);
    EXPECT_EQ(layer(s, "t").output_shape, "32x3");
    EXPECT_EQ(layer(s, "fc2").output_shape, "3x5");
    EXPECT_EQ(layer(s, "fc2").macs, 480);
    EXPECT_EQ(s.params, 2048 + 32 + 160);

    // Inner dimensions that do not match name the node.
    OnnxGraphBuilder bad;
    bad.input("a", {1, 64});
    bad.weight("w", {32, 64});
    bad.node("Gemm", {"a", "w"}, {"y"}, "no_trans");  // [1,64] x [32,64] without transB
    bad.output("y");
    std::string error = inspect_error(dir, bad);
    EXPECT_NE(error.find("'no_trans' (Gemm)"), std::string::npos) << error;
    EXPECT_NE(error.find("inner dimensions"), std::string::npos) << error;
}

// One self-attention block on x[batch, T=8, D=16] with 2 heads of 8, as PyTorch exports it: LayerNorm, Q/K/V
// projections as MatMul + Add, reshapes to heads, Q.K^T and A.V on run-time operands, softmax, output
// projection; the last reshape takes its target from Shape(x), a value computed at run time.
OnnxGraphBuilder attention_block(Dim batch, Dim tokens = 8) {
    OnnxGraphBuilder g;
    g.input("x", {batch, tokens, 16});
    g.weight("ln.weight", {16});
    g.weight("ln.bias", {16});
    g.node("LayerNormalization", {"x", "ln.weight", "ln.bias"}, {"n"}, "ln");
    g.ints("heads_shape", {0, 0, 2, 8});
    for (const std::string p : {"q", "k", "v"}) {
        g.weight(p + ".weight", {16, 16});
        g.weight(p + ".bias", {16});
        g.node("MatMul", {"n", p + ".weight"}, {p + "_mm"}, p + "_proj");
        g.node("Add", {p + "_mm", p + ".bias"}, {p + "_b"}, p + "_bias");
        g.node("Reshape", {p + "_b", "heads_shape"}, {p + "_h"}, p + "_heads");
        auto& t = g.node("Transpose", {p + "_h"}, {p + "_t"}, p + "_perm");
        B::attr(t, "perm",
                p == "k" ? std::vector<std::int64_t>{0, 2, 3, 1} : std::vector<std::int64_t>{0, 2, 1, 3});
    }
    g.node("MatMul", {"q_t", "k_t"}, {"scores"}, "qk");  // [b,2,8,8] x [b,2,8,8]
    g.floats("scale", {}, {2.8284271f});                 // sqrt(8): a constant, not a parameter
    g.node("Div", {"scores", "scale"}, {"scaled"}, "scale_div");
    auto& softmax = g.node("Softmax", {"scaled"}, {"attn"}, "softmax");
    B::attr(softmax, "axis", std::int64_t{-1});
    g.node("MatMul", {"attn", "v_t"}, {"ctx"}, "av");
    auto& back = g.node("Transpose", {"ctx"}, {"ctx_t"}, "merge_perm");
    B::attr(back, "perm", std::vector<std::int64_t>{0, 2, 1, 3});
    g.node("Shape", {"x"}, {"x_shape"}, "shape");
    g.node("Reshape", {"ctx_t", "x_shape"}, {"merged"}, "merge");
    g.weight("o.weight", {16, 16});
    g.weight("o.bias", {16});
    g.node("MatMul", {"merged", "o.weight"}, {"o_mm"}, "o_proj");
    g.node("Add", {"o_mm", "o.bias"}, {"y"}, "o_bias");
    g.output("y");
    return g;
}

TEST(OnnxInspect, SelfAttentionCountsMatMulsOnRunTimeOperands) {
    TempDir dir;
    auto g = attention_block("batch_size");
    OnnxStats s = inspect_ok(dir, g);
    // Per sample (T 8, D 16, 2 heads of 8):
    //   q/k/v/o projections: 8 x 16 x 16 = 2,048 MACs each -> 8,192; params 4 x (256 + 16) = 1,088.
    //   Q.K^T: [1,2,8,8] x [1,2,8,8] -> 2 heads x 8 x 8 x 8 = 1,024 MACs; A.V: the same, 1,024.
    //   LayerNorm: params 32, 128 norm ops. Element-wise: 4 bias Adds x 128 + Div 128 + Softmax 128 = 768.
    //   The scalar scale is a constant: not a parameter.
    EXPECT_EQ(layer(s, "q_proj").macs, 2048);
    EXPECT_EQ(layer(s, "q_heads").output_shape, "1x8x2x8");
    EXPECT_EQ(layer(s, "k_perm").output_shape, "1x2x8x8");
    EXPECT_EQ(layer(s, "qk").output_shape, "1x2x8x8");
    EXPECT_EQ(layer(s, "qk").macs, 1024);
    EXPECT_EQ(layer(s, "qk").params, 0);
    EXPECT_EQ(layer(s, "av").macs, 1024);
    EXPECT_EQ(layer(s, "merge").output_shape, "1x8x16");
    EXPECT_EQ(layer(s, "q_bias").params, 16);
    EXPECT_EQ(layer(s, "scale_div").params, 0);
    EXPECT_EQ(s.macs, 8192 + 2048);
    EXPECT_EQ(s.params, 1088 + 32);
    EXPECT_EQ(s.buffers, 0);
    EXPECT_EQ(s.norm_ops, 128);
    EXPECT_EQ(s.elementwise_ops, 768);
    cross_check(dir, g, s, {{"batch_size", 1}});

    // MAC layers: q/k/v/o projections (1x8x16 = 128 elements each), Q.K^T and A.V (1x2x8x8 = 128 each);
    // the MatMuls on two run-time operands count like the others.
    EXPECT_EQ(layer(s, "qk").output_elements, 128);
    EXPECT_EQ(s.activations, 6 * 128);
    EXPECT_EQ(s.mac_layers, 6);

    OnnxStats three = inspect_ok(dir, g, OnnxOptions{3, {}});
    EXPECT_EQ(three.macs, 3 * 10240);
    EXPECT_EQ(three.activations, 3 * 6 * 128);
    EXPECT_EQ(three.mac_layers, 6);
    EXPECT_EQ(layer(three, "merge").output_shape, "3x8x16");
}

TEST(OnnxInspect, OtherSymbolicDimensionsNeedASize) {
    TempDir dir;
    auto g = attention_block("batch", "sequence");
    std::string error = inspect_error(dir, g);
    // The first node that reads x reports it, with the way out.
    EXPECT_NE(error.find("'ln' (LayerNormalization)"), std::string::npos) << error;
    EXPECT_NE(error.find("--dim sequence=N"), std::string::npos) << error;

    OnnxStats s = inspect_ok(dir, g, OnnxOptions{1, {{"sequence", 4}}});
    // T = 4: projections 4 x 16 x 16 x 4 = 4,096; Q.K^T and A.V 2 x 4 x 4 x 8 = 256 each.
    EXPECT_EQ(s.macs, 4096 + 512);
    EXPECT_EQ(s.input_shape, "1x4x16");
}

TEST(OnnxInspect, EmbeddingsAndTiedWeightsCountOnce) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("ids", {"N", 8}, 7);
    g.weight("embed.weight", {100, 16});
    g.weight("pos", {1, 8, 16});
    g.node("Gather", {"embed.weight", "ids"}, {"e"}, "embed");
    g.node("Add", {"e", "pos"}, {"h"}, "add_pos");
    auto& t = g.node("Transpose", {"embed.weight"}, {"embed_t"}, "tie");
    B::attr(t, "perm", std::vector<std::int64_t>{1, 0});
    g.node("MatMul", {"h", "embed_t"}, {"logits"}, "lm_head");
    g.output("logits");
    OnnxStats s = inspect_ok(dir, g);
    // embedding 100 x 16 = 1,600 (counted once although lm_head reads it through a Transpose);
    // positional embedding 8 x 16 = 128; lm_head [1,8,16] x [16,100]: 8 x 100 x 16 = 12,800 MACs.
    EXPECT_EQ(s.params, 1600 + 128);
    EXPECT_EQ(layer(s, "embed").params, 1600);
    EXPECT_EQ(layer(s, "embed").output_shape, "1x8x16");
    EXPECT_EQ(layer(s, "lm_head").params, 0);
    EXPECT_EQ(layer(s, "lm_head").macs, 12800);
    EXPECT_EQ(layer(s, "lm_head").output_shape, "1x8x100");
    cross_check(dir, g, s, {{"N", 1}});
}

TEST(OnnxInspect, PoolingAndFileShapesForRunTimeReshapes) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("x", {1, 4, 10, 10});
    g.input("target", {2}, 7);  // a shape fed at run time: only value_info can tell the result
    auto& mp = g.node("MaxPool", {"x"}, {"m"}, "maxpool");
    B::attr(mp, "kernel_shape", std::vector<std::int64_t>{3, 3});
    B::attr(mp, "strides", std::vector<std::int64_t>{2, 2});
    B::attr(mp, "ceil_mode", std::int64_t{1});
    g.node("Reshape", {"m", "target"}, {"r"}, "dynamic_reshape");
    g.weight("w", {100, 10});
    g.node("MatMul", {"r", "w"}, {"y"}, "fc");
    g.output("y");
    // maxpool with ceil_mode: ceil((10 - 3) / 2) + 1 = 5 (4 without it) -> 1x4x5x5, no MACs; reshaped to
    // [1, 100] by the file's value_info; fc: 100 x 10 = 1,000 MACs.
    std::string error = inspect_error(dir, g);
    EXPECT_NE(error.find("'fc' (MatMul)"), std::string::npos) << error;
    EXPECT_NE(error.find("'dynamic_reshape' (Reshape)"), std::string::npos) << error;

    g.value_info("r", {1, 64});
    error = inspect_error(dir, g);  // 64 columns against a 100-row weight
    EXPECT_NE(error.find("'fc' (MatMul)"), std::string::npos) << error;
    g.model()
        .mutable_graph()
        ->mutable_value_info(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape()
        ->mutable_dim(1)
        ->set_dim_value(100);
    OnnxStats s = inspect_ok(dir, g);
    EXPECT_EQ(layer(s, "maxpool").output_shape, "1x4x5x5");
    EXPECT_EQ(layer(s, "maxpool").kind, "no-mac");
    EXPECT_EQ(layer(s, "dynamic_reshape").output_shape, "1x100");
    EXPECT_EQ(layer(s, "fc").macs, 1000);
}

TEST(OnnxInspect, ShapeArithmeticIsFollowedAndNotCounted) {
    // x.view(x.size(0), -1) as PyTorch exports it: Shape -> Gather -> Concat with -1 -> Reshape; the Mul on
    // the gathered size is shape arithmetic, known before run time, so it counts no operations.
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("x", {"N", 4, 5, 5});
    g.ints("zero", {0});
    g.ints("one", {1});
    g.ints("minus_one", {-1});
    g.node("Shape", {"x"}, {"s"}, "shape");
    g.node("Gather", {"s", "zero"}, {"n"}, "batch_size");
    g.node("Mul", {"n", "one"}, {"n1"}, "times_one");
    auto& cat = g.node("Concat", {"n1", "minus_one"}, {"target"}, "target");
    B::attr(cat, "axis", std::int64_t{0});
    g.node("Reshape", {"x", "target"}, {"flat"}, "view");
    g.weight("fc.weight", {10, 100});
    auto& fc = g.node("Gemm", {"flat", "fc.weight"}, {"y"}, "fc");
    B::attr(fc, "transB", std::int64_t{1});
    g.output("y");
    OnnxStats s = inspect_ok(dir, g, OnnxOptions{3, {}});
    // view: [3, 4*5*5 = 100]; fc: 3 x 10 x 100 = 3,000 MACs.
    EXPECT_EQ(layer(s, "view").output_shape, "3x100");
    EXPECT_EQ(layer(s, "times_one").kind, "elementwise");
    EXPECT_EQ(layer(s, "times_one").ops, 0);
    EXPECT_EQ(s.elementwise_ops, 0);
    EXPECT_EQ(s.macs, 3000);
    EXPECT_EQ(s.params, 1000);
    OnnxStats one = inspect_ok(dir, g);
    cross_check(dir, g, one, {{"N", 1}});
}

TEST(OnnxInspectErrors, RandomBytesAreNotAModel) {
    TempDir dir;
    std::mt19937 random(42);
    std::string bytes(512, '\0');
    for (auto& b : bytes) b = static_cast<char>(random() & 0xff);
    auto path = dir.write("random.onnx", bytes);
    auto result = inspect_onnx(path.string());
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().find("is not an ONNX model"), std::string::npos) << result.error();

    auto empty = inspect_onnx(dir.write("empty.onnx", "").string());
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().find("no graph"), std::string::npos) << empty.error();

    auto missing = inspect_onnx((dir.path() / "missing.onnx").string());
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().find("cannot read"), std::string::npos) << missing.error();
}

TEST(OnnxInspectErrors, ADeviceOrALinkToOneIsRefusedNotReadWithoutEnd) {
    // A symlink to /dev/zero made `inspect` grow to 7 GB.
    if (!std::filesystem::is_character_file("/dev/zero")) GTEST_SKIP() << "no /dev/zero";
    TempDir dir;
    const auto link = dir.path() / "model.onnx";
    std::filesystem::create_symlink("/dev/zero", link);
    for (const std::string& path : {std::string("/dev/zero"), link.string()}) {
        auto result = inspect_onnx(path);
        ASSERT_FALSE(result) << path;
        EXPECT_NE(result.error().find("is not a regular file"), std::string::npos) << result.error();
    }
}

TEST(OnnxInspectErrors, UnsupportedOperatorsAreNamed) {
    TempDir dir;
    for (const std::string op : {"LSTM", "Einsum"}) {
        OnnxGraphBuilder g;
        g.input("x", {1, 8, 16});
        g.weight("w", {1, 64, 16});
        g.node("Relu", {"x"}, {"r"}, "relu");
        g.node(op, {"r", "w"}, {"y"}, "recurrent");
        g.output("y");
        std::string error = inspect_error(dir, g);
        EXPECT_NE(error.find("node 'recurrent' (" + op + ")"), std::string::npos) << error;
        EXPECT_NE(error.find("unsupported operator"), std::string::npos) << error;
    }
    OnnxGraphBuilder custom;
    custom.input("x", {1, 8});
    custom.node("FusedGemm", {"x"}, {"y"}, "").set_domain("com.microsoft");
    custom.output("y");
    std::string error = inspect_error(dir, custom);
    EXPECT_NE(error.find("node #0 (FusedGemm)"), std::string::npos) << error;
    EXPECT_NE(error.find("com.microsoft"), std::string::npos) << error;
}

TEST(OnnxInspectErrors, IfNested200DeepIsTooDeepNotGarbage) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("x", {1, 4});
    g.node("Relu", {"x"}, {"y"}, "relu");
    g.output("y");
    joulecast_onnx::GraphProto* graph = g.model().mutable_graph();
    for (int depth = 0; depth < 200; ++depth) {
        joulecast_onnx::NodeProto* node = graph->add_node();
        node->set_op_type("If");
        joulecast_onnx::AttributeProto* branch = node->add_attribute();
        branch->set_name("then_branch");
        graph = branch->mutable_g();
    }
    std::string error = inspect_error(dir, g);
    EXPECT_NE(error.find("nested too deep (limit 100"), std::string::npos) << error;
    // Bytes that are no model at all still say so.
    auto garbage = dir.write("garbage.onnx", std::string(64, '\xff'));
    auto stats = inspect_onnx(garbage.string(), OnnxOptions{});
    ASSERT_FALSE(stats);
    EXPECT_NE(stats.error().find("does not parse"), std::string::npos) << stats.error();
}

TEST(OnnxInspectErrors, MissingInputShapeNamesTheNode) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input_without_shape("x");
    g.weight("w", {8, 3, 3, 3});
    g.node("Conv", {"x", "w"}, {"y"}, "conv1");
    g.output("y");
    std::string error = inspect_error(dir, g);
    EXPECT_NE(error.find("node 'conv1' (Conv)"), std::string::npos) << error;
    EXPECT_NE(error.find("graph input 'x' has no shape"), std::string::npos) << error;
}

TEST(OnnxInspectErrors, InconsistentShapesAndDanglingInputsNameTheNode) {
    TempDir dir;
    OnnxGraphBuilder g;
    g.input("x", {1, 4, 8, 8});
    g.weight("w", {8, 3, 3, 3});  // expects 3 input channels
    g.node("Conv", {"x", "w"}, {"y"}, "conv1");
    g.output("y");
    std::string error = inspect_error(dir, g);
    EXPECT_NE(error.find("node 'conv1' (Conv)"), std::string::npos) << error;
    EXPECT_NE(error.find("4 channels"), std::string::npos) << error;

    OnnxGraphBuilder dangling;
    dangling.input("x", {1, 4});
    dangling.node("Add", {"x", "nowhere"}, {"y"}, "add");
    dangling.output("y");
    error = inspect_error(dir, dangling);
    EXPECT_NE(error.find("node 'add' (Add)"), std::string::npos) << error;
    EXPECT_NE(error.find("'nowhere'"), std::string::npos) << error;
}

}  // namespace
}  // namespace joulecast
