#include "core/format.hpp"

#include <cmath>
#include <cstdio>

namespace joulecast::core {

std::string format_significant(double value, int digits) {
    if (!std::isfinite(value)) return "n/a";
    char text[64];
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    return text;
}

std::string format_energy(double joules) {
    if (!std::isfinite(joules)) return "n/a";
    struct Prefix {
        double scale;
        const char* unit;
    };
    static constexpr Prefix prefixes[] = {{1e9, "GJ"}, {1e6, "MJ"},  {1e3, "kJ"},
                                          {1, "J"},    {1e-3, "mJ"}, {1e-6, "µJ"}};
    const double a = std::fabs(joules);
    for (const auto& p : prefixes)
        if (a >= p.scale * 0.9995 || p.scale == 1e-6) {
            const double v = joules / p.scale;
            char text[64];
            // Three significant digits of the rounded value: 99.96 J reads "100 J", not "100.0 J".
            const double av = std::fabs(v);
            const int decimals = av >= 99.95 ? 0 : av >= 9.995 ? 1 : 2;
            std::snprintf(text, sizeof text, "%.*f %s", decimals, v, p.unit);
            if (joules == 0) return "0 J";
            return text;
        }
    return "0 J";
}

std::string format_fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string format_number(double value, int decimals) {
    if (!std::isfinite(value)) return "n/a";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, std::fabs(value));
    std::string digits(buffer);
    auto dot = digits.find('.');
    std::string whole = digits.substr(0, dot), fraction = dot == std::string::npos ? "" : digits.substr(dot);
    std::string grouped;
    for (std::size_t i = 0; i < whole.size(); ++i) {
        if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
        grouped += whole[i];
    }
    return (value < 0 && std::stod(buffer) != 0 ? "-" : "") + grouped + fraction;
}

namespace {

/// `value` in `units` (each 1000× the previous, from `smallest_scale`) with 3 significant digits.
std::string scaled(double value, const char* const* units, std::size_t count, double smallest_scale) {
    if (!std::isfinite(value)) return "n/a";
    double scale = smallest_scale;
    std::size_t u = 0;
    while (u + 1 < count && std::fabs(value) >= 1000.0 * scale) {
        scale *= 1000.0;
        ++u;
    }
    const double v = value / scale;
    const int decimals = std::fabs(v) >= 100 ? 0 : std::fabs(v) >= 10 ? 1 : 2;
    return format_number(v, decimals) + " " + units[u];
}

}  // namespace

std::string format_mass(double grams) {
    static constexpr const char* units[] = {"mg", "g", "kg", "t"};
    return scaled(grams, units, 4, 1e-3);
}

std::string format_clock(double seconds) {
    if (!(seconds >= 0)) seconds = 0;
    char buffer[32];
    if (seconds < 59.95) {  // 59.96 s would round to "60.0s"
        std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
    } else if (seconds < 3599.5) {  // 3599.6 s would round to "60m00s"
        const long total = std::lround(seconds);
        std::snprintf(buffer, sizeof buffer, "%ldm%02lds", total / 60, total % 60);
    } else {
        const long minutes = std::lround(seconds / 60);
        std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", minutes / 60, minutes % 60);
    }
    return buffer;
}

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds)) return "n/a";
    // Below 0.9995 s, since 999.6 ms has no 3-digit form in ms ("1e+03 ms"): it reads "1.0 s".
    if (std::fabs(seconds) < 0.9995) return format_significant(seconds * 1e3, 3) + " ms";
    if (seconds < 120) return format_number(seconds, 1) + " s";
    if (seconds < 7200) return format_number(seconds / 60, 1) + " min";
    if (seconds < 2 * 86400) return format_number(seconds / 3600, 1) + " h";
    return format_number(seconds / 86400, 1) + " d";
}

std::string format_energy_fixed(double joules) {
    const double a = std::fabs(joules);
    if (a >= 1e9) return format_fixed(joules / 1e9, 2) + " GJ";
    if (a >= 1e6) return format_fixed(joules / 1e6, 2) + " MJ";
    if (a >= 1e3) return format_fixed(joules / 1e3, 2) + " kJ";
    return format_fixed(joules, 1) + " J";
}

std::string format_mass_fixed(double grams) {
    if (std::fabs(grams) >= 1000) return format_fixed(grams / 1000, 2) + " kg";
    if (std::fabs(grams) >= 1) return format_fixed(grams, 1) + " g";
    return format_fixed(grams, 3) + " g";
}

std::string format_per_sample(double joules) {
    return format_energy(joules) + "/sample";
}

std::string format_per_sample_fixed(double joules) {
    return std::fabs(joules) >= 1 ? format_fixed(joules, 3) + " J" : format_fixed(joules * 1000, 3) + " mJ";
}

std::string format_millijoules_per_sample(const std::optional<double>& joules) {
    return joules ? format_number(*joules * 1e3, 3) + " mJ/sample" : "-";
}

std::string format_watts(double watts, int decimals) {
    return format_fixed(watts, decimals) + " W";
}

}  // namespace joulecast::core
