#include "model/onnx_shapes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

namespace joulecast::onnx_detail {

using joulecast_onnx::AttributeProto;
using joulecast_onnx::NodeProto;
using joulecast_onnx::TensorProto;

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

std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const char* what = "axis") {
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

// Index in a broadcast input of the element at flat index `flat` of `out`.
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

// ---- convolution and pooling

struct Window {
    Shape kernel, strides, dilations, pads;  // pads: all begins then all ends
    std::string auto_pad;
};

Window window(const Ctx& c, std::size_t spatial, const Shape* weight_kernel) {
    Window w;
    if (auto k = c.attr_ints("kernel_shape"))
        w.kernel = *k;
    else if (weight_kernel)
        w.kernel = *weight_kernel;
    else
        throw ShapeError("kernel_shape attribute is missing");
    w.strides = c.attr_ints("strides").value_or(Shape(spatial, 1));
    w.dilations = c.attr_ints("dilations").value_or(Shape(spatial, 1));
    w.pads = c.attr_ints("pads").value_or(Shape(2 * spatial, 0));
    w.auto_pad = c.attr_string("auto_pad", "NOTSET");
    if (w.kernel.size() != spatial || w.strides.size() != spatial || w.dilations.size() != spatial ||
        w.pads.size() != 2 * spatial)
        throw ShapeError("kernel_shape, strides, dilations or pads do not match the " +
                         std::to_string(spatial) + " spatial dimensions of the input");
    for (std::size_t i = 0; i < spatial; ++i)
        if (w.kernel[i] <= 0 || w.strides[i] <= 0 || w.dilations[i] <= 0)
            throw ShapeError("kernel, strides and dilations must be positive");
    return w;
}

// Output spatial shape of a convolution or pooling window sliding over `in` (spatial dimensions only).
Shape slide(const Shape& in, const Window& w, bool ceil_mode) {
    Shape out(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        std::int64_t effective = (w.kernel[i] - 1) * w.dilations[i] + 1, s = w.strides[i];
        if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
            out[i] = ceil_div(in[i], s);
        } else if (w.auto_pad == "VALID") {
            out[i] = in[i] >= effective ? (in[i] - effective) / s + 1 : 0;
        } else if (w.auto_pad == "NOTSET" || w.auto_pad.empty()) {
            std::int64_t span = in[i] + w.pads[i] + w.pads[i + in.size()] - effective;
            if (span < 0) {
                out[i] = 0;
            } else if (ceil_mode) {
                out[i] = ceil_div(span, s) + 1;
                // The last window must start inside the input or its left padding.
                if ((out[i] - 1) * s >= in[i] + w.pads[i]) --out[i];
            } else {
                out[i] = span / s + 1;
            }
        } else {
            throw ShapeError("unknown auto_pad '" + w.auto_pad + "'");
        }
        if (out[i] <= 0)
            throw ShapeError("the window (kernel " + std::to_string(w.kernel[i]) +
                             ") does not fit the input " + join(in));
    }
    return out;
}

void conv(const Ctx& c, NodeWork& work, std::size_t x_index, std::size_t w_index, std::int32_t out_type) {
    const Shape& x = c.shape(x_index);
    const Shape& w = c.shape(w_index);
    if (x.size() < 3) throw ShapeError("input " + join(x) + " has no spatial dimensions");
    if (w.size() != x.size())
        throw ShapeError("weight " + join(w) + " and input " + join(x) + " differ in rank");
    std::int64_t group = c.attr_int("group", 1);
    if (group <= 0 || x[1] % group != 0 || w[0] % group != 0)
        throw ShapeError("group " + std::to_string(group) + " does not divide the channels");
    if (x[1] / group != w[1])
        throw ShapeError("input has " + std::to_string(x[1]) + " channels but the weight " + join(w) +
                         " expects " + std::to_string(w[1] * group) + " (group " + std::to_string(group) +
                         ")");
    Shape in_spatial(x.begin() + 2, x.end()), kernel(w.begin() + 2, w.end());
    Window win = window(c, in_spatial.size(), &kernel);
    if (win.kernel != kernel)
        throw ShapeError("kernel_shape " + join(win.kernel) + " differs from weight " + join(w));
    Shape out_spatial = slide(in_spatial, win, false);
    Shape out = {x[0], w[0]};
    out.insert(out.end(), out_spatial.begin(), out_spatial.end());
    // Each output element sums Cin/group x kernel products.
    work.macs = mul(mul(element_count(out), w[1]), element_count(kernel));
    work.outputs.push_back(TensorInfo::of_shape(out, out_type));
}

void conv_transpose(const Ctx& c, NodeWork& work) {
    const Shape& x = c.shape(0);
    const Shape& w = c.shape(1);
    if (x.size() < 3) throw ShapeError("input " + join(x) + " has no spatial dimensions");
    if (w.size() != x.size())
        throw ShapeError("weight " + join(w) + " and input " + join(x) + " differ in rank");
    std::int64_t group = c.attr_int("group", 1);
    if (group <= 0 || x[1] % group != 0) throw ShapeError("group does not divide the input channels");
    if (w[0] != x[1])
        throw ShapeError("input has " + std::to_string(x[1]) + " channels but the weight " + join(w) +
                         " expects " + std::to_string(w[0]));
    std::size_t spatial = x.size() - 2;
    Shape in_spatial(x.begin() + 2, x.end()), kernel(w.begin() + 2, w.end());
    Window win = window(c, spatial, &kernel);
    Shape output_padding = c.attr_ints("output_padding").value_or(Shape(spatial, 0));
    if (output_padding.size() != spatial) throw ShapeError("output_padding does not match the input rank");
    Shape out_spatial(spatial);
    if (auto given = c.attr_ints("output_shape")) {
        if (given->size() < spatial) throw ShapeError("output_shape has too few dimensions");
        out_spatial.assign(given->end() - static_cast<std::ptrdiff_t>(spatial), given->end());
    } else {
        bool same = win.auto_pad == "SAME_UPPER" || win.auto_pad == "SAME_LOWER";
        for (std::size_t i = 0; i < spatial; ++i) {
            std::int64_t effective = (win.kernel[i] - 1) * win.dilations[i] + 1;
            std::int64_t pads = win.auto_pad == "VALID" || same ? 0 : win.pads[i] + win.pads[i + spatial];
            out_spatial[i] =
                same ? in_spatial[i] * win.strides[i]
                     : win.strides[i] * (in_spatial[i] - 1) + output_padding[i] + effective - pads;
        }
    }
    for (auto d : out_spatial)
        if (d <= 0) throw ShapeError("output spatial shape " + join(out_spatial) + " is empty");
    Shape out = {x[0], w[1] * group};
    out.insert(out.end(), out_spatial.begin(), out_spatial.end());
    // Every input element is multiplied by the kernel of each output channel of its group.
    work.macs = mul(mul(element_count(x), w[1]), element_count(kernel));
    work.outputs.push_back(TensorInfo::of_shape(out, c.in(0).elem_type));
}

void pool(const Ctx& c, NodeWork& work, bool summing) {
    const Shape& x = c.shape(0);
    if (x.size() < 3) throw ShapeError("input " + join(x) + " has no spatial dimensions");
    Shape in_spatial(x.begin() + 2, x.end());
    Window win = window(c, in_spatial.size(), nullptr);
    Shape out_spatial = slide(in_spatial, win, c.attr_int("ceil_mode", 0) != 0);
    Shape out = {x[0], x[1]};
    out.insert(out.end(), out_spatial.begin(), out_spatial.end());
    if (summing) work.ops = mul(element_count(out), element_count(win.kernel));
    work.outputs.push_back(TensorInfo::of_shape(out, c.in(0).elem_type));
    if (c.outputs() > 1) work.outputs.push_back(TensorInfo::of_shape(out, elem_int64));  // MaxPool indices
}

void global_pool(const Ctx& c, NodeWork& work, bool summing) {
    const Shape& x = c.shape(0);
    if (x.size() < 3) throw ShapeError("input " + join(x) + " has no spatial dimensions");
    Shape out(x.size(), 1);
    out[0] = x[0];
    out[1] = x[1];
    if (summing) work.ops = element_count(x);
    work.outputs.push_back(TensorInfo::of_shape(out, c.in(0).elem_type));
}

// ---- matrix products

void gemm(const Ctx& c, NodeWork& work) {
    const Shape& a = c.shape(0);
    const Shape& b = c.shape(1);
    if (a.size() != 2 || b.size() != 2)
        throw ShapeError("Gemm needs 2-D inputs, got " + join(a) + " and " + join(b));
    bool ta = c.attr_int("transA", 0) != 0, tb = c.attr_int("transB", 0) != 0;
    std::int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
    std::int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
    if (k != kb)
        throw ShapeError("inner dimensions differ: A " + join(a) + (ta ? " (transposed)" : "") + ", B " +
                         join(b) + (tb ? " (transposed)" : ""));
    if (c.has(2) && broadcast(c.shape(2), {m, n}) != Shape{m, n})
        throw ShapeError("C " + join(c.shape(2)) + " does not broadcast to " + join({m, n}));
    work.macs = mul(mul(m, n), k);
    work.outputs.push_back(TensorInfo::of_shape({m, n}, c.in(0).elem_type));
}

void matmul(const Ctx& c, NodeWork& work, std::size_t ia, std::size_t ib, std::int32_t out_type) {
    Shape a = c.shape(ia), b = c.shape(ib);
    if (a.empty() || b.empty()) throw ShapeError("MatMul operands must not be scalars");
    bool vector_a = a.size() == 1, vector_b = b.size() == 1;
    if (vector_a) a.insert(a.begin(), 1);
    if (vector_b) b.push_back(1);
    std::int64_t m = a[a.size() - 2], k = a.back(), kb = b[b.size() - 2], n = b.back();
    if (k != kb)
        throw ShapeError("inner dimensions differ: " + join(c.shape(ia)) + " x " + join(c.shape(ib)));
    Shape batch = broadcast(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
    Shape out = batch;
    if (!vector_a) out.push_back(m);
    if (!vector_b) out.push_back(n);
    work.macs = mul(mul(mul(element_count(batch), m), n), k);
    work.outputs.push_back(TensorInfo::of_shape(out, out_type));
}

// ---- normalisation

void normalisation(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    work.ops = element_count(x.shape);
    work.outputs.push_back(like(x));
    if (c.op() == "LayerNormalization") {
        // Optional Mean and InvStdDev: the input's shape with the normalised axes set to 1.
        Shape reduced = x.shape;
        if (!x.shape.empty()) {
            std::int64_t axis = normalize_axis(c.attr_int("axis", -1), x.shape.size());
            for (auto i = static_cast<std::size_t>(axis); i < reduced.size(); ++i) reduced[i] = 1;
        }
        for (std::size_t i = 1; i < c.outputs(); ++i)
            work.outputs.push_back(TensorInfo::of_shape(reduced, elem_float));
    } else if (c.op() == "BatchNormalization") {
        // Training-mode outputs: running or saved statistics, one per channel.
        Shape channels = {x.shape.size() > 1 ? x.shape[1] : 1};
        for (std::size_t i = 1; i < c.outputs(); ++i)
            work.outputs.push_back(TensorInfo::of_shape(channels, x.elem_type));
    }
}

// ---- element-wise

std::int32_t result_type(const Ctx& c) {
    const std::string& op = c.op();
    if (op == "Equal" || op == "Less" || op == "LessOrEqual" || op == "Greater" || op == "GreaterOrEqual" ||
        op == "And" || op == "Or" || op == "Xor" || op == "Not" || op == "IsNaN" || op == "IsInf")
        return elem_bool;
    if (op == "Where") return c.in(1).elem_type;
    return c.in(0).elem_type;
}

// Element values of an elementwise op over integer tensors whose values are known (shape arithmetic).
std::optional<std::int64_t> int_op(const std::string& op, const std::vector<std::int64_t>& v) {
    auto a = v[0], b = v.size() > 1 ? v[1] : 0;
    if (op == "Add" || op == "Sum") return a + b;
    if (op == "Sub") return a - b;
    if (op == "Mul") return a * b;
    if (op == "Div") return b == 0 ? std::nullopt : std::optional<std::int64_t>(a / b);
    if (op == "Mod") return b == 0 ? std::nullopt : std::optional<std::int64_t>(a % b);
    if (op == "Min") return std::min(a, b);
    if (op == "Max") return std::max(a, b);
    if (op == "Equal") return a == b;
    if (op == "Less") return a < b;
    if (op == "LessOrEqual") return a <= b;
    if (op == "Greater") return a > b;
    if (op == "GreaterOrEqual") return a >= b;
    if (op == "And") return a && b;
    if (op == "Or") return a || b;
    if (op == "Not") return !a;
    if (op == "Neg") return -a;
    if (op == "Abs") return a < 0 ? -a : a;
    if (op == "Where") return a ? v[1] : v[2];
    return std::nullopt;
}

std::optional<double> float_op(const std::string& op, const std::vector<double>& v) {
    double a = v[0], b = v.size() > 1 ? v[1] : 0;
    if (op == "Add" || op == "Sum") return a + b;
    if (op == "Sub") return a - b;
    if (op == "Mul") return a * b;
    if (op == "Div") return a / b;
    if (op == "Min") return std::min(a, b);
    if (op == "Max") return std::max(a, b);
    if (op == "Neg") return -a;
    if (op == "Sqrt") return std::sqrt(a);
    if (op == "Floor") return std::floor(a);
    if (op == "Ceil") return std::ceil(a);
    if (op == "Where") return a != 0 ? v[1] : v[2];
    return std::nullopt;
}

// Computes the values of a small elementwise result when every input's values are known.
void propagate_values(const Ctx& c, TensorInfo& out) {
    if (!small(out.shape)) return;
    std::size_t n_in = c.node().input_size();
    for (std::size_t i = 0; i < n_in; ++i)
        if (!c.has(i) || (!c.in(i).ints && !c.in(i).floats)) return;
    auto count = static_cast<std::size_t>(element_count(out.shape));
    if (!is_floating(out.elem_type)) {
        for (std::size_t i = 0; i < n_in; ++i)
            if (!c.in(i).ints) return;
        std::vector<std::int64_t> values(count), args(n_in);
        for (std::size_t e = 0; e < count; ++e) {
            for (std::size_t i = 0; i < n_in; ++i)
                args[i] = (*c.in(i).ints)[broadcast_index(e, out.shape, c.shape(i))];
            auto v = int_op(c.op(), args);
            if (!v) return;
            values[e] = *v;
        }
        out.ints = std::move(values);
    } else {
        std::vector<double> values(count), args(n_in);
        for (std::size_t e = 0; e < count; ++e) {
            for (std::size_t i = 0; i < n_in; ++i) {
                const TensorInfo& t = c.in(i);
                std::size_t k = broadcast_index(e, out.shape, t.shape);
                args[i] = t.floats ? (*t.floats)[k] : static_cast<double>((*t.ints)[k]);
            }
            auto v = float_op(c.op(), args);
            if (!v) return;
            values[e] = *v;
        }
        out.floats = std::move(values);
    }
}

// Arithmetic on values known before run time (shape computations, constants) is folded by any runtime.
bool folded(const TensorInfo& t) {
    return t.ints.has_value() || t.floats.has_value();
}

void unary_elementwise(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    TensorInfo out = TensorInfo::of_shape(x.shape, result_type(c));
    if (c.op() == "DequantizeLinear") out.elem_type = elem_float;
    if (c.op() == "QuantizeLinear") out.elem_type = c.has(2) ? c.in(2).elem_type : elem_uint8;
    if (c.op() == "DynamicQuantizeLinear") out.elem_type = elem_uint8;
    propagate_values(c, out);
    work.ops = folded(out) ? 0 : element_count(x.shape);
    work.outputs.push_back(std::move(out));
    if (c.op() == "DynamicQuantizeLinear") {
        work.outputs.push_back(TensorInfo::of_shape({}, elem_float));
        work.outputs.push_back(TensorInfo::of_shape({}, elem_uint8));
    }
}

void broadcast_elementwise(const Ctx& c, NodeWork& work) {
    Shape shape;
    bool first = true;
    for (int i = 0; i < c.node().input_size(); ++i) {
        if (!c.has(static_cast<std::size_t>(i))) continue;
        shape = first ? c.shape(static_cast<std::size_t>(i))
                      : broadcast(shape, c.shape(static_cast<std::size_t>(i)));
        first = false;
    }
    if (first) throw ShapeError("no inputs");
    if (c.op() == "PRelu" && shape != c.shape(0))
        throw ShapeError("slope " + join(c.shape(1)) + " does not broadcast to " + join(c.shape(0)));
    TensorInfo out = TensorInfo::of_shape(shape, result_type(c));
    propagate_values(c, out);
    work.ops = folded(out) ? 0 : element_count(shape);
    work.outputs.push_back(std::move(out));
}

// ---- reduces

// The axes a Reduce* op reduces (sorted, normalised); empty means none (noop_with_empty_axes).
std::vector<std::int64_t> reduce_axes(const Ctx& c, std::size_t rank) {
    std::optional<std::vector<std::int64_t>> axes = c.ints_from("axes", 1, "axes");
    std::vector<std::int64_t> out;
    if (!axes || axes->empty()) {
        if (c.attr_int("noop_with_empty_axes", 0) != 0) return {};
        for (std::size_t i = 0; i < rank; ++i) out.push_back(static_cast<std::int64_t>(i));
        return out;
    }
    for (auto a : *axes) out.push_back(normalize_axis(a, rank));
    std::sort(out.begin(), out.end());
    return out;
}

void reduce(const Ctx& c, NodeWork& work, bool summing) {
    const Shape& x = c.shape(0);
    bool keep = c.attr_int("keepdims", 1) != 0;
    Shape out;
    if (c.op() == "ArgMax" || c.op() == "ArgMin") {
        std::int64_t axis = normalize_axis(c.attr_int("axis", 0), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (static_cast<std::int64_t>(i) != axis)
                out.push_back(x[i]);
            else if (keep)
                out.push_back(1);
        }
        work.outputs.push_back(TensorInfo::of_shape(out, elem_int64));
        return;
    }
    auto axes = reduce_axes(c, x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        bool reduced = std::binary_search(axes.begin(), axes.end(), static_cast<std::int64_t>(i));
        if (!reduced)
            out.push_back(x[i]);
        else if (keep)
            out.push_back(1);
    }
    if (summing) work.ops = element_count(x);
    work.outputs.push_back(TensorInfo::of_shape(out, c.in(0).elem_type));
}

// ---- data movement

void reshape(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    std::vector<std::int64_t> target =
        c.ints_from("shape", 1, "the target shape").value_or(std::vector<std::int64_t>{});
    if (!c.attr("shape") && !c.has(1)) throw ShapeError("the target shape is missing");
    bool allow_zero = c.attr_int("allowzero", 0) != 0;
    Shape out(target.size());
    int infer = -1;
    std::int64_t known = 1;
    for (std::size_t i = 0; i < target.size(); ++i) {
        std::int64_t d = target[i];
        if (d == 0 && !allow_zero) {
            if (i >= x.shape.size())
                throw ShapeError("target shape " + join(target) + " copies a missing dimension");
            d = x.shape[i];
        }
        if (d == -1) {
            if (infer >= 0) throw ShapeError("target shape " + join(target) + " has two -1");
            infer = static_cast<int>(i);
            continue;
        }
        if (d < 0) throw ShapeError("target shape " + join(target) + " has a negative dimension");
        out[i] = d;
        known = mul(known, d);
    }
    std::int64_t total = element_count(x.shape);
    if (infer >= 0) {
        if (known == 0 || total % known != 0)
            throw ShapeError("cannot reshape " + join(x.shape) + " to " + join(target));
        out[static_cast<std::size_t>(infer)] = total / known;
    } else if (known != total) {
        throw ShapeError("cannot reshape " + join(x.shape) + " (" + std::to_string(total) + " elements) to " +
                         join(out));
    }
    TensorInfo t = TensorInfo::of_shape(out, x.elem_type);
    t.ints = x.ints;
    t.floats = x.floats;
    work.outputs.push_back(std::move(t));
}

void flatten(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    std::int64_t axis = c.attr_int("axis", 1);
    auto r = static_cast<std::int64_t>(x.shape.size());
    if (axis < -r || axis > r) throw ShapeError("axis " + std::to_string(axis) + " is out of range");
    if (axis < 0) axis += r;
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t i = 0; i < r; ++i)
        (i < axis ? outer : inner) = mul(i < axis ? outer : inner, x.shape[static_cast<std::size_t>(i)]);
    TensorInfo t = TensorInfo::of_shape({outer, inner}, x.elem_type);
    t.ints = x.ints;
    t.floats = x.floats;
    work.outputs.push_back(std::move(t));
}

void transpose(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    std::size_t r = x.shape.size();
    std::vector<std::int64_t> perm;
    if (auto p = c.attr_ints("perm"))
        perm = *p;
    else
        for (std::size_t i = 0; i < r; ++i) perm.push_back(static_cast<std::int64_t>(r - 1 - i));
    if (perm.size() != r)
        throw ShapeError("perm has " + std::to_string(perm.size()) + " entries for rank " +
                         std::to_string(r));
    Shape out(r);
    std::vector<bool> seen(r, false);
    for (std::size_t i = 0; i < r; ++i) {
        auto p = static_cast<std::size_t>(normalize_axis(perm[i], r, "perm entry"));
        if (seen[p]) throw ShapeError("perm repeats an axis");
        seen[p] = true;
        out[i] = x.shape[p];
    }
    TensorInfo t = TensorInfo::of_shape(out, x.elem_type);
    if (r <= 1) {
        t.ints = x.ints;
        t.floats = x.floats;
    }
    work.outputs.push_back(std::move(t));
}

void concat(const Ctx& c, NodeWork& work) {
    std::vector<const TensorInfo*> parts;
    for (int i = 0; i < c.node().input_size(); ++i)
        if (c.has(static_cast<std::size_t>(i))) parts.push_back(&c.in(static_cast<std::size_t>(i)));
    if (parts.empty()) throw ShapeError("no inputs");
    if (!c.attr("axis")) throw ShapeError("the axis attribute is missing");
    Shape out = parts[0]->shape;
    auto axis = static_cast<std::size_t>(normalize_axis(c.attr_int("axis", 0), out.size()));
    for (std::size_t p = 1; p < parts.size(); ++p) {
        const Shape& s = parts[p]->shape;
        if (s.size() != out.size())
            throw ShapeError("inputs differ in rank: " + join(out) + " and " + join(s));
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (i == axis)
                out[i] += s[i];
            else if (s[i] != out[i])
                throw ShapeError("inputs " + join(parts[0]->shape) + " and " + join(s) +
                                 " differ off the axis");
        }
    }
    TensorInfo t = TensorInfo::of_shape(out, parts[0]->elem_type);
    if (out.size() == 1) {
        bool all_ints = true, all_numbers = true;
        for (const auto* part : parts) {
            all_ints = all_ints && part->ints.has_value();
            all_numbers = all_numbers && (part->ints || part->floats);
        }
        if (all_ints) {
            t.ints.emplace();
            for (const auto* part : parts)
                t.ints->insert(t.ints->end(), part->ints->begin(), part->ints->end());
        } else if (all_numbers) {
            t.floats.emplace();
            for (const auto* part : parts) {
                if (part->floats)
                    t.floats->insert(t.floats->end(), part->floats->begin(), part->floats->end());
                else
                    t.floats->insert(t.floats->end(), part->ints->begin(), part->ints->end());
            }
        }
    }
    work.outputs.push_back(std::move(t));
}

void split(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    auto axis = static_cast<std::size_t>(normalize_axis(c.attr_int("axis", 0), x.shape.size()));
    std::size_t n = c.outputs();
    std::vector<std::int64_t> sizes;
    if (auto given = c.ints_from("split", 1, "split")) {
        sizes = *given;
    } else {
        std::int64_t parts = c.attr_int("num_outputs", static_cast<std::int64_t>(n));
        if (parts <= 0) throw ShapeError("no outputs");
        std::int64_t each = ceil_div(x.shape[axis], parts);
        for (std::int64_t i = 0; i < parts; ++i) sizes.push_back(std::min(each, x.shape[axis] - i * each));
    }
    std::int64_t total = 0;
    for (auto s : sizes) total += s;
    if (sizes.size() != n || total != x.shape[axis])
        throw ShapeError("split " + join(sizes) + " does not cut dimension " + std::to_string(x.shape[axis]) +
                         " into " + std::to_string(n) + " outputs");
    std::int64_t offset = 0;
    for (auto s : sizes) {
        Shape out = x.shape;
        out[axis] = s;
        TensorInfo t = TensorInfo::of_shape(out, x.elem_type);
        if (x.ints && x.shape.size() == 1)
            t.ints = std::vector<std::int64_t>(x.ints->begin() + offset, x.ints->begin() + offset + s);
        offset += s;
        work.outputs.push_back(std::move(t));
    }
}

void slice(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    std::size_t r = x.shape.size();
    std::vector<std::int64_t> starts, ends, axes, steps;
    if (c.opset() < 10 || c.attr("starts")) {
        starts = c.attr_ints("starts").value_or(std::vector<std::int64_t>{});
        ends = c.attr_ints("ends").value_or(std::vector<std::int64_t>{});
        axes = c.attr_ints("axes").value_or(std::vector<std::int64_t>{});
    } else {
        starts = c.ints(1, "starts");
        ends = c.ints(2, "ends");
        if (c.given(3)) axes = c.ints(3, "axes");
        if (c.given(4)) steps = c.ints(4, "steps");
    }
    if (axes.empty())
        for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        throw ShapeError("starts, ends, axes and steps differ in length");
    Shape out = x.shape;
    std::vector<std::int64_t> first(r, 0), step(r, 1);
    for (std::size_t i = 0; i < starts.size(); ++i) {
        auto axis = static_cast<std::size_t>(normalize_axis(axes[i], r));
        std::int64_t dim = x.shape[axis], s = steps[i];
        if (s == 0) throw ShapeError("a step is 0");
        auto resolve = [dim](std::int64_t v) {
            v = std::clamp<std::int64_t>(v, -dim - 1, dim + 1);
            return v < 0 ? v + dim : v;
        };
        std::int64_t b = resolve(starts[i]), e = resolve(ends[i]);
        if (s > 0) {
            b = std::clamp<std::int64_t>(b, 0, dim);
            e = std::clamp<std::int64_t>(e, 0, dim);
            out[axis] = e > b ? ceil_div(e - b, s) : 0;
        } else {
            b = std::clamp<std::int64_t>(b, 0, dim - 1);
            e = std::clamp<std::int64_t>(e, -1, dim - 1);
            out[axis] = b > e ? ceil_div(b - e, -s) : 0;
        }
        first[axis] = b;
        step[axis] = s;
    }
    TensorInfo t = TensorInfo::of_shape(out, x.elem_type);
    if (r == 1 && x.ints) {
        t.ints.emplace();
        for (std::int64_t k = 0; k < out[0]; ++k)
            t.ints->push_back((*x.ints)[static_cast<std::size_t>(first[0] + k * step[0])]);
    }
    work.outputs.push_back(std::move(t));
}

void squeeze(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    std::vector<std::int64_t> axes;
    if (auto given = c.ints_from("axes", 1, "axes"))
        for (auto a : *given) axes.push_back(normalize_axis(a, x.shape.size()));
    Shape out;
    for (std::size_t i = 0; i < x.shape.size(); ++i) {
        bool listed = std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(i)) != axes.end();
        if (listed && x.shape[i] != 1)
            throw ShapeError("cannot squeeze axis " + std::to_string(i) + " of " + join(x.shape));
        if (listed || (axes.empty() && x.shape[i] == 1)) continue;
        out.push_back(x.shape[i]);
    }
    TensorInfo t = TensorInfo::of_shape(out, x.elem_type);
    t.ints = x.ints;
    t.floats = x.floats;
    work.outputs.push_back(std::move(t));
}

void unsqueeze(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    auto given = c.ints_from("axes", 1, "axes");
    if (!given) throw ShapeError("axes are missing");
    std::size_t r = x.shape.size() + given->size();
    std::vector<bool> inserted(r, false);
    for (auto a : *given) {
        auto axis = static_cast<std::size_t>(normalize_axis(a, r));
        if (inserted[axis]) throw ShapeError("axes repeat");
        inserted[axis] = true;
    }
    Shape out;
    std::size_t k = 0;
    for (std::size_t i = 0; i < r; ++i) out.push_back(inserted[i] ? 1 : x.shape[k++]);
    TensorInfo t = TensorInfo::of_shape(out, x.elem_type);
    t.ints = x.ints;
    t.floats = x.floats;
    work.outputs.push_back(std::move(t));
}

void gather(const Ctx& c, NodeWork& work) {
    const TensorInfo& data = c.in(0);
    const TensorInfo& indices = c.in(1);
    if (data.shape.empty()) throw ShapeError("cannot gather from a scalar");
    auto axis = static_cast<std::size_t>(normalize_axis(c.attr_int("axis", 0), data.shape.size()));
    Shape out(data.shape.begin(), data.shape.begin() + static_cast<std::ptrdiff_t>(axis));
    out.insert(out.end(), indices.shape.begin(), indices.shape.end());
    out.insert(out.end(), data.shape.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.shape.end());
    TensorInfo t = TensorInfo::of_shape(out, data.elem_type);
    if (data.shape.size() == 1 && data.ints && indices.ints) {
        t.ints.emplace();
        for (auto i : *indices.ints) {
            if (i < -data.shape[0] || i >= data.shape[0])
                throw ShapeError("index " + std::to_string(i) + " is out of range");
            t.ints->push_back((*data.ints)[static_cast<std::size_t>(i < 0 ? i + data.shape[0] : i)]);
        }
    }
    work.outputs.push_back(std::move(t));
}

void gather_nd(const Ctx& c, NodeWork& work) {
    const Shape& data = c.shape(0);
    const Shape& indices = c.shape(1);
    auto batch_dims = static_cast<std::size_t>(c.attr_int("batch_dims", 0));
    if (indices.empty()) throw ShapeError("indices must have rank >= 1");
    auto last = static_cast<std::size_t>(indices.back());
    if (batch_dims + last > data.size()) throw ShapeError("indices reach past the data's rank");
    Shape out(indices.begin(), indices.end() - 1);
    out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(batch_dims + last), data.end());
    work.outputs.push_back(TensorInfo::of_shape(out, c.in(0).elem_type));
}

void shape_of(const Ctx& c, NodeWork& work) {
    const Shape& x = c.shape(0);
    auto r = static_cast<std::int64_t>(x.size());
    std::int64_t start = c.attr_int("start", 0), end = c.attr_int("end", r);
    start = std::clamp<std::int64_t>(start < 0 ? start + r : start, 0, r);
    end = std::clamp<std::int64_t>(end < 0 ? end + r : end, 0, r);
    std::vector<std::int64_t> dims;
    for (std::int64_t i = start; i < end; ++i) dims.push_back(x[static_cast<std::size_t>(i)]);
    work.outputs.push_back(with_ints({static_cast<std::int64_t>(dims.size())}, elem_int64, dims));
}

TensorInfo constant(const Ctx& c) {
    if (const auto* a = c.attr("value")) return tensor_info(a->t());
    if (const auto* a = c.attr("value_float")) {
        TensorInfo t = TensorInfo::of_shape({}, elem_float);
        t.floats = std::vector<double>{a->f()};
        return t;
    }
    if (const auto* a = c.attr("value_floats")) {
        TensorInfo t = TensorInfo::of_shape({a->floats_size()}, elem_float);
        t.floats = std::vector<double>(a->floats().begin(), a->floats().end());
        return t;
    }
    if (const auto* a = c.attr("value_int")) return with_ints({}, elem_int64, {a->i()});
    if (const auto* a = c.attr("value_ints"))
        return with_ints({a->ints_size()}, elem_int64, {a->ints().begin(), a->ints().end()});
    if (c.attr("value_string")) return TensorInfo::of_shape({}, elem_string);
    if (const auto* a = c.attr("value_strings"))
        return TensorInfo::of_shape({a->strings_size()}, elem_string);
    throw ShapeError("Constant has no value attribute that joulecast reads (sparse_value is not supported)");
}

void constant_of_shape(const Ctx& c, NodeWork& work) {
    const auto& dims = c.ints(0, "the shape");
    for (auto d : dims)
        if (d < 0) throw ShapeError("the shape " + join(dims) + " has a negative dimension");
    TensorInfo fill = TensorInfo::of_shape({1}, elem_float);
    fill.floats = std::vector<double>{0.0};
    if (const auto* a = c.attr("value")) fill = tensor_info(a->t());
    TensorInfo t = TensorInfo::of_shape(dims, fill.elem_type);
    if (small(dims)) {
        auto n = static_cast<std::size_t>(element_count(dims));
        if (fill.ints && !fill.ints->empty()) t.ints = std::vector<std::int64_t>(n, (*fill.ints)[0]);
        if (fill.floats && !fill.floats->empty()) t.floats = std::vector<double>(n, (*fill.floats)[0]);
    }
    work.outputs.push_back(std::move(t));
}

void cast(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    std::int32_t to =
        c.op() == "CastLike" ? c.in(1).elem_type : static_cast<std::int32_t>(c.attr_int("to", x.elem_type));
    TensorInfo t = TensorInfo::of_shape(x.shape, to);
    if (is_floating(to)) {
        if (x.floats)
            t.floats = x.floats;
        else if (x.ints)
            t.floats = std::vector<double>(x.ints->begin(), x.ints->end());
    } else if (to != elem_string) {
        if (x.ints)
            t.ints = x.ints;
        else if (x.floats) {
            t.ints.emplace();
            for (double v : *x.floats) {
                if (!std::isfinite(v) || std::abs(v) > 9e18) {
                    t.ints.reset();
                    break;
                }
                t.ints->push_back(to == elem_bool ? v != 0 : static_cast<std::int64_t>(v));
            }
        }
    }
    work.outputs.push_back(std::move(t));
}

void pad(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    std::size_t r = x.shape.size();
    auto pads = c.ints_from("pads", 1, "pads");
    if (!pads) throw ShapeError("pads are missing");
    std::vector<std::int64_t> axes;
    if (c.given(3)) {
        for (auto a : c.ints(3, "axes")) axes.push_back(normalize_axis(a, r));
    } else {
        for (std::size_t i = 0; i < r; ++i) axes.push_back(static_cast<std::int64_t>(i));
    }
    if (pads->size() != 2 * axes.size())
        throw ShapeError("pads " + join(*pads) + " do not match the input rank");
    Shape out = x.shape;
    for (std::size_t i = 0; i < axes.size(); ++i) {
        auto axis = static_cast<std::size_t>(axes[i]);
        out[axis] += (*pads)[i] + (*pads)[i + axes.size()];
        if (out[axis] < 0) throw ShapeError("pads make a dimension negative");
    }
    work.outputs.push_back(TensorInfo::of_shape(out, x.elem_type));
}

void expand(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    const auto& target = c.ints(1, "the target shape");
    TensorInfo t = TensorInfo::of_shape(broadcast(x.shape, target), x.elem_type);
    if (x.ints && small(t.shape)) {
        t.ints.emplace();
        for (std::size_t e = 0; e < static_cast<std::size_t>(element_count(t.shape)); ++e)
            t.ints->push_back((*x.ints)[broadcast_index(e, t.shape, x.shape)]);
    }
    work.outputs.push_back(std::move(t));
}

void tile(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    const auto& repeats = c.ints(1, "repeats");
    if (repeats.size() != x.shape.size())
        throw ShapeError("repeats " + join(repeats) + " do not match the input rank");
    Shape out = x.shape;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = mul(out[i], repeats[i]);
    work.outputs.push_back(TensorInfo::of_shape(out, x.elem_type));
}

void range(const Ctx& c, NodeWork& work) {
    double start = c.numbers(0, "start").at(0), limit = c.numbers(1, "limit").at(0),
           delta = c.numbers(2, "delta").at(0);
    if (delta == 0) throw ShapeError("delta is 0");
    auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil((limit - start) / delta)));
    TensorInfo t = TensorInfo::of_shape({n}, c.in(0).elem_type);
    if (c.in(0).ints && c.in(1).ints && c.in(2).ints && n <= max_known_values) {
        t.ints.emplace();
        for (std::int64_t i = 0; i < n; ++i) t.ints->push_back((*c.in(0).ints)[0] + i * (*c.in(2).ints)[0]);
    }
    work.outputs.push_back(std::move(t));
}

void resize(const Ctx& c, NodeWork& work) {
    const TensorInfo& x = c.in(0);
    std::size_t r = x.shape.size();
    std::vector<std::int64_t> axes;
    if (auto given = c.attr_ints("axes"))
        for (auto a : *given) axes.push_back(normalize_axis(a, r));
    else
        for (std::size_t i = 0; i < r; ++i) axes.push_back(static_cast<std::int64_t>(i));
    std::string policy = c.attr_string("keep_aspect_ratio_policy", "stretch");
    Shape out = x.shape;
    // Resize-10 and Upsample-9 take scales as input 1; Resize-11+ as input 2, with sizes as input 3.
    bool new_layout = c.op() == "Resize" && c.opset() >= 11;
    std::size_t scales_index = new_layout ? 2 : 1;
    if (new_layout && c.given(3)) {
        if (policy != "stretch")
            throw ShapeError("keep_aspect_ratio_policy '" + policy + "' is not supported");
        const auto& sizes = c.ints(3, "sizes");
        if (sizes.size() != axes.size()) throw ShapeError("sizes " + join(sizes) + " do not match the axes");
        for (std::size_t i = 0; i < axes.size(); ++i) out[static_cast<std::size_t>(axes[i])] = sizes[i];
    } else {
        std::vector<double> scales;
        if (auto attr = c.attr_floats("scales"))
            scales = *attr;  // Upsample-7
        else if (c.given(scales_index))
            scales = c.numbers(scales_index, "scales");
        else
            throw ShapeError("neither scales nor sizes are given");
        if (scales.size() != axes.size()) throw ShapeError("scales do not match the input rank");
        for (std::size_t i = 0; i < axes.size(); ++i) {
            auto axis = static_cast<std::size_t>(axes[i]);
            out[axis] = static_cast<std::int64_t>(std::floor(static_cast<double>(x.shape[axis]) * scales[i]));
        }
    }
    work.outputs.push_back(TensorInfo::of_shape(out, x.elem_type));
}

void depth_space(const Ctx& c, NodeWork& work) {
    const Shape& x = c.shape(0);
    std::int64_t b = c.attr_int("blocksize", 0);
    if (x.size() != 4 || b <= 0) throw ShapeError("needs a 4-D input and a positive blocksize");
    Shape out = x;
    if (c.op() == "DepthToSpace") {
        if (x[1] % (b * b) != 0) throw ShapeError("channels are not divisible by blocksize^2");
        out = {x[0], x[1] / (b * b), x[2] * b, x[3] * b};
    } else {
        if (x[2] % b != 0 || x[3] % b != 0) throw ShapeError("height or width is not divisible by blocksize");
        out = {x[0], x[1] * b * b, x[2] / b, x[3] / b};
    }
    work.outputs.push_back(TensorInfo::of_shape(out, c.in(0).elem_type));
}

void top_k(const Ctx& c, NodeWork& work) {
    const Shape& x = c.shape(0);
    std::int64_t k = c.attr("k") ? c.attr_int("k", 0) : c.ints(1, "K").at(0);
    auto axis = static_cast<std::size_t>(normalize_axis(c.attr_int("axis", -1), x.size()));
    if (k < 0 || k > x[axis]) throw ShapeError("K " + std::to_string(k) + " exceeds the axis");
    Shape out = x;
    out[axis] = k;
    work.outputs.push_back(TensorInfo::of_shape(out, c.in(0).elem_type));
    work.outputs.push_back(TensorInfo::of_shape(out, elem_int64));
}

void no_mac(const Ctx& c, NodeWork& work) {
    const std::string& op = c.op();
    if (op == "Reshape") return reshape(c, work);
    if (op == "Flatten") return flatten(c, work);
    if (op == "Transpose") return transpose(c, work);
    if (op == "Concat") return concat(c, work);
    if (op == "Split") return split(c, work);
    if (op == "Slice") return slice(c, work);
    if (op == "Squeeze") return squeeze(c, work);
    if (op == "Unsqueeze") return unsqueeze(c, work);
    if (op == "Gather") return gather(c, work);
    if (op == "GatherElements")
        return work.outputs.push_back(TensorInfo::of_shape(c.shape(1), c.in(0).elem_type));
    if (op == "GatherND") return gather_nd(c, work);
    if (op == "Shape") return shape_of(c, work);
    if (op == "Size") return work.outputs.push_back(with_ints({}, elem_int64, {element_count(c.shape(0))}));
    if (op == "Constant") return work.outputs.push_back(constant(c));
    if (op == "ConstantOfShape") return constant_of_shape(c, work);
    if (op == "Identity") return work.outputs.push_back(c.in(0));
    if (op == "Dropout") {
        work.outputs.push_back(c.in(0));
        if (c.outputs() > 1) work.outputs.push_back(TensorInfo::of_shape(c.shape(0), elem_bool));
        return;
    }
    if (op == "Cast" || op == "CastLike") return cast(c, work);
    if (op == "MaxPool") return pool(c, work, false);
    if (op == "GlobalMaxPool") return global_pool(c, work, false);
    if (op == "Pad") return pad(c, work);
    if (op == "Expand") return expand(c, work);
    if (op == "Tile") return tile(c, work);
    if (op == "Range") return range(c, work);
    if (op == "Resize" || op == "Upsample") return resize(c, work);
    if (op == "DepthToSpace" || op == "SpaceToDepth") return depth_space(c, work);
    if (op == "ReduceMax" || op == "ReduceMin" || op == "ArgMax" || op == "ArgMin")
        return reduce(c, work, false);
    if (op == "TopK") return top_k(c, work);
    if (op == "Trilu" || op == "ScatterND" || op == "ScatterElements" || op == "Scatter" ||
        op == "RandomNormalLike" || op == "RandomUniformLike")
        return work.outputs.push_back(like(c.in(0)));
    if (op == "EyeLike") return work.outputs.push_back(TensorInfo::of_shape(c.shape(0), c.in(0).elem_type));
    throw ShapeError(
        "its output shape depends on the values of its input, so only the file's value_info "
        "could give it, and the file has none for it");
}

}  // namespace

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

namespace {

// IEEE half and bfloat16 bit patterns to double.
double half_to_double(std::uint16_t bits) {
    int exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
    double sign = (bits & 0x8000) ? -1.0 : 1.0;
    if (exponent == 0) return sign * std::ldexp(mantissa, -24);
    if (exponent == 31) return mantissa ? std::nan("") : sign * std::numeric_limits<double>::infinity();
    return sign * std::ldexp(mantissa + 1024, exponent - 25);
}
double bfloat16_to_double(std::uint16_t bits) {
    std::uint32_t word = static_cast<std::uint32_t>(bits) << 16;
    float f = 0;
    std::memcpy(&f, &word, sizeof f);
    return f;
}

template <typename T>
T load(const std::string& raw, std::size_t index) {
    T value;
    // ONNX raw data is little-endian, as is x86.
    std::memcpy(&value, raw.data() + index * sizeof(T), sizeof(T));
    return value;
}

std::size_t element_size(std::int32_t type) {
    switch (type) {
        case elem_int64:
        case elem_uint64:
        case elem_double:
            return 8;
        case elem_int32:
        case elem_uint32:
        case elem_float:
            return 4;
        case elem_int16:
        case elem_uint16:
        case elem_float16:
        case elem_bfloat16:
            return 2;
        case elem_int8:
        case elem_uint8:
        case elem_bool:
            return 1;
        default:
            return 0;
    }
}

}  // namespace

TensorInfo tensor_info(const TensorProto& tensor) {
    Shape shape(tensor.dims().begin(), tensor.dims().end());
    for (auto d : shape)
        if (d < 0) throw ShapeError("tensor '" + tensor.name() + "' has a negative dimension");
    TensorInfo t = TensorInfo::of_shape(shape, tensor.data_type());
    std::int64_t n = element_count(shape);
    if (tensor.data_location() == TensorProto::EXTERNAL || n > max_known_values) return t;
    auto count = static_cast<std::size_t>(n);
    std::int32_t type = tensor.data_type();
    if (!tensor.raw_data().empty()) {
        std::size_t size = element_size(type);
        if (size == 0) return t;
        if (tensor.raw_data().size() != count * size)
            throw ShapeError("tensor '" + tensor.name() + "' has " +
                             std::to_string(tensor.raw_data().size()) + " bytes of data for " +
                             std::to_string(count) + " elements");
        const std::string& raw = tensor.raw_data();
        if (is_floating(type)) {
            t.floats.emplace(count);
            for (std::size_t i = 0; i < count; ++i) {
                switch (type) {
                    case elem_float:
                        (*t.floats)[i] = load<float>(raw, i);
                        break;
                    case elem_double:
                        (*t.floats)[i] = load<double>(raw, i);
                        break;
                    case elem_float16:
                        (*t.floats)[i] = half_to_double(load<std::uint16_t>(raw, i));
                        break;
                    default:
                        (*t.floats)[i] = bfloat16_to_double(load<std::uint16_t>(raw, i));
                        break;
                }
            }
        } else {
            t.ints.emplace(count);
            for (std::size_t i = 0; i < count; ++i) {
                switch (type) {
                    case elem_int64:
                        (*t.ints)[i] = load<std::int64_t>(raw, i);
                        break;
                    case elem_uint64:
                        (*t.ints)[i] = static_cast<std::int64_t>(load<std::uint64_t>(raw, i));
                        break;
                    case elem_int32:
                        (*t.ints)[i] = load<std::int32_t>(raw, i);
                        break;
                    case elem_uint32:
                        (*t.ints)[i] = load<std::uint32_t>(raw, i);
                        break;
                    case elem_int16:
                        (*t.ints)[i] = load<std::int16_t>(raw, i);
                        break;
                    case elem_uint16:
                        (*t.ints)[i] = load<std::uint16_t>(raw, i);
                        break;
                    case elem_int8:
                        (*t.ints)[i] = load<std::int8_t>(raw, i);
                        break;
                    default:
                        (*t.ints)[i] = load<std::uint8_t>(raw, i);
                        break;  // uint8, bool
                }
            }
        }
        return t;
    }
    // Typed fields: int32_data also carries the smaller integer types and the bits of float16 / bfloat16.
    auto take_ints = [&](const auto& field) {
        if (static_cast<std::size_t>(field.size()) == count)
            t.ints = std::vector<std::int64_t>(field.begin(), field.end());
    };
    auto take_floats = [&](const auto& field) {
        if (static_cast<std::size_t>(field.size()) == count)
            t.floats = std::vector<double>(field.begin(), field.end());
    };
    switch (type) {
        case elem_int64:
            take_ints(tensor.int64_data());
            break;
        case elem_int32:
        case elem_int16:
        case elem_int8:
        case elem_uint16:
        case elem_uint8:
        case elem_bool:
            take_ints(tensor.int32_data());
            break;
        case elem_uint32:
        case elem_uint64:
            take_ints(tensor.uint64_data());
            break;
        case elem_float:
            take_floats(tensor.float_data());
            break;
        case elem_double:
            take_floats(tensor.double_data());
            break;
        case elem_float16:
        case elem_bfloat16:
            if (static_cast<std::size_t>(tensor.int32_data_size()) == count) {
                t.floats.emplace();
                for (auto bits : tensor.int32_data()) {
                    auto b = static_cast<std::uint16_t>(bits);
                    t.floats->push_back(type == elem_float16 ? half_to_double(b) : bfloat16_to_double(b));
                }
            }
            break;
        default:
            break;
    }
    return t;
}

}  // namespace joulecast::onnx_detail
