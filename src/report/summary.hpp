#pragma once
// The `perf stat`-like summary of one run that `joulecast run` prints on stderr.

#include <ostream>
#include <string>

#include "core/format.hpp"
#include "meter/run_result.hpp"

namespace joulecast::report {

void print_run_summary(std::ostream& out, const meter::RunResult& result);

/// The job's own share of the CPU and DRAM energy, with how it was found, e.g. "CPU 71.6 of 2,855.9 J, DRAM
/// 25.0 of 1,061.1 J (its share of busy CPU time, of cpu modelled, dram modelled)"; the reason when it could
/// not be measured; "" when the run has no CPU or DRAM energy to share.
std::string attributed_text(const meter::RunResult& result);
/// The job's own share of each GPU's energy, e.g. "GPU gpu0 45.0 of 60.0 J (per-process SM utilisation);
/// gpu1 unmeasurable: ... (gross 30.0 J)"; "" when the run has no GPU energy.
std::string attributed_gpu_text(const meter::RunResult& result);

}  // namespace joulecast::report
