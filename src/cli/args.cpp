#include "cli/args.hpp"

#include "core/text.hpp"

namespace joulecast::cli {

std::vector<std::string> Args::rest() {
    std::vector<std::string> out(m_args.begin() + static_cast<std::ptrdiff_t>(m_pos), m_args.end());
    m_pos = m_args.size();
    return out;
}

bool Args::value(const std::string& name, std::string& out) {
    if (done()) return false;
    const std::string& arg = m_args[m_pos];
    if (arg == name) {
        if (m_pos + 1 >= m_args.size()) throw UsageError(name + " needs a value");
        out = m_args[m_pos + 1];
        m_pos += 2;
        return true;
    }
    if (starts_with(arg, name + "=")) {
        out = arg.substr(name.size() + 1);
        ++m_pos;
        return true;
    }
    return false;
}

bool Args::flag(const std::string& name) {
    if (done() || m_args[m_pos] != name) return false;
    ++m_pos;
    return true;
}

double number_option(const std::string& name, const std::string& text) {
    auto value = parse_double(text);
    if (!value) throw UsageError(name + ": '" + text + "' is not a number");
    return *value;
}

}  // namespace joulecast::cli
