#include "models/zoo.hpp"

#include <cmath>
#include <set>
#include <sstream>
#include <utility>

#include "core/result.hpp"
#include "core/text.hpp"
#include "models/layers.hpp"

namespace joulecast::zoo {

using core::to_lower;
using core::UsageError;

namespace detail {

void CountedLayer::attach(Recorder* recorder, std::string name) {
    m_recorder = recorder;
    m_name = std::move(name);
    m_recorded = false;
}

void CountedLayer::record(const char* kind, const torch::Tensor& output, std::int64_t macs,
                          std::int64_t own_params) {
    const std::int64_t batch = output.dim() > 0 ? output.size(0) : 0;
    const std::int64_t per_sample = batch > 0 ? output.numel() / batch : 0;
    m_recorder->layers.push_back(
        LayerStats{m_name, kind, sample_shape(output), m_recorded ? 0 : own_params, macs, per_sample});
    m_recorded = true;
}

std::int64_t own_parameter_count(const torch::nn::Module& module) {
    std::int64_t count = 0;
    for (const auto& parameter : module.parameters(/*recurse=*/false)) {
        if (parameter.requires_grad()) count += parameter.numel();
    }
    return count;
}

std::string sample_shape(const torch::Tensor& batch) {
    std::string text;
    for (std::int64_t d = 1; d < batch.dim(); ++d) {
        if (!text.empty()) text += 'x';
        text += std::to_string(batch.size(d));
    }
    return text.empty() ? "1" : text;
}

torch::Tensor Conv::forward(const torch::Tensor& x) {
    auto y = torch::nn::Conv2dImpl::forward(x);
    if (attached()) {
        const auto& kernel = *options.kernel_size();
        const std::int64_t per_output = (options.in_channels() / options.groups()) * kernel[0] * kernel[1];
        record("conv", y, y.size(1) * y.size(2) * y.size(3) * per_output, own_parameter_count(*this));
    }
    return y;
}

torch::Tensor Linear::forward(const torch::Tensor& x) {
    auto y = torch::nn::LinearImpl::forward(x);
    if (attached()) {
        // Positions per sample: everything between the batch and the feature dimension (tokens for a ViT).
        const std::int64_t positions = y.numel() / (y.size(0) * y.size(-1));
        record("linear", y, positions * options.in_features() * options.out_features(),
               own_parameter_count(*this));
    }
    return y;
}

BatchNorm::BatchNorm(std::int64_t channels) {
    m_weight = register_parameter("weight", torch::ones({channels}));
    m_bias = register_parameter("bias", torch::zeros({channels}));
    m_running_mean = register_buffer("running_mean", torch::zeros({channels}));
    m_running_var = register_buffer("running_var", torch::ones({channels}));
    m_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

torch::Tensor BatchNorm::forward(const torch::Tensor& x) {
    // Momentum 0.5 (PyTorch: 0.1), and the first batch replaces the initial 0 and 1: after a short run the
    // weights move fast, and statistics that remember older batches do not fit the final weights (see
    // docs/study.md, "Why the default study learns").
    double momentum = 0.5;
    if (is_training()) {
        m_batches_tracked += 1;
        if (m_batches_tracked.item<std::int64_t>() == 1) momentum = 1.0;
    }
    auto y = torch::batch_norm(x, m_weight, m_bias, m_running_mean, m_running_var, is_training(), momentum,
                               1e-5, at::globalContext().userEnabledCuDNN());
    if (attached()) record("norm", y, 0, own_parameter_count(*this));
    return y;
}

torch::Tensor LayerNorm::forward(const torch::Tensor& x) {
    auto y = torch::nn::LayerNormImpl::forward(x);
    if (attached()) record("norm", y, 0, own_parameter_count(*this));
    return y;
}

SelfAttention::SelfAttention(std::int64_t dim, std::int64_t heads) : m_dim(dim), m_heads(heads) {
    if (dim % heads != 0)
        throw UsageError("attention: dim " + std::to_string(dim) + " is not a multiple of " +
                         std::to_string(heads) + " heads");
    m_qkv = register_module("qkv", linear(dim, 3 * dim));
    m_proj = register_module("proj", linear(dim, dim));
}

torch::Tensor SelfAttention::forward(const torch::Tensor& x) {
    const std::int64_t batch = x.size(0);
    const std::int64_t tokens = x.size(1);
    const std::int64_t head_dim = m_dim / m_heads;
    // [N, T, 3*dim] -> [3, N, heads, T, head_dim]
    auto qkv = m_qkv->forward(x).reshape({batch, tokens, 3, m_heads, head_dim}).permute({2, 0, 3, 1, 4});
    auto q = qkv[0];
    auto k = qkv[1];
    auto v = qkv[2];
    // Two products, recorded as two calls as an ONNX export has two MatMuls: Q K^T, whose output is the
    // heads x T x T scores, and the weights times V, whose output is T x dim.
    auto scores = torch::matmul(q, k.transpose(-2, -1));
    if (attached()) record("attention", scores, tokens * tokens * m_dim, own_parameter_count(*this));
    auto weights = torch::softmax(scores / std::sqrt(double(head_dim)), -1);
    auto mixed = torch::matmul(weights, v).transpose(1, 2).reshape({batch, tokens, m_dim});
    if (attached()) record("attention", mixed, tokens * tokens * m_dim, own_parameter_count(*this));
    return m_proj->forward(mixed);
}

std::shared_ptr<Conv> conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                           std::int64_t padding, bool bias, std::int64_t groups) {
    return std::make_shared<Conv>(
        torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups).bias(bias));
}

std::shared_ptr<BatchNorm> batch_norm(std::int64_t channels) {
    return std::make_shared<BatchNorm>(channels);
}

std::shared_ptr<Linear> linear(std::int64_t in, std::int64_t out) {
    return std::make_shared<Linear>(torch::nn::LinearOptions(in, out));
}

std::int64_t conv_out(std::int64_t size, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
    return (size + 2 * padding - kernel) / stride + 1;
}

}  // namespace detail

namespace {

using Factory = std::shared_ptr<ZooModel> (*)(InputShape, std::int64_t);

ModelEntry entry(std::string name, std::string description, Factory factory) {
    return ModelEntry{std::move(name), std::move(description), factory};
}

std::vector<ModelEntry> build_models() {
    using namespace detail;
    return {
        entry("lenet", "LeNet-5 style CNN (LeCun et al. 1998), CIFAR form", make_lenet),
        entry("vgg19", "VGG-19 with batch norm (Simonyan & Zisserman 2014), CIFAR form", make_vgg19),
        entry("resnet18", "ResNet-18 (He et al. 2016), CIFAR form", make_resnet18),
        entry("preactresnet18", "Pre-activation ResNet-18 (He et al. 2016), CIFAR form", make_preactresnet18),
        entry("mobilenet", "MobileNet v1 (Howard et al. 2017), CIFAR form", make_mobilenet),
        entry("mobilenetv2", "MobileNetV2 (Sandler et al. 2018), CIFAR form", make_mobilenetv2),
        entry("efficientnetb0", "EfficientNet-B0 (Tan & Le 2019), CIFAR form", make_efficientnetb0),
        entry("simpledla", "Simplified Deep Layer Aggregation (Yu et al. 2018), CIFAR form", make_simpledla),
        entry("googlenet", "GoogLeNet / Inception v1 (Szegedy et al. 2015), CIFAR form", make_googlenet),
        entry("densenet121", "DenseNet-121, growth 32 (Huang et al. 2017), CIFAR form", make_densenet121),
        entry("resnext29_2x64d", "ResNeXt-29 2x64d (Xie et al. 2017), CIFAR form", make_resnext29_2x64d),
        entry("senet18", "SENet-18: pre-activation ResNet-18 with squeeze-excitation (Hu et al. 2018)",
              make_senet18),
        entry("regnetx_200mf", "RegNetX-200MF (Radosavovic et al. 2020), CIFAR form", make_regnetx_200mf),
        entry("dpn26", "Dual Path Network 26 (Chen et al. 2017), CIFAR form", make_dpn26),
        entry("mlp", "Multilayer perceptron: two hidden layers of 512 with ReLU", make_mlp),
        entry("vit", "Small vision transformer: patch 4, dim 128, depth 4, 4 heads, MLP 256", make_vit),
    };
}

std::string known_names() {
    std::string names;
    for (const auto& model : models()) {
        if (!names.empty()) names += ", ";
        names += model.name;
    }
    return names;
}

// Attaches a recorder to every counted layer and puts the model in eval mode; undoes both when destroyed,
// also when the forward pass throws.
class CountingSession {
public:
    CountingSession(ZooModel& model, detail::Recorder& recorder)
        : m_model(model), m_was_training(model.is_training()) {
        for (const auto& item : model.named_modules("", /*include_self=*/false)) {
            if (auto* layer = dynamic_cast<detail::CountedLayer*>(item.value().get())) {
                layer->attach(&recorder, item.key());
                m_layers.push_back(layer);
            }
        }
        model.eval();
    }
    ~CountingSession() {
        for (auto* layer : m_layers) layer->detach();
        m_model.train(m_was_training);
    }
    CountingSession(const CountingSession&) = delete;
    CountingSession& operator=(const CountingSession&) = delete;

    const std::vector<detail::CountedLayer*>& layers() const { return m_layers; }

private:
    ZooModel& m_model;
    bool m_was_training;
    std::vector<detail::CountedLayer*> m_layers;
};

std::string tensor_shape(const torch::Tensor& tensor) {
    std::string text;
    for (std::int64_t d = 0; d < tensor.dim(); ++d) {
        if (!text.empty()) text += 'x';
        text += std::to_string(tensor.size(d));
    }
    return text;
}

}  // namespace

bool is_mac_kind(const std::string& kind) {
    return kind == "conv" || kind == "linear" || kind == "attention";
}

const std::vector<ModelEntry>& models() {
    // Built once, never modified afterwards: a constant table, not mutable state.
    static const std::vector<ModelEntry> table = build_models();
    return table;
}

std::shared_ptr<ZooModel> make_model(const std::string& name, InputShape input, std::int64_t classes) {
    if (input.channels < 1 || input.height < 1 || input.width < 1) {
        throw UsageError("model input shape must be positive, got " + std::to_string(input.channels) + "x" +
                         std::to_string(input.height) + "x" + std::to_string(input.width));
    }
    if (classes < 1) throw UsageError("number of classes must be positive, got " + std::to_string(classes));
    const std::string wanted = to_lower(name);
    for (const auto& model : models()) {
        if (model.name == wanted) return model.make(input, classes);
    }
    throw UsageError("unknown model '" + name + "'; known models: " + known_names());
}

ModelStats model_stats(ZooModel& model, InputShape input) {
    ModelStats stats;
    for (const auto& parameter : model.parameters()) {
        if (parameter.requires_grad()) stats.params += parameter.numel();
    }

    detail::Recorder recorder;
    {
        CountingSession session(model, recorder);
        torch::NoGradGuard no_grad;
        auto options = torch::TensorOptions().dtype(torch::kFloat32);
        const auto parameters = model.parameters();
        if (!parameters.empty())
            options = options.device(parameters.front().device()).dtype(parameters.front().dtype());
        const auto sample = torch::zeros({1, input.channels, input.height, input.width}, options);
        try {
            model.forward(sample);
        } catch (const c10::Error& error) {
            throw UsageError("model cannot take a " + std::to_string(input.channels) + "x" +
                             std::to_string(input.height) + "x" + std::to_string(input.width) +
                             " input: " + error.what_without_backtrace());
        }
        stats.layers = std::move(recorder.layers);

        // Counted layers that hold parameters but never ran (the reference EfficientNet-B0 builds an
        // expansion conv for its first block that it never calls): listed so that the per-layer parameters
        // still add up to the model's.
        for (auto* layer : session.layers()) {
            if (layer->recorded()) continue;
            const auto* module = dynamic_cast<const torch::nn::Module*>(layer);
            const std::int64_t params = module != nullptr ? detail::own_parameter_count(*module) : 0;
            if (params > 0)
                stats.layers.push_back(LayerStats{layer->layer_name(), "unused", "", params, 0, 0});
        }
    }

    // Parameters held outside counted layers (a ViT's class token and position embedding).
    auto add_loose = [&](const std::string& prefix, const torch::nn::Module& module) {
        for (const auto& item : module.named_parameters(/*recurse=*/false)) {
            if (!item.value().requires_grad()) continue;
            const std::string name = prefix.empty() ? item.key() : prefix + "." + item.key();
            stats.layers.push_back(
                LayerStats{name, "param", tensor_shape(item.value()), item.value().numel(), 0, 0});
        }
    };
    add_loose("", model);
    for (const auto& item : model.named_modules("", /*include_self=*/false)) {
        if (dynamic_cast<const detail::CountedLayer*>(item.value().get()) == nullptr)
            add_loose(item.key(), *item.value());
    }

    for (const auto& layer : stats.layers) {
        stats.macs += layer.macs;
        if (!is_mac_kind(layer.kind)) continue;
        stats.activations += layer.output_elements;
        ++stats.mac_layers;
    }
    return stats;
}

}  // namespace joulecast::zoo
