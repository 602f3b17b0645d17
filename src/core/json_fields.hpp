#pragma once
// Optional fields of JSON documents: reading them without exceptions (a missing field or one of another type
// gives the fallback), and writing a figure that may be missing as null.

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace joulecast::core {

template <class Json>
double number_or(const Json& object, const char* key, double fallback = 0) {
    auto it = object.find(key);
    return it != object.end() && it->is_number() ? it->template get<double>() : fallback;
}

template <class Json>
std::string string_or(const Json& object, const char* key, std::string fallback = {}) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->template get<std::string>() : std::move(fallback);
}

/// A figure that may be missing (or not finite) as JSON: the number, or null.
inline nlohmann::ordered_json optional_json(const std::optional<double>& value) {
    return value && std::isfinite(*value) ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

}  // namespace joulecast::core
