#pragma once
// The built-in model zoo: the reference study's 14 CIFAR-style architectures, an MLP and a small vision
// transformer, adapted to any input shape, each able to report its trainable parameters and forward MACs per
// sample, computed per layer from shapes.

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

/// One layer's share of a model, for `inspect`'s per-layer table.
struct LayerStats {
    std::string name;    ///< e.g. "layer1.0.conv1"
    std::string kind;    ///< "conv", "linear", "attention", "norm", ...
    std::string output;  ///< output shape per sample, e.g. "64x32x32"
    std::int64_t params = 0;
    std::int64_t macs = 0;  ///< multiply-accumulates per sample in the forward pass
};

struct ModelStats {
    std::int64_t params = 0;  ///< trainable parameters
    std::int64_t macs = 0;    ///< forward MACs per sample
    std::vector<LayerStats> layers;
    double macs_per_param() const { return params > 0 ? static_cast<double>(macs) / params : 0.0; }
};

/// Every zoo model: a module with a forward pass over a batch [N, C, H, W] giving logits [N, classes].
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

/// Builds a model by name (case-insensitive); throws joulecast::UsageError naming the known models.
std::shared_ptr<ZooModel> make_model(const std::string& name, InputShape input, std::int64_t classes);

/// Parameters and forward MACs per sample of a model for an input shape (counted per layer from shapes during
/// one forward pass of a single sample, without gradients).
ModelStats model_stats(ZooModel& model, InputShape input);

}  // namespace joulecast::zoo
