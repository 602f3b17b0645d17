#include "model/onnx_inspect.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "model/onnx_shapes.hpp"

namespace joulecast::model {

using core::Error;
using core::Result;

using namespace onnx_detail;
using joulecast_onnx::GraphProto;
using joulecast_onnx::ModelProto;
using joulecast_onnx::NodeProto;
using joulecast_onnx::TensorProto;
using joulecast_onnx::TensorShapeProto;
using joulecast_onnx::ValueInfoProto;

double OnnxStats::macs_per_param() const {
    return params > 0 ? static_cast<double>(macs) / static_cast<double>(params) : 0.0;
}

void count_mac_layers(OnnxStats& stats) {
    stats.activations = 0;
    stats.mac_layers = 0;
    std::string unknown;  // the first MAC node whose output shape is not known
    for (const auto& layer : stats.layers) {
        if (layer.macs <= 0) continue;
        ++stats.mac_layers;
        if (layer.output_elements < 0 && unknown.empty()) unknown = layer.node;
        if (__builtin_add_overflow(stats.activations, std::max<std::int64_t>(layer.output_elements, 0),
                                   &stats.activations) &&
            unknown.empty())
            unknown = layer.node + " (the sum passes 2^63 - 1)";
    }
    // Unknown rather than a partial sum: an undercount would pass as a measurement of memory traffic (the
    // estimator treats 0 as unknown and leaves its memory terms out).
    if (!unknown.empty()) {
        stats.activations = 0;
        stats.notes.push_back("activations unknown: the output shape of " + unknown + " is not known");
    }
}

namespace {

// Inputs of an operator that hold trainable weights (params) or non-trainable state (buffers) when they are
// initializers. `floating_only`: only floating initializers count (a Gather of an integer table is a lookup
// of constants, not an embedding); `several_elements`: single-element ones are constants (an epsilon, a
// scale such as sqrt(d)).
struct WeightSlots {
    std::vector<int> params;
    std::vector<int> buffers;
    bool floating_only = false;
    bool several_elements = false;
};

WeightSlots weight_slots(const std::string& op) {
    if (op == "Conv" || op == "ConvTranspose") return {{1, 2}, {}};
    if (op == "Gemm" || op == "MatMul") return {{0, 1, 2}, {}};
    if (op == "MatMulInteger") return {{0, 1}, {}};
    if (op == "ConvInteger") return {{1}, {}};
    if (op == "QLinearConv") return {{3, 8}, {}};
    if (op == "QLinearMatMul") return {{0, 3}, {}};
    if (op == "BatchNormalization") return {{1, 2}, {3, 4}};
    if (op == "LayerNormalization" || op == "InstanceNormalization" || op == "GroupNormalization")
        return {{1, 2}, {}};
    if (op == "PRelu") return {{1}, {}};
    if (op == "Gather") return {{0}, {}, true};
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return {{0, 1}, {}, true, true};
    return {};
}

// Operators a weight may pass through on its way from its initializer to the node that uses it.
bool passes_weight(const std::string& op) {
    return op == "Identity" || op == "Cast" || op == "DequantizeLinear" || op == "Transpose" ||
           op == "Reshape" || op == "Unsqueeze" || op == "Squeeze";
}

std::string node_label(const NodeProto& node, int index) {
    std::string name = node.name().empty() ? "#" + std::to_string(index) : "'" + node.name() + "'";
    return "node " + name + " (" + node.op_type() + ")";
}

class Inspector {
public:
    Inspector(const ModelProto& model, const OnnxOptions& options) : m_model(model), m_options(options) {}

    Result<OnnxStats> run() {
        const GraphProto& graph = m_model.graph();
        m_stats.batch = m_options.batch;
        m_stats.opset = 1;
        for (const auto& import : m_model.opset_import())
            if (import.domain().empty() || import.domain() == "ai.onnx") m_stats.opset = import.version();

        for (const auto& init : graph.initializer()) {
            try {
                m_values[init.name()] = tensor_info(init);
            } catch (const ShapeError& e) {
                return Error{"initializer '" + init.name() + "': " + e.what()};
            }
            m_initializers[init.name()] = &init;
        }
        for (const auto& sparse : graph.sparse_initializer()) {
            Shape dims(sparse.dims().begin(), sparse.dims().end());
            m_values[sparse.values().name()] = TensorInfo::of_shape(dims, sparse.values().data_type());
        }
        if (auto error = read_inputs(graph)) return Error{*error};
        read_file_shapes(graph);

        for (int i = 0; i < graph.node_size(); ++i)
            if (auto error = visit(graph.node(i), i)) return Error{*error};

        count_mac_layers(m_stats);
        for (const auto& output : graph.output()) {
            auto it = m_values.find(output.name());
            if (it != m_values.end() && !it->second.known)
                m_stats.notes.push_back("the shape of graph output '" + output.name() +
                                        "' is not known: " + it->second.unknown_reason);
        }
        return std::move(m_stats);
    }

private:
    // Symbolic leading dimensions of graph inputs are the batch; other symbols need options.dims.
    std::optional<std::string> read_inputs(const GraphProto& graph) {
        for (const auto& input : graph.input()) {
            if (m_initializers.count(input.name())) continue;  // IR < 4 lists initializers as inputs too
            const auto& shape = input.type().tensor_type().shape();
            if (input.type().has_tensor_type() && shape.dim_size() > 0 && shape.dim(0).has_dim_param() &&
                !m_options.dims.count(shape.dim(0).dim_param()))
                m_batch_symbols.insert(shape.dim(0).dim_param());
        }
        std::vector<std::string> described;
        std::set<std::int64_t> fixed_leading;  // fixed leading dimensions of the inputs
        for (const auto& input : graph.input()) {
            if (m_initializers.count(input.name())) continue;
            const std::string& name = input.name();
            if (!input.type().has_tensor_type()) {
                m_values[name] = TensorInfo::unknown("graph input '" + name + "' is not a tensor");
                continue;
            }
            const auto& type = input.type().tensor_type();
            if (!type.has_shape()) {
                m_values[name] = TensorInfo::unknown("graph input '" + name + "' has no shape in the file");
                described.push_back(name + "=?");
                continue;
            }
            Shape shape;
            std::string reason;
            for (int axis = 0; axis < type.shape().dim_size(); ++axis) {
                const auto& dim = type.shape().dim(axis);
                auto value = resolve(dim, axis == 0);
                if (!value) {
                    reason = dim.has_dim_param()
                                 ? "dimension '" + dim.dim_param() + "' (axis " + std::to_string(axis) +
                                       ") of graph input '" + name +
                                       "' is symbolic; give its size with --dim " + dim.dim_param() + "=N"
                                 : "dimension " + std::to_string(axis) + " of graph input '" + name +
                                       "' has no size";
                    break;
                }
                shape.push_back(*value);
            }
            if (!reason.empty()) {
                m_values[name] = TensorInfo::unknown(reason);
                described.push_back(name + "=?");
                continue;
            }
            if (!shape.empty() && !type.shape().dim(0).has_dim_value() &&
                !(type.shape().dim(0).has_dim_param() &&
                  m_options.dims.count(type.shape().dim(0).dim_param())))
                m_batch_applied = true;
            if (!shape.empty() && type.shape().dim(0).has_dim_value()) fixed_leading.insert(shape[0]);
            if (!shape.empty() && type.shape().dim(0).has_dim_value() && shape[0] > 1)
                m_stats.notes.push_back("graph input '" + name + "' has a fixed leading dimension of " +
                                        std::to_string(shape[0]) +
                                        ": if it is the batch, the counts are for " +
                                        std::to_string(shape[0]) + " samples");
            described.push_back(name + "=" + shape_string(shape));
            m_values[name] = TensorInfo::of_shape(std::move(shape), type.elem_type());
        }
        if (!m_batch_applied && m_options.batch != 1 && !fixed_leading.empty()) {
            // --batch N sized no input: the counts are for the model's own fixed batch, never labelled N.
            if (fixed_leading.size() != 1)
                return "--batch " + std::to_string(m_options.batch) +
                       " does not apply: no graph input has a symbolic leading (batch) dimension, and their "
                       "fixed "
                       "leading dimensions differ";
            m_stats.batch = *fixed_leading.begin();
            m_stats.notes.push_back("--batch " + std::to_string(m_options.batch) +
                                    " does not apply: the graph inputs have a fixed leading dimension of " +
                                    std::to_string(m_stats.batch) + ", so the counts are for a batch of " +
                                    std::to_string(m_stats.batch) +
                                    (m_stats.batch == 1 ? " (per sample)" : ""));
        }
        if (described.size() == 1) {
            m_stats.input_shape = described[0].substr(described[0].find('=') + 1);
        } else {
            for (const auto& d : described)
                m_stats.input_shape += (m_stats.input_shape.empty() ? "" : ", ") + d;
        }
        return std::nullopt;
    }

    std::optional<std::int64_t> resolve(const TensorShapeProto::Dimension& dim, bool leading) const {
        if (dim.has_dim_value()) {
            if (dim.dim_value() < 0) return std::nullopt;
            return dim.dim_value();
        }
        if (dim.has_dim_param()) {
            auto it = m_options.dims.find(dim.dim_param());
            if (it != m_options.dims.end()) return it->second;
            if (leading || m_batch_symbols.count(dim.dim_param())) return m_options.batch;
            return std::nullopt;
        }
        if (leading) return m_options.batch;
        return std::nullopt;
    }

    // Shapes the file states for intermediate values and outputs; used where ours cannot be inferred.
    void read_file_shapes(const GraphProto& graph) {
        auto add = [this](const ValueInfoProto& info) {
            if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) return;
            Shape shape;
            for (const auto& dim : info.type().tensor_type().shape().dim()) {
                auto value = resolve(dim, false);
                if (!value) return;
                shape.push_back(*value);
            }
            m_file_shapes[info.name()] =
                TensorInfo::of_shape(std::move(shape), info.type().tensor_type().elem_type());
        };
        for (const auto& info : graph.value_info()) add(info);
        for (const auto& info : graph.output()) add(info);
    }

    // Follows a weight back through pass-through nodes to its initializer.
    const TensorProto* weight_initializer(const std::string& name, int depth = 0) const {
        auto it = m_initializers.find(name);
        if (it != m_initializers.end()) return it->second;
        auto producer = m_producers.find(name);
        if (depth >= 4 || producer == m_producers.end()) return nullptr;
        const NodeProto& node = *producer->second;
        if (!passes_weight(node.op_type()) || node.input_size() == 0) return nullptr;
        return weight_initializer(node.input(0), depth + 1);
    }

    std::int64_t count_weights(const NodeProto& node) {
        WeightSlots slots = weight_slots(node.op_type());
        std::int64_t layer_params = 0;
        auto visit_slots = [&](const std::vector<int>& indices, bool is_param) {
            for (int i : indices) {
                if (i >= node.input_size() || node.input(i).empty()) continue;
                const TensorProto* init = weight_initializer(node.input(i));
                if (!init) continue;
                if (slots.floating_only && !is_floating(init->data_type())) continue;
                std::int64_t n = element_count(Shape(init->dims().begin(), init->dims().end()));
                if (slots.several_elements && n < 2) continue;
                if (m_counted.count(init->name())) continue;
                m_counted.insert(init->name());
                if (is_param) {
                    m_stats.params += n;
                    layer_params += n;
                } else {
                    m_stats.buffers += n;
                }
            }
        };
        visit_slots(slots.params, true);
        visit_slots(slots.buffers, false);
        return layer_params;
    }

    std::optional<std::string> visit(const NodeProto& node, int index) {
        std::string label = node_label(node, index);
        if (!node.domain().empty() && node.domain() != "ai.onnx")
            return label + ": unsupported operator from domain '" + node.domain() + "'";
        auto kind = op_kind(node.op_type());
        if (!kind)
            return label +
                   ": unsupported operator (it may do multiply-accumulate work that joulecast does not "
                   "count, or its shapes are not inferred here)";

        std::vector<const TensorInfo*> inputs;
        for (const auto& name : node.input()) {
            if (name.empty()) {
                inputs.push_back(nullptr);
                continue;
            }
            auto it = m_values.find(name);
            if (it == m_values.end())
                return label + ": input '" + name +
                       "' is neither a graph input, an initializer nor the output of an earlier node";
            if (!it->second.known)
                return label + ": the shape of input '" + name +
                       "' cannot be inferred: " + it->second.unknown_reason;
            inputs.push_back(&it->second);
        }

        NodeWork work;
        try {
            work = infer_node(node, inputs, m_stats.opset);
        } catch (const ShapeError& e) {
            if (*kind != WorkKind::no_mac) return label + ": " + e.what();
            // Data movement: take the file's shapes if it states them all; else a later use reports it.
            bool all = true;
            for (const auto& out : node.output()) all = all && (out.empty() || m_file_shapes.count(out));
            work.outputs.clear();
            for (const auto& out : node.output()) {
                if (all && !out.empty())
                    work.outputs.push_back(m_file_shapes[out]);
                else
                    work.outputs.push_back(TensorInfo::unknown(label + ": " + e.what()));
            }
        }

        OnnxLayer layer;
        layer.node = node.name().empty() ? "#" + std::to_string(index) : node.name();
        layer.op = node.op_type();
        layer.kind = std::string(to_string(*kind));
        layer.macs = work.macs;
        layer.ops = work.ops;
        layer.params = count_weights(node);
        bool output_known = !work.outputs.empty() && work.outputs[0].known;
        layer.output_shape = output_known ? shape_string(work.outputs[0].shape) : "?";
        if (output_known) {
            try {
                layer.output_elements = element_count(work.outputs[0].shape);
            } catch (const ShapeError&) {
                // Too many to count: left unknown (a MAC layer's output is never that large, its MACs fit).
            }
        }
        // Totals that would wrap to negative numbers are refused: each node's count fits, the sum may not.
        bool fits = !__builtin_add_overflow(m_stats.macs, work.macs, &m_stats.macs);
        if (*kind == WorkKind::norm)
            fits = fits && !__builtin_add_overflow(m_stats.norm_ops, work.ops, &m_stats.norm_ops);
        if (*kind == WorkKind::elementwise)
            fits =
                fits && !__builtin_add_overflow(m_stats.elementwise_ops, work.ops, &m_stats.elementwise_ops);
        if (!fits)
            return label +
                   ": the model's total multiply-accumulates or operations pass 2^63 - 1 at a batch of " +
                   std::to_string(m_options.batch) + ": give a smaller --batch";
        m_stats.layers.push_back(std::move(layer));

        for (int i = 0; i < node.output_size(); ++i) {
            if (node.output(i).empty()) continue;
            m_values[node.output(i)] = std::move(work.outputs[static_cast<std::size_t>(i)]);
            m_producers[node.output(i)] = &node;
        }
        return std::nullopt;
    }

    const ModelProto& m_model;
    const OnnxOptions& m_options;
    OnnxStats m_stats;
    std::unordered_map<std::string, TensorInfo> m_values;
    std::unordered_map<std::string, TensorInfo> m_file_shapes;
    std::unordered_map<std::string, const TensorProto*> m_initializers;
    std::unordered_map<std::string, const NodeProto*> m_producers;
    std::set<std::string> m_batch_symbols;
    bool m_batch_applied = false;  ///< some graph input's leading dimension was set to options.batch
    std::set<std::string> m_counted;
};

}  // namespace

/// Protobuf's default limit on nested messages, which ParseFromString applies.
constexpr int k_nesting_limit = 100;

Result<OnnxStats> inspect_onnx_bytes(const std::string& bytes, const OnnxOptions& options,
                                     const std::string& origin) {
    if (options.batch <= 0) return Error{"the batch size must be positive"};
    ModelProto model;
    if (!model.ParseFromString(bytes)) {
        // Protobuf refuses messages nested deeper than k_nesting_limit (If/Loop/Scan subgraphs inside
        // subgraphs, three levels each). Such a file is a model, too deep to read here, not garbage: say
        // which.
        constexpr int k_deeper_check = 1000;
        google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
        google::protobuf::io::CodedInputStream coded(&raw);
        coded.SetRecursionLimit(k_deeper_check);
        ModelProto deep;
        if (bytes.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()) &&
            deep.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage())
            return Error{origin + " is an ONNX model nested too deep (limit " +
                         std::to_string(k_nesting_limit) + " levels of messages, about " +
                         std::to_string(k_nesting_limit / 3) +
                         " subgraphs of If, Loop or Scan inside each other)"};
        return Error{origin + " is not an ONNX model (it does not parse as an ONNX ModelProto)"};
    }
    if (!model.has_graph() || model.graph().node_size() == 0)
        return Error{origin + " is not an ONNX model (it has no graph with nodes)"};
    try {
        return Inspector(model, options).run();
    } catch (const ShapeError& e) {
        return Error{origin + ": " + e.what()};
    }
}

Result<OnnxStats> inspect_onnx(const std::string& path, const OnnxOptions& options) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return Error{"cannot read " + path + ": it is a directory"};
    // A model is a regular file of at most 2 GiB (protobuf's limit; larger models keep their weights
    // outside): a device such as /dev/zero, or a FIFO, would otherwise be read without end.
    const auto status = std::filesystem::status(path, ec);
    if (!ec && !std::filesystem::is_regular_file(status))
        return Error{"cannot read " + path + ": it is not a regular file (a model is read from a file)"};
    constexpr std::uintmax_t max_bytes = std::uintmax_t{2} << 30;
    if (const auto size = std::filesystem::file_size(path, ec); !ec && size > max_bytes)
        return Error{"cannot read " + path + ": " + std::to_string(size >> 20) +
                     " MiB is more than an ONNX file can hold (2 GiB; larger models keep weights outside)"};
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{"cannot read " + path + ": " + std::strerror(errno)};
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Error{"cannot read " + path + ": " + std::strerror(errno)};
    return inspect_onnx_bytes(bytes, options, path);
}

Result<OnnxStats> inspect_onnx(const std::string& path, std::int64_t batch) {
    OnnxOptions options;
    options.batch = batch;
    return inspect_onnx(path, options);
}

}  // namespace joulecast::model
