#pragma once
// The job's own share of a shared machine's CPU energy: CPU package and DRAM energy split by the CPU time of
// the job's process tree over all busy CPU time, interval by interval.
//
// The share is the job-cpu sensor's gauge (sensors/job/job_cpu_sensor.hpp): the job's process-tree CPU time
// over all busy CPU time since its previous reading. attribute_cpu_energy() multiplies each interval's share
// by the CPU and DRAM energy of that interval.

#include <string>
#include <vector>

#include "meter/energy.hpp"
#include "meter/trace.hpp"

namespace joulecast {

/// Energy attributed to the job beside the gross figures.
struct AttributedEnergy {
    bool measurable = false;
    std::string method;  ///< how the share was measured
    std::string reason;  ///< why not, when not measurable
    double cpu_j = 0;    ///< attributed CPU package energy
    double dram_j = 0;   ///< attributed DRAM energy
    double gross_cpu_j = 0;
    double gross_dram_j = 0;
};

/// Splits the accounted CPU and DRAM energy of [start_ns, end_ns] by the job.cpu_share readings among
/// `readings` (those of `channels`; the same trace as `timeline`). Not measurable, with the reason, when
/// there is no share reading or no CPU/DRAM energy.
AttributedEnergy attribute_cpu_energy(const Timeline& timeline, const std::vector<TraceChannel>& channels,
                                      const std::vector<Reading>& readings, std::int64_t start_ns,
                                      std::int64_t end_ns);

}  // namespace joulecast
