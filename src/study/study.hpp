#pragma once
// Runs a study: every planned run through measure_command() (sensors, control channel, carbon, store), with
// an optional idle baseline and cool-down, live progress on the log stream, GPU power limits where the grid
// asks for them, --resume from the store, and SIGINT/SIGTERM/SIGHUP handled as "stop after the current run".

#include <cstddef>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "carbon/carbon.hpp"
#include "meter/monitor.hpp"
#include "study/grid.hpp"
#include "study/plan.hpp"
#include "study/summary.hpp"

namespace joulecast::study {

struct StudyOptions {
    std::string store_path;  ///< the run store every run is kept in (and --resume reads)
    bool resume = false;  ///< skip (config hash, repeat) pairs already completed in the store for this study
    bool allow_power_limit = false;
    carbon::CarbonSetting carbon;
    meter::MonitorOptions monitor;  ///< sensors and sampler; its idle is replaced by the grid's
    std::string zoo_path;           ///< built-in mode's program (joulecast-zoo)
};

struct StudyOutcome {
    std::vector<RunRecord> records;  ///< in plan order: runs found by --resume, then those run now
    std::size_t planned = 0;
    double wall_s = 0;
    /// 0: every run completed; 1: some failed; 128+N: stopped by signal N (after the run it interrupted).
    int exit_code = 0;
};

/// The (config hash, repeat) pairs of `study_name` completed in the store, with their result documents'
/// measurements. Throws StoreError when the store cannot be read.
std::vector<RunRecord> completed_runs(const std::string& store_path, const std::string& study_name);

/// Everything checked before a run starts, for both a study and --dry-run: built-in mode's program exists,
/// command mode's program (that of `runs`, the grid's plan) can be found, power limits are allowed. Throws
/// UsageError.
void check_before_running(const StudyGrid& grid, const std::vector<PlannedRun>& runs,
                          const StudyOptions& options, bool dry_run);

/// Runs the study. Throws UsageError for problems found before the first run (see check_before_running; NVML
/// refusing a power limit; a store that --resume cannot read).
StudyOutcome run_study(const StudyGrid& grid, const StudyOptions& options, std::ostream& log);

/// The plan, one line per run, as `--dry-run` prints it: position, configuration, repeat, hash, command
/// (shell-quoted for reading only; nothing is run through a shell), and "done" for runs --resume would skip.
void print_plan(std::ostream& out, const StudyGrid& grid, const std::vector<PlannedRun>& runs,
                const std::string& zoo_path, const std::set<std::pair<std::string, int>>& done);

/// The plan's time bound from [study] time_limit: runs x (idle + limit + runner::time_limit_grace) + (runs -
/// 1) x cool-down, as one line of text; says "not bounded" without a limit.
std::string plan_time_bound(const StudyGrid& grid, std::size_t runs);

/// `text` quoted for a POSIX shell where needed (display only).
std::string shell_quote(const std::string& text);

}  // namespace joulecast::study
