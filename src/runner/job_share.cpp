#include "runner/job_share.hpp"

#include "sensors/job/job_cpu_sensor.hpp"

namespace joulecast::runner {

std::vector<JobGpuUsage> job_gpu_usage(const Monitor& monitor) {
    for (const auto& probed : monitor.sensors().sensors)
        if (auto* gpus = dynamic_cast<const JobGpuSensor*>(probed.sensor.get()); gpus && probed.used)
            return gpus->usage();
    return {};
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
    const std::string& name = c.channel.name;
    constexpr std::string_view suffix = ".job_share";
    return name == JobCpuSensor::share_channel ||
           (c.sensor == "job-gpu" && name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0);
}

}  // namespace joulecast::runner
