#pragma once
// The `perf stat`-like summary that `joulecast run` prints on stderr.

#include <ostream>
#include <string>

#include "meter/run_result.hpp"

namespace joulecast {

void print_summary(std::ostream& out, const RunResult& result);

/// "1,234.5" style formatting with a fixed number of decimals.
std::string format_number(double value, int decimals);

}  // namespace joulecast
