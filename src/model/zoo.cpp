// Finding joulecast-zoo and telling ONNX files from built-in model names.

#include "model/zoo.hpp"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/text.hpp"

namespace joulecast::model {

using core::split;
using core::to_lower;

namespace {

bool executable_file(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

bool names_file(const std::string& model) {
    std::error_code ec;
    return std::filesystem::exists(model, ec) || model.find('/') != std::string::npos ||
           (model.size() > 5 && to_lower(model.substr(model.size() - 5)) == ".onnx");
}

std::string zoo_beside_this_program() {
    char self[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return "joulecast-zoo";
    return (std::filesystem::path(std::string(self, static_cast<std::size_t>(n))).parent_path() /
            "joulecast-zoo")
        .string();
}

std::optional<std::string> find_zoo() {
    if (const std::string beside = zoo_beside_this_program(); executable_file(beside)) return beside;
    const char* path = std::getenv("PATH");
    if (!path) return std::nullopt;
    for (const auto& dir : split(path, ':')) {
        auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / "joulecast-zoo";
        if (executable_file(candidate)) return candidate.string();
    }
    return std::nullopt;
}

}  // namespace joulecast::model
