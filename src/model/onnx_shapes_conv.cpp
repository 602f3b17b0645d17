// Shape rules and MAC counts of convolution, pooling, matrix products and normalisation.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include "model/onnx_shape_context.hpp"

namespace joulecast::model::onnx_detail {

namespace {

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

}  // namespace

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

}  // namespace joulecast::model::onnx_detail
