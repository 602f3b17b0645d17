// LeNet, VGG-19 and the residual families (ResNet, pre-activation ResNet, SENet, ResNeXt, simplified DLA,
// DPN) in the CIFAR form of the widely used pytorch-cifar definitions: same layers, channels, strides and
// parameter counts at 3x32x32. Where those hard-code a 32x32 input (fixed pooling windows, a fixed flatten
// size), the models here pool adaptively or size the layer from the input, so 1x28x28 works too.

#include <array>
#include <utility>

#include "core/result.hpp"
#include "models/layers.hpp"

namespace joulecast::zoo::detail {

using core::UsageError;

namespace {

torch::Tensor global_pool(const torch::Tensor& x) {
    return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
}

// ---- LeNet

class LeNet : public ZooModel {
public:
    LeNet(InputShape input, std::int64_t classes) {
        // Two 5x5 valid convolutions, each followed by 2x2 max pooling; the flatten size follows the input
        // (16x5x5 at 32x32, 16x4x4 at 28x28).
        const std::int64_t h =
            conv_out(conv_out(conv_out(conv_out(input.height, 5, 1, 0), 2, 2, 0), 5, 1, 0), 2, 2, 0);
        const std::int64_t w =
            conv_out(conv_out(conv_out(conv_out(input.width, 5, 1, 0), 2, 2, 0), 5, 1, 0), 2, 2, 0);
        if (h < 1 || w < 1) {
            throw UsageError("lenet needs an input of at least 16x16, got " + std::to_string(input.height) +
                             "x" + std::to_string(input.width));
        }
        m_conv1 = register_module("conv1", conv(input.channels, 6, 5, 1, 0, true));
        m_conv2 = register_module("conv2", conv(6, 16, 5, 1, 0, true));
        m_fc1 = register_module("fc1", linear(16 * h * w, 120));
        m_fc2 = register_module("fc2", linear(120, 84));
        m_fc3 = register_module("fc3", linear(84, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = torch::max_pool2d(torch::relu(m_conv1->forward(x)), 2);
        x = torch::max_pool2d(torch::relu(m_conv2->forward(x)), 2);
        x = torch::relu(m_fc1->forward(x.flatten(1)));
        x = torch::relu(m_fc2->forward(x));
        return m_fc3->forward(x);
    }

private:
    std::shared_ptr<Conv> m_conv1, m_conv2;
    std::shared_ptr<Linear> m_fc1, m_fc2, m_fc3;
};

// ---- VGG

// A 3x3 convolution (with bias, as in the reference) + batch norm + ReLU.
class ConvBnRelu : public torch::nn::Module {
public:
    ConvBnRelu(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t padding, bool bias) {
        m_conv = register_module("conv", conv(in, out, kernel, 1, padding, bias));
        m_bn = register_module("bn", batch_norm(out));
    }
    torch::Tensor forward(torch::Tensor x) { return torch::relu(m_bn->forward(m_conv->forward(x))); }

private:
    std::shared_ptr<Conv> m_conv;
    std::shared_ptr<BatchNorm> m_bn;
};

// 2x2 max pooling with ceil mode: identical to floor mode on the power-of-two sizes of a 32x32 input, and it
// keeps VGG's fifth pooling from reaching 0x0 on a 28x28 input (28 -> 14 -> 7 -> 4 -> 2 -> 1).
class MaxPoolCeil : public torch::nn::Module {
public:
    torch::Tensor forward(torch::Tensor x) {
        return torch::max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true);
    }
};

class Vgg : public ZooModel {
public:
    Vgg(InputShape input, std::int64_t classes) {
        constexpr std::int64_t pool = 0;
        const std::array<std::int64_t, 21> config = {64,  64,   pool, 128,  128, pool, 256,
                                                     256, 256,  256,  pool, 512, 512,  512,
                                                     512, pool, 512,  512,  512, 512,  pool};
        m_features = register_module("features", torch::nn::Sequential());
        std::int64_t channels = input.channels;
        for (const std::int64_t width : config) {
            if (width == pool) {
                m_features->push_back(std::make_shared<MaxPoolCeil>());
            } else {
                m_features->push_back(std::make_shared<ConvBnRelu>(channels, width, 3, 1, true));
                channels = width;
            }
        }
        m_classifier = register_module("classifier", linear(512, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        return m_classifier->forward(global_pool(m_features->forward(x)));
    }

private:
    torch::nn::Sequential m_features{nullptr};
    std::shared_ptr<Linear> m_classifier;
};

// ---- ResNets

// conv3x3-bn-relu-conv3x3-bn plus shortcut (1x1 conv + bn when the shape changes), then ReLU.
class BasicBlock : public torch::nn::Module {
public:
    BasicBlock(std::int64_t in, std::int64_t planes, std::int64_t stride) {
        m_conv1 = register_module("conv1", conv(in, planes, 3, stride, 1, false));
        m_bn1 = register_module("bn1", batch_norm(planes));
        m_conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1, false));
        m_bn2 = register_module("bn2", batch_norm(planes));
        if (stride != 1 || in != planes) {
            m_short_conv = register_module("shortcut_conv", conv(in, planes, 1, stride, 0, false));
            m_short_bn = register_module("shortcut_bn", batch_norm(planes));
        }
    }

    torch::Tensor forward(torch::Tensor x) {
        auto out = torch::relu(m_bn1->forward(m_conv1->forward(x)));
        out = m_bn2->forward(m_conv2->forward(out));
        out = out + (m_short_conv ? m_short_bn->forward(m_short_conv->forward(x)) : x);
        return torch::relu(out);
    }

private:
    std::shared_ptr<Conv> m_conv1, m_conv2, m_short_conv;
    std::shared_ptr<BatchNorm> m_bn1, m_bn2, m_short_bn;
};

// bn-relu-conv3x3-bn-relu-conv3x3; the shortcut (a bare 1x1 conv when the shape changes) takes the
// pre-activated input. With `squeeze` the residual branch is rescaled per channel by a squeeze-excitation
// gate (global average -> 1x1 conv to planes/16 -> ReLU -> 1x1 conv -> sigmoid), as in SENet-18.
class PreActBlock : public torch::nn::Module {
public:
    PreActBlock(std::int64_t in, std::int64_t planes, std::int64_t stride, bool squeeze) {
        m_bn1 = register_module("bn1", batch_norm(in));
        m_conv1 = register_module("conv1", conv(in, planes, 3, stride, 1, false));
        m_bn2 = register_module("bn2", batch_norm(planes));
        m_conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1, false));
        if (stride != 1 || in != planes) {
            m_short_conv = register_module("shortcut_conv", conv(in, planes, 1, stride, 0, false));
        }
        if (squeeze) {
            m_fc1 = register_module("fc1", conv(planes, planes / 16, 1, 1, 0, true));
            m_fc2 = register_module("fc2", conv(planes / 16, planes, 1, 1, 0, true));
        }
    }

    torch::Tensor forward(torch::Tensor x) {
        auto out = torch::relu(m_bn1->forward(x));
        auto shortcut = m_short_conv ? m_short_conv->forward(out) : x;
        out = m_conv1->forward(out);
        out = m_conv2->forward(torch::relu(m_bn2->forward(out)));
        if (m_fc1) {
            auto gate = torch::adaptive_avg_pool2d(out, {1, 1});
            gate = torch::sigmoid(m_fc2->forward(torch::relu(m_fc1->forward(gate))));
            out = out * gate;
        }
        return out + shortcut;
    }

private:
    std::shared_ptr<BatchNorm> m_bn1, m_bn2;
    std::shared_ptr<Conv> m_conv1, m_conv2, m_short_conv, m_fc1, m_fc2;
};

enum class ResNetKind { basic, preact, squeeze };

// The CIFAR ResNet skeleton: 3x3 stem at full resolution, four stages of two blocks (64, 128, 256, 512
// channels; strides 1, 2, 2, 2), global average pooling, linear classifier. The pre-activation net has no
// batch norm after its stem; SENet-18 keeps ResNet's stem bn + ReLU in front of pre-activation blocks.
class ResNet : public ZooModel {
public:
    ResNet(InputShape input, std::int64_t classes, ResNetKind kind) {
        m_conv1 = register_module("conv1", conv(input.channels, 64, 3, 1, 1, false));
        if (kind != ResNetKind::preact) m_bn1 = register_module("bn1", batch_norm(64));
        std::int64_t in = 64;
        const std::array<std::int64_t, 4> planes = {64, 128, 256, 512};
        for (std::size_t stage = 0; stage < planes.size(); ++stage) {
            torch::nn::Sequential blocks;
            for (int b = 0; b < 2; ++b) {
                const std::int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
                if (kind == ResNetKind::basic) {
                    blocks->push_back(std::make_shared<BasicBlock>(in, planes[stage], stride));
                } else {
                    blocks->push_back(std::make_shared<PreActBlock>(in, planes[stage], stride,
                                                                    kind == ResNetKind::squeeze));
                }
                in = planes[stage];
            }
            m_stages.push_back(register_module("layer" + std::to_string(stage + 1), blocks));
        }
        m_linear = register_module("linear", linear(512, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = m_conv1->forward(x);
        if (m_bn1) x = torch::relu(m_bn1->forward(x));
        for (auto& stage : m_stages) x = stage->forward(x);
        return m_linear->forward(global_pool(x));
    }

private:
    std::shared_ptr<Conv> m_conv1;
    std::shared_ptr<BatchNorm> m_bn1;
    std::vector<torch::nn::Sequential> m_stages;
    std::shared_ptr<Linear> m_linear;
};

// ---- ResNeXt

// 1x1 reduce to cardinality x width, grouped 3x3 (cardinality groups), 1x1 expand to twice that, with a
// projection shortcut when the shape changes.
class ResNeXtBlock : public torch::nn::Module {
public:
    ResNeXtBlock(std::int64_t in, std::int64_t cardinality, std::int64_t width, std::int64_t stride) {
        const std::int64_t group_width = cardinality * width;
        const std::int64_t out = 2 * group_width;
        m_conv1 = register_module("conv1", conv(in, group_width, 1, 1, 0, false));
        m_bn1 = register_module("bn1", batch_norm(group_width));
        m_conv2 = register_module("conv2", conv(group_width, group_width, 3, stride, 1, false, cardinality));
        m_bn2 = register_module("bn2", batch_norm(group_width));
        m_conv3 = register_module("conv3", conv(group_width, out, 1, 1, 0, false));
        m_bn3 = register_module("bn3", batch_norm(out));
        if (stride != 1 || in != out) {
            m_short_conv = register_module("shortcut_conv", conv(in, out, 1, stride, 0, false));
            m_short_bn = register_module("shortcut_bn", batch_norm(out));
        }
    }

    torch::Tensor forward(torch::Tensor x) {
        auto out = torch::relu(m_bn1->forward(m_conv1->forward(x)));
        out = torch::relu(m_bn2->forward(m_conv2->forward(out)));
        out = m_bn3->forward(m_conv3->forward(out));
        out = out + (m_short_conv ? m_short_bn->forward(m_short_conv->forward(x)) : x);
        return torch::relu(out);
    }

private:
    std::shared_ptr<Conv> m_conv1, m_conv2, m_conv3, m_short_conv;
    std::shared_ptr<BatchNorm> m_bn1, m_bn2, m_bn3, m_short_bn;
};

// ResNeXt-29 (2x64d): a 1x1 stem to 64 channels, three stages of three blocks (strides 1, 2, 2), the
// bottleneck width doubling per stage (64, 128, 256), so the output has 2 x 256 x 2 = 1024 channels.
class ResNeXt29 : public ZooModel {
public:
    ResNeXt29(InputShape input, std::int64_t classes) {
        constexpr std::int64_t cardinality = 2;
        std::int64_t width = 64;
        m_conv1 = register_module("conv1", conv(input.channels, 64, 1, 1, 0, false));
        m_bn1 = register_module("bn1", batch_norm(64));
        std::int64_t in = 64;
        for (int stage = 0; stage < 3; ++stage) {
            torch::nn::Sequential blocks;
            for (int b = 0; b < 3; ++b) {
                const std::int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
                blocks->push_back(std::make_shared<ResNeXtBlock>(in, cardinality, width, stride));
                in = 2 * cardinality * width;
            }
            m_stages.push_back(register_module("layer" + std::to_string(stage + 1), blocks));
            width *= 2;
        }
        m_linear = register_module("linear", linear(in, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = torch::relu(m_bn1->forward(m_conv1->forward(x)));
        for (auto& stage : m_stages) x = stage->forward(x);
        return m_linear->forward(global_pool(x));
    }

private:
    std::shared_ptr<Conv> m_conv1;
    std::shared_ptr<BatchNorm> m_bn1;
    std::vector<torch::nn::Sequential> m_stages;
    std::shared_ptr<Linear> m_linear;
};

// ---- SimpleDLA

// A tree of basic blocks: at level 1 two blocks in a row, above that two subtrees in a row; a root (1x1 conv
// + bn + ReLU) merges the concatenated outputs of the two children.
class Tree : public torch::nn::Module {
public:
    Tree(std::int64_t in, std::int64_t out, int level, std::int64_t stride) {
        m_root_conv = register_module("root_conv", conv(2 * out, out, 1, 1, 0, false));
        m_root_bn = register_module("root_bn", batch_norm(out));
        if (level == 1) {
            m_left_block = register_module("left_tree", std::make_shared<BasicBlock>(in, out, stride));
            m_right_block = register_module("right_tree", std::make_shared<BasicBlock>(out, out, 1));
        } else {
            m_left_tree = register_module("left_tree", std::make_shared<Tree>(in, out, level - 1, stride));
            m_right_tree = register_module("right_tree", std::make_shared<Tree>(out, out, level - 1, 1));
        }
    }

    torch::Tensor forward(torch::Tensor x) {
        auto left = m_left_block ? m_left_block->forward(x) : m_left_tree->forward(x);
        auto right = m_right_block ? m_right_block->forward(left) : m_right_tree->forward(left);
        return torch::relu(m_root_bn->forward(m_root_conv->forward(torch::cat({left, right}, 1))));
    }

private:
    std::shared_ptr<Conv> m_root_conv;
    std::shared_ptr<BatchNorm> m_root_bn;
    std::shared_ptr<BasicBlock> m_left_block, m_right_block;
    std::shared_ptr<Tree> m_left_tree, m_right_tree;
};

class SimpleDla : public ZooModel {
public:
    SimpleDla(InputShape input, std::int64_t classes) {
        m_base = register_module("base", std::make_shared<ConvBnRelu>(input.channels, 16, 3, 1, false));
        m_layer1 = register_module("layer1", std::make_shared<ConvBnRelu>(16, 16, 3, 1, false));
        m_layer2 = register_module("layer2", std::make_shared<ConvBnRelu>(16, 32, 3, 1, false));
        m_trees.push_back(register_module("layer3", std::make_shared<Tree>(32, 64, 1, 1)));
        m_trees.push_back(register_module("layer4", std::make_shared<Tree>(64, 128, 2, 2)));
        m_trees.push_back(register_module("layer5", std::make_shared<Tree>(128, 256, 2, 2)));
        m_trees.push_back(register_module("layer6", std::make_shared<Tree>(256, 512, 1, 2)));
        m_linear = register_module("linear", linear(512, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = m_layer2->forward(m_layer1->forward(m_base->forward(x)));
        for (auto& tree : m_trees) x = tree->forward(x);
        return m_linear->forward(global_pool(x));
    }

private:
    std::shared_ptr<ConvBnRelu> m_base, m_layer1, m_layer2;
    std::vector<std::shared_ptr<Tree>> m_trees;
    std::shared_ptr<Linear> m_linear;
};

// ---- DPN

// Dual-path bottleneck: 1x1 -> grouped 3x3 (32 groups) -> 1x1 to out + dense channels. The first `out`
// channels are added to the shortcut's (residual path); the dense channels of both are concatenated.
class DualPathBlock : public torch::nn::Module {
public:
    DualPathBlock(std::int64_t last, std::int64_t in, std::int64_t out, std::int64_t dense,
                  std::int64_t stride, bool first)
        : m_out(out) {
        m_conv1 = register_module("conv1", conv(last, in, 1, 1, 0, false));
        m_bn1 = register_module("bn1", batch_norm(in));
        m_conv2 = register_module("conv2", conv(in, in, 3, stride, 1, false, 32));
        m_bn2 = register_module("bn2", batch_norm(in));
        m_conv3 = register_module("conv3", conv(in, out + dense, 1, 1, 0, false));
        m_bn3 = register_module("bn3", batch_norm(out + dense));
        if (first) {
            m_short_conv = register_module("shortcut_conv", conv(last, out + dense, 1, stride, 0, false));
            m_short_bn = register_module("shortcut_bn", batch_norm(out + dense));
        }
    }

    torch::Tensor forward(torch::Tensor x) {
        auto out = torch::relu(m_bn1->forward(m_conv1->forward(x)));
        out = torch::relu(m_bn2->forward(m_conv2->forward(out)));
        out = m_bn3->forward(m_conv3->forward(out));
        if (m_short_conv) x = m_short_bn->forward(m_short_conv->forward(x));
        const std::int64_t d = m_out;
        auto merged = torch::cat({x.narrow(1, 0, d) + out.narrow(1, 0, d), x.narrow(1, d, x.size(1) - d),
                                  out.narrow(1, d, out.size(1) - d)},
                                 1);
        return torch::relu(merged);
    }

private:
    std::int64_t m_out;
    std::shared_ptr<Conv> m_conv1, m_conv2, m_conv3, m_short_conv;
    std::shared_ptr<BatchNorm> m_bn1, m_bn2, m_bn3, m_short_bn;
};

// DPN-26: four stages of two dual-path blocks; bottleneck widths 96/192/384/768, residual widths
// 256/512/1024/2048, dense increments 16/32/24/128.
class Dpn26 : public ZooModel {
public:
    Dpn26(InputShape input, std::int64_t classes) {
        const std::array<std::int64_t, 4> in_planes = {96, 192, 384, 768};
        const std::array<std::int64_t, 4> out_planes = {256, 512, 1024, 2048};
        const std::array<std::int64_t, 4> dense = {16, 32, 24, 128};
        constexpr int blocks_per_stage = 2;
        m_conv1 = register_module("conv1", conv(input.channels, 64, 3, 1, 1, false));
        m_bn1 = register_module("bn1", batch_norm(64));
        std::int64_t last = 64;
        for (std::size_t stage = 0; stage < 4; ++stage) {
            torch::nn::Sequential blocks;
            for (int b = 0; b < blocks_per_stage; ++b) {
                const std::int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
                blocks->push_back(std::make_shared<DualPathBlock>(last, in_planes[stage], out_planes[stage],
                                                                  dense[stage], stride, b == 0));
                last = out_planes[stage] + (b + 2) * dense[stage];
            }
            m_stages.push_back(register_module("layer" + std::to_string(stage + 1), blocks));
        }
        m_linear = register_module("linear", linear(last, classes));
    }

    torch::Tensor forward(torch::Tensor x) override {
        x = torch::relu(m_bn1->forward(m_conv1->forward(x)));
        for (auto& stage : m_stages) x = stage->forward(x);
        return m_linear->forward(global_pool(x));
    }

private:
    std::shared_ptr<Conv> m_conv1;
    std::shared_ptr<BatchNorm> m_bn1;
    std::vector<torch::nn::Sequential> m_stages;
    std::shared_ptr<Linear> m_linear;
};

}  // namespace

std::shared_ptr<ZooModel> make_lenet(InputShape input, std::int64_t classes) {
    return std::make_shared<LeNet>(input, classes);
}
std::shared_ptr<ZooModel> make_vgg19(InputShape input, std::int64_t classes) {
    return std::make_shared<Vgg>(input, classes);
}
std::shared_ptr<ZooModel> make_resnet18(InputShape input, std::int64_t classes) {
    return std::make_shared<ResNet>(input, classes, ResNetKind::basic);
}
std::shared_ptr<ZooModel> make_preactresnet18(InputShape input, std::int64_t classes) {
    return std::make_shared<ResNet>(input, classes, ResNetKind::preact);
}
std::shared_ptr<ZooModel> make_senet18(InputShape input, std::int64_t classes) {
    return std::make_shared<ResNet>(input, classes, ResNetKind::squeeze);
}
std::shared_ptr<ZooModel> make_resnext29_2x64d(InputShape input, std::int64_t classes) {
    return std::make_shared<ResNeXt29>(input, classes);
}
std::shared_ptr<ZooModel> make_simpledla(InputShape input, std::int64_t classes) {
    return std::make_shared<SimpleDla>(input, classes);
}
std::shared_ptr<ZooModel> make_dpn26(InputShape input, std::int64_t classes) {
    return std::make_shared<Dpn26>(input, classes);
}

}  // namespace joulecast::zoo::detail
