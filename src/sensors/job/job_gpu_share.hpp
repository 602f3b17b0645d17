#pragma once
// What the vendor job-GPU sensors (job-gpu for NVML, job-amdgpu for ROCm SMI) share: which processes are the
// job's, what the readings found on each GPU (JobGpuUsage), and one share channel per GPU,
// "<device>.job_share" (domain "job", percent, gauge), which meter/attribution.hpp turns into the job's
// attributed GPU energy. The vendor sensor lists each GPU's processes and their utilisation, and says how
// the share was measured or why it could not be.
//
// The job's processes: the command's tree (set_root_pid), and the trees of processes outside it that speak
// for the job on its control socket (add_job_root: a joined run's ranks).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sensors/sensor.hpp"

namespace joulecast::sensors {

/// What the job did on one GPU over the readings so far.
struct JobGpuUsage {
    unsigned index = 0;
    std::string uuid;
    std::string device;        ///< as the GPU's energy channels name it: "gpu<i>", "amdgpu<i>"
    std::string process_list;  ///< where its processes were listed: "nvml processes", "rocm-smi processes"
    bool used = false;         ///< a process of the job held a compute context at some reading
    std::set<int> job_pids;    ///< the job's processes seen on it
    std::set<int> other_pids;  ///< processes outside the job seen on it: the GPU is shared
    bool mig = false;          ///< MIG mode on: NVML's energy is the whole board's
    std::set<unsigned> job_instances;  ///< MIG GPU instance ids the job's processes ran in
    std::string share_method;          ///< how the share was measured, when it was
    std::string unsplittable;  ///< why no share could be measured (empty when it could, or not yet read)
};

class JobGpuShareSensor : public Sensor {
public:
    static constexpr const char* share_suffix = "job_share";

    const std::vector<Channel>& channels() const override { return m_channels; }
    std::vector<std::string> notes() const override { return m_notes; }

    /// The job's root process (the command); safe to call from any thread while sampling.
    void set_root_pid(int pid) { m_root.store(pid); }
    /// A process outside the command's tree that speaks for the job (a joined run's rank, from its hello):
    /// it and its descendants are the job's from the next reading on, and the processes readings already
    /// took for outsiders are corrected. Safe from any thread.
    void add_job_root(int pid);
    /// Per GPU with a share channel, what the readings found so far; safe from any thread (the live export's
    /// snapshots read it while sampling goes on).
    std::vector<JobGpuUsage> usage() const;

protected:
    explicit JobGpuShareSensor(std::string proc_root) : m_proc_root(std::move(proc_root)) {}

    /// Forgets every GPU, channel and note (a new probe).
    void clear();
    /// A GPU whose processes can be listed: its usage record and its share channel, read every `period`.
    void add_gpu(JobGpuUsage usage, std::chrono::milliseconds period);
    /// The device name of GPU `gpu` (as added).
    const std::string& device_name(std::size_t gpu) const { return m_channels[gpu].device; }

    /// Of `pids`, those of the job (`job`) and the others (`others`), recorded on GPU `gpu`.
    void split(std::size_t gpu, const std::vector<int>& pids, std::set<int>& job, std::set<int>& others);
    /// The MIG GPU instances the job's processes ran in on GPU `gpu`, recorded.
    void record_instances(std::size_t gpu, const std::set<unsigned>& job_instances);
    /// A measured share (percent, clamped to 0..100) in `value`: `method` says how, once the job had a
    /// process on the GPU (`job_present`).
    ReadStatus measured(std::size_t gpu, bool job_present, const char* method, double share, double& value);
    /// No share can be measured on GPU `gpu`, and `why`: the channel reports unsupported (the sampler drops
    /// it).
    ReadStatus unsplittable(std::size_t gpu, std::string why);

    std::string m_proc_root;
    std::vector<Channel> m_channels;
    std::vector<std::string> m_notes;

private:
    std::vector<JobGpuUsage> m_usage;  ///< parallel to m_channels
    std::atomic<int> m_root{0};
    std::set<int> m_more_roots;  ///< add_job_root's processes
    mutable std::mutex m_mutex;  ///< guards m_usage and m_more_roots
};

}  // namespace joulecast::sensors
