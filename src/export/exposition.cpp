#include "export/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

namespace joulecast::exporter {

using sensors::Channel;
using sensors::Method;
using sensors::Quantity;

using meter::ChannelStats;
using meter::Reading;
using meter::TraceChannel;

double MonotoneCounter::update(double raw) {
    if (!m_started) {
        m_started = true;
        m_last = raw;
        return m_total;
    }
    double delta = raw - m_last;
    if (delta < 0) {
        ++m_fallbacks;
        // A wrap leaves the value low after a high one; anything else that falls back restarted from zero.
        if (m_wrap_range > 0 && m_last <= m_wrap_range && raw >= 0)
            delta = raw + m_wrap_range - m_last;
        else
            delta = std::max(raw, 0.0);
    }
    m_total += delta;
    m_last = raw;
    return m_total;
}

std::vector<SensorState> sensor_states_now(std::vector<SensorState> probed,
                                           const std::vector<TraceChannel>& channels,
                                           const std::vector<ChannelStats>& stats) {
    struct Count {
        std::size_t channels = 0, lost = 0, unsupported = 0;
    };
    std::map<std::string, Count> counts;
    for (std::size_t i = 0; i < channels.size() && i < stats.size(); ++i) {
        Count& count = counts[channels[i].sensor];
        ++count.channels;
        if (stats[i].lost)
            ++count.lost;
        else if (stats[i].unsupported)
            ++count.unsupported;
    }
    for (auto& state : probed) {
        const auto found = counts.find(state.sensor);
        if (!state.up || found == counts.end()) continue;
        const Count& count = found->second;
        if (count.lost + count.unsupported < count.channels) continue;
        state.up = false;
        state.reason = "every channel stopped while the agent ran: " + std::to_string(count.lost) +
                       " on devices lost, " + std::to_string(count.unsupported) + " no longer supported";
    }
    return probed;
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    if (ec != std::errc()) return "NaN";
    return std::string(buffer, end);
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, const char* name, const Labels& labels, double value) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (i) out += ',';
            out += labels[i].first;
            out += "=\"";
            out += escape_label_value(labels[i].second);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    out += format_value(value);
    out += '\n';
}

std::string render_text(const Snapshot& snapshot) {
    std::string out;
    auto energy = snapshot.energy;
    std::sort(energy.begin(), energy.end(), [](const ExportedEnergy& a, const ExportedEnergy& b) {
        return std::tie(a.domain, a.device, a.method) < std::tie(b.domain, b.device, b.method);
    });
    family(
        out, "joulecast_energy_joules_total", "counter",
        "Energy used since the agent started, in joules: a hardware counter (method=\"counter\"), measured "
        "power integrated over time (\"integrated\") or a model (\"modelled\").");
    for (const auto& e : energy) {
        Labels labels = {{"domain", e.domain}, {"device", e.device}};
        if (!e.uuid.empty()) labels.emplace_back("uuid", e.uuid);
        labels.emplace_back("method", to_string(e.method));
        sample(out, "joulecast_energy_joules_total", labels, e.joules);
    }

    auto power = snapshot.power;
    std::sort(power.begin(), power.end(), [](const ExportedPower& a, const ExportedPower& b) {
        return std::tie(a.domain, a.device) < std::tie(b.domain, b.device);
    });
    family(out, "joulecast_power_watts", "gauge", "Power at the last reading, in watts.");
    for (const auto& p : power) {
        Labels labels = {{"domain", p.domain}, {"device", p.device}};
        if (!p.uuid.empty()) labels.emplace_back("uuid", p.uuid);
        sample(out, "joulecast_power_watts", labels, p.watts);
    }

    auto sensors = snapshot.sensors;
    std::sort(sensors.begin(), sensors.end(),
              [](const SensorState& a, const SensorState& b) { return a.sensor < b.sensor; });
    family(out, "joulecast_sensor_up", "gauge", "Whether a sensor is available and read (1) or not (0).");
    for (const auto& s : sensors) sample(out, "joulecast_sensor_up", {{"sensor", s.sensor}}, s.up ? 1 : 0);
    family(out, "joulecast_sensor_down_info", "gauge", "Why a sensor is down; always 1.");
    for (const auto& s : sensors)
        if (!s.up) sample(out, "joulecast_sensor_down_info", {{"sensor", s.sensor}, {"reason", s.reason}}, 1);

    family(out, "joulecast_agent_readings_total", "counter", "Sensor readings the agent has taken.");
    sample(out, "joulecast_agent_readings_total", {}, static_cast<double>(snapshot.self.readings));
    family(out, "joulecast_agent_read_errors_total", "counter", "Sensor reads that failed.");
    sample(out, "joulecast_agent_read_errors_total", {}, static_cast<double>(snapshot.self.read_errors));
    family(out, "joulecast_agent_scrape_duration_seconds", "gauge",
           "Time the previous /metrics answer took to build, in seconds.");
    sample(out, "joulecast_agent_scrape_duration_seconds", {}, snapshot.self.scrape_duration_s);
    family(out, "joulecast_agent_cpu_seconds_total", "counter", "CPU time the agent has used, in seconds.");
    sample(out, "joulecast_agent_cpu_seconds_total", {}, snapshot.self.cpu_s);
    return out;
}

EnergyExport::EnergyExport(std::vector<TraceChannel> channels) : m_channels(std::move(channels)) {
    // Devices that have an accounted energy counter: their power is a gauge only.
    std::set<std::tuple<std::string, std::string, std::string>> with_counter;
    for (const auto& tc : m_channels)
        if (tc.channel.quantity == Quantity::energy && tc.channel.accounted)
            with_counter.insert({tc.sensor, tc.channel.domain, tc.channel.device});
    m_state.resize(m_channels.size());
    for (std::size_t i = 0; i < m_channels.size(); ++i) {
        const auto& tc = m_channels[i];
        const Channel& c = tc.channel;
        ChannelState& state = m_state[i];
        if (c.quantity == Quantity::energy && c.accounted) {
            state.role = ChannelState::Role::counter;
            state.key = {c.domain, c.device, c.modelled ? Method::modelled : Method::counter};
        } else if (c.quantity == Quantity::power) {
            const bool integrate = c.accounted && !with_counter.count({tc.sensor, c.domain, c.device});
            state.role = integrate ? ChannelState::Role::integrate : ChannelState::Role::gauge_only;
            state.key = {c.domain, c.device, c.modelled ? Method::modelled : Method::integrated};
        }
    }
}

void EnergyExport::ingest(const std::vector<Reading>& readings) {
    for (const Reading& r : readings) {
        if (r.channel >= m_state.size()) continue;
        ChannelState& state = m_state[r.channel];
        switch (state.role) {
            case ChannelState::Role::ignore:
                break;
            case ChannelState::Role::counter:
                state.counter.update(r.value);
                state.has_last = true;
                break;
            case ChannelState::Role::integrate:
                if (state.has_last && r.t_ns > state.last_t_ns)
                    state.integrated_j +=
                        0.5 * (state.last_w + r.value) * 1e-9 * static_cast<double>(r.t_ns - state.last_t_ns);
                [[fallthrough]];
            case ChannelState::Role::gauge_only:
                if (!state.has_last || r.t_ns >= state.last_t_ns) {
                    state.last_w = r.value;
                    state.last_t_ns = r.t_ns;
                    state.has_last = true;
                }
                break;
        }
    }
}

std::vector<ExportedEnergy> EnergyExport::energy() const {
    std::map<Key, double> joules;
    for (const auto& state : m_state) {
        if (state.role == ChannelState::Role::counter)
            joules[state.key] += state.counter.total();
        else if (state.role == ChannelState::Role::integrate)
            joules[state.key] += state.integrated_j;
    }
    std::vector<ExportedEnergy> out;
    for (const auto& [key, j] : joules)
        out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), j, uuid_of(std::get<1>(key))});
    return out;
}

std::string EnergyExport::uuid_of(const std::string& device) const {
    const auto found = m_uuids.find(device);
    return found == m_uuids.end() ? std::string() : found->second;
}

std::vector<ExportedPower> EnergyExport::power() const {
    std::map<std::pair<std::string, std::string>, double> watts;
    for (std::size_t i = 0; i < m_state.size(); ++i) {
        const auto& state = m_state[i];
        if (!state.has_last) continue;
        if (state.role == ChannelState::Role::integrate || state.role == ChannelState::Role::gauge_only)
            watts[{std::get<0>(state.key), std::get<1>(state.key)}] += state.last_w;
    }
    std::vector<ExportedPower> out;
    for (const auto& [key, w] : watts) out.push_back({key.first, key.second, w, uuid_of(key.second)});
    return out;
}

bool accepts_openmetrics(std::string_view accept) {
    return accept.find("application/openmetrics-text") != std::string_view::npos;
}

std::string to_openmetrics(std::string_view text) {
    constexpr std::string_view help = "# HELP ", type = "# TYPE ", total = "_total";
    // The counters, from their TYPE lines (which come after HELP).
    std::set<std::string, std::less<>> counters;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (line.substr(0, type.size()) != type) continue;
        const std::string_view rest = line.substr(type.size());
        const std::size_t space = rest.find(' ');
        if (space != std::string_view::npos && rest.substr(space + 1) == "counter")
            counters.emplace(rest.substr(0, space));
    }
    std::string out;
    out.reserve(text.size() + 8);
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        const bool meta = line.substr(0, help.size()) == help || line.substr(0, type.size()) == type;
        if (meta) {
            const std::string_view rest = line.substr(help.size());
            const std::string_view name = rest.substr(0, rest.find(' '));
            if (counters.count(name) && name.size() > total.size() &&
                name.substr(name.size() - total.size()) == total) {
                out.append(line.substr(0, help.size()));
                out.append(name.substr(0, name.size() - total.size()));
                out.append(rest.substr(name.size()));
                out += '\n';
                continue;
            }
        }
        if (!line.empty()) out.append(line).append("\n");
    }
    out += "# EOF\n";
    return out;
}

}  // namespace joulecast::exporter
