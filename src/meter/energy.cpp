#include "meter/energy.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace joulecast::meter {

using sensors::Behaviour;
using sensors::Channel;
using sensors::Method;
using sensors::Quantity;

namespace {

constexpr double ns_in_s = 1e-9;

bool is_energy_counter(const Channel& c) {
    return c.quantity == Quantity::energy;
}
bool is_power_gauge(const Channel& c) {
    return c.quantity == Quantity::power && c.behaviour == Behaviour::gauge;
}

}  // namespace

Timeline::Timeline(const Trace& trace) : Timeline(trace.channels(), trace.readings()) {}

Timeline::Timeline(std::vector<TraceChannel> channels, const std::vector<Reading>& readings)
    : m_channels(std::move(channels)), m_series(m_channels.size()) {
    extend(readings);
}

void Timeline::extend(const std::vector<Reading>& readings) {
    for (const Reading& r : readings) {
        if (r.channel >= m_series.size()) continue;
        Series& s = m_series[r.channel];
        // Readings of one channel arrive in time order from the sampler; tolerate equal stamps.
        if (!s.t.empty() && r.t_ns < s.t.back()) continue;
        double value = r.value;
        if (is_energy_counter(m_channels[r.channel].channel)) {
            // A counter that goes down was reset (a driver reload, a replayed trace spliced from two runs):
            // count from its new value on, adding nothing for the interval across the reset, so energy is
            // never negative.
            if (!s.t.empty()) {
                if (r.value < s.raw_last) {
                    ++s.resets;
                    value = s.v.back();
                } else {
                    value = s.v.back() + (r.value - s.raw_last);
                }
            }
            s.raw_last = r.value;
        }
        s.t.push_back(r.t_ns);
        s.v.push_back(value);
        if (m_empty || r.t_ns < m_first_ns) m_first_ns = r.t_ns;
        if (m_empty || r.t_ns > m_last_ns) m_last_ns = r.t_ns;
        m_empty = false;
    }
    for (std::size_t c = 0; c < m_series.size(); ++c) {
        Series& s = m_series[c];
        if (!is_power_gauge(m_channels[c].channel) || s.t.empty()) continue;
        std::size_t k = s.integral.size();
        s.integral.resize(s.t.size());
        if (k == 0) s.integral[k++] = 0;
        for (; k < s.t.size(); ++k)
            s.integral[k] = s.integral[k - 1] + 0.5 * (s.v[k - 1] + s.v[k]) * (s.t[k] - s.t[k - 1]) * ns_in_s;
    }
    link_counters_to_power();
}

void Timeline::link_counters_to_power() {
    // A counter's readings may be sparse (NVML's every ~1 s); between them, energy follows the device's
    // measured power. Only a measured (not modelled) power gauge of the same sensor, device and domain
    // qualifies.
    m_power_of.assign(m_channels.size(), std::nullopt);
    for (std::size_t c = 0; c < m_channels.size(); ++c) {
        if (!is_energy_counter(m_channels[c].channel)) continue;
        for (std::size_t p = 0; p < m_channels.size(); ++p) {
            const auto& a = m_channels[c];
            const auto& b = m_channels[p];
            if (is_power_gauge(b.channel) && !b.channel.modelled && a.sensor == b.sensor &&
                a.channel.device == b.channel.device && a.channel.domain == b.channel.domain &&
                m_series[p].t.size() >= 2) {
                m_power_of[c] = p;
                break;
            }
        }
    }
}

double Timeline::gauge_integral(const Series& s, std::int64_t t) const {
    const std::size_t n = s.t.size();
    if (n == 0) return 0;
    // Outside its readings a gauge says nothing: no energy is invented before the first or after the last
    // (a lost GPU must not keep drawing its last power).
    if (t <= s.t.front()) return 0;
    if (t >= s.t.back()) return s.integral.back();
    std::size_t b = static_cast<std::size_t>(std::upper_bound(s.t.begin(), s.t.end(), t) - s.t.begin());
    std::size_t a = b - 1;
    const double span = static_cast<double>(s.t[b] - s.t[a]);
    const double dt = static_cast<double>(t - s.t[a]);
    const double v_t = span > 0 ? s.v[a] + (s.v[b] - s.v[a]) * dt / span : s.v[a];
    return s.integral[a] + 0.5 * (s.v[a] + v_t) * dt * ns_in_s;
}

double Timeline::counter_value(std::size_t channel, std::int64_t t) const {
    const Series& s = m_series[channel];
    const std::size_t n = s.t.size();
    if (n == 0) return 0;
    const Series* power = m_power_of[channel] ? &m_series[*m_power_of[channel]] : nullptr;
    if (t <= s.t.front())
        return power ? s.v.front() - (gauge_integral(*power, s.t.front()) - gauge_integral(*power, t))
                     : s.v.front();
    if (t >= s.t.back())
        return power ? s.v.back() + (gauge_integral(*power, t) - gauge_integral(*power, s.t.back()))
                     : s.v.back();
    std::size_t b = static_cast<std::size_t>(std::upper_bound(s.t.begin(), s.t.end(), t) - s.t.begin());
    std::size_t a = b - 1;
    double fraction = static_cast<double>(t - s.t[a]) / static_cast<double>(s.t[b] - s.t[a]);
    if (power) {
        const double pa = gauge_integral(*power, s.t[a]);
        const double pb = gauge_integral(*power, s.t[b]);
        if (pb - pa > 0) fraction = std::clamp((gauge_integral(*power, t) - pa) / (pb - pa), 0.0, 1.0);
    }
    return s.v[a] + fraction * (s.v[b] - s.v[a]);
}

double Timeline::channel_energy(std::size_t channel, std::int64_t start_ns, std::int64_t end_ns) const {
    if (channel >= m_channels.size() || end_ns <= start_ns) return 0;
    const Channel& c = m_channels[channel].channel;
    if (is_energy_counter(c)) return counter_value(channel, end_ns) - counter_value(channel, start_ns);
    if (is_power_gauge(c)) {
        const Series& s = m_series[channel];
        return gauge_integral(s, end_ns) - gauge_integral(s, start_ns);
    }
    return 0;
}

std::uint64_t Timeline::counter_resets(std::size_t channel) const {
    return channel < m_series.size() ? m_series[channel].resets : 0;
}

std::uint64_t Timeline::samples(std::size_t channel, std::int64_t start_ns, std::int64_t end_ns) const {
    const Series& s = m_series.at(channel);
    auto lo = std::lower_bound(s.t.begin(), s.t.end(), start_ns);
    auto hi = std::upper_bound(s.t.begin(), s.t.end(), end_ns);
    return hi > lo ? static_cast<std::uint64_t>(hi - lo) : 0;
}

bool Timeline::read_near(std::size_t channel, std::int64_t t_ns, std::int64_t tolerance_ns) const {
    const Series& s = m_series.at(channel);
    auto it = std::lower_bound(s.t.begin(), s.t.end(), t_ns - tolerance_ns);
    return it != s.t.end() && *it <= t_ns + tolerance_ns;
}

WindowEnergy Timeline::energy(std::int64_t start_ns, std::int64_t end_ns) const {
    WindowEnergy window;
    window.start_ns = start_ns;
    window.end_ns = end_ns;

    // Group channels by (sensor, domain, device); keep the first energy counter and power gauge of each.
    using Key = std::tuple<std::string, std::string, std::string>;
    struct Group {
        std::optional<std::size_t> counter, power;
    };
    std::map<Key, Group> groups;
    std::vector<Key> order;
    for (std::size_t c = 0; c < m_channels.size(); ++c) {
        const auto& tc = m_channels[c];
        if (m_series[c].t.empty()) continue;
        Key key{tc.sensor, tc.channel.domain, tc.channel.device};
        auto [it, inserted] = groups.try_emplace(key);
        if (inserted) order.push_back(key);
        if (is_energy_counter(tc.channel) && !it->second.counter) it->second.counter = c;
        if (is_power_gauge(tc.channel) && !it->second.power) it->second.power = c;
    }

    std::map<std::string, std::set<std::string>> methods;
    for (const Key& key : order) {
        const Group& g = groups[key];
        auto source = [&](std::size_t c, Method method, bool primary) {
            const auto& tc = m_channels[c];
            SourceEnergy s{tc.sensor,
                           tc.channel.name,
                           tc.channel.domain,
                           tc.channel.device,
                           method,
                           channel_energy(c, start_ns, end_ns),
                           samples(c, start_ns, end_ns),
                           primary && tc.channel.accounted};
            return s;
        };
        std::optional<SourceEnergy> primary, secondary;
        if (g.counter) {
            bool modelled = m_channels[*g.counter].channel.modelled;
            primary = source(*g.counter, modelled ? Method::modelled : Method::counter, true);
            if (g.power && !m_channels[*g.power].channel.modelled)
                secondary = source(*g.power, Method::integrated, false);
        } else if (g.power) {
            bool modelled = m_channels[*g.power].channel.modelled;
            primary = source(*g.power, modelled ? Method::modelled : Method::integrated, true);
        }
        if (!primary) continue;
        if (primary->accounted) {
            window.domain_j[primary->domain] += primary->energy_j;
            window.total_j += primary->energy_j;
            (primary->method == Method::modelled ? window.modelled_j : window.measured_j) +=
                primary->energy_j;
            methods[primary->domain].insert(to_string(primary->method));
        }
        if (secondary && primary->method == Method::counter)
            window.disagreements.push_back({primary->device, primary->energy_j, secondary->energy_j});
        window.sources.push_back(*primary);
        if (secondary) window.sources.push_back(*secondary);
    }
    for (const auto& [domain, names] : methods) {
        std::string joined;
        for (const auto& name : names) joined += (joined.empty() ? "" : "+") + name;
        window.domain_method[domain] = joined;
    }
    return window;
}

std::vector<std::pair<std::int64_t, double>> Timeline::power(std::int64_t start_ns, std::int64_t end_ns,
                                                             std::int64_t step_ns) const {
    std::vector<std::pair<std::int64_t, double>> bins;
    if (end_ns <= start_ns || step_ns <= 0) return bins;
    // Which channels carry each device's accounted figure: the same choice energy() makes.
    WindowEnergy whole = energy(start_ns, end_ns);
    std::vector<std::size_t> primaries;
    for (const SourceEnergy& s : whole.sources) {
        if (!s.accounted) continue;
        for (std::size_t c = 0; c < m_channels.size(); ++c)
            if (m_channels[c].sensor == s.sensor && m_channels[c].channel.name == s.channel)
                primaries.push_back(c);
    }
    for (std::int64_t t = start_ns; t < end_ns; t += step_ns) {
        const std::int64_t t_end = std::min(end_ns, t + step_ns);
        // A sliver at the end would turn rounding into a spike: fold it into the previous bin's span.
        if (t_end - t < step_ns / 2 && !bins.empty()) break;
        double joules = 0;
        for (std::size_t c : primaries) joules += channel_energy(c, t, t_end);
        bins.emplace_back(t, joules / ((t_end - t) * ns_in_s));
    }
    return bins;
}

double Timeline::peak_power_w(std::int64_t start_ns, std::int64_t end_ns, std::int64_t step_ns) const {
    double peak = 0;
    for (const auto& [t, watts] : power(start_ns, end_ns, step_ns)) peak = std::max(peak, watts);
    return peak;
}

std::vector<std::pair<std::string, std::string>> left_out_devices(const WindowEnergy& energy) {
    std::set<std::pair<std::string, std::string>> counted, uncounted;
    for (const SourceEnergy& s : energy.sources)
        (s.accounted ? counted : uncounted).emplace(s.sensor, s.device);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& device : uncounted)
        if (!counted.count(device)) out.push_back(device);
    return out;
}

std::optional<double> gpu_energy(const WindowEnergy& energy, const std::string& device) {
    std::optional<double> joules;
    for (const SourceEnergy& s : energy.sources)
        if (s.domain == "gpu" && s.device == device && s.accounted) joules = joules.value_or(0) + s.energy_j;
    return joules;
}

}  // namespace joulecast::meter
