#pragma once
// A small command-line reader for joulecast's programs (joulecast and joulecast-zoo): "--name value",
// "--name=value", flags, and "--" before a command, with the number parsers their options share. Unknown or
// malformed options raise UsageError (exit 2 with usage).

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace joulecast::core {

class Args {
public:
    explicit Args(std::vector<std::string> args) : m_args(std::move(args)) {}

    bool done() const { return m_pos >= m_args.size(); }
    const std::string& peek() const { return m_args[m_pos]; }
    std::string next() { return m_args[m_pos++]; }
    std::vector<std::string> rest();

    /// If the next argument is option `name` ("--json FILE" or "--json=FILE"), consumes it, stores its value
    /// in `out` and returns true. A missing or empty value throws UsageError.
    bool value(const std::string& name, std::string& out);
    /// If the next argument is the flag `name`, consumes it.
    bool flag(const std::string& name);

    /// How many arguments have been consumed, and those consumed since `from` (an earlier position()).
    std::size_t position() const { return m_pos; }
    std::vector<std::string> consumed_since(std::size_t from) const;

private:
    std::vector<std::string> m_args;
    std::size_t m_pos = 0;
};

/// A duration for option `name` ("500ms", "10s", "2h"), or a UsageError naming it with the parser's reason.
std::chrono::nanoseconds duration_option(const std::string& name, const std::string& text);
/// The same, above 0: "NAME: must be positive, a duration such as 10s or 500ms; got 'TEXT'" for 0 or less.
std::chrono::nanoseconds positive_duration_option(const std::string& name, const std::string& text);
/// Parses a number for option `name` or throws UsageError naming it.
double number_option(const std::string& name, const std::string& text);
/// A whole number in [min, max] for option `name` ("40", "4e4"); else UsageError: "NAME: expected a positive
/// whole number, got 'TEXT'" (min 1, no max) or "... a whole number from MIN to MAX ...".
std::int64_t whole_number_option(const std::string& name, const std::string& text, std::int64_t min = 1,
                                 std::int64_t max = std::numeric_limits<std::int64_t>::max());

}  // namespace joulecast::core
