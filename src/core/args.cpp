#include "core/args.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/text.hpp"

namespace joulecast::core {

std::vector<std::string> Args::rest() {
    std::vector<std::string> out(m_args.begin() + static_cast<std::ptrdiff_t>(m_pos), m_args.end());
    m_pos = m_args.size();
    return out;
}

bool Args::value(const std::string& name, std::string& out) {
    if (done()) return false;
    const std::string& arg = m_args[m_pos];
    std::string value;
    if (arg == name) {
        if (m_pos + 1 >= m_args.size()) throw UsageError(name + " needs a value");
        value = m_args[m_pos + 1];
        m_pos += 2;
    } else if (starts_with(arg, name + "=")) {
        value = arg.substr(name.size() + 1);
        ++m_pos;
    } else {
        return false;
    }
    // An empty value is always a slip (an unset shell variable, say): `--json ""` must not mean "no JSON".
    if (value.empty()) throw UsageError(name + " needs a value, and got an empty one");
    out = std::move(value);
    return true;
}

std::vector<std::string> Args::consumed_since(std::size_t from) const {
    from = std::min(from, m_pos);
    return {m_args.begin() + static_cast<std::ptrdiff_t>(from),
            m_args.begin() + static_cast<std::ptrdiff_t>(m_pos)};
}

bool Args::flag(const std::string& name) {
    if (done() || m_args[m_pos] != name) return false;
    ++m_pos;
    return true;
}

std::chrono::nanoseconds duration_option(const std::string& name, const std::string& text) {
    auto parsed = parse_duration(text);
    if (!parsed) throw UsageError(name + ": " + parsed.error());
    return *parsed;
}

std::chrono::nanoseconds positive_duration_option(const std::string& name, const std::string& text) {
    auto parsed = parse_duration(text);
    // A negative or zero duration, or a bare number, is a value out of range rather than a malformed one.
    if (!parsed && !starts_with(trim(text), "-") && !parse_double(text))
        throw UsageError(name + ": " + parsed.error());
    if (!parsed || parsed->count() <= 0)
        throw UsageError(name + ": must be positive, a duration such as 10s or 500ms; got '" + text + "'");
    return *parsed;
}

double number_option(const std::string& name, const std::string& text) {
    auto value = parse_double(text);
    if (!value) throw UsageError(name + ": '" + text + "' is not a number");
    return *value;
}

std::int64_t whole_number_option(const std::string& name, const std::string& text, std::int64_t min,
                                 std::int64_t max) {
    // Integer text is read exactly (a seed may use all 64 bits); else a number such as 4e4 that is whole.
    std::optional<std::int64_t> value = parse_int(text);
    if (!value) {
        const auto number = parse_double(text);
        // Beyond 2^53 a double holds only whole numbers, which may not be the ones written.
        if (number && std::floor(*number) == *number && std::fabs(*number) < 9e15)
            value = static_cast<std::int64_t>(*number);
    }
    if (!value || *value < min || *value > max) {
        const std::string expected =
            max == std::numeric_limits<std::int64_t>::max()
                ? (min == 1 ? std::string("a positive whole number")
                            : "a whole number >= " + std::to_string(min))
                : "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
        throw UsageError(name + ": expected " + expected + ", got '" + text + "'");
    }
    return *value;
}

}  // namespace joulecast::core
