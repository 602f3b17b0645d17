// The operator kinds and the dispatcher of shape inference: infer_node hands each node to its operator
// family (onnx_shapes_*.cpp); the shared arithmetic lives here too.

#include "model/onnx_shapes.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "model/onnx_shape_context.hpp"

namespace joulecast::model::onnx_detail {

namespace {

// ---- operator kinds

// clang-format off
const std::set<std::string_view, std::less<>> mac_ops = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "MatMulInteger", "QLinearMatMul", "ConvInteger", "QLinearConv"};
const std::set<std::string_view, std::less<>> norm_ops = {
    "BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization", "LpNormalization",
    "LRN", "MeanVarianceNormalization"};
// One output of the input's shape, one operation per element.
const std::set<std::string_view, std::less<>> unary_elementwise_ops = {
    "Relu", "LeakyRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softmax",
    "LogSoftmax", "Hardmax", "Erf", "Gelu", "Softplus", "Softsign", "Sqrt", "Exp", "Log", "Neg", "Abs",
    "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh",
    "Asinh", "Acosh", "Atanh", "Mish", "ThresholdedRelu", "Clip", "Not", "IsNaN", "IsInf", "Shrink", "CumSum",
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"};
// Multidirectional (numpy) broadcasting of all inputs, one operation per output element.
const std::set<std::string_view, std::less<>> broadcast_elementwise_ops = {
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Min", "Max", "Sum", "Mean", "Equal", "Less", "LessOrEqual",
    "Greater", "GreaterOrEqual", "And", "Or", "Xor", "BitShift", "Where", "PRelu"};
// Averaging pools and reductions: one addition per element read.
const std::set<std::string_view, std::less<>> summing_ops = {
    "AveragePool", "LpPool", "GlobalAveragePool", "GlobalLpPool", "ReduceMean", "ReduceSum", "ReduceSumSquare",
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd"};
const std::set<std::string_view, std::less<>> no_mac_ops = {
    "Reshape", "Flatten", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze", "Gather",
    "GatherElements", "GatherND", "Shape", "Size", "Constant", "ConstantOfShape", "Identity", "Dropout", "Cast",
    "CastLike", "MaxPool", "GlobalMaxPool", "Pad", "Expand", "Tile", "Range", "Resize", "Upsample", "DepthToSpace",
    "SpaceToDepth", "ReduceMax", "ReduceMin", "ArgMax", "ArgMin", "TopK", "Trilu", "ScatterND", "ScatterElements",
    "Scatter", "EyeLike", "RandomNormalLike", "RandomUniformLike",
    // Their output shape depends on the values of the data: only the file's value_info can give it.
    "NonZero", "Unique", "Compress", "NonMaxSuppression"};
// clang-format on

}  // namespace

// ---- arithmetic

std::int64_t mul(std::int64_t a, std::int64_t b) {
    std::int64_t out = 0;
    if (__builtin_mul_overflow(a, b, &out)) throw ShapeError("a count overflows 64 bits");
    return out;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    // b > 0
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

std::string join(const Shape& shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
    return out + "]";
}

std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const char* what) {
    auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r)
        throw ShapeError(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
                         std::to_string(rank));
    return axis < 0 ? axis + r : axis;
}

Shape broadcast(const Shape& a, const Shape& b) {
    Shape out(std::max(a.size(), b.size()));
    for (std::size_t i = 0; i < out.size(); ++i) {
        std::int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
        std::int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
        if (da != db && da != 1 && db != 1)
            throw ShapeError("shapes " + join(a) + " and " + join(b) + " do not broadcast");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

std::size_t broadcast_index(std::size_t flat, const Shape& out, const Shape& in) {
    std::size_t index = 0, stride = 1;
    for (std::size_t k = out.size(); k-- > 0;) {
        auto coordinate = static_cast<std::int64_t>(flat % static_cast<std::size_t>(out[k]));
        flat /= static_cast<std::size_t>(out[k]);
        std::size_t offset = out.size() - in.size();
        if (k < offset) continue;
        std::int64_t dim = in[k - offset];
        if (dim != 1) index += static_cast<std::size_t>(coordinate) * stride;
        stride *= static_cast<std::size_t>(dim);
    }
    return index;
}

TensorInfo with_ints(Shape shape, std::int32_t type, std::vector<std::int64_t> values) {
    TensorInfo t = TensorInfo::of_shape(std::move(shape), type);
    t.ints = std::move(values);
    return t;
}

TensorInfo like(const TensorInfo& input) {
    return TensorInfo::of_shape(input.shape, input.elem_type);
}

bool small(const Shape& shape) {
    std::int64_t n = 1;
    for (auto d : shape) {
        if (d > max_known_values) return false;
        n *= d;
        if (n > max_known_values) return false;
    }
    return true;
}

// ---- public

bool is_floating(std::int32_t elem_type) {
    return elem_type == elem_float || elem_type == elem_float16 || elem_type == elem_double ||
           elem_type == elem_bfloat16 || (elem_type >= 17 && elem_type <= 20);  // 17..20: float8 variants
}

std::string_view to_string(WorkKind kind) {
    switch (kind) {
        case WorkKind::mac:
            return "mac";
        case WorkKind::norm:
            return "norm";
        case WorkKind::elementwise:
            return "elementwise";
        case WorkKind::no_mac:
            return "no-mac";
    }
    return "?";
}

std::optional<WorkKind> op_kind(std::string_view op) {
    if (mac_ops.count(op)) return WorkKind::mac;
    if (norm_ops.count(op)) return WorkKind::norm;
    if (unary_elementwise_ops.count(op) || broadcast_elementwise_ops.count(op) || summing_ops.count(op))
        return WorkKind::elementwise;
    if (no_mac_ops.count(op)) return WorkKind::no_mac;
    return std::nullopt;
}

std::int64_t element_count(const Shape& shape) {
    std::int64_t n = 1;
    for (auto d : shape) n = mul(n, d);
    return n;
}

std::string shape_string(const Shape& shape) {
    if (shape.empty()) return "scalar";
    std::string out;
    for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? "x" : "") + std::to_string(shape[i]);
    return out;
}

NodeWork infer_node(const NodeProto& node, const std::vector<const TensorInfo*>& inputs, std::int64_t opset) {
    Ctx c(node, inputs, opset);
    NodeWork work;
    const std::string& op = node.op_type();
    auto kind = op_kind(op);
    if (!kind) throw ShapeError("unsupported operator");
    if (op == "Conv")
        conv(c, work, 0, 1, c.in(0).elem_type);
    else if (op == "ConvInteger")
        conv(c, work, 0, 1, elem_int32);
    else if (op == "QLinearConv")
        conv(c, work, 0, 3, c.has(7) ? c.in(7).elem_type : elem_uint8);
    else if (op == "ConvTranspose")
        conv_transpose(c, work);
    else if (op == "Gemm")
        gemm(c, work);
    else if (op == "MatMul")
        matmul(c, work, 0, 1, c.in(0).elem_type);
    else if (op == "MatMulInteger")
        matmul(c, work, 0, 1, elem_int32);
    else if (op == "QLinearMatMul")
        matmul(c, work, 0, 3, c.has(7) ? c.in(7).elem_type : elem_uint8);
    else if (*kind == WorkKind::norm)
        normalisation(c, work);
    else if (op == "AveragePool" || op == "LpPool")
        pool(c, work, true);
    else if (op == "GlobalAveragePool" || op == "GlobalLpPool")
        global_pool(c, work, true);
    else if (summing_ops.count(op))
        reduce(c, work, true);
    else if (unary_elementwise_ops.count(op))
        unary_elementwise(c, work);
    else if (broadcast_elementwise_ops.count(op))
        broadcast_elementwise(c, work);
    else
        no_mac(c, work);
    if (work.outputs.size() < c.outputs())
        throw ShapeError("has " + std::to_string(c.outputs()) + " outputs but joulecast infers only " +
                         std::to_string(work.outputs.size()));
    work.outputs.resize(c.outputs());
    return work;
}

}  // namespace joulecast::model::onnx_detail
