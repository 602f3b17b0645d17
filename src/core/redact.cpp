#include "core/redact.hpp"

#include <fnmatch.h>

#include "core/text.hpp"

namespace joulecast::core {

namespace {

bool secret_name(const std::string& name, const std::vector<std::string>& patterns) {
    if (name.empty()) return false;
    const std::string lower = to_lower(name);
    for (const auto& pattern : patterns)
        if (::fnmatch(to_lower(pattern).c_str(), lower.c_str(), 0) == 0) return true;
    return false;
}

std::string without_dashes(const std::string& text) {
    std::size_t start = 0;
    while (start < text.size() && start < 2 && text[start] == '-') ++start;
    return text.substr(start);
}

}  // namespace

const std::vector<std::string>& default_redact_patterns() {
    static const std::vector<std::string> patterns = {"*token*", "*password*", "*passwd*", "*secret*",
                                                      "*key*"};
    return patterns;
}

RedactedCommand redact_command(const std::vector<std::string>& argv,
                               const std::vector<std::string>& patterns) {
    RedactedCommand out;
    out.argv = argv;
    for (std::size_t i = 1; i < out.argv.size(); ++i) {
        std::string& arg = out.argv[i];
        const bool option = starts_with(arg, "-") && arg != "-" && arg != "--";
        const auto eq = arg.find('=');
        if (eq != std::string::npos && eq > 0) {
            // `--name=value`, or `NAME=value` when it is not an option.
            if (secret_name(without_dashes(arg.substr(0, eq)), patterns) &&
                arg.substr(eq + 1) != redacted_value) {
                arg = arg.substr(0, eq + 1) + redacted_value;
                ++out.masked;
            }
        } else if (option && secret_name(without_dashes(arg), patterns) && i + 1 < out.argv.size() &&
                   !starts_with(out.argv[i + 1], "-")) {
            out.argv[i + 1] = redacted_value;
            ++out.masked;
            ++i;
        }
    }
    return out;
}

}  // namespace joulecast::core
