#pragma once
// The metrics of one measured run (`joulecast run`) in the Prometheus text exposition format: its energy by
// domain, by phase and by rank's phase, its epochs as a counter and a gauge, and an info series. The same
// text goes to a Pushgateway (`run --push`) and, for runs on an agent's node, into the agent's /metrics. No
// HTTP here.
//
// Cardinality: one run is one run_id; phase takes the names the workload marks (the control channel admits a
// bounded number of open phases), rank the ranks of the job; epochs and times are values, never labels.

#include <string>
#include <string_view>
#include <vector>

#include "meter/run_result.hpp"

namespace joulecast::exporter {

/// The run's families, without a trailing "# EOF". `result` may be a snapshot of a run still going
/// (status running): phases still open count up to the snapshot's end.
std::string render_run_metrics(const meter::RunResult& result);

/// Merges the run texts of several runs (render_run_metrics, read back from the runs' state files) into one
/// exposition with each family's HELP and TYPE once, families in the order first seen. Only families named
/// joulecast_run_* are kept, and of them only lines that look like the text format (a name, optional
/// labels, a value); anything else (a file written by someone else, cut short) is dropped and counted in
/// `dropped` when given.
std::string merge_run_texts(const std::vector<std::string>& texts, std::size_t* dropped = nullptr);

/// The folder where runs and the local agent meet (state files RUN_ID.prom, the agent's agent.pid):
/// $JOULECAST_RUNS_DIR, else /run/joulecast where that folder exists (the systemd unit's RuntimeDirectory),
/// else /tmp/joulecast-runs.
std::string default_runs_dir();

/// URL-safe base64 (RFC 4648 §5) with padding, as the Pushgateway's "@base64" path segments want.
std::string base64url(std::string_view bytes);

/// The Pushgateway path of a run's group: /metrics/job/JOB/instance/INSTANCE/run_id/RUN_ID, each value
/// written plainly when it is made of [A-Za-z0-9_.-] only, else as "LABEL@base64/VALUE".
std::string pushgateway_path(std::string_view job, std::string_view instance, std::string_view run_id);

}  // namespace joulecast::exporter
