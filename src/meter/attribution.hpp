#pragma once
// The job's own share of a shared machine's CPU energy: CPU package and DRAM energy split by the CPU time of
// the job's process tree over all busy CPU time, interval by interval.
//
// The share is the job-cpu sensor's gauge (sensors/job/job_cpu_sensor.hpp): the job's process-tree CPU time
// over all busy CPU time since its previous reading. attribute_cpu_energy() multiplies each interval's share
// by the CPU and DRAM energy of that interval.

#include <optional>
#include <string>
#include <vector>

#include "meter/energy.hpp"
#include "meter/trace.hpp"

namespace joulecast::meter {

/// The job's share of one GPU's energy.
struct AttributedGpu {
    std::string device;                  ///< "gpu<i>"
    double gross_j = 0;                  ///< the GPU's accounted energy in the window
    std::optional<double> attributed_j;  ///< none when no share could be measured
    std::string method;                  ///< how the share was measured, when it was
    std::string reason;                  ///< why not, when not
};

/// What the job-gpu sensor knows of one GPU's share (sensors/job/job_gpu_sensor.hpp, JobGpuUsage).
struct GpuShareSource {
    std::string device;        ///< "gpu<i>"
    std::string method;        ///< how its share was measured
    std::string unsplittable;  ///< why its share cannot be measured; empty when it can
};

/// Energy attributed to the job beside the gross figures.
struct AttributedEnergy {
    bool measurable = false;
    std::string method;  ///< how the share was measured
    std::string reason;  ///< why not, when not measurable
    double cpu_j = 0;    ///< attributed CPU package energy
    double dram_j = 0;   ///< attributed DRAM energy
    double gross_cpu_j = 0;
    double gross_dram_j = 0;

    /// GPUs: each GPU's accounted energy × the job's share of its SM utilisation, per sampling interval.
    std::vector<AttributedGpu> gpus{};  ///< every GPU with accounted energy
    bool gpu_measurable = false;        ///< every GPU in `gpus` has a share
    double gpu_j = 0;                   ///< attributed GPU energy (of the GPUs with a share)
    double gross_gpu_j = 0;
    std::string gpu_reason{};  ///< why not every GPU could be split, when not
};

/// Adds the share of a later, adjoining window to `total` (the share of the windows before it): energies add
/// up, per GPU by device; a figure measured in either window stays measured (with the window's method), a
/// reason is kept while nothing was measured.
void add_window(AttributedEnergy& total, const AttributedEnergy& window);

/// One row of the job's share beside its gross: "cpu", "dram" or a GPU ("gpu", device "gpu<i>").
struct AttributedPart {
    std::string domain;
    std::string device;                  ///< empty for cpu and dram
    double gross_j = 0;                  ///< the whole device's accounted energy over the same window
    std::optional<double> attributed_j;  ///< none when the share could not be measured
    std::string method;                  ///< how, when measured
    std::string reason;                  ///< why not, when not
};

/// The rows every view shows (summary, report, exporter): cpu when it has energy or a reason why its share
/// is unmeasurable, dram when it has energy, then every GPU with accounted energy.
std::vector<AttributedPart> attributed_parts(const AttributedEnergy& a);

/// Splits the accounted CPU and DRAM energy of [start_ns, end_ns] by the job.cpu_share readings among
/// `readings` (those of `channels`; the same trace as `timeline`). Not measurable, with the reason, when
/// there is no share reading or no CPU/DRAM energy.
AttributedEnergy attribute_cpu_energy(const Timeline& timeline, const std::vector<TraceChannel>& channels,
                                      const std::vector<Reading>& readings, std::int64_t start_ns,
                                      std::int64_t end_ns);

/// Fills out.gpus, gpu_j, gross_gpu_j, gpu_measurable and gpu_reason: each accounted GPU's energy of
/// [start_ns, end_ns] split by its "<device>.job_share" readings (domain "job": the job-gpu sensor's for
/// NVIDIA GPUs, job-amdgpu's for AMD GPUs). A GPU whose share could
/// not be measured (`sources` says why, or it has fewer than two share readings) gets none.
void attribute_gpu_energy(AttributedEnergy& out, const Timeline& timeline,
                          const std::vector<TraceChannel>& channels, const std::vector<Reading>& readings,
                          std::int64_t start_ns, std::int64_t end_ns,
                          const std::vector<GpuShareSource>& sources);

}  // namespace joulecast::meter
