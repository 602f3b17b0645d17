#include "runner/job_share.hpp"

#include <algorithm>

#include "sensors/job/job_cpu_sensor.hpp"

namespace joulecast::runner {

using meter::attribute_cpu_energy;
using meter::attribute_gpu_energy;
using meter::AttributedEnergy;
using meter::GpuShareSource;
using meter::Monitor;
using meter::Reading;
using meter::Timeline;
using meter::TraceChannel;
using sensors::JobCpuSensor;
using sensors::JobGpuShareSensor;
using sensors::JobGpuUsage;

namespace {

/// Calls `act` on each of the monitor's job sensors: job-cpu and the job-GPU ones.
template <class Act>
void for_each_job_sensor(Monitor& monitor, Act&& act) {
    for (const auto& probed : monitor.sensors().sensors)
        if (auto* cpu = dynamic_cast<JobCpuSensor*>(probed.sensor.get()))
            act(*cpu);
        else if (auto* gpus = dynamic_cast<JobGpuShareSensor*>(probed.sensor.get()))
            act(*gpus);
}

}  // namespace

void set_job_root(Monitor& monitor, int pid) {
    for_each_job_sensor(monitor, [pid](auto& sensor) { sensor.set_root_pid(pid); });
}

void add_job_process(Monitor& monitor, int pid) {
    for_each_job_sensor(monitor, [pid](auto& sensor) { sensor.add_job_root(pid); });
}

std::vector<JobGpuUsage> job_gpu_usage(const Monitor& monitor) {
    std::vector<JobGpuUsage> out;
    for (const auto& probed : monitor.sensors().sensors)
        if (auto* gpus = dynamic_cast<const JobGpuShareSensor*>(probed.sensor.get()); gpus && probed.used)
            for (auto& usage : gpus->usage()) out.push_back(std::move(usage));
    return out;
}

AttributedEnergy attribute_to_job(const Timeline& timeline, const std::vector<TraceChannel>& channels,
                                  const std::vector<Reading>& readings, std::int64_t start_ns,
                                  std::int64_t end_ns, const std::vector<JobGpuUsage>& usage) {
    AttributedEnergy out = attribute_cpu_energy(timeline, channels, readings, start_ns, end_ns);
    std::vector<GpuShareSource> shares;
    for (const auto& u : usage) shares.push_back({u.device, u.share_method, u.unsplittable});
    attribute_gpu_energy(out, timeline, channels, readings, start_ns, end_ns, shares);
    return out;
}

bool is_share_channel(const TraceChannel& c) {
    // The job-cpu and job-gpu sensors' shares are the only channels of domain "job".
    return c.channel.domain == "job";
}

void LiveAttribution::add(const std::vector<TraceChannel>& channels, const std::vector<Reading>& fresh) {
    if (m_is_share.size() != channels.size()) {
        m_is_share.clear();
        for (const auto& c : channels) m_is_share.push_back(is_share_channel(c));
        m_last_ns.resize(channels.size(), 0);
    }
    for (const Reading& r : fresh) {
        if (r.channel >= m_is_share.size() || !m_is_share[r.channel]) continue;
        m_readings.push_back(r);
        m_last_ns[r.channel] = std::max(m_last_ns[r.channel], r.t_ns);
    }
}

std::optional<std::int64_t> LiveAttribution::covered_until(std::int64_t newest_ns) const {
    constexpr std::int64_t still_read_ns = 2'000'000'000;
    std::optional<std::int64_t> covered;
    for (std::int64_t last : m_last_ns)
        if (last > 0 && last >= newest_ns - still_read_ns) covered = std::min(covered.value_or(last), last);
    return covered;
}

AttributedEnergy LiveAttribution::at(const Timeline& timeline, const std::vector<TraceChannel>& channels,
                                     std::int64_t start_ns, std::int64_t end_ns,
                                     const std::vector<JobGpuUsage>& usage) {
    if (!m_settled_ns) m_settled_ns = start_ns;
    const std::int64_t settle_to = end_ns - m_settle_ns;
    if (settle_to > *m_settled_ns) {
        add_window(m_settled,
                   attribute_to_job(timeline, channels, m_readings, *m_settled_ns, settle_to, usage));
        m_settled_ns = settle_to;
        // Drop the settled readings but the newest of each channel, which opens the interval cut there.
        std::vector<Reading> kept;
        std::vector<std::optional<Reading>> opening(m_is_share.size());
        for (const Reading& r : m_readings)
            if (r.t_ns < settle_to)
                opening[r.channel] = r;
            else
                kept.push_back(r);
        m_readings.clear();
        for (const auto& r : opening)
            if (r) m_readings.push_back(*r);
        m_readings.insert(m_readings.end(), kept.begin(), kept.end());
    }
    AttributedEnergy out = m_settled;
    add_window(out, attribute_to_job(timeline, channels, m_readings, *m_settled_ns, end_ns, usage));
    return out;
}

}  // namespace joulecast::runner
