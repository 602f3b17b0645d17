// The depthwise / grouped families (MobileNet, MobileNetV2, EfficientNet-B0, RegNetX-200MF) and the
// multi-branch ones (GoogLeNet, DenseNet-121) in the CIFAR form of the widely used pytorch-cifar definitions:
// same layers, channels, strides and parameter counts at 3x32x32. Fixed final pooling windows are replaced by
// global average pooling, which is the same operation at 32x32 and also works at 28x28.

#include <array>
#include <cmath>
#include <utility>

#include "models/layers.hpp"

namespace joulecast::zoo::detail {
namespace {

torch::Tensor global_pool(const torch::Tensor& x) {
    return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
}

torch::Tensor swish(const torch::Tensor& x) {
    return x * torch::sigmoid(x);
}

// A conv followed by batch norm, the pair almost every block here is made of.
struct ConvBn {
    std::shared_ptr<Conv> conv;
    std::shared_ptr<BatchNorm> bn;
    torch::Tensor operator()(const torch::Tensor& x) const { return bn->forward(conv->forward(x)); }
    explicit operator bool() const { return conv != nullptr; }
};

ConvBn add_conv_bn(torch::nn::Module& owner, const std::string& name, std::int64_t in, std::int64_t out,
                   std::int64_t kernel, std::int64_t stride, std::int64_t groups = 1, bool bias = false) {
    ConvBn pair;
    pair.conv = owner.register_module("conv" + name, conv(in, out, kernel, stride, kernel / 2, bias, groups));
    pair.bn = owner.register_module("bn" + name, batch_norm(out));
    return pair;
}

// ---- MobileNet

// Depthwise 3x3 + bn + ReLU, pointwise 1x1 + bn + ReLU.
class DepthwiseSeparable : public torch::nn::Module {
public:
    DepthwiseSeparable(std::int64_t in, std::int64_t out, std::int64_t stride) {
        m_depthwise = add_conv_bn(*this, "1", in, in, 3, stride, in);
        m_pointwise = add_conv_bn(*this, "2", in, out, 1, 1);
    }
    torch::Tensor forward(torch::Tensor x) { return torch::relu(m_pointwise(torch::relu(m_depthwise(x)))); }

private:
    ConvBn m_depthwise, m_pointwise;
};

class MobileNet : public ZooModel {
public:
    MobileNet(InputShape input, std::int64_t classes) {
        // (output channels, stride) of the 13 depthwise-separable blocks.
        // clang-format off
        const std::array<std::pair<std::int64_t, std::int64_t>, 13> config = {{
            {64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2}, {512, 1},
            {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}}};
        // clang-format on
        m_stem = add_conv_bn(*this, "1", input.channels, 32, 3, 1);
        m_layers = register_module("layers", torch::nn::Sequential());
        std::int64_t in = 32;
        for (const auto& [out, stride] : config) {
            m_layers->push_back(std::make_shared<DepthwiseSeparable>(in, out, stride));
            in = out;
        }
        m_linear = register_module("linear", linear(1024, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        return m_linear->forward(global_pool(m_layers->forward(torch::relu(m_stem(x)))));
    }

private:
    ConvBn m_stem;
    torch::nn::Sequential m_layers{nullptr};
    std::shared_ptr<Linear> m_linear;
};

// ---- MobileNetV2

// Inverted residual: 1x1 expand (+ReLU), depthwise 3x3 (+ReLU), linear 1x1 project. At stride 1 the input is
// added back, through a 1x1 conv + bn when the channel count changes; at stride 2 there is no residual.
class InvertedResidual : public torch::nn::Module {
public:
    InvertedResidual(std::int64_t in, std::int64_t out, std::int64_t expansion, std::int64_t stride)
        : m_stride(stride) {
        const std::int64_t planes = expansion * in;
        m_expand = add_conv_bn(*this, "1", in, planes, 1, 1);
        m_depthwise = add_conv_bn(*this, "2", planes, planes, 3, stride, planes);
        m_project = add_conv_bn(*this, "3", planes, out, 1, 1);
        if (stride == 1 && in != out) m_shortcut = add_conv_bn(*this, "_shortcut", in, out, 1, 1);
    }

    torch::Tensor forward(torch::Tensor x) {
        auto out = torch::relu(m_expand(x));
        out = torch::relu(m_depthwise(out));
        out = m_project(out);
        if (m_stride != 1) return out;
        return out + (m_shortcut ? m_shortcut(x) : x);
    }

private:
    std::int64_t m_stride;
    ConvBn m_expand, m_depthwise, m_project, m_shortcut;
};

class MobileNetV2 : public ZooModel {
public:
    MobileNetV2(InputShape input, std::int64_t classes) {
        struct Stage {
            std::int64_t expansion, out, blocks, stride;
        };
        // The CIFAR form keeps the stem and the second stage at stride 1.
        const std::array<Stage, 7> config = {{{1, 16, 1, 1},
                                              {6, 24, 2, 1},
                                              {6, 32, 3, 2},
                                              {6, 64, 4, 2},
                                              {6, 96, 3, 1},
                                              {6, 160, 3, 2},
                                              {6, 320, 1, 1}}};
        m_stem = add_conv_bn(*this, "1", input.channels, 32, 3, 1);
        m_layers = register_module("layers", torch::nn::Sequential());
        std::int64_t in = 32;
        for (const auto& stage : config) {
            for (std::int64_t b = 0; b < stage.blocks; ++b) {
                m_layers->push_back(std::make_shared<InvertedResidual>(in, stage.out, stage.expansion,
                                                                       b == 0 ? stage.stride : 1));
                in = stage.out;
            }
        }
        m_head = add_conv_bn(*this, "2", 320, 1280, 1, 1);
        m_linear = register_module("linear", linear(1280, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = m_layers->forward(torch::relu(m_stem(x)));
        return m_linear->forward(global_pool(torch::relu(m_head(x))));
    }

private:
    ConvBn m_stem, m_head;
    torch::nn::Sequential m_layers{nullptr};
    std::shared_ptr<Linear> m_linear;
};

// ---- EfficientNet

// MBConv with squeeze-excitation and swish. The squeeze width is a quarter of the block's *input* channels.
// As in the reference, the 1x1 expansion conv + bn exist even when the expansion ratio is 1 (the first
// block), where they are skipped in the forward pass: they count as (never updated) parameters. The
// reference's drop-connect rate is 0 for every block (its block counter never advances), so there is none
// here.
class MbConv : public torch::nn::Module {
public:
    MbConv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
           std::int64_t expansion)
        : m_expand_used(expansion != 1), m_skip(stride == 1 && in == out) {
        const std::int64_t channels = expansion * in;
        const std::int64_t squeeze = in / 4;
        m_expand = add_conv_bn(*this, "1", in, channels, 1, 1);
        m_depthwise = add_conv_bn(*this, "2", channels, channels, kernel, stride, channels);
        m_se1 = register_module("se1", conv(channels, squeeze, 1, 1, 0, true));
        m_se2 = register_module("se2", conv(squeeze, channels, 1, 1, 0, true));
        m_project = add_conv_bn(*this, "3", channels, out, 1, 1);
    }

    torch::Tensor forward(torch::Tensor x) {
        auto out = m_expand_used ? swish(m_expand(x)) : x;
        out = swish(m_depthwise(out));
        auto gate = torch::adaptive_avg_pool2d(out, {1, 1});
        gate = torch::sigmoid(m_se2->forward(swish(m_se1->forward(gate))));
        out = m_project(out * gate);
        return m_skip ? out + x : out;
    }

private:
    bool m_expand_used;
    bool m_skip;
    ConvBn m_expand, m_depthwise, m_project;
    std::shared_ptr<Conv> m_se1, m_se2;
};

class EfficientNetB0 : public ZooModel {
public:
    EfficientNetB0(InputShape input, std::int64_t classes) {
        struct Stage {
            std::int64_t blocks, expansion, out, kernel, stride;
        };
        const std::array<Stage, 7> config = {{{1, 1, 16, 3, 1},
                                              {2, 6, 24, 3, 2},
                                              {2, 6, 40, 5, 2},
                                              {3, 6, 80, 3, 2},
                                              {3, 6, 112, 5, 1},
                                              {4, 6, 192, 5, 2},
                                              {1, 6, 320, 3, 1}}};
        m_stem = add_conv_bn(*this, "1", input.channels, 32, 3, 1);
        m_layers = register_module("layers", torch::nn::Sequential());
        std::int64_t in = 32;
        for (const auto& stage : config) {
            for (std::int64_t b = 0; b < stage.blocks; ++b) {
                m_layers->push_back(std::make_shared<MbConv>(in, stage.out, stage.kernel,
                                                             b == 0 ? stage.stride : 1, stage.expansion));
                in = stage.out;
            }
        }
        m_linear = register_module("linear", linear(320, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = global_pool(m_layers->forward(swish(m_stem(x))));
        // Dropout 0.2 before the classifier, in training only.
        x = torch::dropout(x, 0.2, is_training());
        return m_linear->forward(x);
    }

private:
    ConvBn m_stem;
    torch::nn::Sequential m_layers{nullptr};
    std::shared_ptr<Linear> m_linear;
};

// ---- RegNet

// RegNetX block (bottleneck ratio 1, no squeeze-excitation): 1x1, grouped 3x3 with groups of 8 channels, 1x1,
// with a projection shortcut when the shape changes.
class RegNetBlock : public torch::nn::Module {
public:
    RegNetBlock(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t group_width) {
        m_conv1 = add_conv_bn(*this, "1", in, out, 1, 1);
        m_conv2 = add_conv_bn(*this, "2", out, out, 3, stride, out / group_width);
        m_conv3 = add_conv_bn(*this, "3", out, out, 1, 1);
        if (stride != 1 || in != out) m_shortcut = add_conv_bn(*this, "_shortcut", in, out, 1, stride);
    }

    torch::Tensor forward(torch::Tensor x) {
        auto out = torch::relu(m_conv1(x));
        out = torch::relu(m_conv2(out));
        out = m_conv3(out);
        return torch::relu(out + (m_shortcut ? m_shortcut(x) : x));
    }

private:
    ConvBn m_conv1, m_conv2, m_conv3, m_shortcut;
};

class RegNetX200 : public ZooModel {
public:
    RegNetX200(InputShape input, std::int64_t classes) {
        const std::array<std::int64_t, 4> depths = {1, 1, 4, 7};
        const std::array<std::int64_t, 4> widths = {24, 56, 152, 368};
        const std::array<std::int64_t, 4> strides = {1, 1, 2, 2};
        constexpr std::int64_t group_width = 8;
        m_stem = add_conv_bn(*this, "1", input.channels, 64, 3, 1);
        std::int64_t in = 64;
        for (std::size_t stage = 0; stage < depths.size(); ++stage) {
            torch::nn::Sequential blocks;
            for (std::int64_t b = 0; b < depths[stage]; ++b) {
                blocks->push_back(std::make_shared<RegNetBlock>(in, widths[stage],
                                                                b == 0 ? strides[stage] : 1, group_width));
                in = widths[stage];
            }
            m_stages.push_back(register_module("layer" + std::to_string(stage + 1), blocks));
        }
        m_linear = register_module("linear", linear(in, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = torch::relu(m_stem(x));
        for (auto& stage : m_stages) x = stage->forward(x);
        return m_linear->forward(global_pool(x));
    }

private:
    ConvBn m_stem;
    std::vector<torch::nn::Sequential> m_stages;
    std::shared_ptr<Linear> m_linear;
};

// ---- GoogLeNet

// Four parallel branches, concatenated: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3 (the reference's stand-in for
// 5x5); 3x3 max pool -> 1x1. Every conv has a bias and is followed by bn + ReLU.
class Inception : public torch::nn::Module {
public:
    Inception(std::int64_t in, std::int64_t n1, std::int64_t n3_reduce, std::int64_t n3,
              std::int64_t n5_reduce, std::int64_t n5, std::int64_t pool_planes) {
        m_b1 = add_conv_bn(*this, "_b1", in, n1, 1, 1, 1, true);
        m_b2_reduce = add_conv_bn(*this, "_b2_reduce", in, n3_reduce, 1, 1, 1, true);
        m_b2 = add_conv_bn(*this, "_b2", n3_reduce, n3, 3, 1, 1, true);
        m_b3_reduce = add_conv_bn(*this, "_b3_reduce", in, n5_reduce, 1, 1, 1, true);
        m_b3a = add_conv_bn(*this, "_b3a", n5_reduce, n5, 3, 1, 1, true);
        m_b3b = add_conv_bn(*this, "_b3b", n5, n5, 3, 1, 1, true);
        m_b4 = add_conv_bn(*this, "_b4", in, pool_planes, 1, 1, 1, true);
    }

    torch::Tensor forward(torch::Tensor x) {
        auto y1 = torch::relu(m_b1(x));
        auto y2 = torch::relu(m_b2(torch::relu(m_b2_reduce(x))));
        auto y3 = torch::relu(m_b3b(torch::relu(m_b3a(torch::relu(m_b3_reduce(x))))));
        auto y4 = torch::relu(m_b4(torch::max_pool2d(x, 3, 1, 1)));
        return torch::cat({y1, y2, y3, y4}, 1);
    }

private:
    ConvBn m_b1, m_b2_reduce, m_b2, m_b3_reduce, m_b3a, m_b3b, m_b4;
};

class GoogLeNet : public ZooModel {
public:
    GoogLeNet(InputShape input, std::int64_t classes) {
        m_stem = add_conv_bn(*this, "1", input.channels, 192, 3, 1, 1, true);
        auto add = [&](const char* name, std::array<std::int64_t, 7> c) {
            return register_module(name,
                                   std::make_shared<Inception>(c[0], c[1], c[2], c[3], c[4], c[5], c[6]));
        };
        m_a3 = add("a3", {192, 64, 96, 128, 16, 32, 32});
        m_b3 = add("b3", {256, 128, 128, 192, 32, 96, 64});
        m_a4 = add("a4", {480, 192, 96, 208, 16, 48, 64});
        m_b4 = add("b4", {512, 160, 112, 224, 24, 64, 64});
        m_c4 = add("c4", {512, 128, 128, 256, 24, 64, 64});
        m_d4 = add("d4", {512, 112, 144, 288, 32, 64, 64});
        m_e4 = add("e4", {528, 256, 160, 320, 32, 128, 128});
        m_a5 = add("a5", {832, 256, 160, 320, 32, 128, 128});
        m_b5 = add("b5", {832, 384, 192, 384, 48, 128, 128});
        m_linear = register_module("linear", linear(1024, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = m_b3->forward(m_a3->forward(torch::relu(m_stem(x))));
        x = torch::max_pool2d(x, 3, 2, 1);
        x = m_e4->forward(m_d4->forward(m_c4->forward(m_b4->forward(m_a4->forward(x)))));
        x = torch::max_pool2d(x, 3, 2, 1);
        x = m_b5->forward(m_a5->forward(x));
        return m_linear->forward(global_pool(x));
    }

private:
    ConvBn m_stem;
    std::shared_ptr<Inception> m_a3, m_b3, m_a4, m_b4, m_c4, m_d4, m_e4, m_a5, m_b5;
    std::shared_ptr<Linear> m_linear;
};

// ---- DenseNet

// bn-relu-1x1 (4 x growth) -bn-relu-3x3 (growth); the new channels are concatenated in front of the input.
class DenseLayer : public torch::nn::Module {
public:
    DenseLayer(std::int64_t in, std::int64_t growth) {
        m_bn1 = register_module("bn1", batch_norm(in));
        m_conv1 = register_module("conv1", conv(in, 4 * growth, 1, 1, 0, false));
        m_bn2 = register_module("bn2", batch_norm(4 * growth));
        m_conv2 = register_module("conv2", conv(4 * growth, growth, 3, 1, 1, false));
    }
    torch::Tensor forward(torch::Tensor x) {
        auto out = m_conv1->forward(torch::relu(m_bn1->forward(x)));
        out = m_conv2->forward(torch::relu(m_bn2->forward(out)));
        return torch::cat({out, x}, 1);
    }

private:
    std::shared_ptr<BatchNorm> m_bn1, m_bn2;
    std::shared_ptr<Conv> m_conv1, m_conv2;
};

// bn-relu-1x1 conv then 2x2 average pooling.
class Transition : public torch::nn::Module {
public:
    Transition(std::int64_t in, std::int64_t out) {
        m_bn = register_module("bn", batch_norm(in));
        m_conv = register_module("conv", conv(in, out, 1, 1, 0, false));
    }
    torch::Tensor forward(torch::Tensor x) {
        return torch::avg_pool2d(m_conv->forward(torch::relu(m_bn->forward(x))), 2);
    }

private:
    std::shared_ptr<BatchNorm> m_bn;
    std::shared_ptr<Conv> m_conv;
};

// DenseNet-121 in CIFAR form: 3x3 stem to 2 x growth channels, dense blocks of 6, 12, 24, 16 layers (growth
// 32), transitions halving the channels (floor), final bn + ReLU, global pooling, linear.
class DenseNet121 : public ZooModel {
public:
    DenseNet121(InputShape input, std::int64_t classes) {
        constexpr std::int64_t growth = 32;
        const std::array<std::int64_t, 4> layers = {6, 12, 24, 16};
        std::int64_t planes = 2 * growth;
        m_conv1 = register_module("conv1", conv(input.channels, planes, 3, 1, 1, false));
        for (std::size_t block = 0; block < layers.size(); ++block) {
            torch::nn::Sequential dense;
            for (std::int64_t i = 0; i < layers[block]; ++i) {
                dense->push_back(std::make_shared<DenseLayer>(planes, growth));
                planes += growth;
            }
            m_dense.push_back(register_module("dense" + std::to_string(block + 1), dense));
            if (block + 1 < layers.size()) {
                const std::int64_t out = planes / 2;
                m_transitions.push_back(register_module("trans" + std::to_string(block + 1),
                                                        std::make_shared<Transition>(planes, out)));
                planes = out;
            }
        }
        m_bn = register_module("bn", batch_norm(planes));
        m_linear = register_module("linear", linear(planes, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = m_conv1->forward(x);
        for (std::size_t block = 0; block < m_dense.size(); ++block) {
            x = m_dense[block]->forward(x);
            if (block < m_transitions.size()) x = m_transitions[block]->forward(x);
        }
        return m_linear->forward(global_pool(torch::relu(m_bn->forward(x))));
    }

private:
    std::shared_ptr<Conv> m_conv1;
    std::vector<torch::nn::Sequential> m_dense;
    std::vector<std::shared_ptr<Transition>> m_transitions;
    std::shared_ptr<BatchNorm> m_bn;
    std::shared_ptr<Linear> m_linear;
};

}  // namespace

std::shared_ptr<ZooModel> make_mobilenet(InputShape input, std::int64_t classes) {
    return std::make_shared<MobileNet>(input, classes);
}
std::shared_ptr<ZooModel> make_mobilenetv2(InputShape input, std::int64_t classes) {
    return std::make_shared<MobileNetV2>(input, classes);
}
std::shared_ptr<ZooModel> make_efficientnetb0(InputShape input, std::int64_t classes) {
    return std::make_shared<EfficientNetB0>(input, classes);
}
std::shared_ptr<ZooModel> make_regnetx_200mf(InputShape input, std::int64_t classes) {
    return std::make_shared<RegNetX200>(input, classes);
}
std::shared_ptr<ZooModel> make_googlenet(InputShape input, std::int64_t classes) {
    return std::make_shared<GoogLeNet>(input, classes);
}
std::shared_ptr<ZooModel> make_densenet121(InputShape input, std::int64_t classes) {
    return std::make_shared<DenseNet121>(input, classes);
}

}  // namespace joulecast::zoo::detail
