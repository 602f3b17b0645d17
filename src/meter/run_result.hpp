#pragma once
// The result of one measured run: what `joulecast run` prints, writes as JSON and keeps in the store.
// Schema: "joulecast.run/1" (see docs/result-schema.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/host.hpp"
#include "meter/energy.hpp"
#include "meter/sampler.hpp"
#include "sensors/registry.hpp"

namespace joulecast {

inline constexpr const char* run_schema = "joulecast.run/1";

struct IdleBaseline {
    double duration_s = 0;
    double power_w = 0;                          ///< accounted power of every domain while idle
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

struct RunResult {
    std::string id;
    std::string name;
    std::vector<std::string> command;
    int exit_code = 0;
    std::string status = "completed";  ///< completed | failed | interrupted | profiled
    std::string started_at;            ///< ISO 8601 UTC
    double duration_s = 0;
    HostInfo host;
    std::vector<GpuInfo> gpus;

    WindowEnergy energy;  ///< gross, over the command's lifetime
    std::optional<IdleBaseline> idle;
    std::optional<double> net_energy_j;  ///< gross − idle power × duration, when idle was measured
    double mean_power_w = 0;
    double peak_power_w = 0;  ///< highest total power over bins of max(interval, 100 ms)

    std::vector<SensorReport> sensors;
    std::vector<std::string> fallbacks;
    std::vector<ChannelProblem> problems;
    Overhead overhead;
    std::vector<std::string> warnings;
};

/// Fills the energy, power, idle and sensor parts of a result from a finished sampler.
/// `idle_start_ns` < `start_ns` when an idle baseline was measured just before the command.
void account_run(RunResult& result, const Sampler& sampler, const SensorSet& sensors, std::int64_t start_ns,
                 std::int64_t end_ns, std::optional<std::int64_t> idle_start_ns);

/// A fresh run id: 16 hex digits, random.
std::string new_run_id();

}  // namespace joulecast
