#include "sensors/job/job_amdgpu_sensor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "sensors/rocm/rocm_smi_api.hpp"

namespace joulecast::sensors {

using namespace rocm;

namespace {

/// Every process using a GPU, the buffer grown while ROCm SMI says it is too small.
rsmi_status_t compute_processes(const RsmiFunctions& api, std::vector<rsmi_process_info_t>& out) {
    std::uint32_t count = 0;
    rsmi_status_t status = api.compute_process_info_get(nullptr, &count);
    if (status != RSMI_STATUS_SUCCESS) return status;
    for (int attempt = 0; attempt < 4; ++attempt) {
        count += 8;  // processes may start between the two calls
        out.resize(count);
        status = api.compute_process_info_get(out.data(), &count);
        if (status == RSMI_STATUS_SUCCESS) {
            out.resize(std::min<std::size_t>(count, out.size()));
            return status;
        }
        if (status != RSMI_STATUS_INSUFFICIENT_SIZE) return status;
    }
    return RSMI_STATUS_INSUFFICIENT_SIZE;
}

/// Whether process `pid` uses device `index`.
bool uses_gpu(const RsmiFunctions& api, std::uint32_t pid, std::uint32_t index) {
    std::uint32_t indices[64] = {};
    std::uint32_t count = 64;
    if (api.compute_process_gpus_get(pid, indices, &count) != RSMI_STATUS_SUCCESS) return false;
    return std::find(indices, indices + std::min<std::uint32_t>(count, 64), index) !=
           indices + std::min<std::uint32_t>(count, 64);
}

}  // namespace

JobAmdGpuSensor::JobAmdGpuSensor(std::shared_ptr<RsmiLibrary> library, std::string proc_root)
    : JobGpuShareSensor(std::move(proc_root)), m_rsmi(std::move(library)) {}

JobAmdGpuSensor::~JobAmdGpuSensor() = default;

Availability JobAmdGpuSensor::probe() {
    clear();
    m_indices.clear();
    m_occupancy_seen.clear();
    if (!m_rsmi) return Availability::no("no ROCm SMI session (the rocm-smi sensor found no GPU)");
    const RsmiFunctions& api = m_rsmi->api();
    std::uint32_t count = 0;
    if (api.num_monitor_devices(&count) != RSMI_STATUS_SUCCESS || count == 0)
        return Availability::no("ROCm SMI sees no GPU");
    std::vector<rsmi_process_info_t> processes;
    const rsmi_status_t listed = compute_processes(api, processes);
    if (listed != RSMI_STATUS_SUCCESS || !m_rsmi->has("rsmi_compute_process_gpus_get"))
        return Availability::no("ROCm SMI lists no processes (" +
                                (listed != RSMI_STATUS_SUCCESS
                                     ? m_rsmi->error_string(listed)
                                     : std::string("the library lacks rsmi_compute_process_gpus_get")) +
                                "): the job's share of the AMD GPUs cannot be measured");
    for (std::uint32_t index = 0; index < count; ++index) {
        JobGpuUsage usage;
        usage.index = index;
        usage.device = "amdgpu" + std::to_string(index);
        usage.process_list = "rocm-smi processes";
        std::uint64_t unique_id = 0;
        if (api.dev_unique_id_get(index, &unique_id) == RSMI_STATUS_SUCCESS) {
            char uuid[32];
            std::snprintf(uuid, sizeof uuid, "0x%016llx", static_cast<unsigned long long>(unique_id));
            usage.uuid = uuid;
        }
        m_notes.push_back(usage.device + ": share by per-process compute-unit occupancy");
        m_indices.push_back(index);
        m_occupancy_seen.push_back(false);
        add_gpu(std::move(usage), std::chrono::milliseconds(500));
    }
    return Availability::yes();
}

ReadStatus JobAmdGpuSensor::read(std::size_t channel, double& value) {
    if (channel >= m_indices.size() || !m_rsmi) return ReadStatus::error;
    const RsmiFunctions& api = m_rsmi->api();
    std::vector<rsmi_process_info_t> all;
    const rsmi_status_t status = compute_processes(api, all);
    if (status != RSMI_STATUS_SUCCESS) return ReadStatus::error;
    std::vector<int> pids;
    std::vector<double> occupancy;
    for (const auto& p : all)
        if (uses_gpu(api, p.process_id, m_indices[channel])) {
            pids.push_back(static_cast<int>(p.process_id));
            occupancy.push_back(p.cu_occupancy);
        }
    std::set<int> job, others;
    split(channel, pids, job, others);
    if (job.empty()) return measured(channel, false, "per-process compute-unit occupancy", 0.0, value);
    double job_cu = 0, all_cu = 0;
    for (std::size_t k = 0; k < pids.size(); ++k) {
        all_cu += occupancy[k];
        if (job.count(pids[k])) job_cu += occupancy[k];
    }
    if (all_cu > 0) m_occupancy_seen[channel] = true;
    if (all_cu > 0 || m_occupancy_seen[channel])  // else idle: the job's share of the processes
        return measured(channel, true, "per-process compute-unit occupancy",
                        all_cu > 0 ? 100.0 * job_cu / all_cu : 100.0 * job.size() / pids.size(), value);
    return measured(channel, true,
                    "the job's share of the processes on the GPU (ROCm SMI gave no compute-unit occupancy)",
                    100.0 * job.size() / pids.size(), value);
}

}  // namespace joulecast::sensors
