#pragma once
// Training and inference loops for the zoo's models, instrumented for `joulecast run` through the
// control-channel client (include/joulecast/client.hpp; every call is a no-op outside joulecast).
//
// A job is: meta (model, params, macs, macs_per_param, activations, mac_layers, batch_size, learning_rate,
// dataset, input, classes, precision, threads, epochs, train_samples, test_samples, ...), then for each epoch
// N a phase "begin train epoch=N" ... "epoch n=N samples=S" "end train samples=S" followed by metric loss
// (the epoch's mean training loss), then one pass over the test set as phase "infer" (end infer samples=S)
// and metrics accuracy and test_loss. Optimiser: SGD with momentum (default) or Adam; loss: cross-entropy,
// computed in FP32.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <joulecast/client.hpp>

#include "data/datasets.hpp"
#include "models/zoo.hpp"

namespace joulecast::train {

/// fp32: everything in float32. bf16: the model's parameters and the inputs are cast to bfloat16 (pure bf16
/// compute and weights; logits go back to float32 for the loss). libtorch 1.13's CPU autocast is not used: it
/// feeds bf16 activations into ops such as layer_norm that then reject their float32 weights.
enum class Precision { fp32, bf16 };

/// sgd: SGD with momentum (options.momentum). adam: Adam (betas 0.9/0.999, eps 1e-8, no weight decay;
/// options.momentum unused).
enum class Optimizer { sgd, adam };

std::string to_string(Precision precision);
/// "fp32" / "float32" / "bf16" / "bfloat16"; throws UsageError otherwise.
Precision parse_precision(std::string_view text);

/// Throws UsageError when this libtorch build and CPU cannot run a bf16 convolution and linear layer forward
/// and backward. fp32 always passes.
void check_precision_supported(Precision precision);

std::string to_string(Optimizer optimizer);
/// "sgd" / "adam" (any case); throws UsageError otherwise.
Optimizer parse_optimizer(std::string_view text);

struct TrainOptions {
    std::int64_t batch_size = 128;  ///< samples per step, also the inference batch
    std::int64_t epochs = 1;        ///< 0: inference only
    double learning_rate = 0.01;
    double momentum = 0.9;  ///< SGD only
    Optimizer optimizer = Optimizer::sgd;
    int threads = 0;  ///< intra-op threads (torch::set_num_threads); 0 keeps libtorch's default
    Precision precision = Precision::fp32;
    std::uint64_t seed = 1;  ///< model initialisation (torch::manual_seed) and the per-epoch shuffles
    bool shuffle = true;
};

/// Throws UsageError for a batch size below 1, negative epochs, a learning rate that is not positive and
/// finite, momentum outside [0, 1) or threads below 0.
void validate(const TrainOptions& options);

struct EpochReport {
    std::int64_t n = 0;        ///< 1-based epoch number
    std::int64_t samples = 0;  ///< samples trained on
    double loss = 0;           ///< mean cross-entropy over those samples
    double seconds = 0;        ///< wall time of the epoch
    double cpu_seconds = 0;    ///< CPU time of the whole process during the epoch (all threads)
};

struct InferReport {
    std::int64_t samples = 0;
    std::int64_t correct = 0;
    double accuracy = 0;  ///< correct / samples, 0 when there are none
    double loss = 0;      ///< mean cross-entropy
    double seconds = 0;
    double cpu_seconds = 0;  ///< CPU time of the whole process during the pass (all threads)
};

struct JobReport {
    std::string model;
    std::string dataset;
    zoo::InputShape input;
    std::int64_t classes = 0;
    zoo::ModelStats stats;
    TrainOptions options;  ///< as run: `threads` holds libtorch's actual thread count
    std::int64_t train_samples = 0;
    std::int64_t test_samples = 0;
    std::vector<EpochReport> epochs;
    InferReport infer;

    double train_seconds() const;
    double train_samples_per_s() const;  ///< samples trained on per second of training, 0 without training
    double infer_samples_per_s() const;
    double final_loss() const;  ///< the last epoch's mean loss, 0 without training
};

/// One epoch over `data` in mini-batches (shuffled with `shuffle_generator` when options.shuffle), one
/// optimiser step each. A final batch of a single sample is skipped (BatchNorm cannot train on one sample);
/// `samples` counts what was trained on. The model must already be in options.precision.
EpochReport train_epoch(zoo::ZooModel& model, torch::optim::Optimizer& optimizer, const data::Dataset& data,
                        const TrainOptions& options, std::int64_t n, at::Generator& shuffle_generator);

/// One pass over `data` in eval mode without autograd, in batches of options.batch_size.
InferReport infer(zoo::ZooModel& model, const data::Dataset& data, const TrainOptions& options);

/// Called after each epoch, e.g. to print progress.
using EpochCallback = std::function<void(const EpochReport&)>;

/// The whole instrumented job: validates the options, sets the threads and seed, builds `model_name` for the
/// datasets' shape and classes, counts params and MACs, sends meta, trains options.epochs epochs on `train`,
/// infers over `test`, and sends the metrics, all through `client`. Throws UsageError for bad options, an
/// unknown model or datasets whose shapes or classes disagree; libtorch's own errors pass through.
JobReport run_job(const std::string& model_name, const data::Dataset& train, const data::Dataset& test,
                  const TrainOptions& options, client::Client& client = client::default_client(),
                  const EpochCallback& on_epoch = {});

}  // namespace joulecast::train
