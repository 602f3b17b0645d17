#pragma once
// Internal to src/model: shape propagation and work counts for the ONNX operators joulecast understands.
// onnx_inspect.cpp walks a graph with it; nothing outside src/model and its tests should need it.
//
// Every tensor carries its concrete shape (symbolic dimensions are resolved before this runs) and, for small
// integer or floating tensors whose values are known (initializers, Constant nodes and what is computed from
// them, such as Shape -> Gather -> Concat -> Reshape chains), its values: Reshape, Slice, Expand, Resize and
// friends need them to know their output shape.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "joulecast_onnx.pb.h"

namespace joulecast::model::onnx_detail {

using Shape = std::vector<std::int64_t>;

/// Tensors with more elements than this keep their shape only, not their values.
inline constexpr std::int64_t max_known_values = 4096;

/// ONNX TensorProto.DataType values used here.
enum ElemType : std::int32_t {
    elem_undefined = 0,
    elem_float = 1,
    elem_uint8 = 2,
    elem_int8 = 3,
    elem_uint16 = 4,
    elem_int16 = 5,
    elem_int32 = 6,
    elem_int64 = 7,
    elem_string = 8,
    elem_bool = 9,
    elem_float16 = 10,
    elem_double = 11,
    elem_uint32 = 12,
    elem_uint64 = 13,
    elem_bfloat16 = 16,
};
bool is_floating(std::int32_t elem_type);

/// What is known about one value of the graph.
struct TensorInfo {
    bool known = false;  ///< the shape is known (every dimension concrete)
    Shape shape;
    std::int32_t elem_type = elem_undefined;
    /// Values, row-major, of a small tensor when known: `ints` for integer and bool tensors, `floats` for
    /// floating ones.
    std::optional<std::vector<std::int64_t>> ints;
    std::optional<std::vector<double>> floats;
    std::string unknown_reason;  ///< why the shape is not known (when !known)

    static TensorInfo of_shape(Shape shape, std::int32_t elem_type) {
        TensorInfo t;
        t.known = true;
        t.shape = std::move(shape);
        t.elem_type = elem_type;
        return t;
    }
    static TensorInfo unknown(std::string reason) {
        TensorInfo t;
        t.unknown_reason = std::move(reason);
        return t;
    }
};

/// How an operator's work is counted: multiply-accumulates, normalisation or element-wise operations
/// (counted as one operation per element), or no arithmetic worth counting (data movement, shapes, max).
enum class WorkKind { mac, norm, elementwise, no_mac };
std::string_view to_string(WorkKind kind);

/// The kind of an operator of the default ONNX domain, or nullopt when joulecast does not support it (either
/// because it could do multiply-accumulate work that is not counted here, e.g. LSTM or Einsum, or because its
/// shape rule is not implemented).
std::optional<WorkKind> op_kind(std::string_view op_type);

/// Raised for a node whose shapes are inconsistent or cannot be inferred; the caller names the node.
class ShapeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct NodeWork {
    std::vector<TensorInfo> outputs;  ///< one per node output, in order
    std::int64_t macs = 0;            ///< multiply-accumulates (kind mac)
    std::int64_t ops = 0;             ///< element operations (kinds norm and elementwise)
};

/// Output shapes (and values, where cheap) and work of one node of a supported operator. `inputs[i]` is null
/// for an omitted optional input; every non-null input has a known shape. `opset` is the default domain's
/// version. Throws ShapeError.
NodeWork infer_node(const joulecast_onnx::NodeProto& node, const std::vector<const TensorInfo*>& inputs,
                    std::int64_t opset);

/// Shape, type and (for small inline tensors) values of an initializer or a Constant's tensor. Throws
/// ShapeError for a malformed tensor (negative dimension, raw data of the wrong size).
TensorInfo tensor_info(const joulecast_onnx::TensorProto& tensor);

/// Product of the dimensions (1 for a scalar); throws ShapeError on overflow.
std::int64_t element_count(const Shape& shape);

/// "1x3x224x224"; "scalar" for rank 0.
std::string shape_string(const Shape& shape);

}  // namespace joulecast::model::onnx_detail
