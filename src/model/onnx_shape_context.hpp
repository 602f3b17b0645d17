#pragma once
// Internal to src/model (onnx_shapes*.cpp): the context a node's shape rule reads its inputs and attributes
// from, the arithmetic the rules share, and the entry point of each operator family. The dispatcher
// (infer_node in onnx_shapes.cpp) picks the family; each onnx_shapes_*.cpp holds one.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/onnx_shapes.hpp"

namespace joulecast::model::onnx_detail {

using joulecast_onnx::AttributeProto;
using joulecast_onnx::NodeProto;

// ---- arithmetic

/// a * b; throws ShapeError when it overflows 64 bits.
std::int64_t mul(std::int64_t a, std::int64_t b);
/// a / b rounded up, for b > 0.
std::int64_t ceil_div(std::int64_t a, std::int64_t b);
/// "[1,3,224,224]".
std::string join(const Shape& shape);
/// `axis` in [-rank, rank) made non-negative; throws ShapeError naming `what` when out of range.
std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const char* what = "axis");
/// Multidirectional (numpy) broadcast of two shapes; throws ShapeError when they do not broadcast.
Shape broadcast(const Shape& a, const Shape& b);
/// Index in a broadcast input of the element at flat index `flat` of `out`.
std::size_t broadcast_index(std::size_t flat, const Shape& out, const Shape& in);

// ---- the node context

class Ctx {
public:
    Ctx(const NodeProto& node, const std::vector<const TensorInfo*>& inputs, std::int64_t opset)
        : m_node(node), m_inputs(inputs), m_opset(opset) {}

    const NodeProto& node() const { return m_node; }
    const std::string& op() const { return m_node.op_type(); }
    std::int64_t opset() const { return m_opset; }
    std::size_t outputs() const { return static_cast<std::size_t>(m_node.output_size()); }
    bool has(std::size_t i) const { return i < m_inputs.size() && m_inputs[i] != nullptr; }
    const TensorInfo& in(std::size_t i) const {
        if (!has(i)) throw ShapeError("input " + std::to_string(i) + " is missing");
        return *m_inputs[i];
    }
    const Shape& shape(std::size_t i) const { return in(i).shape; }
    std::size_t rank(std::size_t i) const { return shape(i).size(); }
    /// An optional input that is present and not an empty tensor (older exporters pass "" or an empty one).
    bool given(std::size_t i) const { return has(i) && !(in(i).shape.size() == 1 && in(i).shape[0] == 0); }

    const AttributeProto* attr(std::string_view name) const {
        for (const auto& a : m_node.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    std::int64_t attr_int(std::string_view name, std::int64_t fallback) const {
        const AttributeProto* a = attr(name);
        return a ? a->i() : fallback;
    }
    float attr_float(std::string_view name, float fallback) const {
        const AttributeProto* a = attr(name);
        return a ? a->f() : fallback;
    }
    std::string attr_string(std::string_view name, std::string fallback = {}) const {
        const AttributeProto* a = attr(name);
        return a ? a->s() : fallback;
    }
    std::optional<std::vector<std::int64_t>> attr_ints(std::string_view name) const {
        const AttributeProto* a = attr(name);
        if (!a) return std::nullopt;
        return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
    }
    std::optional<std::vector<double>> attr_floats(std::string_view name) const {
        const AttributeProto* a = attr(name);
        if (!a) return std::nullopt;
        return std::vector<double>(a->floats().begin(), a->floats().end());
    }

    /// Values of an integer input that must be known (a constant or computed from constants).
    const std::vector<std::int64_t>& ints(std::size_t i, const char* what) const {
        const TensorInfo& t = in(i);
        if (!t.ints)
            throw ShapeError(std::string(what) + " (input " + std::to_string(i) +
                             ") is computed at run time, so the output shape cannot be inferred");
        return *t.ints;
    }
    /// Values of an input as doubles (integer or floating), which must be known.
    std::vector<double> numbers(std::size_t i, const char* what) const {
        const TensorInfo& t = in(i);
        if (t.floats) return *t.floats;
        if (t.ints) return {t.ints->begin(), t.ints->end()};
        throw ShapeError(std::string(what) + " (input " + std::to_string(i) +
                         ") is computed at run time, so the output shape cannot be inferred");
    }
    /// Integer list from an attribute (older opsets) or else from input `i` (newer ones); nullopt if neither.
    std::optional<std::vector<std::int64_t>> ints_from(std::string_view attribute, std::size_t i,
                                                       const char* what) const {
        if (auto a = attr_ints(attribute)) return a;
        if (has(i)) return ints(i, what);
        return std::nullopt;
    }

private:
    const NodeProto& m_node;
    const std::vector<const TensorInfo*>& m_inputs;
    std::int64_t m_opset;
};

/// A tensor of `shape` and `type` whose integer values are known.
TensorInfo with_ints(Shape shape, std::int32_t type, std::vector<std::int64_t> values);
/// A tensor of the shape and type of `input`, values unknown.
TensorInfo like(const TensorInfo& input);
/// Whether a tensor of `shape` is small enough to keep its values (max_known_values).
bool small(const Shape& shape);

// ---- operator families: each appends the node's outputs to `work` and adds its work

// onnx_shapes_conv.cpp: convolution, pooling, matrix products, normalisation.
void conv(const Ctx& c, NodeWork& work, std::size_t x_index, std::size_t w_index, std::int32_t out_type);
void conv_transpose(const Ctx& c, NodeWork& work);
/// `summing`: averaging pools (one addition per element read); else max pooling (no arithmetic counted).
void pool(const Ctx& c, NodeWork& work, bool summing);
void global_pool(const Ctx& c, NodeWork& work, bool summing);
void gemm(const Ctx& c, NodeWork& work);
void matmul(const Ctx& c, NodeWork& work, std::size_t ia, std::size_t ib, std::int32_t out_type);
void normalisation(const Ctx& c, NodeWork& work);

// onnx_shapes_elementwise.cpp: element-wise operators and reductions.
void unary_elementwise(const Ctx& c, NodeWork& work);
void broadcast_elementwise(const Ctx& c, NodeWork& work);
void reduce(const Ctx& c, NodeWork& work, bool summing);

// onnx_shapes_data.cpp: data movement and shape operators (Reshape, Concat, Slice, Gather, Shape, Cast, ...).
void no_mac(const Ctx& c, NodeWork& work);

}  // namespace joulecast::model::onnx_detail
