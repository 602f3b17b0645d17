#pragma once
// The built-in model zoo: the reference study's 14 CIFAR-style architectures, an MLP and a small vision
// transformer, adapted to any input shape, each able to report its trainable parameters, forward MACs,
// activations and MAC layer calls per sample, computed per layer from shapes.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace joulecast::zoo {

struct InputShape {
    std::int64_t channels = 3;
    std::int64_t height = 32;
    std::int64_t width = 32;
};

/// One layer's share of a model, for `inspect`'s per-layer table. MACs count the multiply-accumulates of
/// convolutions (Cout x Hout x Wout x Cin/groups x kH x kW), linear layers (in x out x positions, e.g.
/// tokens) and attention products (2 x tokens^2 x dim: Q K^T and the product with V); bias adds, norms,
/// activations, pooling and other element-wise work are not MACs (norm layers are listed with 0).
struct LayerStats {
    /// Module path, e.g. "layer1.0.conv1"; for a loose parameter its path, e.g. "cls_token".
    std::string name;
    /// "conv", "linear", "attention", "norm"; "unused" for a layer with parameters that the forward pass
    /// never calls (EfficientNet-B0's first expansion conv, as in the reference); "param" for a parameter
    /// held outside any layer (a ViT's class token and position embedding).
    std::string kind;
    /// Output shape per sample, e.g. "64x32x32"; for a "param" its own shape; "" for an unused layer.
    std::string output;
    /// Trainable parameters of this layer alone (reported with its first call only, if called twice).
    std::int64_t params = 0;
    std::int64_t macs = 0;  ///< multiply-accumulates per sample in the forward pass
    /// Elements of `output` per sample (e.g. 6x28x28 = 4,704); 0 for "unused" and "param" entries.
    std::int64_t output_elements = 0;
};

/// Whether a LayerStats kind is a MAC layer call ("conv", "linear", "attention"; not "norm", "unused",
/// "param"): the calls that `ModelStats::activations` and `mac_layers` count.
bool is_mac_kind(const std::string& kind);

struct ModelStats {
    std::int64_t params = 0;  ///< trainable parameters (requires_grad), as libtorch counts them
    std::int64_t macs = 0;    ///< forward MACs per sample, the sum over `layers`
    /// Activations per sample (elements): the sum of `output_elements` over the MAC layer calls in `layers`
    /// (is_mac_kind: conv, linear, attention; norm outputs excluded). With `mac_layers`, a proxy for the
    /// memory traffic and kernel launches that dominate small and depthwise models on a GPU.
    std::int64_t activations = 0;
    /// MAC layer calls in one forward pass (a layer called twice counts twice, as in `layers`).
    std::int64_t mac_layers = 0;
    /// In call order, then unused layers and loose parameters; their params add up to `params`.
    std::vector<LayerStats> layers;
    double macs_per_param() const { return params > 0 ? static_cast<double>(macs) / params : 0.0; }
};

/// Every zoo model: a module with a forward pass over a batch [N, C, H, W] giving logits [N, classes]. A
/// model is built for one input shape (some layers are sized from it) and holds BatchNorm running statistics,
/// so call train()/eval() as usual; dropout (EfficientNet-B0) is active in training mode only.
class ZooModel : public torch::nn::Module {
public:
    virtual torch::Tensor forward(torch::Tensor x) = 0;
};

struct ModelEntry {
    std::string name;         ///< lower case, e.g. "resnet18", "mobilenetv2", "vit"
    std::string description;  ///< one line, e.g. "ResNet-18 (He et al. 2016), CIFAR form"
    std::function<std::shared_ptr<ZooModel>(InputShape, std::int64_t classes)> make;
};

/// The explicit list of built-in models, in a stable order.
const std::vector<ModelEntry>& models();

/// Builds a model by name (case-insensitive) for an input shape and a number of classes; throws
/// joulecast::core::UsageError naming the known models for an unknown name, and for a non-positive shape or
/// class count or an input too small for the model (LeNet needs 16x16, the ViT one 4x4 patch).
std::shared_ptr<ZooModel> make_model(const std::string& name, InputShape input, std::int64_t classes);

/// Parameters, forward MACs, activations and MAC layer calls per sample of a model for an input shape
/// (counted per layer from shapes during one forward pass of a single zero sample, without gradients, in eval
/// mode so BatchNorm statistics are not updated; the model's training mode is restored). Runs on the device
/// of the model's parameters. Must not overlap a forward pass of the same model on another thread. Throws
/// joulecast::core::UsageError when the model cannot take that input shape (e.g. a model built for 3x32x32
/// asked about 1x28x28).
ModelStats model_stats(ZooModel& model, InputShape input);

}  // namespace joulecast::zoo
