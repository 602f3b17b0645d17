#pragma once
// The result of one measured run: what `joulecast run` prints, writes as JSON and keeps in the store.
// Schema: "joulecast.run/2" (see docs/result-schema.md); meter/run_json.hpp writes it and reads it back.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/host.hpp"
#include "meter/attribution.hpp"
#include "meter/energy.hpp"
#include "meter/forecast_working.hpp"
#include "meter/run_kinds.hpp"
#include "meter/sampler.hpp"
#include "sensors/registry.hpp"

namespace joulecast::meter {

inline constexpr const char* run_schema = "joulecast.run/2";

struct IdleBaseline {
    double duration_s = 0;
    double power_w = 0;  ///< accounted power of every domain while idle
    std::map<std::string, double> domain_power_w;
};

/// A sensor as the run saw it.
struct SensorReport {
    std::string name;
    bool available = false;
    bool used = false;
    std::string reason;  ///< why unavailable, empty otherwise
    std::string role;
    std::vector<std::string> notes;
};

/// Read problems of one channel, counted during the run and reported once.
struct ChannelProblem {
    std::string sensor;
    std::string channel;
    std::uint64_t errors = 0;
    bool unsupported = false;
    bool lost = false;
};

/// The tool's own cost.
struct Overhead {
    double sampler_cpu_s = 0;  ///< CPU time of the sampler thread
    double process_cpu_s = 0;  ///< CPU time of the whole joulecast process (the measured command excluded)
    double wall_s = 0;         ///< joulecast's own wall time, from start to result
    std::uint64_t readings = 0;
    double interval_s = 0;
};

/// One phase the workload marked (begin/end on the control channel), or one epoch.
struct PhaseResult {
    std::string name;    ///< "train", "infer", "eval", "epoch", or any name the workload chose
    double start_s = 0;  ///< seconds from the start of the command
    double end_s = 0;
    double energy_j = 0;  ///< accounted energy of every domain in the phase
    std::map<std::string, double> domain_j;
    std::optional<long long> samples;
    std::optional<double> energy_per_sample_j;
    double co2e_g = 0;
    /// How the boundaries were placed: counters read at the boundary, interpolated along the power timeline
    /// between counter readings, or integrated / modelled where there is no counter.
    PhaseBoundary boundary = PhaseBoundary::counter;
    std::map<std::string, std::string> fields;  ///< extra k=v given with begin
    bool closed = true;                         ///< false when the run ended with the phase still open
    double measured_j = 0;  ///< the part of energy_j from counters and integrated measured power
    double modelled_j = 0;  ///< the part of energy_j from models

    double mean_power_w() const { return end_s > start_s ? energy_j / (end_s - start_s) : 0.0; }
};

struct EpochResult {
    long long n = 0;
    double start_s = 0;
    double end_s = 0;
    double energy_j = 0;  ///< accounted energy of every domain in the epoch
    std::optional<long long> samples;
    std::optional<double> energy_per_sample_j;
    std::map<std::string, double> domain_j;
    double measured_j = 0;
    double modelled_j = 0;
};

/// One rank's own view of a distributed job (from its client's `hello`): its phases and epochs, each with the
/// node's energy over that rank's window (a rank's share of the node is not known: no per-sample figures
/// here, those are the job's).
struct RankResult {
    long long rank = 0;
    std::optional<long long> local_rank, world_size, node_rank, pid;
    std::string launcher;  ///< "torchrun", "slurm", "openmpi", "mpich" or empty
    /// The rank's GPU when known: from NVML's process list (the rank's pid holds a context on it), else from
    /// its local rank and the visible-device mapping (CUDA_VISIBLE_DEVICES, else every GPU in order).
    std::optional<unsigned> gpu_index{};
    std::string gpu_device{};              ///< that GPU's device name ("gpu0", "amdgpu1")
    std::string gpu_source{};              ///< "nvml processes", "rocm-smi processes" or "LOCAL_RANK"
    std::optional<double> gpu_energy_j{};  ///< its GPU's accounted energy over the run; none when unmeasured
    std::vector<PhaseResult> phases;       ///< closed=false: the rank never ended it (it died or forgot)
    std::vector<EpochResult> epochs;
};

/// A metric the workload reported; the last value wins, the series is kept.
struct MetricSeries {
    std::vector<std::pair<double, double>> points;  ///< {seconds from start, value}
    double last() const { return points.empty() ? 0.0 : points.back().second; }
};

struct CarbonResult {
    double intensity_g_per_kwh = 0;
    std::string
        intensity_source;  ///< e.g. "country FRA (Our World in Data 2022)", "--intensity", "world average"
    double pue = 1.0;
    double co2e_g = 0;  ///< total energy × PUE × intensity
};

/// The whole job's forecast made from this run's profile (`joulecast run --expect-*`). Every figure is a
/// forecast of the WHOLE job (the measured profile included), not a measurement.
struct RunForecast : ForecastWorking {
    TargetKind target = TargetKind::epochs;
    double target_amount = 0;  ///< epochs, samples or seconds of the whole job
    ForecastBasis basis = ForecastBasis::epochs;
    double window_s = 0;        ///< window length for basis "windows", seconds (0 for epochs)
    double total_energy_j = 0;  ///< forecast total, joules
    double low_energy_j = 0;    ///< interval at `confidence`, joules
    double high_energy_j = 0;
    double confidence = 0.9;
    double total_duration_s = 0;  ///< forecast wall time of the epochs / windows of the job, seconds
    std::string method;           ///< the forecaster's method, e.g. "steady-mean"
    bool converged = false;
    std::optional<double> co2e_g, low_co2e_g, high_co2e_g;  ///< at the run's carbon setting, grams
    // Inherited: the forecaster's account of how it got there (meter/forecast_working.hpp).
};

struct RunResult {
    std::string id;
    std::string name;
    std::vector<std::string> command;
    int exit_code = 0;  ///< meaningless (null in JSON) for a partial run
    RunStatus status = RunStatus::completed;
    /// Built from the store's columns and readings for a run whose joulecast never wrote its result (still
    /// running, or killed): figures cover the readings stored so far.
    bool partial = false;
    std::string started_at;  ///< ISO 8601 UTC
    double duration_s = 0;
    /// CLOCK_MONOTONIC ns at the command's start: phase, epoch and trace times count from it (for aligning
    /// the run with other logs stamped on the same clock).
    std::int64_t origin_monotonic_ns = 0;
    core::HostInfo host;
    std::vector<sensors::GpuInfo> gpus;
    /// The distributed job this run is one node's part of (docs/distributed.md): `--job ID`, else
    /// SLURM_JOB_ID, else TORCHELASTIC_RUN_ID; empty when none. `job_source` names which one.
    std::string job_id;
    std::string job_source;
    std::string node;                    ///< the node's name (its hostname)
    std::optional<long long> node_rank;  ///< GROUP_RANK / SLURM_NODEID, else the ranks' hello lines
    std::string node_rank_source;        ///< "GROUP_RANK", "SLURM_NODEID", "hello" or empty

    WindowEnergy energy;          ///< gross, over the command's lifetime
    AttributedEnergy attributed;  ///< the job's share of the CPU and DRAM energy (meter/attribution.hpp)
    std::optional<IdleBaseline> idle;
    std::optional<double> net_energy_j;  ///< gross − idle power × duration, when idle was measured
    double mean_power_w = 0;
    double peak_power_w = 0;  ///< highest total power over bins of max(interval, 100 ms)

    std::vector<PhaseResult> phases;
    std::vector<EpochResult> epochs;
    /// Each rank's view, when the workload's clients named their ranks; phases and epochs above are then the
    /// job's (merged across ranks, samples summed).
    std::vector<RankResult> ranks;
    std::optional<double> training_energy_j;   ///< E_tr: every phase named "train" (outermost only)
    std::optional<double> inference_energy_j;  ///< E_in: every phase named "infer"
    std::map<std::string, std::string> meta;
    std::map<std::string, MetricSeries> metrics;
    std::map<std::string, std::string> tags;
    std::optional<CarbonResult> carbon;
    std::optional<RunForecast> forecast;  ///< with --expect-* (and a profile that produced observations)
    /// Control-channel health: lines, accepted, malformed, ... (empty when no channel was opened).
    std::map<std::string, std::uint64_t> control;

    std::vector<SensorReport> sensors;
    std::vector<std::string> fallbacks;
    std::vector<ChannelProblem> problems;
    Overhead overhead;
    std::vector<std::string> warnings;
};

/// Adds a warning for each energy counter of the timeline that went down (see Timeline::counter_resets).
void append_counter_reset_warnings(RunResult& result, const Timeline& timeline);
/// Fills the energy, power, idle and sensor parts of a result from a finished sampler.
/// `idle_start_ns` < `start_ns` when an idle baseline was measured just before the command.
void account_run(RunResult& result, const Sampler& sampler, const sensors::SensorSet& sensors,
                 std::int64_t start_ns, std::int64_t end_ns, std::optional<std::int64_t> idle_start_ns);

/// What a phase counts as, by its name (any case): "train"/"training" and "infer"/"inference". The one rule
/// for E_tr, E_in and the samples behind them.
enum class PhaseRole { training, inference, other };
PhaseRole phase_role(std::string_view name);

/// The phases of one role, outermost only (a phase inside another of the same role is already counted in
/// it), ordered by start.
std::vector<const PhaseResult*> outermost_phases(const RunResult& result, PhaseRole role);

/// Samples summed over the run's epochs, when it has epochs and every one has a sample count; none when the
/// sum passes 2^63 - 1 (see samples_overflow).
std::optional<long long> epoch_samples(const RunResult& result);

/// Samples of the whole run where known: the sum over epochs when every epoch has a sample count, otherwise
/// the sum over the outermost phases (those inside no other) when each of them has one; none otherwise, and
/// none when that sum passes 2^63 - 1: a sum that would wrap to a negative count is unknown, never wrong.
std::optional<long long> run_samples(const RunResult& result);

/// Whether run_samples is unknown because the counts it sums pass 2^63 - 1 (the run then gets a warning).
bool samples_overflow(const RunResult& result);

/// Grams CO2e of `energy_j` joules at the run's intensity and PUE (none when the run has no carbon setting).
std::optional<double> co2e_of(const RunResult& result, double energy_j);

/// Grams CO2e per sample of a window of `energy_j` joules holding `samples` samples (none without carbon or
/// without a positive sample count).
std::optional<double> co2e_per_sample_g(const RunResult& result, double energy_j,
                                        std::optional<long long> samples);

/// A fresh run id: 16 hex digits, random.
std::string new_run_id();

}  // namespace joulecast::meter
