#pragma once
// The result JSON ("joulecast.run/1") and the trace CSV.

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "meter/run_result.hpp"
#include "meter/trace.hpp"

namespace joulecast {

nlohmann::ordered_json to_json(const RunResult& result);

/// Writes every reading of a trace as CSV (header: see trace_csv_header in replay_sensor.hpp); times in
/// seconds relative to `origin_ns`.
void write_trace_csv(std::ostream& out, const Trace& trace, std::int64_t origin_ns);

}  // namespace joulecast
