#pragma once
// The job's own share of the machine's energy (meter/attribution.hpp) for a run with a command: its CPU and
// DRAM share from the job-cpu sensor, each GPU's from the job-gpu sensor. One rule for the finished run
// (runner.cpp) and for the snapshots of a run still going (live_export.cpp).

#include <cstdint>
#include <optional>
#include <vector>

#include "meter/attribution.hpp"
#include "meter/monitor.hpp"
#include "sensors/job/job_gpu_share.hpp"

namespace joulecast::runner {

/// The job's processes, for the monitor's job-cpu and job-gpu sensors: the command is the root of its tree.
void set_job_root(meter::Monitor& monitor, int pid);
/// A process that speaks for the job on its control socket, in the command's tree or outside it (a joined
/// run's rank): it and its descendants are the job's, for the GPUs they hold contexts on (`--gpus used`, the
/// GPU share) and for the job's CPU share. Thread-safe.
void add_job_process(meter::Monitor& monitor, int pid);

/// What the monitor's job-GPU sensors (job-gpu, job-amdgpu) found on each GPU so far (empty when none is in
/// use).
/// Thread-safe: the sensor guards its records.
std::vector<sensors::JobGpuUsage> job_gpu_usage(const meter::Monitor& monitor);

/// The job's share of [start_ns, end_ns]: CPU and DRAM energy by its CPU time, each GPU's by its share of
/// SM utilisation, as `usage` says each GPU's share was (or could not be) measured. `readings` need hold
/// only the share channels' readings (job.cpu_share, gpu<i>.job_share); `timeline` gives the energy.
meter::AttributedEnergy attribute_to_job(const meter::Timeline& timeline,
                                         const std::vector<meter::TraceChannel>& channels,
                                         const std::vector<meter::Reading>& readings, std::int64_t start_ns,
                                         std::int64_t end_ns, const std::vector<sensors::JobGpuUsage>& usage);

/// Whether channel `c` carries a share that attribute_to_job reads.
bool is_share_channel(const meter::TraceChannel& c);

/// The job's share of a run still going, snapshot after snapshot (runner/live_export.cpp). It keeps only the
/// share channels' readings, adds up the intervals that ended more than `settle` before a snapshot once
/// (their energy readings are all in) and drops their readings, so a snapshot costs in proportion to the
/// last `settle` of readings, not to the length of the run. Windows of energy add up exactly: an interval
/// cut at the settled point counts its two parts, each with the share of the reading that ends it.
class LiveAttribution {
public:
    explicit LiveAttribution(std::int64_t settle_ns = 10'000'000'000) : m_settle_ns(settle_ns) {}

    /// Keeps the share channels' readings among `fresh` (of the trace whose channels are `channels`).
    void add(const std::vector<meter::TraceChannel>& channels, const std::vector<meter::Reading>& fresh);
    /// The newest time at which every share channel still being read (a reading within 2 s of `newest_ns`)
    /// has a reading: a snapshot that ends there holds each share's intervals whole, so its attributed and
    /// gross figures cover the same time. None when no share channel has a reading.
    std::optional<std::int64_t> covered_until(std::int64_t newest_ns) const;
    /// The job's share of [start_ns, end_ns]; end_ns must not decrease from one call to the next.
    meter::AttributedEnergy at(const meter::Timeline& timeline,
                               const std::vector<meter::TraceChannel>& channels, std::int64_t start_ns,
                               std::int64_t end_ns, const std::vector<sensors::JobGpuUsage>& usage);
    /// Share readings held (for tests: bounded by the settle time, not by the run's length).
    std::size_t readings_held() const { return m_readings.size(); }

private:
    std::int64_t m_settle_ns;
    std::vector<bool> m_is_share;            ///< per trace channel
    std::vector<std::int64_t> m_last_ns;     ///< per trace channel: its newest share reading (0: none)
    std::vector<meter::Reading> m_readings;  ///< since m_settled_ns, and the last one before it per channel
    std::optional<std::int64_t> m_settled_ns;
    meter::AttributedEnergy m_settled;  ///< the share of [start, m_settled_ns]
};

}  // namespace joulecast::runner
