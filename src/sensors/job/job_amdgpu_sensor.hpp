#pragma once
// The job's AMD GPUs and its share of each, read from ROCm SMI as a sensor (`job-amdgpu`): which GPUs a
// process of the job uses (rsmi_compute_process_info_get lists the processes using any GPU,
// rsmi_compute_process_gpus_get the GPUs of each), which other processes share them, and the job's share of
// each GPU's compute-unit occupancy interval by interval (the processes' cu_occupancy).
//
// Channels, one per AMD GPU when ROCm SMI lists processes (domain "job", device "amdgpu<i>" as the rocm-smi
// sensor names it):
//   amdgpu<i>.job_share  %, gauge: the job's share of the GPU at the reading.
//     - the job has no process on it: 0;
//     - Σ cu_occupancy of the job's processes ÷ Σ cu_occupancy of every process on the GPU;
//     - every process at 0 %: the job's share of the processes on the GPU (an idle interval); where no
//       reading ever saw occupancy (a kernel that does not report it) the method says so.
//   cu_occupancy is the process's, over all the GPUs it uses: for a process on several GPUs (rare; a rank
//   usually drives one) it counts whole on each, and the split of those GPUs is approximate.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sensors/job/job_gpu_share.hpp"

namespace joulecast::sensors {

namespace rocm {
class RsmiLibrary;
}

class JobAmdGpuSensor : public JobGpuShareSensor {
public:
    /// library: the ROCm SMI session the rocm-smi sensor opened (one rsmi_init per process).
    JobAmdGpuSensor(std::shared_ptr<rocm::RsmiLibrary> library, std::string proc_root);
    ~JobAmdGpuSensor() override;

    std::string_view name() const override { return "job-amdgpu"; }
    /// Unavailable without a ROCm SMI session with GPUs, or when it cannot list the processes.
    Availability probe() override;
    ReadStatus read(std::size_t channel, double& value) override;

private:
    struct Process {
        int pid = 0;
        double occupancy = 0;             ///< cu_occupancy, percent
        std::vector<std::uint32_t> gpus;  ///< the device indices it uses
    };
    /// ROCm SMI's processes with their GPUs, listed once for the channels read together (a listing younger
    /// than 50 ms is reused); null when ROCm SMI cannot list them.
    const std::vector<Process>* processes_now();

    std::shared_ptr<rocm::RsmiLibrary> m_rsmi;
    std::vector<Process> m_processes;
    std::int64_t m_listed_ns = 0;          ///< when m_processes was listed (0: never)
    std::vector<std::uint32_t> m_indices;  ///< each channel's ROCm SMI device index
    std::vector<bool> m_occupancy_seen;    ///< per channel: some reading had occupancy above 0
};

}  // namespace joulecast::sensors
