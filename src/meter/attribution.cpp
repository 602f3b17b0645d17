#include "meter/attribution.hpp"

#include <algorithm>
#include <map>

#include "sensors/job/job_cpu_sensor.hpp"

namespace joulecast {

AttributedEnergy attribute_cpu_energy(const Timeline& timeline, const std::vector<TraceChannel>& channels,
                                      const std::vector<Reading>& readings, std::int64_t start_ns,
                                      std::int64_t end_ns) {
    AttributedEnergy out;
    out.method = "CPU time of the job's process tree over busy CPU time, per sampling interval (/proc)";
    std::optional<std::uint32_t> share;
    for (std::uint32_t c = 0; c < channels.size(); ++c)
        if (channels[c].channel.name == JobCpuSensor::share_channel) share = c;

    // The channels that carry the accounted CPU and DRAM figures: the choice Timeline::energy makes.
    const WindowEnergy gross = timeline.energy(start_ns, end_ns);
    std::vector<std::pair<std::size_t, bool>> energy_channels;  // (channel, is_dram)
    for (const SourceEnergy& s : gross.sources) {
        if (!s.accounted || (s.domain != "cpu" && s.domain != "dram")) continue;
        for (std::size_t c = 0; c < channels.size(); ++c)
            if (channels[c].sensor == s.sensor && channels[c].channel.name == s.channel)
                energy_channels.emplace_back(c, s.domain == "dram");
    }
    out.gross_cpu_j = gross.domain("cpu");
    out.gross_dram_j = gross.domain("dram");
    if (!share) {
        out.reason = "unmeasurable: the job's CPU time was not sampled (no readable /proc)";
        return out;
    }
    if (energy_channels.empty()) {
        out.reason = "unmeasurable: no CPU or DRAM energy to split";
        return out;
    }
    std::optional<std::int64_t> previous;
    bool any = false;
    for (const Reading& r : readings) {
        if (r.channel != *share) continue;
        if (previous) {
            const std::int64_t a = std::max(*previous, start_ns);
            const std::int64_t b = std::min(r.t_ns, end_ns);
            if (b > a) {
                const double fraction = std::clamp(r.value / 100.0, 0.0, 1.0);
                for (const auto& [c, is_dram] : energy_channels)
                    (is_dram ? out.dram_j : out.cpu_j) += fraction * timeline.channel_energy(c, a, b);
                any = true;
            }
        }
        previous = r.t_ns;
    }
    if (!any) {
        out.reason = "unmeasurable: fewer than two readings of the job's CPU time in the window";
        return out;
    }
    out.measurable = true;
    return out;
}

}  // namespace joulecast
