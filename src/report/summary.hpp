#pragma once
// The `perf stat`-like summary of one run that `joulecast run` prints on stderr.

#include <ostream>
#include <string>

#include "core/format.hpp"
#include "meter/run_result.hpp"

namespace joulecast::report {

void print_run_summary(std::ostream& out, const RunResult& result);

}  // namespace joulecast::report
