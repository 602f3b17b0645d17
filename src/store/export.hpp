#pragma once
// Exports of stored runs for other tools: CSV (one row per run, or one per reading) and JSON (result
// documents).

#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/run_store.hpp"

namespace joulecast::store {

/// Header of write_runs_csv. Energies in joules, co2e in grams, times as ISO 8601 UTC and seconds; empty
/// fields where a value is unknown (e.g. a run still going); `finished` is 0 when figures come from the
/// readings stored before joulecast stopped; `command` is the argv joined by spaces; `tags` is "k=v;k=v".
inline constexpr const char* runs_csv_header =
    "id,name,status,started_at,duration_s,exit_code,energy_j,gpu_j,cpu_j,dram_j,measured_j,modelled_j,co2e_g,"
    "finished,hostname,command,tags";

/// Header of write_readings_csv: the trace CSV's columns (t_s from the command's start) after the run id.
inline constexpr const char* readings_csv_header =
    "run_id,t_s,sensor,channel,domain,device,quantity,behaviour,modelled,unit,value";

void write_runs_csv(std::ostream& out, const std::vector<RunSummary>& runs);
void write_readings_csv(std::ostream& out, RunStore& store, const std::vector<RunSummary>& runs);

/// The summary of a run as JSON (what `runs list --json` prints).
nlohmann::ordered_json summary_json(const RunSummary& run);

/// An array of result documents, in the order of `runs`. With `readings`, each document gets
/// "trace": {"channels": [{index, sensor, name, domain, device, quantity, unit, behaviour, modelled,
/// accounted}], "readings": [[t_s, channel index, value], ...]}.
nlohmann::ordered_json export_json(RunStore& store, const std::vector<RunSummary>& runs, bool readings);

}  // namespace joulecast::store
