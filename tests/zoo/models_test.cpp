// The built-in model zoo: every model builds and runs at 3x32x32 and 1x28x28, its parameter count agrees with
// libtorch's own and (at 3x32x32, 10 classes) with the reference CIFAR definitions, and the per-layer MAC
// counting matches hand-computed cases.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <string>
#include <tuple>

#include "core/result.hpp"
#include "models/layers.hpp"
#include "models/zoo.hpp"
#include "study/grid.hpp"

namespace joulecast::zoo {

using core::UsageError;

namespace {

const InputShape kCifar{3, 32, 32};
const InputShape kFashion{1, 28, 28};

// Trainable parameters of the reference definitions (kuangliu/pytorch-cifar, models/*.py) at 3x32x32 with 10
// classes, i.e. sum(p.numel() for p in model.parameters()). Derived by hand from each definition's layer list
// with conv = Cout*(Cin/groups)*k*k (+Cout if bias), batch norm = 2*C, linear = in*out + out, summed with a
// small script written for this purpose (no PyTorch available here). Examples:
//   lenet:    conv1 3*6*25+6 = 456, conv2 6*16*25+16 = 2,416, fc1 400*120+120 = 48,120,
//             fc2 120*84+84 = 10,164, fc3 84*10+10 = 850                                     -> 62,006
//   resnet18: stem 1,728 + bn 128; layer1 4 convs of 36,864 + 4 bn of 128; layer2..4 blocks with 1x1
//             projection shortcuts; linear 5,130                                               -> 11,173,962
//   mlp (ours): 3072*512+512 = 1,573,376, 512*512+512 = 262,656, 512*10+10 = 5,130       -> 1,841,162
//   vit (ours): patch conv 3*16*128+128 = 6,272, cls 128, pos 65*128 = 8,320; per block LN 256 + qkv 49,536
//               + proj 16,512 + LN 256 + fc1 33,024 + fc2 32,896 = 132,480, x4 = 529,920; final LN 256;
//               head 1,290                                                                      -> 546,186
// The published counts for these definitions (e.g. ResNet18 11,173,962, MobileNetV2 2,296,922, DenseNet121
// 6,956,298, DPN26 11,574,842) agree. One caveat: EfficientNetB0's reference builds the 1x1 expansion conv
// and its batch norm for the first block (expansion 1) without calling them. They are parameters of the
// module (1,024 + 64 = 1,088), so parameters() gives 3,599,686; hook-based summaries that only see layers
// that run report 3,598,598. The zoo keeps the module's structure, hence 3,599,686.
const std::map<std::string, std::int64_t>& reference_params() {
    static const std::map<std::string, std::int64_t> table = {
        {"lenet", 62'006},
        {"vgg19", 20'040'522},
        {"resnet18", 11'173'962},
        {"preactresnet18", 11'171'146},
        {"mobilenet", 3'217'226},
        {"mobilenetv2", 2'296'922},
        {"efficientnetb0", 3'599'686},
        {"simpledla", 15'142'970},
        {"googlenet", 6'166'250},
        {"densenet121", 6'956'298},
        {"resnext29_2x64d", 9'128'778},
        {"senet18", 11'260'354},
        {"regnetx_200mf", 2'321'946},
        {"dpn26", 11'574'842},
        {"mlp", 1'841'162},
        {"vit", 546'186},
    };
    return table;
}

std::int64_t libtorch_param_count(torch::nn::Module& model) {
    std::int64_t count = 0;
    for (const auto& p : model.parameters()) {
        if (p.requires_grad()) count += p.numel();
    }
    return count;
}

// Elements of a per-sample shape written as "64x32x32", parsed independently of the zoo's own counting.
std::int64_t shape_elements(const std::string& shape) {
    std::int64_t product = 1;
    std::size_t start = 0;
    while (start <= shape.size()) {
        const std::size_t end = std::min(shape.find('x', start), shape.size());
        product *= std::stoll(shape.substr(start, end - start));
        start = end + 1;
    }
    return product;
}

const LayerStats& find_layer(const ModelStats& stats, const std::string& name) {
    for (const auto& layer : stats.layers) {
        if (layer.name == name) return layer;
    }
    throw std::runtime_error("no layer named " + name);
}

TEST(ZooRegistry, ListsTheSixteenModelsInOrder) {
    std::vector<std::string> names;
    for (const auto& entry : models()) {
        names.push_back(entry.name);
        EXPECT_FALSE(entry.description.empty()) << entry.name;
    }
    // The list `joulecast study` checks grids against without starting libtorch must be the registry's.
    const std::vector<std::string> expected(std::begin(study::zoo_models), std::end(study::zoo_models));
    EXPECT_EQ(names, expected);
}

TEST(ZooRegistry, UnknownNameListsKnownModels) {
    try {
        make_model("resnet19", kCifar, 10);
        FAIL() << "expected UsageError";
    } catch (const UsageError& error) {
        const std::string message = error.what();
        EXPECT_NE(message.find("resnet19"), std::string::npos) << message;
        EXPECT_NE(message.find("lenet"), std::string::npos) << message;
        EXPECT_NE(message.find("dpn26"), std::string::npos) << message;
        EXPECT_NE(message.find("vit"), std::string::npos) << message;
    }
}

TEST(ZooRegistry, NamesAreCaseInsensitiveAndShapesChecked) {
    EXPECT_NE(make_model("LeNet", kCifar, 10), nullptr);
    EXPECT_THROW(make_model("lenet", InputShape{0, 32, 32}, 10), UsageError);
    EXPECT_THROW(make_model("lenet", kCifar, 0), UsageError);
    EXPECT_THROW(make_model("lenet", InputShape{3, 12, 12}, 10), UsageError);  // too small for two 5x5 convs
}

// ---- every model, two shapes

class ZooModels : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(ZooModels, ForwardShapeParamsAndMacs) {
    const auto& [name, cifar] = GetParam();
    const InputShape input = cifar ? kCifar : kFashion;
    torch::manual_seed(0);
    auto model = make_model(name, input, 10);
    model->eval();

    torch::NoGradGuard no_grad;
    const auto logits = model->forward(torch::randn({2, input.channels, input.height, input.width}));
    EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 10}));
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());

    const ModelStats stats = model_stats(*model, input);
    EXPECT_EQ(stats.params, libtorch_param_count(*model));
    if (cifar) EXPECT_EQ(stats.params, reference_params().at(name));
    EXPECT_GT(stats.macs, 0);
    EXPECT_GT(stats.macs_per_param(), 0.0);

    // The per-layer table accounts for every parameter and every MAC exactly once.
    std::int64_t layer_params = 0;
    std::int64_t layer_macs = 0;
    for (const auto& layer : stats.layers) {
        layer_params += layer.params;
        layer_macs += layer.macs;
        EXPECT_FALSE(layer.name.empty());
        EXPECT_FALSE(layer.kind.empty());
    }
    EXPECT_EQ(layer_params, stats.params);
    EXPECT_EQ(layer_macs, stats.macs);

    // Activations and MAC layers are the outputs and the count of the conv, linear and attention calls.
    std::int64_t mac_outputs = 0;
    std::int64_t mac_calls = 0;
    for (const auto& layer : stats.layers) {
        const bool called = layer.kind != "unused" && layer.kind != "param";
        EXPECT_EQ(layer.output_elements, called ? shape_elements(layer.output) : 0) << layer.name;
        if (layer.kind == "conv" || layer.kind == "linear" || layer.kind == "attention") {
            EXPECT_TRUE(is_mac_kind(layer.kind));
            mac_outputs += layer.output_elements;
            ++mac_calls;
        } else {
            EXPECT_FALSE(is_mac_kind(layer.kind)) << layer.kind;
        }
    }
    EXPECT_EQ(stats.activations, mac_outputs);
    EXPECT_EQ(stats.mac_layers, mac_calls);
    EXPECT_GT(stats.activations, 0);
    EXPECT_GE(stats.mac_layers, 3);
    // One of the layers is the classifier: a linear layer with 10 outputs.
    bool saw_classifier = false;
    for (const auto& layer : stats.layers) saw_classifier |= (layer.kind == "linear" && layer.output == "10");
    EXPECT_TRUE(saw_classifier);
}

std::vector<std::string> all_names() {
    std::vector<std::string> names;
    for (const auto& entry : models()) names.push_back(entry.name);
    return names;
}

INSTANTIATE_TEST_SUITE_P(AllModels, ZooModels,
                         ::testing::Combine(::testing::ValuesIn(all_names()), ::testing::Bool()),
                         [](const auto& info) {
                             return std::get<0>(info.param) +
                                    (std::get<1>(info.param) ? "_3x32x32" : "_1x28x28");
                         });

// ---- MACs by hand

// LeNet at 3x32x32 (MACs = Cout*Hout*Wout*Cin*k*k for a conv, in*out for a linear layer):
//   conv1 3->6, 5x5, out 28x28:   6*28*28*3*25  = 352,800
//   pool -> 14x14; conv2 6->16, 5x5, out 10x10: 16*10*10*6*25 = 240,000
//   pool -> 5x5; fc1 400->120 = 48,000; fc2 120->84 = 10,080; fc3 84->10 = 840
//   total 651,720
// At 1x28x28: conv1 6*24*24*1*25 = 86,400; conv2 16*8*8*150 = 153,600; fc1 256*120 = 30,720; fc2 10,080;
//   fc3 840; total 281,640 (and fc1 has 256*120+120 = 30,840 parameters).
TEST(ZooMacs, LeNetByHand) {
    auto model = make_model("lenet", kCifar, 10);
    const auto stats = model_stats(*model, kCifar);
    EXPECT_EQ(stats.macs, 651'720);
    ASSERT_EQ(stats.layers.size(), 5u);

    const auto& conv1 = find_layer(stats, "conv1");
    EXPECT_EQ(conv1.kind, "conv");
    EXPECT_EQ(conv1.output, "6x28x28");
    EXPECT_EQ(conv1.params, 456);
    EXPECT_EQ(conv1.macs, 352'800);

    const auto& fc1 = find_layer(stats, "fc1");
    EXPECT_EQ(fc1.kind, "linear");
    EXPECT_EQ(fc1.output, "120");
    EXPECT_EQ(fc1.params, 48'120);
    EXPECT_EQ(fc1.macs, 48'000);

    auto small = make_model("lenet", kFashion, 10);
    const auto small_stats = model_stats(*small, kFashion);
    EXPECT_EQ(small_stats.macs, 281'640);
    EXPECT_EQ(find_layer(small_stats, "fc1").params, 30'840);
    EXPECT_EQ(small_stats.params, 44'426);
}

// Activations = elements of the per-sample outputs of the conv, linear and attention calls; MAC layers = the
// number of those calls. LeNet at 3x32x32: conv1 6x28x28 = 4,704, conv2 16x10x10 = 1,600, fc1 120, fc2 84,
// fc3 10 -> 6,518 in 5 calls. At 1x28x28: 6x24x24 = 3,456, 16x8x8 = 1,024, 120, 84, 10 -> 4,694.
TEST(ZooActivations, LeNetByHand) {
    auto model = make_model("lenet", kCifar, 10);
    const auto stats = model_stats(*model, kCifar);
    EXPECT_EQ(stats.activations, 6'518);
    EXPECT_EQ(stats.mac_layers, 5);
    EXPECT_EQ(find_layer(stats, "conv1").output_elements, 4'704);
    EXPECT_EQ(find_layer(stats, "conv2").output_elements, 1'600);
    EXPECT_EQ(find_layer(stats, "fc3").output_elements, 10);

    auto small = make_model("lenet", kFashion, 10);
    const auto small_stats = model_stats(*small, kFashion);
    EXPECT_EQ(small_stats.activations, 4'694);
    EXPECT_EQ(small_stats.mac_layers, 5);
}

// ResNet18 at 3x32x32 has 20 convs (stem, 16 in the blocks, 3 1x1 shortcuts) and 1 linear = 21 MAC calls:
//   stem 64x32x32 = 65,536; layer1 4 x 65,536 = 262,144; layer2 5 x 128x16x16 = 163,840;
//   layer3 5 x 256x8x8 = 81,920; layer4 5 x 512x4x4 = 40,960; linear 10          -> 614,410
// Its 20 batch norms write as many elements again as the convs (614,400) and are not counted.
TEST(ZooActivations, ResNet18ExcludesNormOutputs) {
    auto model = make_model("resnet18", kCifar, 10);
    const auto stats = model_stats(*model, kCifar);
    EXPECT_EQ(stats.activations, 614'410);
    EXPECT_EQ(stats.mac_layers, 21);

    std::int64_t norm_outputs = 0;
    std::int64_t norms = 0;
    for (const auto& layer : stats.layers) {
        if (layer.kind != "norm") continue;
        norm_outputs += layer.output_elements;
        ++norms;
    }
    EXPECT_EQ(norms, 20);
    EXPECT_EQ(norm_outputs, 614'400);
}

// ViT at 3x32x32 (65 tokens of dim 128, 4 heads): patch conv 128x8x8 = 8,192; per block qkv 65x384 =
// 24,960, attention scores 4x65x65 = 16,900 and their product with V 65x128 = 8,320 (two calls, as the two
// MatMuls of an ONNX export), proj 8,320, fc1 65x256 = 16,640, fc2 8,320 -> 83,460 in 6 calls, x4 = 333,840
// in 24; head 10. Total 342,042 in 26 calls; the 9 LayerNorms and the loose class token and position
// embedding are not counted.
TEST(ZooActivations, VitCountsAttentionNotNorms) {
    auto vit = make_model("vit", kCifar, 10);
    const auto stats = model_stats(*vit, kCifar);
    EXPECT_EQ(find_layer(stats, "blocks.0.attn").output_elements, 4 * 65 * 65);
    EXPECT_EQ(stats.activations, 342'042);
    EXPECT_EQ(stats.mac_layers, 26);
}

// Strided and grouped convolutions: ResNet18's layer2.0.conv1 (64->128, 3x3, stride 2, out 16x16) is
// 128*16*16*64*9 = 18,874,368 MACs with 73,728 weights; MobileNet's first depthwise conv (32 groups of 1
// channel, 3x3, out 32x32) is 32*32*32*1*9 = 294,912 MACs with 288 weights. ResNet18's total is the sum of
// its convs and the classifier: stem 1,769,472 + layer1 4*37,748,736 + layers 2-4 134,217,728 each
// (18,874,368 + 37,748,736 + 2,097,152 shortcut + 2*37,748,736) + linear 5,120 = 555,422,720.
TEST(ZooMacs, StridedAndGroupedConvolutions) {
    auto resnet = make_model("resnet18", kCifar, 10);
    const auto stats = model_stats(*resnet, kCifar);
    const auto& conv = find_layer(stats, "layer2.0.conv1");
    EXPECT_EQ(conv.output, "128x16x16");
    EXPECT_EQ(conv.params, 73'728);
    EXPECT_EQ(conv.macs, 18'874'368);
    EXPECT_EQ(stats.macs, 555'422'720);

    auto mobilenet = make_model("mobilenet", kCifar, 10);
    const auto& depthwise = find_layer(model_stats(*mobilenet, kCifar), "layers.0.conv1");
    EXPECT_EQ(depthwise.output, "32x32x32");
    EXPECT_EQ(depthwise.params, 288);
    EXPECT_EQ(depthwise.macs, 294'912);
}

// ViT at 3x32x32: 8x8 = 64 patches + class token = 65 tokens of dim 128.
//   patch conv 128*8*8*3*4*4 = 393,216
//   per block: qkv 65*128*384 = 3,194,880; attention 2*65^2*128 = 1,081,600 (two calls of 540,800: the
//              scores Q K^T and their product with V); proj 65*128*128 = 1,064,960;
//              fc1 65*128*256 = 2,129,920; fc2 2,129,920 -> 9,601,280; 4 blocks 38,405,120
//   head on the class token 128*10 = 1,280; total 38,799,616
// At 1x28x28: 7x7 = 49 patches + 1 = 50 tokens: attention 2*50^2*128 = 640,000 per block (two calls of
//   320,000); total
//   100,352 + 4*(2,457,600 + 640,000 + 819,200 + 1,638,400 + 1,638,400) + 1,280 = 28,876,032.
TEST(ZooMacs, VitAttentionTerm) {
    auto vit = make_model("vit", kCifar, 10);
    const auto stats = model_stats(*vit, kCifar);
    int attention_calls = 0;
    for (const auto& layer : stats.layers) {
        if (layer.name != "blocks.0.attn") continue;
        ++attention_calls;
        EXPECT_EQ(layer.kind, "attention");
        EXPECT_EQ(layer.macs, 540'800);
        EXPECT_EQ(layer.params, 0);
        EXPECT_EQ(layer.output, attention_calls == 1 ? "4x65x65" : "65x128");
    }
    EXPECT_EQ(attention_calls, 2);
    EXPECT_EQ(find_layer(stats, "blocks.0.attn.qkv").macs, 3'194'880);
    EXPECT_EQ(stats.macs, 38'799'616);
    EXPECT_EQ(find_layer(stats, "cls_token").params, 128);
    EXPECT_EQ(find_layer(stats, "pos_embed").params, 65 * 128);

    auto small = make_model("vit", kFashion, 10);
    const auto small_stats = model_stats(*small, kFashion);
    EXPECT_EQ(find_layer(small_stats, "blocks.3.attn").macs, 320'000);
    EXPECT_EQ(small_stats.macs, 28'876'032);
}

// MLP MACs are its weights: 3072*512 + 512*512 + 512*10 = 1,840,128.
TEST(ZooMacs, MlpMacsAreItsWeights) {
    auto mlp = make_model("mlp", kCifar, 10);
    EXPECT_EQ(model_stats(*mlp, kCifar).macs, 1'840'128);
}

TEST(ZooMacs, EfficientNetListsItsUnusedExpansionLayer) {
    auto model = make_model("efficientnetb0", kCifar, 10);
    const auto stats = model_stats(*model, kCifar);
    const auto& unused_conv = find_layer(stats, "layers.0.conv1");
    EXPECT_EQ(unused_conv.kind, "unused");
    EXPECT_EQ(unused_conv.params, 32 * 32);
    EXPECT_EQ(unused_conv.macs, 0);
    EXPECT_EQ(find_layer(stats, "layers.0.bn1").params, 64);
}

// ---- counting mode

TEST(ZooStats, RestoresTrainingModeAndDetaches) {
    auto model = make_model("lenet", kCifar, 10);
    model->train();
    const auto first = model_stats(*model, kCifar);
    EXPECT_TRUE(model->is_training());
    // A second pass sees the same layers: nothing was left attached or marked from the first.
    const auto second = model_stats(*model, kCifar);
    EXPECT_EQ(first.layers.size(), second.layers.size());
    EXPECT_EQ(first.macs, second.macs);

    model->eval();
    model_stats(*model, kCifar);
    EXPECT_FALSE(model->is_training());
}

TEST(ZooStats, WrongInputShapeIsAUsageError) {
    auto model = make_model("lenet", kCifar, 10);  // fc1 sized for 32x32
    EXPECT_THROW(model_stats(*model, kFashion), UsageError);
}

// ---- training works

class ZooBackward : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooBackward, GradientsReachEveryUsedParameter) {
    torch::manual_seed(1);
    auto model = make_model(GetParam(), kFashion, 10);
    model->train();
    const auto x = torch::randn({2, 1, 28, 28});
    const auto target = torch::tensor({3, 7}, torch::kLong);
    auto loss = torch::nn::functional::cross_entropy(model->forward(x), target);
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
    for (const auto& item : model->named_parameters()) {
        ASSERT_TRUE(item.value().grad().defined()) << item.key();
        EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
    }
}

INSTANTIATE_TEST_SUITE_P(SmallModels, ZooBackward, ::testing::Values("lenet", "mlp", "vit", "resnet18"));

}  // namespace
}  // namespace joulecast::zoo

namespace joulecast::zoo {
namespace {

// The running statistics replace the initial 0 and 1 with the first training batch, then follow an
// exponential average with momentum 0.5 (PyTorch: 0.1): a model evaluated after a few steps uses statistics
// of its latest weights, not values still close to the initial ones.
TEST(ZooBatchNorm, RunningStatisticsStartAtTheFirstBatchThenDecayAtOneHalf) {
    torch::NoGradGuard no_grad;
    auto bn = detail::batch_norm(1);
    bn->train();
    auto running_mean = [&] { return bn->named_buffers()["running_mean"].item<double>(); };
    bn->forward(torch::full({4, 1, 2, 2}, 2.0));
    EXPECT_NEAR(running_mean(), 2.0, 1e-6);  // momentum 0.1 would give 0.2
    bn->forward(torch::full({4, 1, 2, 2}, 4.0));
    EXPECT_NEAR(running_mean(), 3.0, 1e-6);
    bn->forward(torch::full({4, 1, 2, 2}, 9.0));
    EXPECT_NEAR(running_mean(), 6.0, 1e-6);
    bn->eval();
    bn->forward(torch::full({4, 1, 2, 2}, 100.0));  // evaluation leaves the statistics alone
    EXPECT_NEAR(running_mean(), 6.0, 1e-6);
}

}  // namespace
}  // namespace joulecast::zoo
