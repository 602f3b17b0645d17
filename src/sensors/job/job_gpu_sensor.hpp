#pragma once
// The job's GPUs and its share of each, read from NVML as a sensor (`job-gpu`): which GPUs a process of the
// measured command's tree holds a compute context on (nvmlDeviceGetComputeRunningProcesses_v3), which other
// processes share them, and the job's share of each GPU's SM utilisation (nvmlDeviceGetProcessUtilization)
// interval by interval. meter/attribution.hpp turns the share into the job's attributed GPU energy.
//
// Channels, one per selected GPU whose process list NVML gives (domain "job", device "gpu<i>" as the nvml
// sensor names it):
//   gpu<i>.job_share  %, gauge: the job's share of the GPU since the previous reading.
//     - the job holds no context on it: 0 (nothing is attributed to a GPU the job does not use);
//     - per-process samples (nvmlDeviceGetProcessUtilization): Σ smUtil of the job's pids ÷ Σ smUtil of every
//       pid, over the samples newer than the previous reading; when every sample is 0 % (an idle interval),
//       the job's share of the processes holding a context;
//     - MIG mode: the utilisation of the job's GPU instances ÷ that of every instance
//       (nvmlDeviceGetUtilizationRates on each MIG device handle); real drivers do not answer that call on
//       MIG devices, and then the board's energy cannot be split (the channel reports unsupported);
//     - no per-process samples (NOT_SUPPORTED) and only the job's processes on the GPU: 100; with other
//       processes there: unsupported, the share cannot be measured.
//   A channel that reports unsupported is dropped by the sampler; usage() says why for its GPU.

#include <memory>
#include <string>
#include <vector>

#include "sensors/gpu_selection.hpp"
#include "sensors/job/job_gpu_share.hpp"

namespace joulecast::sensors {

namespace nvml {
class NvmlLibrary;
}

class JobGpuSensor : public JobGpuShareSensor {
public:
    /// `library_path` and `selection` as for NvmlSensor; `proc_root` is where the job's tree is read.
    /// library: the NVML session the nvml sensor opened (one nvmlInit per process); when null, probe() opens
    /// library_path itself.
    JobGpuSensor(std::string library_path, GpuSelection selection, std::string proc_root,
                 std::shared_ptr<nvml::NvmlLibrary> library = nullptr);
    ~JobGpuSensor() override;

    std::string_view name() const override { return "job-gpu"; }
    /// Unavailable when NVML is, or when no selected GPU lists its processes.
    Availability probe() override;
    ReadStatus read(std::size_t channel, double& value) override;

private:
    struct Gpu {
        void* device = nullptr;  ///< nvmlDevice_t
        bool mig = false;
        unsigned long long last_seen_us = 0;  ///< newest process-utilisation sample read
    };
    ReadStatus read_share(std::size_t index, double& value);

    std::string m_library_path;
    GpuSelection m_selection;
    std::shared_ptr<nvml::NvmlLibrary> m_given;  ///< the session given to the constructor, if any
    std::shared_ptr<nvml::NvmlLibrary> m_nvml;
    std::vector<Gpu> m_gpus;  ///< parallel to m_channels
};

}  // namespace joulecast::sensors
