#pragma once
// Building blocks shared by the zoo's models (private to workloads/models): layer wrappers that can record
// their own share of a model while a Recorder is attached, and the factory functions of every model.
//
// A wrapper is a libtorch module (its parameters keep libtorch's names and default initialisation) plus a
// pointer to a Recorder. model_stats() attaches one Recorder to every wrapper for a single forward pass; the
// rest of the time the pointer is null and the only cost is one test per layer call.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/zoo.hpp"

namespace joulecast::zoo::detail {

/// Collects LayerStats in call order during one counted forward pass.
struct Recorder {
    std::vector<LayerStats> layers;
};

/// The counting half of a wrapper. `record` is called by the wrapper's forward only while attached.
class CountedLayer {
public:
    virtual ~CountedLayer() = default;

    void attach(Recorder* recorder, std::string name);
    void detach() { m_recorder = nullptr; }
    bool attached() const { return m_recorder != nullptr; }
    /// Whether the layer ran (and recorded) since it was last attached.
    bool recorded() const { return m_recorded; }
    const std::string& layer_name() const { return m_name; }

protected:
    /// Records one call: `output` is the batch output (its per-sample shape is kept), `macs` per sample. The
    /// layer's own parameters are reported with its first call only, so a layer called twice is not counted
    /// twice.
    void record(const char* kind, const torch::Tensor& output, std::int64_t macs, std::int64_t own_params);

private:
    Recorder* m_recorder = nullptr;
    std::string m_name;
    bool m_recorded = false;
};

/// Trainable parameters held by a module itself (not its children).
std::int64_t own_parameter_count(const torch::nn::Module& module);

/// "64x32x32": the shape of one sample of a batch tensor.
std::string sample_shape(const torch::Tensor& batch);

/// 2-D convolution; MACs = Cout x Hout x Wout x (Cin / groups) x kH x kW per sample (bias adds not counted).
class Conv : public torch::nn::Conv2dImpl, public CountedLayer {
public:
    explicit Conv(torch::nn::Conv2dOptions conv_options) : torch::nn::Conv2dImpl(std::move(conv_options)) {}
    torch::Tensor forward(const torch::Tensor& x);
};

/// Fully connected layer over the last dimension; MACs = in x out x (positions per sample, e.g. tokens).
class Linear : public torch::nn::LinearImpl, public CountedLayer {
public:
    explicit Linear(const torch::nn::LinearOptions& linear_options) : torch::nn::LinearImpl(linear_options) {}
    torch::Tensor forward(const torch::Tensor& x);
};

/// BatchNorm2d (eps 1e-5, affine, running statistics: PyTorch's defaults, except the running statistics'
/// momentum: 0.5, and 1 on the first training batch, so that a model evaluated after a few steps uses
/// statistics of its final weights; PyTorch's 0.1 left the default study at chance); recorded as kind
/// "norm" with its parameters and 0 MACs (only multiply-accumulates of conv, linear and attention products
/// count as MACs). Written out rather than derived from BatchNorm2dImpl, whose base class cannot be derived
/// from with Debian's libtorch 1.13 (a virtual it declares is not exported).
class BatchNorm : public torch::nn::Module, public CountedLayer {
public:
    explicit BatchNorm(std::int64_t channels);
    torch::Tensor forward(const torch::Tensor& x);

private:
    torch::Tensor m_weight, m_bias, m_running_mean, m_running_var, m_batches_tracked;
};

/// LayerNorm over the last dimension; kind "norm", 0 MACs.
class LayerNorm : public torch::nn::LayerNormImpl, public CountedLayer {
public:
    explicit LayerNorm(std::int64_t dim) : torch::nn::LayerNormImpl(torch::nn::LayerNormOptions({dim})) {}
    torch::Tensor forward(const torch::Tensor& x);
};

/// Multi-head self-attention over [N, T, dim]: a qkv projection and an output projection (Linear, counted as
/// such) around softmax(Q K^T / sqrt(dim/heads)) V, which is recorded as kind "attention" with
/// MACs = 2 x T^2 x dim (Q K^T and the product with V, all heads together).
class SelfAttention : public torch::nn::Module, public CountedLayer {
public:
    SelfAttention(std::int64_t dim, std::int64_t heads);
    torch::Tensor forward(const torch::Tensor& x);

private:
    std::int64_t m_dim;
    std::int64_t m_heads;
    std::shared_ptr<Linear> m_qkv;
    std::shared_ptr<Linear> m_proj;
};

/// Factories with PyTorch's defaults except where named (note: nn.Conv2d in Python has bias=True by default;
/// here bias is an explicit argument).
std::shared_ptr<Conv> conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                           std::int64_t padding, bool bias, std::int64_t groups = 1);
std::shared_ptr<BatchNorm> batch_norm(std::int64_t channels);
std::shared_ptr<Linear> linear(std::int64_t in, std::int64_t out);

/// Spatial size after a convolution or pooling window (PyTorch's floor rule).
std::int64_t conv_out(std::int64_t size, std::int64_t kernel, std::int64_t stride, std::int64_t padding);

// The models, one factory each (defined in resnets.cpp, mobile.cpp and mlp_vit.cpp).
std::shared_ptr<ZooModel> make_lenet(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_vgg19(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_resnet18(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_preactresnet18(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_senet18(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_resnext29_2x64d(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_simpledla(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_dpn26(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_mobilenet(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_mobilenetv2(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_efficientnetb0(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_regnetx_200mf(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_googlenet(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_densenet121(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_mlp(InputShape input, std::int64_t classes);
std::shared_ptr<ZooModel> make_vit(InputShape input, std::int64_t classes);

}  // namespace joulecast::zoo::detail
