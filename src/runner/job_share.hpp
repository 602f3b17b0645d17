#pragma once
// The job's own share of the machine's energy (meter/attribution.hpp) for a run with a command: its CPU and
// DRAM share from the job-cpu sensor, each GPU's from the job-gpu sensor. One rule for the finished run
// (runner.cpp) and for the snapshots of a run still going (live_export.cpp).

#include <cstdint>
#include <vector>

#include "meter/attribution.hpp"
#include "meter/monitor.hpp"
#include "sensors/job/job_gpu_sensor.hpp"

namespace joulecast::runner {

/// What the monitor's job-gpu sensor found on each GPU so far (empty when that sensor is not in use).
/// Thread-safe: the sensor guards its records.
std::vector<JobGpuUsage> job_gpu_usage(const Monitor& monitor);

/// The job's share of [start_ns, end_ns]: CPU and DRAM energy by its CPU time, each GPU's by its share of
/// SM utilisation, as `usage` says each GPU's share was (or could not be) measured. `readings` need hold
/// only the share channels' readings (job.cpu_share, gpu<i>.job_share); `timeline` gives the energy.
AttributedEnergy attribute_to_job(const Timeline& timeline, const std::vector<TraceChannel>& channels,
                                  const std::vector<Reading>& readings, std::int64_t start_ns,
                                  std::int64_t end_ns, const std::vector<JobGpuUsage>& usage);

/// Whether channel `c` carries a share that attribute_to_job reads.
bool is_share_channel(const TraceChannel& c);

}  // namespace joulecast::runner
