#include "meter/attribution.hpp"

#include <algorithm>
#include <map>

#include "sensors/job/job_cpu_sensor.hpp"
#include "sensors/job/job_gpu_share.hpp"

namespace joulecast::meter {

using sensors::JobCpuSensor;
using sensors::JobGpuShareSensor;

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

namespace {

/// Σ share × energy of `energy_channels` over the intervals between readings of channel `share`.
std::optional<double> split_by_share(const Timeline& timeline, const std::vector<Reading>& readings,
                                     std::uint32_t share, const std::vector<std::size_t>& energy_channels,
                                     std::int64_t start_ns, std::int64_t end_ns) {
    std::optional<std::int64_t> previous;
    std::optional<double> joules;
    for (const Reading& r : readings) {
        if (r.channel != share) continue;
        if (previous) {
            const std::int64_t a = std::max(*previous, start_ns);
            const std::int64_t b = std::min(r.t_ns, end_ns);
            if (b > a) {
                const double fraction = std::clamp(r.value / 100.0, 0.0, 1.0);
                double part = 0;
                for (std::size_t c : energy_channels) part += fraction * timeline.channel_energy(c, a, b);
                joules = joules.value_or(0) + part;
            }
        }
        previous = r.t_ns;
    }
    return joules;
}

}  // namespace

void attribute_gpu_energy(AttributedEnergy& out, const Timeline& timeline,
                          const std::vector<TraceChannel>& channels, const std::vector<Reading>& readings,
                          std::int64_t start_ns, std::int64_t end_ns,
                          const std::vector<GpuShareSource>& sources) {
    out.gpus.clear();
    out.gpu_j = 0;
    out.gross_gpu_j = 0;
    out.gpu_reason.clear();
    const WindowEnergy gross = timeline.energy(start_ns, end_ns);
    std::map<std::string, std::vector<std::size_t>> energy_channels;  // device -> its accounted channels
    std::map<std::string, double> gross_j;
    for (const SourceEnergy& s : gross.sources) {
        if (!s.accounted || s.domain != "gpu") continue;
        gross_j[s.device] += s.energy_j;
        for (std::size_t c = 0; c < channels.size(); ++c)
            if (channels[c].sensor == s.sensor && channels[c].channel.name == s.channel)
                energy_channels[s.device].push_back(c);
    }
    std::string reasons;
    for (const auto& [device, joules] : gross_j) {
        AttributedGpu gpu;
        gpu.device = device;
        gpu.gross_j = joules;
        out.gross_gpu_j += joules;
        const GpuShareSource* source = nullptr;
        for (const auto& s : sources)
            if (s.device == device) source = &s;
        std::optional<std::uint32_t> share;
        for (std::uint32_t c = 0; c < channels.size(); ++c)
            if (channels[c].channel.domain == "job" && channels[c].channel.device == device &&
                channels[c].channel.name == device + "." + JobGpuShareSensor::share_suffix)
                share = c;
        if (source && !source->unsplittable.empty()) {
            gpu.reason = "unmeasurable: " + source->unsplittable;
        } else if (!share) {
            gpu.reason = "unmeasurable: no process list covers " + device;
        } else if (auto joules_of_job = split_by_share(timeline, readings, *share, energy_channels[device],
                                                       start_ns, end_ns)) {
            gpu.attributed_j = *joules_of_job;
            gpu.method = source && !source->method.empty() ? source->method : "per-process SM utilisation";
            out.gpu_j += *joules_of_job;
        } else {
            gpu.reason = "unmeasurable: fewer than two readings of the job's share of " + device;
        }
        if (!gpu.reason.empty()) reasons += (reasons.empty() ? "" : "; ") + device + " " + gpu.reason;
        out.gpus.push_back(std::move(gpu));
    }
    out.gpu_measurable = !out.gpus.empty() && reasons.empty();
    out.gpu_reason = reasons;
}

void add_window(AttributedEnergy& total, const AttributedEnergy& window) {
    if (window.measurable) {
        total.cpu_j += window.cpu_j;
        total.dram_j += window.dram_j;
        total.method = window.method;
    }
    total.gross_cpu_j += window.gross_cpu_j;
    total.gross_dram_j += window.gross_dram_j;
    total.measurable = total.measurable || window.measurable;
    total.reason = total.measurable ? std::string() : window.reason;

    for (const AttributedGpu& g : window.gpus) {
        auto same = std::find_if(total.gpus.begin(), total.gpus.end(),
                                 [&](const AttributedGpu& t) { return t.device == g.device; });
        if (same == total.gpus.end()) {
            total.gpus.push_back(g);
            continue;
        }
        same->gross_j += g.gross_j;
        if (g.attributed_j) {
            same->attributed_j = same->attributed_j.value_or(0) + *g.attributed_j;
            same->method = g.method;
            same->reason.clear();
        } else if (!same->attributed_j) {
            same->reason = g.reason;
        }
    }
    total.gpu_j = 0;
    total.gross_gpu_j = 0;
    total.gpu_reason.clear();
    for (const AttributedGpu& g : total.gpus) {
        total.gross_gpu_j += g.gross_j;
        if (g.attributed_j)
            total.gpu_j += *g.attributed_j;
        else
            total.gpu_reason += (total.gpu_reason.empty() ? "" : "; ") + g.device + " " + g.reason;
    }
    total.gpu_measurable = !total.gpus.empty() && total.gpu_reason.empty();
}

std::vector<AttributedPart> attributed_parts(const AttributedEnergy& a) {
    std::vector<AttributedPart> parts;
    auto cpu_part = [&](const char* domain, double gross_j, double attributed_j) {
        parts.push_back({domain, "", gross_j,
                         a.measurable ? std::optional<double>(attributed_j) : std::nullopt,
                         a.measurable ? a.method : "", a.measurable ? "" : a.reason});
    };
    if (a.gross_cpu_j > 0 || (!a.measurable && !a.reason.empty())) cpu_part("cpu", a.gross_cpu_j, a.cpu_j);
    if (a.gross_dram_j > 0) cpu_part("dram", a.gross_dram_j, a.dram_j);
    for (const AttributedGpu& g : a.gpus)
        parts.push_back({"gpu", g.device, g.gross_j, g.attributed_j, g.method, g.reason});
    return parts;
}

}  // namespace joulecast::meter
