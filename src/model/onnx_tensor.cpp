// Shape, type and values of an initializer or a Constant's tensor.

#include "model/onnx_shapes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

namespace joulecast::model::onnx_detail {

using joulecast_onnx::TensorProto;

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

}  // namespace joulecast::model::onnx_detail
