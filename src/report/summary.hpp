#pragma once
// The `perf stat`-like summary that `joulecast run` prints on stderr.

#include <ostream>
#include <string>

#include "core/format.hpp"
#include "meter/run_result.hpp"

namespace joulecast {

void print_summary(std::ostream& out, const RunResult& result);

}  // namespace joulecast
