#include "report/html/timeline.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace joulecast::report {

using sensors::Channel;
using sensors::Quantity;

using meter::Reading;

using store::StoredTrace;

namespace {

struct DeviceSource {
    std::string domain;
    std::string device;
    std::uint32_t channel = 0;
    bool counter = false;
    bool modelled = false;
    std::string label;
};

int domain_rank(const std::string& domain) {
    if (domain == "gpu") return 0;
    if (domain == "cpu") return 1;
    if (domain == "dram") return 2;
    return 3;
}

std::string join_methods(const std::set<std::string>& methods) {
    std::string out;
    for (const auto& m : methods) out += (out.empty() ? "" : "+") + m;
    return out;
}

/// Values per bin of one gauge: the mean of the readings in each bin, then the previous value held.
std::vector<std::optional<double>> gauge_bins(const std::vector<std::pair<double, double>>& points,
                                              double start, double width, std::size_t bins) {
    std::vector<double> sum(bins, 0.0);
    std::vector<std::size_t> count(bins, 0);
    for (const auto& [t, value] : points) {
        // Readings outside the window (an idle baseline before the command) stay out of it.
        if (!std::isfinite(value) || t < start || t > start + width * static_cast<double>(bins)) continue;
        auto i = static_cast<long long>(std::floor((t - start) / width));
        i = std::clamp<long long>(i, 0, static_cast<long long>(bins) - 1);
        sum[i] += value;
        ++count[i];
    }
    std::vector<std::optional<double>> out(bins);
    std::optional<double> held;
    for (std::size_t i = 0; i < bins; ++i) {
        if (count[i] > 0) held = sum[i] / static_cast<double>(count[i]);
        out[i] = held;
    }
    return out;
}

/// Power per bin from a cumulative energy counter: each difference spread evenly between its two readings.
std::vector<std::optional<double>> counter_bins(const std::vector<std::pair<double, double>>& points,
                                                double start, double width, std::size_t bins) {
    std::vector<double> energy(bins, 0.0), covered(bins, 0.0);
    const double end = start + width * static_cast<double>(bins);
    for (std::size_t k = 1; k < points.size(); ++k) {
        const auto [t0, e0] = points[k - 1];
        const auto [t1, e1] = points[k];
        // A decrease means a reset or a lost device, not negative power.
        if (!(t1 > t0) || !std::isfinite(e0) || !std::isfinite(e1) || e1 < e0) continue;
        const double watts = (e1 - e0) / (t1 - t0);
        const double a = std::max(t0, start), b = std::min(t1, end);
        if (!(b > a)) continue;
        auto first = static_cast<std::size_t>(std::clamp((a - start) / width, 0.0, double(bins - 1)));
        for (std::size_t i = first; i < bins; ++i) {
            const double lo = start + width * static_cast<double>(i);
            const double hi = lo + width;
            if (lo >= b) break;
            const double overlap = std::min(hi, b) - std::max(lo, a);
            if (overlap <= 0) continue;
            energy[i] += watts * overlap;
            covered[i] += overlap;
        }
    }
    std::vector<std::optional<double>> out(bins);
    std::optional<double> held;
    for (std::size_t i = 0; i < bins; ++i) {
        if (covered[i] > 0) held = energy[i] / covered[i];
        out[i] = held;
    }
    return out;
}

}  // namespace

PowerTimeline power_timeline(const StoredTrace& trace, std::optional<double> duration_s,
                             std::size_t max_bins) {
    PowerTimeline timeline;
    max_bins = std::max<std::size_t>(max_bins, 1);

    // One source per (domain, device): its power gauge when it has one, else its energy counter.
    std::map<std::pair<std::string, std::string>, DeviceSource> sources;
    for (std::uint32_t c = 0; c < trace.channels.size(); ++c) {
        const Channel& ch = trace.channels[c].channel;
        if (!ch.accounted || ch.domain.empty()) continue;
        const bool gauge = ch.quantity == Quantity::power;
        const bool counter = ch.quantity == Quantity::energy;
        if (!gauge && !counter) continue;
        DeviceSource source{ch.domain, ch.device,   c,
                            counter,   ch.modelled, trace.channels[c].sensor + ":" + ch.name};
        auto key = std::make_pair(ch.domain, ch.device);
        auto it = sources.find(key);
        if (it == sources.end())
            sources.emplace(key, source);
        else if (it->second.counter && gauge)
            it->second = source;  // a gauge gives the finer timeline
    }
    if (sources.empty()) {
        timeline.notes.push_back("the run has no stored power or energy readings");
        return timeline;
    }

    std::map<std::uint32_t, std::vector<std::pair<double, double>>> points;
    for (const auto& [key, source] : sources) points[source.channel];
    double t_min = 0, t_max = 0;
    bool any = false;
    for (const Reading& r : trace.readings) {
        auto it = points.find(r.channel);
        if (it == points.end()) continue;
        const double t = static_cast<double>(r.t_ns) * 1e-9;
        it->second.emplace_back(t, r.value);
        t_min = any ? std::min(t_min, t) : t;
        t_max = any ? std::max(t_max, t) : t;
        any = true;
    }
    if (!any) {
        timeline.notes.push_back("the run has no stored power or energy readings");
        return timeline;
    }
    for (auto& [channel, list] : points)
        std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    double start = t_min, end = t_max;
    if (duration_s && std::isfinite(*duration_s) && *duration_s > 0) {
        start = 0;
        end = *duration_s;
    }
    if (!(end > start)) {
        timeline.notes.push_back("the run's readings span no time");
        return timeline;
    }

    std::size_t densest = 1;
    for (const auto& [channel, list] : points) {
        std::size_t inside = 0;
        for (const auto& [t, v] : list) inside += (t >= start && t <= end) ? 1 : 0;
        densest = std::max(densest, inside);
    }
    const std::size_t bins = std::min(max_bins, densest);
    const double width = (end - start) / static_cast<double>(bins);
    timeline.start_s = start;
    timeline.bin_s = width;
    timeline.bins = bins;

    std::map<std::string, std::vector<const DeviceSource*>> by_domain;
    for (const auto& [key, source] : sources) by_domain[source.domain].push_back(&source);
    std::vector<std::string> domains;
    for (const auto& [domain, list] : by_domain) domains.push_back(domain);
    std::stable_sort(domains.begin(), domains.end(),
                     [](const auto& a, const auto& b) { return domain_rank(a) < domain_rank(b); });

    for (const auto& domain : domains) {
        PowerSeries series;
        series.domain = domain;
        series.power_w.assign(bins, std::nullopt);
        std::set<std::string> methods;
        for (const DeviceSource* source : by_domain[domain]) {
            const auto& list = points[source->channel];
            if (list.empty()) continue;
            auto values = source->counter ? counter_bins(list, start, width, bins)
                                          : gauge_bins(list, start, width, bins);
            for (std::size_t i = 0; i < bins; ++i)
                if (values[i]) series.power_w[i] = series.power_w[i].value_or(0.0) + *values[i];
            methods.insert(source->modelled ? "modelled" : source->counter ? "counter" : "measured");
            series.channels.push_back(source->label);
        }
        if (series.channels.empty()) continue;
        series.method = join_methods(methods);
        timeline.series.push_back(std::move(series));
    }
    if (timeline.series.empty()) timeline.notes.push_back("the run has no stored power or energy readings");
    return timeline;
}

}  // namespace joulecast::report
