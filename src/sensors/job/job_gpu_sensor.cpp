#include "sensors/job/job_gpu_sensor.hpp"

#include <algorithm>
#include <chrono>
#include <map>

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
    : JobGpuShareSensor(std::move(proc_root)),
      m_library_path(std::move(library_path)),
      m_selection(std::move(selection)),
      m_given(std::move(library)) {}

JobGpuSensor::~JobGpuSensor() = default;

Availability JobGpuSensor::probe() {
    clear();
    m_gpus.clear();
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
        JobGpuUsage usage;
        usage.index = index;
        usage.device = nvml_device_name(index);
        usage.process_list = "nvml processes";
        char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
        if (api.device_get_uuid(*handle, uuid, sizeof uuid) == NVML_SUCCESS) usage.uuid = uuid;
        if (!m_selection.selects(index, usage.uuid)) continue;
        unsigned int mode = 0, pending = 0;
        usage.mig = api.device_get_mig_mode(*handle, &mode, &pending) == NVML_SUCCESS &&
                    mode == NVML_DEVICE_MIG_ENABLE;
        const nvmlReturn_t status = running_processes(api, *handle, processes);
        if (status != NVML_SUCCESS) {
            m_notes.push_back("NVML lists no processes on " + usage.device + ": " +
                              m_nvml->error_string(status));
            continue;
        }
        m_notes.push_back(usage.device + (usage.mig ? ": MIG mode, share by GPU instance utilisation"
                                                    : ": share by per-process SM utilisation"));
        m_gpus.push_back({*handle, usage.mig, 0});
        // NVML keeps per-process samples of about 1/6 s; a reading every half second sees each of them.
        add_gpu(std::move(usage), std::chrono::milliseconds(500));
    }
    if (m_gpus.empty()) {
        m_nvml.reset();
        return Availability::no(m_notes.empty() ? "no selected GPU" : m_notes.front());
    }
    return Availability::yes();
}

ReadStatus JobGpuSensor::read(std::size_t channel, double& value) {
    if (channel >= m_gpus.size() || !m_nvml) return ReadStatus::error;
    return read_share(channel, value);
}

ReadStatus JobGpuSensor::read_share(std::size_t index, double& value) {
    Gpu& gpu = m_gpus[index];
    const NvmlFunctions& api = m_nvml->api();
    auto* device = static_cast<nvmlDevice_t>(gpu.device);
    std::vector<nvmlProcessInfo_t> processes;
    nvmlReturn_t status = running_processes(api, device, processes);
    if (status != NVML_SUCCESS) return read_status_of(status);

    std::vector<int> pids;
    for (const auto& p : processes) pids.push_back(static_cast<int>(p.pid));
    std::set<int> job, others;
    split(index, pids, job, others);
    std::set<unsigned> job_instances;
    for (const auto& p : processes)
        if (job.count(static_cast<int>(p.pid)) && p.gpuInstanceId != NVML_NO_INSTANCE_ID)
            job_instances.insert(p.gpuInstanceId);
    record_instances(index, job_instances);
    const double by_count = processes.empty() ? 0.0 : 100.0 * job.size() / processes.size();
    auto measure = [&](const char* method, double share) {
        return measured(index, !job.empty(), method, share, value);
    };

    if (gpu.mig) {
        if (job.empty()) return measure("MIG GPU instance utilisation", 0.0);
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
                return unsplittable(index, "MIG mode: NVML gives no utilisation per GPU instance (" +
                                               m_nvml->error_string(status) +
                                               "), so the board's energy cannot be split between instances");
            all_util += rates.gpu;
            if (job_instances.count(id)) job_util += rates.gpu;
        }
        if (all_util > 0) return measure("MIG GPU instance utilisation", 100.0 * job_util / all_util);
        double job_busy = 0;
        for (unsigned id : busy) job_busy += job_instances.count(id) ? 1 : 0;
        return measure("MIG GPU instance utilisation", busy.empty() ? 0.0 : 100.0 * job_busy / busy.size());
    }

    // Drained at every reading, even while the job is absent, so that each sample counts in one interval.
    std::vector<nvmlProcessUtilizationSample_t> samples;
    status = process_samples(api, device, gpu.last_seen_us, samples);
    if (status != NVML_SUCCESS && status != NVML_ERROR_NOT_SUPPORTED &&
        status != NVML_ERROR_FUNCTION_NOT_FOUND)
        return read_status_of(status);
    for (const auto& sample : samples) gpu.last_seen_us = std::max(gpu.last_seen_us, sample.timeStamp);
    if (job.empty()) return measure("per-process SM utilisation", 0.0);
    if (status != NVML_SUCCESS) {
        if (others.empty()) return measure("the job's processes alone hold contexts on the GPU", 100.0);
        return unsplittable(index, "NVML gives no per-process utilisation on " + device_name(index) + " (" +
                                       m_nvml->error_string(status) + ") and other processes share it");
    }
    double job_sm = 0, all_sm = 0;
    for (const auto& sample : samples) {
        all_sm += sample.smUtil;
        if (job.count(static_cast<int>(sample.pid))) job_sm += sample.smUtil;
    }
    if (all_sm > 0) return measure("per-process SM utilisation", 100.0 * job_sm / all_sm);
    return measure("per-process SM utilisation", by_count);
}

}  // namespace joulecast::sensors
