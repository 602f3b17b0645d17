#include "sensors/job/job_gpu_share.hpp"

#include <algorithm>
#include <utility>

#include "sensors/job/job_cpu_sensor.hpp"

namespace joulecast::sensors {

void JobGpuShareSensor::clear() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_channels.clear();
    m_notes.clear();
    m_usage.clear();
}

void JobGpuShareSensor::add_gpu(JobGpuUsage usage, std::chrono::milliseconds period) {
    Channel channel;
    channel.name = usage.device + "." + share_suffix;
    channel.domain = "job";
    channel.device = usage.device;
    channel.quantity = Quantity::utilisation;
    channel.behaviour = Behaviour::gauge;
    channel.min_period = period;
    m_channels.push_back(std::move(channel));
    std::lock_guard<std::mutex> lock(m_mutex);
    m_usage.push_back(std::move(usage));
}

void JobGpuShareSensor::add_job_root(int pid) {
    if (pid <= 0) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_more_roots.insert(pid).second) return;
    // Readings before its hello took it, or a process it started, for an outsider.
    for (JobGpuUsage& usage : m_usage)
        for (auto it = usage.other_pids.begin(); it != usage.other_pids.end();) {
            if (!in_process_tree(m_proc_root, pid, *it)) {
                ++it;
                continue;
            }
            usage.job_pids.insert(*it);
            usage.used = true;
            it = usage.other_pids.erase(it);
        }
}

void JobGpuShareSensor::split(std::size_t gpu, const std::vector<int>& pids, std::set<int>& job,
                              std::set<int>& others) {
    std::set<int> roots;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        roots = m_more_roots;
    }
    roots.insert(m_root.load());
    for (int pid : pids) {
        const bool ours = std::any_of(roots.begin(), roots.end(), [&](int root) {
            return root > 0 && in_process_tree(m_proc_root, root, pid);
        });
        (ours ? job : others).insert(pid);
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    JobGpuUsage& usage = m_usage[gpu];
    usage.used = usage.used || !job.empty();
    usage.job_pids.insert(job.begin(), job.end());
    usage.other_pids.insert(others.begin(), others.end());
}

void JobGpuShareSensor::record_instances(std::size_t gpu, const std::set<unsigned>& job_instances) {
    if (job_instances.empty()) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    m_usage[gpu].job_instances.insert(job_instances.begin(), job_instances.end());
}

ReadStatus JobGpuShareSensor::measured(std::size_t gpu, bool job_present, const char* method, double share,
                                       double& value) {
    std::lock_guard<std::mutex> lock(m_mutex);
    JobGpuUsage& usage = m_usage[gpu];
    // How the job's share was measured, once it had one; until then, that it had none.
    if (job_present)
        usage.share_method = method;
    else if (usage.share_method.empty())
        usage.share_method = "no process of the job held a context on it";
    value = std::clamp(share, 0.0, 100.0);
    return ReadStatus::ok;
}

ReadStatus JobGpuShareSensor::unsplittable(std::size_t gpu, std::string why) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_usage[gpu].unsplittable = std::move(why);
    return ReadStatus::unsupported;
}

std::vector<JobGpuUsage> JobGpuShareSensor::usage() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_usage;
}

}  // namespace joulecast::sensors
