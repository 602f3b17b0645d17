#include "sensors/job/job_amdgpu_sensor.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "core/clock.hpp"
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

}  // namespace

JobAmdGpuSensor::JobAmdGpuSensor(std::shared_ptr<RsmiLibrary> library, std::string proc_root)
    : JobGpuShareSensor(std::move(proc_root)), m_rsmi(std::move(library)) {}

JobAmdGpuSensor::~JobAmdGpuSensor() = default;

Availability JobAmdGpuSensor::probe() {
    clear();
    m_indices.clear();
    m_occupancy_seen.clear();
    m_listed_ns = 0;
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
        usage.device = rocm_device_name(index);
        usage.process_list = "rocm-smi processes";
        usage.uuid = unique_id_text(api, index);
        m_notes.push_back(usage.device + ": share by per-process compute-unit occupancy");
        m_indices.push_back(index);
        m_occupancy_seen.push_back(false);
        add_gpu(std::move(usage), std::chrono::milliseconds(500));
    }
    return Availability::yes();
}

const std::vector<JobAmdGpuSensor::Process>* JobAmdGpuSensor::processes_now() {
    constexpr std::int64_t reuse_ns = 50'000'000;
    const std::int64_t now = core::monotonic_ns();
    if (m_listed_ns != 0 && now - m_listed_ns < reuse_ns) return &m_processes;
    const RsmiFunctions& api = m_rsmi->api();
    std::vector<rsmi_process_info_t> all;
    m_listed_ns = 0;
    if (compute_processes(api, all) != RSMI_STATUS_SUCCESS) return nullptr;
    m_processes.clear();
    for (const auto& p : all) {
        Process process{static_cast<int>(p.process_id), static_cast<double>(p.cu_occupancy), {}};
        std::uint32_t indices[64] = {};
        std::uint32_t count = 64;
        if (api.compute_process_gpus_get(p.process_id, indices, &count) == RSMI_STATUS_SUCCESS)
            process.gpus.assign(indices, indices + std::min<std::uint32_t>(count, 64));
        m_processes.push_back(std::move(process));
    }
    m_listed_ns = now;
    return &m_processes;
}

ReadStatus JobAmdGpuSensor::read(std::size_t channel, double& value) {
    if (channel >= m_indices.size() || !m_rsmi) return ReadStatus::error;
    const std::vector<Process>* processes = processes_now();
    if (!processes) return ReadStatus::error;
    std::vector<int> pids;
    std::vector<double> occupancy;
    for (const Process& p : *processes)
        if (std::find(p.gpus.begin(), p.gpus.end(), m_indices[channel]) != p.gpus.end()) {
            pids.push_back(p.pid);
            occupancy.push_back(p.occupancy);
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
