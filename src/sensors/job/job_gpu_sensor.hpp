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
//
// The job's processes: the command's tree (set_root_pid), and the trees of processes outside it that speak
// for the job on its control socket (add_job_root: a joined run's ranks).

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sensors/gpu_selection.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors {

namespace nvml {
class NvmlLibrary;
}

/// What the job did on one GPU over the readings so far.
struct JobGpuUsage {
    unsigned index = 0;
    std::string uuid;
    std::string device;                ///< "gpu<i>"
    bool used = false;                 ///< a process of the job held a compute context at some reading
    std::set<int> job_pids;            ///< the job's processes seen on it
    std::set<int> other_pids;          ///< processes outside the job seen on it: the GPU is shared
    bool mig = false;                  ///< MIG mode on: NVML's energy is the whole board's
    std::set<unsigned> job_instances;  ///< MIG GPU instance ids the job's processes ran in
    std::string share_method;          ///< how the share was measured, when it was
    std::string unsplittable;  ///< why no share could be measured (empty when it could, or not yet read)
};

class JobGpuSensor : public Sensor {
public:
    static constexpr const char* share_suffix = "job_share";

    /// `library_path` and `selection` as for NvmlSensor; `proc_root` is where the job's tree is read.
    /// library: the NVML session the nvml sensor opened (one nvmlInit per process); when null, probe() opens
    /// library_path itself.
    JobGpuSensor(std::string library_path, GpuSelection selection, std::string proc_root,
                 std::shared_ptr<nvml::NvmlLibrary> library = nullptr);
    ~JobGpuSensor() override;

    std::string_view name() const override { return "job-gpu"; }
    /// Unavailable when NVML is, or when no selected GPU lists its processes.
    Availability probe() override;
    const std::vector<Channel>& channels() const override { return m_channels; }
    ReadStatus read(std::size_t channel, double& value) override;
    std::vector<std::string> notes() const override { return m_notes; }

    /// The job's root process (the command); safe to call from any thread while sampling.
    void set_root_pid(int pid) { m_root.store(pid); }
    /// A process outside the command's tree that speaks for the job (a joined run's rank, from its hello):
    /// it and its descendants are the job's from the next reading on. Safe from any thread.
    void add_job_root(int pid);
    /// Per selected GPU, what the readings found so far; safe from any thread (the live export's snapshots
    /// read it while sampling goes on).
    std::vector<JobGpuUsage> usage() const;

private:
    struct Gpu {
        void* device = nullptr;  ///< nvmlDevice_t
        JobGpuUsage usage;
        unsigned long long last_seen_us = 0;  ///< newest process-utilisation sample read
    };
    ReadStatus read_share(Gpu& gpu, double& value);

    std::string m_library_path;
    GpuSelection m_selection;
    std::string m_proc_root;
    std::shared_ptr<nvml::NvmlLibrary> m_given;  ///< the session given to the constructor, if any
    std::shared_ptr<nvml::NvmlLibrary> m_nvml;
    std::vector<Gpu> m_gpus;  ///< parallel to m_channels
    std::vector<Channel> m_channels;
    std::vector<std::string> m_notes;
    std::atomic<int> m_root{0};
    std::set<int> m_more_roots;  ///< add_job_root's processes
    mutable std::mutex m_mutex;  ///< guards the usage records and m_more_roots
};

}  // namespace joulecast::sensors
