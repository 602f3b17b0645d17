#pragma once
// Measures one command from start to stored result: the sensors and sampler (Monitor), the control channel,
// the child process with signal forwarding, carbon, and the run store written as the run goes. `joulecast
// run` is this plus option parsing and output; `joulecast study` calls it once per configuration.

#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "carbon/carbon.hpp"
#include "core/redact.hpp"
#include "meter/monitor.hpp"
#include "meter/run_result.hpp"
#include "runner/live_export.hpp"
#include "runner/live_forecast.hpp"

namespace joulecast::runner {

struct RunSpec {
    std::vector<std::string> command;  ///< argv; no shell
    /// Names (globs) whose values are masked in the stored command line (core/redact); the command runs with
    /// them intact.
    std::vector<std::string> redact_patterns = core::default_redact_patterns();
    std::map<std::string, std::string> env;  ///< added to the child's environment
    std::string name;
    std::map<std::string, std::string> tags;
    std::string job;  ///< --job ID (else SLURM_JOB_ID, else TORCHELASTIC_RUN_ID)
    /// With a job id: the first run of the job on this node measures, the others join it
    /// (runner/node_lock.hpp).
    bool one_measurement_per_node = true;
    std::string lock_dir;  ///< where the job's lock files are (empty: $XDG_RUNTIME_DIR, /tmp)
    meter::MonitorOptions monitor;
    carbon::CarbonSetting carbon;
    std::optional<std::string> store_path;  ///< where the run is kept; none: not stored
    bool quiet = false;                     ///< no notes on the log stream
    /// --expect-* / --profile-*: forecast while it runs, end it after a profile (inactive by default).
    ForecastSpec forecast;
    /// --push: the run's metrics go to a Pushgateway while it runs and at its end (runner/live_export.hpp).
    std::optional<PushSpec> push;
    /// Where a local agent (`joulecast serve`) reads runs, when one runs there; none: --no-export.
    std::optional<std::string> runs_dir;
    /// Stop the command this long after its start: SIGINT, then SIGKILL time_limit_grace later; the run is
    /// failed, with a warning. Zero: no limit.
    std::chrono::nanoseconds time_limit{0};
};

/// Between a time limit's SIGINT and its SIGKILL.
inline constexpr std::chrono::milliseconds time_limit_grace{500};

struct RunOutcome {
    meter::RunResult result;
    int exit_code = 0;          ///< the command's status (128+N for signal N; 127 when it could not start)
    std::int64_t start_ns = 0;  ///< the window's start, CLOCK_MONOTONIC (trace times count from it)
    meter::Trace trace;         ///< every reading, the idle baseline's included
    /// True when the profile's signal ended the command (it then exited 0 or died of SIGINT / SIGTERM): the
    /// run is `profiled` and joulecast reports success.
    bool ended_by_profile = false;
    /// This run joined the run that measures its job on this node: it measured nothing (`result` is empty);
    /// its command ran as that run's client and `exit_code` is the command's.
    bool joined = false;
    /// Why the run, or part of it, is not in the store although one was asked for (a full disk: the run was
    /// measured to its end all the same); empty when it was stored whole or no store was asked for.
    std::string store_failure;
    /// The store kept only the run's row (status, duration, totals), not its result document.
    bool stored_row_only = false;
};

/// Runs and measures `spec.command`. Notes, fallbacks and store problems go to `log` (unless quiet); the
/// summary is the caller's to print. Throws, only for problems found before the command starts, UsageError
/// (bad options) or StoreError (a store that cannot be used).
RunOutcome measure_command(const RunSpec& spec, std::ostream& log);

}  // namespace joulecast::runner
