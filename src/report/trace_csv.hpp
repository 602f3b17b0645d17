#pragma once
// The trace CSV (the result JSON is meter/run_json.hpp).

#include <ostream>
#include <string>

#include "meter/trace.hpp"

namespace joulecast::report {

/// Writes every reading of a trace as CSV (header: see trace_csv_header in replay_sensor.hpp); times in
/// seconds relative to `origin_ns`.
void write_trace_csv(std::ostream& out, const meter::Trace& trace, std::int64_t origin_ns);

}  // namespace joulecast::report
