// Shape rules, operation counts and (for small known tensors) values of element-wise operators and
// reductions.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include "model/onnx_shape_context.hpp"

namespace joulecast::model::onnx_detail {

namespace {

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

}  // namespace

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

}  // namespace joulecast::model::onnx_detail
