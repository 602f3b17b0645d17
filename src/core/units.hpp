#pragma once
// Unit conversions every module shares.

namespace joulecast::core {

inline constexpr double joules_per_kwh = 3.6e6;

/// Grams CO2e of `energy_j` joules at a grid intensity (g/kWh) and a data centre's PUE.
inline double co2e_grams(double energy_j, double intensity_g_per_kwh, double pue) {
    return energy_j / joules_per_kwh * pue * intensity_g_per_kwh;
}

}  // namespace joulecast::core
