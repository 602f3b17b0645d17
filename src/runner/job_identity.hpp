#pragma once
// Which distributed job a run belongs to, and which node of it this is (docs/distributed.md).

#include <functional>
#include <optional>
#include <string>

#include "meter/run_result.hpp"

namespace joulecast::runner {

/// Looks up an environment variable; none when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
EnvLookup process_env();

/// Sets the job and node fields of `run`: job id from `job_flag` (`--job`), else SLURM_JOB_ID, else
/// TORCHELASTIC_RUN_ID; node name = `hostname`; node rank from GROUP_RANK, else SLURM_NODEID (a value that is
/// not a whole number >= 0 is ignored).
void identify_job(meter::RunResult& run, const std::string& job_flag, const std::string& hostname,
                  const EnvLookup& env);

/// When the run has no node rank yet and every rank that said hello named the same node rank, takes it
/// (source "hello"). Ranks that disagree leave it unset, with a warning.
void node_rank_from_ranks(meter::RunResult& run);

}  // namespace joulecast::runner
