// Shape rules (and known values) of the data-movement and shape operators: Reshape, Flatten, Transpose,
// Concat, Split, Slice, Squeeze/Unsqueeze, Gather, Shape, Constant, Cast, Pad, Expand, Tile, Range, Resize,
// ...

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include "model/onnx_shape_context.hpp"

namespace joulecast::model::onnx_detail {

namespace {

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

}  // namespace

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

}  // namespace joulecast::model::onnx_detail
