#pragma once
// Every number joulecast prints goes through one of these: plain numbers, energy, power, mass of CO2e,
// durations and energy per sample. Several styles exist on purpose (a table's fixed decimals, a summary's
// three significant digits); each is named for its style, and outputs keep their style.

#include <optional>
#include <string>

namespace joulecast::core {

/// "1,234.5" style: digit grouping and a fixed number of decimals; "n/a" when not finite.
std::string format_number(double value, int decimals);
/// `value` with exactly `decimals` decimals, no digit grouping (printf %f): "0.50", "1234.5".
std::string format_fixed(double value, int decimals);
/// `value` with at most `digits` significant digits and no trailing zeros (printf %g): 128, 0.001, 1.2e+06;
/// "n/a" when it is not finite.
std::string format_significant(double value, int digits = 3);

/// Energy with an SI prefix and 3 significant digits: "12.3 mJ", "5.40 J", "1.20 kJ", "0 J" (µJ to GJ).
std::string format_energy(double joules);
/// Energy for tables: J with one decimal up to 1 kJ, then kJ, MJ, GJ with two: "950.0 J", "12.35 kJ".
std::string format_energy_fixed(double joules);
/// Energy per sample with an SI prefix: "12.3 mJ/sample".
std::string format_per_sample(double joules);
/// Energy per sample for tables, without the unit's "/sample": "0.412 J", "12.300 mJ".
std::string format_per_sample_fixed(double joules);
/// Energy per sample in mJ with 3 decimals, for the study's progress lines: "12.300 mJ/sample"; "-" when
/// none.
std::string format_millijoules_per_sample(const std::optional<double>& joules);
/// Power: "250.0 W".
std::string format_watts(double watts, int decimals = 1);

/// A mass of CO2e in mg, g, kg or t with 3 significant digits: "1.5 g", "230 mg", "4.20 kg".
std::string format_mass(double grams);
/// A mass for tables: "0.123 g", "12.3 g", "4.20 kg".
std::string format_mass_fixed(double grams);

/// A duration in ms, s, min, h or d: "0.122 ms", "42.0 s", "4.1 min", "2.3 h".
std::string format_duration(double seconds);
/// A duration as a clock reads it, for progress and tables: "12.3s", "1m05s", "2h03m".
std::string format_clock(double seconds);

}  // namespace joulecast::core
