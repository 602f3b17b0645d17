#pragma once
// The `perf stat`-like summary that `joulecast run` prints on stderr.

#include <ostream>
#include <string>

#include "core/text.hpp"  // format_energy, with the other formatters
#include "meter/run_result.hpp"

namespace joulecast {

void print_summary(std::ostream& out, const RunResult& result);

/// "1,234.5" style formatting with a fixed number of decimals.
std::string format_number(double value, int decimals);

/// A duration in ms, s, min, h or d: "0.122 ms", "42.0 s", "4.1 min", "2.3 h".
std::string format_duration(double seconds);
/// A duration as a clock reads it, for progress and tables: "12.3s", "1m05s", "2h03m".
std::string format_clock(double seconds);
/// A mass of CO2e in mg, g, kg or t: "1.5 g", "230 mg", "4.20 kg".
std::string format_mass(double grams);

/// The one-line forecast `joulecast run` prints (without a prefix or progress), e.g. "12.4 kJ (11.9–13.1 kJ,
/// 90%), 4.1 min, 1.5 g CO2e, steady-mean, converged".
std::string forecast_line(const RunForecast& forecast);

}  // namespace joulecast
