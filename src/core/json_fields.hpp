#pragma once
// Reading optional fields of a result document (nlohmann::json or ordered_json) without exceptions: a
// missing field or one of another type gives the fallback.

#include <string>

namespace joulecast {

template <class Json>
double number_or(const Json& object, const char* key, double fallback = 0) {
    auto it = object.find(key);
    return it != object.end() && it->is_number() ? it->template get<double>() : fallback;
}

template <class Json>
std::string string_or(const Json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->template get<std::string>() : std::string();
}

}  // namespace joulecast
