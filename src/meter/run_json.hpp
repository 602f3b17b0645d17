#pragma once
// The run result as JSON, both ways: to_json writes schema "joulecast.run/2" (docs/result-schema.md), and
// run_from_json reads it back as the same RunResult, and reads "joulecast.run/1" documents too.
//
// Exact inverse: to_json(run_from_json(to_json(r))) == to_json(r) for every run. Figures the writer derives
// from others (a phase's duration and mean power, per-sample carbon, a source's error count, ...) are not
// read back; they are derived again.

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "meter/run_result.hpp"

namespace joulecast::meter {

nlohmann::ordered_json to_json(const RunResult& result);

/// The run a result document describes. Errors for a document that is not an object, has no `schema` or one
/// this binary does not read, or whose fields have the wrong JSON type.
core::Result<RunResult> run_from_json(const nlohmann::ordered_json& document);
core::Result<RunResult> run_from_json(const nlohmann::json& document);

/// Appends the forecaster's working (every field of ForecastWorking, in its order) to the object `j`: the one
/// writer for a run's `forecast` and for `joulecast forecast --json`. run_from_json reads it back.
void write_forecast_working(nlohmann::ordered_json& j, const ForecastWorking& working);

/// The host and GPU part of a result document (`host`), as run_from_json reads it.
core::HostInfo host_from_json(const nlohmann::json& host, std::vector<sensors::GpuInfo>& gpus);

}  // namespace joulecast::meter
