#include "cli/args.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

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

double number_option(const std::string& name, const std::string& text) {
    auto value = parse_double(text);
    if (!value) throw UsageError(name + ": '" + text + "' is not a number");
    return *value;
}

std::int64_t whole_number_option(const std::string& name, const std::string& text, std::int64_t min,
                                 std::int64_t max) {
    const auto value = parse_double(text);
    // Above 2^53 a double holds only whole numbers, and no option here counts that far.
    const bool whole =
        value && std::isfinite(*value) && std::floor(*value) == *value && std::fabs(*value) < 9e15;
    if (!whole || *value < static_cast<double>(min) || *value > static_cast<double>(max)) {
        const std::string expected =
            max == std::numeric_limits<std::int64_t>::max()
                ? (min == 1 ? std::string("a positive whole number")
                            : "a whole number >= " + std::to_string(min))
                : "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
        throw UsageError(name + ": expected " + expected + ", got '" + text + "'");
    }
    return static_cast<std::int64_t>(*value);
}

double inferences_option(const std::string& text) {
    std::string number(trim(text));
    double scale = 1;
    if (!number.empty()) {
        const char last = number.back();
        if (last == 'k' || last == 'K') scale = 1e3;
        if (last == 'M') scale = 1e6;
        if (last == 'G' || last == 'B') scale = 1e9;
        if (scale != 1) number.pop_back();
    }
    auto value = parse_double(number);
    if (!value || *value < 0 || !std::isfinite(*value * scale))
        throw UsageError("--inferences: expected a number of inferences >= 0 (e.g. 1e6, 250k, 2M), got '" +
                         text + "'");
    return *value * scale;
}

bool carbon_option(Args& args, CarbonOptions& carbon) {
    std::string text;
    if (args.value("--country", text)) {
        carbon.country = text;
    } else if (args.value("--region", text)) {
        carbon.region = text;
    } else if (args.value("--intensity", text)) {
        carbon.intensity_g_per_kwh = number_option("--intensity", text);
    } else if (args.value("--pue", text)) {
        carbon.pue = number_option("--pue", text);
    } else {
        return false;
    }
    return true;
}

double cpu_tdp_option(const std::string& text) {
    const double watts = number_option("--cpu-tdp", text);
    if (!(watts > 0 && watts <= 2000))
        throw UsageError("--cpu-tdp: expected watts above 0 and at most 2000, got '" + text + "'");
    return watts;
}

bool measuring_option(Args& args, MonitorOptions& monitor) {
    using namespace std::chrono_literals;
    std::string text;
    if (args.value("--interval", text)) {
        auto parsed = parse_duration(text);
        if (!parsed) throw UsageError("--interval: " + parsed.error());
        if (*parsed < 10ms || *parsed > 10s) throw UsageError("--interval must be between 10ms and 10s");
        monitor.sampler.interval = *parsed;
    } else if (args.value("--cpu-tdp", text)) {
        monitor.sensors.cpu_tdp_w = cpu_tdp_option(text);
    } else {
        return false;
    }
    return true;
}

}  // namespace joulecast::cli
