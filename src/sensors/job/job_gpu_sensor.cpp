#include "sensors/job/job_gpu_sensor.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include "sensors/job/job_cpu_sensor.hpp"
#include "sensors/nvml/nvml_api.hpp"

namespace joulecast::sensors {

using namespace nvml;

namespace {

/// NVML's compute processes on `device`, the buffer grown while NVML says it is too small.
nvmlReturn_t running_processes(const NvmlFunctions& api, nvmlDevice_t device,
                               std::vector<nvmlProcessInfo_t>& out) {
    unsigned int count = static_cast<unsigned int>(std::max<std::size_t>(out.capacity(), 16));
    for (int attempt = 0; attempt < 4; ++attempt) {
        out.resize(count);
        nvmlReturn_t status = api.device_get_compute_running_processes(device, &count, out.data());
        if (status == NVML_SUCCESS) {
            out.resize(std::min<std::size_t>(count, out.size()));
            return status;
        }
        if (status != NVML_ERROR_INSUFFICIENT_SIZE) return status;
        count += 8;  // processes may start between the two calls
    }
    return NVML_ERROR_INSUFFICIENT_SIZE;
}

/// Per-process utilisation samples newer than `last_seen_us`; an empty list for NVML_ERROR_NOT_FOUND (no
/// sample in the interval).
nvmlReturn_t process_samples(const NvmlFunctions& api, nvmlDevice_t device, unsigned long long last_seen_us,
                             std::vector<nvmlProcessUtilizationSample_t>& out) {
    unsigned int count = 0;
    nvmlReturn_t status = api.device_get_process_utilization(device, nullptr, &count, last_seen_us);
    for (int attempt = 0; attempt < 4 && status == NVML_ERROR_INSUFFICIENT_SIZE; ++attempt) {
        count += 8;
        out.resize(count);
        status = api.device_get_process_utilization(device, out.data(), &count, last_seen_us);
        if (status == NVML_SUCCESS) out.resize(std::min<std::size_t>(count, out.size()));
    }
    if (status == NVML_ERROR_NOT_FOUND || (status == NVML_SUCCESS && count == 0)) {
        out.clear();
        return NVML_SUCCESS;
    }
    return status;
}

}  // namespace

JobGpuSensor::JobGpuSensor(std::string library_path, GpuSelection selection, std::string proc_root,
                           std::shared_ptr<NvmlLibrary> library)
    : m_library_path(std::move(library_path)),
      m_selection(std::move(selection)),
      m_proc_root(std::move(proc_root)),
      m_given(std::move(library)) {}

JobGpuSensor::~JobGpuSensor() = default;

Availability JobGpuSensor::probe() {
    m_gpus.clear();
    m_channels.clear();
    m_notes.clear();
    m_nvml = m_given;
    if (!m_nvml) {
        auto opened = NvmlLibrary::open(m_library_path);
        if (!opened) return Availability::no(opened.error());
        m_nvml = std::move(opened).value();
    }
    const NvmlFunctions& api = m_nvml->api();
    unsigned int count = 0;
    const nvmlReturn_t count_status = api.device_get_count(&count);
    if (count_status != NVML_SUCCESS || count == 0) {
        const std::string why = count_status != NVML_SUCCESS
                                    ? "nvmlDeviceGetCount_v2 failed: " + m_nvml->error_string(count_status)
                                    : std::string("NVML sees no GPU");
        m_nvml.reset();
        return Availability::no(why);
    }
    std::vector<nvmlProcessInfo_t> processes;
    for (unsigned index = 0; index < count; ++index) {
        auto handle = m_nvml->device(index);
        if (!handle) continue;  // the nvml sensor notes it
        Gpu gpu;
        gpu.device = *handle;
        gpu.usage.index = index;
        gpu.usage.device = "gpu" + std::to_string(index);
        char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
        if (api.device_get_uuid(*handle, uuid, sizeof uuid) == NVML_SUCCESS) gpu.usage.uuid = uuid;
        if (!m_selection.selects(index, gpu.usage.uuid)) continue;
        unsigned int mode = 0, pending = 0;
        gpu.usage.mig = api.device_get_mig_mode(*handle, &mode, &pending) == NVML_SUCCESS &&
                        mode == NVML_DEVICE_MIG_ENABLE;
        const nvmlReturn_t status = running_processes(api, *handle, processes);
        if (status != NVML_SUCCESS) {
            gpu.usage.unsplittable =
                "NVML lists no processes on " + gpu.usage.device + ": " + m_nvml->error_string(status);
            m_notes.push_back(gpu.usage.unsplittable);
            continue;
        }
        Channel channel;
        channel.name = gpu.usage.device + "." + share_suffix;
        channel.domain = "job";
        channel.device = gpu.usage.device;
        channel.quantity = Quantity::utilisation;
        channel.behaviour = Behaviour::gauge;
        // NVML keeps per-process samples of about 1/6 s; a reading every half second sees each of them.
        channel.min_period = std::chrono::milliseconds(500);
        m_channels.push_back(std::move(channel));
        m_notes.push_back(gpu.usage.device + (gpu.usage.mig ? ": MIG mode, share by GPU instance utilisation"
                                                            : ": share by per-process SM utilisation"));
        m_gpus.push_back(std::move(gpu));
    }
    if (m_gpus.empty()) {
        m_nvml.reset();
        return Availability::no(m_notes.empty() ? "no selected GPU" : m_notes.front());
    }
    return Availability::yes();
}

ReadStatus JobGpuSensor::read(std::size_t channel, double& value) {
    if (channel >= m_gpus.size() || !m_nvml) return ReadStatus::error;
    return read_share(m_gpus[channel], value);
}

ReadStatus JobGpuSensor::read_share(Gpu& gpu, double& value) {
    const NvmlFunctions& api = m_nvml->api();
    auto* device = static_cast<nvmlDevice_t>(gpu.device);
    std::vector<nvmlProcessInfo_t> processes;
    nvmlReturn_t status = running_processes(api, device, processes);
    if (status != NVML_SUCCESS) return read_status_of(status);
    std::set<int> roots;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        roots = m_more_roots;
    }
    roots.insert(m_root.load());
    auto in_job = [&](int pid) {
        return std::any_of(roots.begin(), roots.end(),
                           [&](int root) { return root > 0 && in_process_tree(m_proc_root, root, pid); });
    };

    std::set<int> job, others;
    std::set<unsigned> job_instances;
    for (const auto& p : processes) {
        const int pid = static_cast<int>(p.pid);
        if (in_job(pid)) {
            job.insert(pid);
            if (p.gpuInstanceId != NVML_NO_INSTANCE_ID) job_instances.insert(p.gpuInstanceId);
        } else {
            others.insert(pid);
        }
    }
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        gpu.usage.used = gpu.usage.used || !job.empty();
        gpu.usage.job_pids.insert(job.begin(), job.end());
        gpu.usage.other_pids.insert(others.begin(), others.end());
        gpu.usage.job_instances.insert(job_instances.begin(), job_instances.end());
    }
    auto unsplittable = [&](std::string why) {
        std::lock_guard<std::mutex> lock(m_mutex);
        gpu.usage.unsplittable = std::move(why);
        return ReadStatus::unsupported;
    };
    auto measured = [&](const char* method, double share) {
        std::lock_guard<std::mutex> lock(m_mutex);
        // How the job's share was measured, once it had one; until then, that it had none.
        if (!job.empty())
            gpu.usage.share_method = method;
        else if (gpu.usage.share_method.empty())
            gpu.usage.share_method = "no process of the job held a context on it";
        value = std::clamp(share, 0.0, 100.0);
        return ReadStatus::ok;
    };
    const double by_count = processes.empty() ? 0.0 : 100.0 * job.size() / processes.size();

    if (gpu.usage.mig) {
        if (job.empty()) return measured("MIG GPU instance utilisation", 0.0);
        unsigned int instances = 0;
        status = api.device_get_max_mig_device_count(device, &instances);
        if (status != NVML_SUCCESS) return read_status_of(status);
        double job_util = 0, all_util = 0;
        std::set<unsigned> busy;  // instances holding a process
        for (const auto& p : processes) busy.insert(p.gpuInstanceId);
        for (unsigned k = 0; k < instances; ++k) {
            nvmlDevice_t mig = nullptr;
            if (api.device_get_mig_device_handle_by_index(device, k, &mig) != NVML_SUCCESS) continue;
            unsigned int id = 0;
            nvmlUtilization_t rates{};
            if (api.device_get_gpu_instance_id(mig, &id) != NVML_SUCCESS) continue;
            status = api.device_get_utilization_rates(mig, &rates);
            if (status != NVML_SUCCESS)
                return unsplittable("MIG mode: NVML gives no utilisation per GPU instance (" +
                                    m_nvml->error_string(status) +
                                    "), so the board's energy cannot be split between instances");
            all_util += rates.gpu;
            if (job_instances.count(id)) job_util += rates.gpu;
        }
        if (all_util > 0) return measured("MIG GPU instance utilisation", 100.0 * job_util / all_util);
        double job_busy = 0;
        for (unsigned id : busy) job_busy += job_instances.count(id) ? 1 : 0;
        return measured("MIG GPU instance utilisation", busy.empty() ? 0.0 : 100.0 * job_busy / busy.size());
    }

    // Drained at every reading, even while the job is absent, so that each sample counts in one interval.
    std::vector<nvmlProcessUtilizationSample_t> samples;
    status = process_samples(api, device, gpu.last_seen_us, samples);
    if (status != NVML_SUCCESS && status != NVML_ERROR_NOT_SUPPORTED &&
        status != NVML_ERROR_FUNCTION_NOT_FOUND)
        return read_status_of(status);
    for (const auto& sample : samples) gpu.last_seen_us = std::max(gpu.last_seen_us, sample.timeStamp);
    if (job.empty()) return measured("per-process SM utilisation", 0.0);
    if (status != NVML_SUCCESS) {
        if (others.empty()) return measured("the job's processes alone hold contexts on the GPU", 100.0);
        return unsplittable("NVML gives no per-process utilisation on " + gpu.usage.device + " (" +
                            m_nvml->error_string(status) + ") and other processes share it");
    }
    double job_sm = 0, all_sm = 0;
    for (const auto& sample : samples) {
        all_sm += sample.smUtil;
        if (job.count(static_cast<int>(sample.pid))) job_sm += sample.smUtil;
    }
    if (all_sm > 0) return measured("per-process SM utilisation", 100.0 * job_sm / all_sm);
    return measured("per-process SM utilisation", by_count);
}

void JobGpuSensor::add_job_root(int pid) {
    if (pid <= 0) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_more_roots.insert(pid).second) return;
    // Readings before its hello took it, or a process it started, for an outsider.
    for (Gpu& gpu : m_gpus)
        for (auto it = gpu.usage.other_pids.begin(); it != gpu.usage.other_pids.end();) {
            if (!in_process_tree(m_proc_root, pid, *it)) {
                ++it;
                continue;
            }
            gpu.usage.job_pids.insert(*it);
            gpu.usage.used = true;
            it = gpu.usage.other_pids.erase(it);
        }
}

std::vector<JobGpuUsage> JobGpuSensor::usage() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    std::vector<JobGpuUsage> out;
    for (const auto& gpu : m_gpus) out.push_back(gpu.usage);
    return out;
}

}  // namespace joulecast::sensors
