#pragma once
// Model characteristics from an ONNX file: trainable parameters and forward multiply-accumulates (MACs), the
// two figures joulecast's estimator predicts energy from. Reads the file with protobuf (no libonnx) and
// propagates shapes itself for the operators it supports.
//
// What is counted:
// - params: elements of the initializers a node uses as trainable weights: Conv/ConvTranspose/Gemm/MatMul
//   weights and biases, BatchNormalization/LayerNormalization/InstanceNormalization/GroupNormalization scale
//   and bias, PRelu slopes, floating Gather tables (embeddings), and floating initializers of more than one
//   element that Add/Sub/Mul/Div read (a bias after MatMul, a positional embedding, an affine step of a
//   decomposed LayerNorm); the weight may pass through Identity/Cast/DequantizeLinear/Transpose/Reshape/
//   Unsqueeze/Squeeze first. Each initializer counts once, however many nodes read it.
// - buffers: BatchNormalization running mean and variance (PyTorch counts them as buffers, not parameters).
//   Other constants (shape tensors, scalars) are neither.
// - macs: Conv (N x Cout x out-spatial x Cin/groups x kernel), ConvTranspose (N x Cin x in-spatial x
//   Cout/groups x kernel), Gemm (M x N x K, with transA/transB), MatMul (broadcast batch x M x N x K, also
//   with both operands computed at run time, as in attention), and their quantized forms.
// - norm_ops / elementwise_ops: one operation per element (per input element for averaging pools and
//   reductions, per window element for AveragePool). MaxPool, data movement and shape operators: 0.
// - activations: elements of the first output of each MAC node (a node with macs > 0), summed: the tensors
//   the MAC layers write, which on a GPU make memory-bound layers (depthwise convolutions) visible where
//   MACs alone do not. mac_layers: the number of those nodes (roughly, kernel launches per forward pass).
//   The same definitions hold for joulecast-zoo and examples/pytorch/train.py.
// Counts are for the batch the shapes describe: a symbolic leading dimension of a graph input (dim_param
// such as "batch_size" or "N", or no value at all) is set to `batch`; batch 1 gives counts per sample
// (params, buffers and mac_layers do not depend on it).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace joulecast::model {

/// One node of the graph, in graph order.
struct OnnxLayer {
    std::string node;                   ///< node name, or "#<index>" when the node has none
    std::string op;                     ///< ONNX op_type
    std::string output_shape;           ///< first output, e.g. "1x64x56x56"; "?" when it is not known
    std::int64_t output_elements = -1;  ///< elements of the first output; -1 when its shape is not known
    std::int64_t params = 0;            ///< trainable parameter elements first counted at this node
    std::int64_t macs = 0;              ///< multiply-accumulates (kind "mac")
    std::int64_t ops = 0;               ///< element operations (kinds "norm" and "elementwise")
    std::string kind;                   ///< "mac" | "norm" | "elementwise" | "no-mac"
};

struct OnnxStats {
    std::int64_t params = 0;           ///< trainable parameter elements
    std::int64_t buffers = 0;          ///< non-trainable state elements (BatchNorm running statistics)
    std::int64_t macs = 0;             ///< forward multiply-accumulates for `batch` samples
    std::int64_t norm_ops = 0;         ///< normalisation element operations
    std::int64_t elementwise_ops = 0;  ///< element-wise operations (activation functions, additions, ...)
    /// Elements of the first outputs of the MAC nodes (macs > 0), summed, for `batch` samples; 0 (unknown),
    /// with a note naming the node, when the output shape of one of them is not known.
    std::int64_t activations = 0;
    std::int64_t mac_layers = 0;  ///< number of MAC nodes (macs > 0); does not depend on `batch`
    std::vector<OnnxLayer> layers;
    /// Shape of the graph input ("1x3x224x224"); with several inputs "name=shape, name=shape".
    std::string input_shape;
    std::int64_t batch = 1;          ///< the size given to symbolic leading dimensions
    std::int64_t opset = 0;          ///< version of the default ONNX operator set the model imports
    std::vector<std::string> notes;  ///< things a reader of the counts should know (e.g. a fixed batch)

    /// macs / params (0 when there are no parameters).
    double macs_per_param() const;
};

struct OnnxOptions {
    std::int64_t batch = 1;  ///< size of symbolic leading (batch) dimensions of the graph inputs
    /// Sizes of other symbolic dimensions by dim_param name (e.g. {"sequence", 128}); also overrides `batch`
    /// for a leading dimension with that name.
    std::map<std::string, std::int64_t> dims;
};

/// Sets `stats.activations` and `stats.mac_layers` from `stats.layers` (those with macs > 0, using each one's
/// `output_elements`); when the output of a MAC layer is not known, activations are 0 (unknown) and the note
/// "activations unknown: the output shape of NODE is not known" says why. inspect_onnx calls it; callers that
/// build layers themselves may too.
void count_mac_layers(OnnxStats& stats);

/// Reads the ONNX model at `path` and counts its parameters and work. Fails, with a message naming the node
/// (name and op_type) where there is one, for an unreadable or malformed file, an unsupported operator (one
/// that could do multiply-accumulate work joulecast does not count, such as LSTM or Einsum, or an unknown
/// one), or a shape that cannot be inferred (e.g. a graph input without a shape, or a symbolic dimension
/// other than the batch that `options.dims` does not size).
core::Result<OnnxStats> inspect_onnx(const std::string& path, const OnnxOptions& options);
core::Result<OnnxStats> inspect_onnx(const std::string& path, std::int64_t batch = 1);

/// The same for a model already in memory (the serialized ModelProto); `origin` names it in messages.
core::Result<OnnxStats> inspect_onnx_bytes(const std::string& bytes, const OnnxOptions& options,
                                           const std::string& origin = "model");

}  // namespace joulecast::model
