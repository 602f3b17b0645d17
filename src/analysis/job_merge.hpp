#pragma once
// One distributed job from its nodes' runs (docs/distributed.md): each node's `joulecast run --job ID`
// measured that node alone, so the job is their sum.
//
// - Energy: the sum over nodes, by domain and by device (a device is named "NODE/DEVICE": gpu0 exists on
//   every node; "NODE#RANK/DEVICE" where nodes share a name, as several on one machine). The measured and
//   modelled parts are summed the same way.
// - Phases: the k-th phase of a name on each node is the same phase of the job. It spans the earliest begin
//   to the latest end over the nodes, on the wall clock (each run's `started_at` + its phase times; nodes
//   whose clocks disagree misplace the span by as much, never the energy). Energy = the sum of each node's
//   energy in its own phase window; samples = the sum over nodes (each node's are already summed over its
//   ranks); energy per sample = the two divided. Epochs the same, by epoch number.
// - Carbon: each node at its own intensity and PUE (nodes may be in different regions), summed; none when a
//   node has no carbon figure.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "meter/run_result.hpp"

namespace joulecast::analysis {

inline constexpr const char* job_schema = "joulecast.job/1";

struct JobNode {
    std::string run_id;
    std::string node;
    std::optional<long long> node_rank;
    std::string started_at;
    double duration_s = 0;
    double energy_j = 0;
    std::optional<long long> samples;
    std::optional<double> co2e_g;
    std::string intensity_source;
    meter::RunStatus status = meter::RunStatus::completed;
};

/// A phase or an epoch of the job. Times in seconds from the job's start (the earliest node's start).
struct JobSpan {
    std::string name;            ///< the phase's name, or "epoch"
    std::optional<long long> n;  ///< the epoch number (epochs only)
    double start_s = 0;
    double end_s = 0;
    double energy_j = 0;
    std::map<std::string, double> domain_j;
    std::optional<long long> samples;  ///< summed over nodes; none when a node's count is unknown
    std::optional<double> energy_per_sample_j;
    std::optional<double> co2e_g;
    std::size_t nodes = 0;  ///< nodes that had this phase
    double measured_j = 0;  ///< the part of energy_j from counters and integrated measured power
    double modelled_j = 0;  ///< the part of energy_j from models
};

struct JobResult {
    std::string job_id;
    std::string started_at;  ///< the earliest node's start
    double duration_s = 0;   ///< earliest start to latest end
    double energy_j = 0;
    double measured_j = 0;
    double modelled_j = 0;
    std::map<std::string, double> domain_j;
    std::map<std::string, double> device_j;  ///< "NODE/DEVICE" -> J, accounted sources only
    std::optional<long long> samples;
    std::optional<double> energy_per_sample_j;
    std::optional<double> co2e_g;
    std::vector<JobNode> nodes;  ///< by node rank, then name
    std::vector<JobSpan> phases;
    std::vector<JobSpan> epochs;
    std::vector<std::string> warnings;
};

/// Merges the runs of one job (one per node). Runs without a parsable `started_at` are aligned at the
/// earliest start, with a warning. Throws std::invalid_argument for no runs.
JobResult merge_job(const std::string& job_id, const std::vector<meter::RunResult>& runs);

/// The job as one run, for `analyze --by-job` and `report --by-job` (docs/distributed.md): id and job id are
/// the job's; energy, phases and epochs are merge_job's (sums over nodes, samples over all ranks, spans on
/// the wall clock); E_tr and E_in are the nodes' sums; started_at and duration_s span the job; mean power
/// is the job's energy over that span; peak power is unknown (NaN: the nodes' peaks need not coincide);
/// gpus are every node's; meta and metrics come from the lowest node rank that has them (rank 0 usually
/// reports them); tags are those all nodes share; status completed only when every node's is (else the
/// first other); carbon summed when every node has it. `runs` must be the runs `job` was merged from.
meter::RunResult job_as_run(const JobResult& job, const std::vector<meter::RunResult>& runs);

/// Schema "joulecast.job/1" (docs/result-schema.md).
nlohmann::ordered_json to_json(const JobResult& job);

}  // namespace joulecast::analysis
