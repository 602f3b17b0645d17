#pragma once
// Reads a JSON file a test's joulecast wrote (a result, a study summary); a file that does not parse throws.

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace joulecast::test {

inline nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

}  // namespace joulecast::test
