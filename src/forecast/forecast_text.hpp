#pragma once
// A run's forecast in one line of text, as `joulecast run` prints it live and in its summary.

#include <string>

#include "meter/run_result.hpp"

namespace joulecast::forecast {

/// The one-line forecast (without a prefix or progress), e.g. "12.4 kJ (11.9–13.1 kJ, 90%), 4.1 min, 1.5 g
/// CO2e, steady-mean, converged".
std::string forecast_line(const meter::RunForecast& forecast);

}  // namespace joulecast::forecast
