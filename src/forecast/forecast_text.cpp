#include "forecast/forecast_text.hpp"

#include "core/format.hpp"

namespace joulecast::forecast {

using core::format_duration;
using core::format_energy;
using core::format_mass;
using core::format_number;

using meter::RunForecast;

std::string forecast_line(const RunForecast& f) {
    std::string line = format_energy(f.total_energy_j) + " (" + format_energy(f.low_energy_j) + "\u2013" +
                       format_energy(f.high_energy_j) + ", " + format_number(100 * f.confidence, 0) + "%), " +
                       format_duration(f.total_duration_s);
    if (f.co2e_g) line += ", " + format_mass(*f.co2e_g) + " CO2e";
    line += ", " + f.method + (f.converged ? ", converged" : ", not converged");
    return line;
}

}  // namespace joulecast::forecast
