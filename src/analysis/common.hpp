#pragma once
// Small helpers shared by the analysis sources and `joulecast analyze`: finite-or-null numbers and the
// human formatting of energies, counts and settings.

#include <cmath>
#include <optional>
#include <string>

#include "core/text.hpp"

namespace joulecast::analysis {

inline std::optional<double> finite_or_null(double value) {
    return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
}
inline std::optional<double> finite_or_null(std::optional<double> value) {
    return value && std::isfinite(*value) ? value : std::nullopt;
}

struct RunRow;
/// Replaces every non-finite number of a row (NaN, ±inf from hand-built or damaged input) by nullopt.
void drop_non_finite(RunRow& row);

/// A count: 1000000 → "1 M", 25000 → "25 k", 1331.7 → "1332", 0.25 → "0.25".
std::string format_count(double value);
/// A ratio: "5.4x".
std::string format_ratio(double value);
/// A share 0..1 as "45%" ("0.3%" below 1%, "99.8%" rather than a rounded-up "100%").
std::string format_percent(double share);

}  // namespace joulecast::analysis
