#include "sensors/replay/replay_sensor.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/clock.hpp"
#include "core/text.hpp"

namespace joulecast::sensors {

using core::CsvTable;
using core::monotonic_ns;
using core::ns_to_s;
using core::parse_csv;
using core::parse_double;
using core::read_text_file;

namespace {

std::optional<Quantity> parse_quantity(std::string_view text) {
    for (auto q : {Quantity::energy, Quantity::power, Quantity::utilisation, Quantity::memory,
                   Quantity::clock, Quantity::temperature, Quantity::power_limit})
        if (text == to_string(q)) return q;
    return std::nullopt;
}

}  // namespace

ReplaySensor::ReplaySensor(std::string path) : m_path(std::move(path)) {}

Availability ReplaySensor::probe() {
    auto text = read_text_file(m_path);
    if (!text) return Availability::no(text.error());
    CsvTable table = parse_csv(*text);
    const char* needed[] = {"t_s", "channel", "domain", "device", "quantity", "behaviour", "value"};
    for (const char* column : needed)
        if (table.column(column) < 0)
            return Availability::no(m_path + " is not a joulecast trace: column '" + column + "' is missing");
    const int c_t = table.column("t_s"), c_channel = table.column("channel"),
              c_domain = table.column("domain"), c_device = table.column("device"),
              c_quantity = table.column("quantity"), c_behaviour = table.column("behaviour"),
              c_modelled = table.column("modelled"), c_value = table.column("value"),
              c_sensor = table.column("sensor");

    std::map<std::string, std::size_t> index;
    double first_t = 0;
    bool have_first = false;
    for (std::size_t row_number = 0; row_number < table.rows.size(); ++row_number) {
        const auto& row = table.rows[row_number];
        auto t = parse_double(row[c_t]);
        auto value = parse_double(row[c_value]);
        auto quantity = parse_quantity(row[c_quantity]);
        if (!t || !value || !quantity)
            return Availability::no(m_path + ":" + std::to_string(row_number + 2) +
                                    ": malformed row (t_s, quantity or value unreadable)");
        // Channels of different sensors may share a name: key by sensor and channel.
        std::string key = (c_sensor >= 0 ? row[c_sensor] + "/" : std::string()) + row[c_channel];
        auto [it, inserted] = index.try_emplace(key, m_channels.size());
        if (inserted) {
            Channel channel;
            channel.name = row[c_channel];
            channel.domain = row[c_domain];
            channel.device = row[c_device];
            channel.quantity = *quantity;
            channel.behaviour = row[c_behaviour] == "counter" ? Behaviour::counter : Behaviour::gauge;
            channel.modelled = c_modelled >= 0 && (row[c_modelled] == "1" || row[c_modelled] == "true");
            channel.accounted = channel.domain != "core" && channel.domain != "uncore";
            m_channels.push_back(channel);
            m_series.emplace_back();
        }
        if (!have_first) first_t = *t, have_first = true;
        first_t = std::min(first_t, *t);
        m_series[it->second].t_s.push_back(*t);
        m_series[it->second].values.push_back(*value);
    }
    if (m_channels.empty()) return Availability::no(m_path + " holds no readings");
    for (std::size_t c = 0; c < m_series.size(); ++c) {
        auto& series = m_series[c];
        std::vector<std::size_t> order(series.t_s.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return series.t_s[a] < series.t_s[b]; });
        Series sorted;
        const double origin =
            m_channels[c].behaviour == Behaviour::counter ? series.values[order.front()] : 0.0;
        for (auto i : order) {
            sorted.t_s.push_back(series.t_s[i] - first_t);
            sorted.values.push_back(series.values[i] - origin);
        }
        m_duration_s = std::max(m_duration_s, sorted.t_s.back());
        series = std::move(sorted);
    }
    m_start_ns = monotonic_ns();
    return Availability::yes();
}

double ReplaySensor::value_at(std::size_t channel, double elapsed_s) const {
    const Series& series = m_series.at(channel);
    auto upper = std::upper_bound(series.t_s.begin(), series.t_s.end(), elapsed_s);
    if (upper == series.t_s.begin()) return series.values.front();
    if (upper == series.t_s.end()) return series.values.back();
    std::size_t b = static_cast<std::size_t>(upper - series.t_s.begin());
    std::size_t a = b - 1;
    // A counter that goes down between two rows was reset: it holds its value up to the next row and drops
    // there, once, instead of falling over the interval (one reset, not one per reading).
    if (m_channels.at(channel).behaviour == Behaviour::counter && series.values[b] < series.values[a])
        return series.values[a];
    double span = series.t_s[b] - series.t_s[a];
    double fraction = span > 0 ? (elapsed_s - series.t_s[a]) / span : 1.0;
    return series.values[a] + fraction * (series.values[b] - series.values[a]);
}

ReadStatus ReplaySensor::read(std::size_t channel, double& value) {
    if (channel >= m_channels.size()) return ReadStatus::error;
    value = value_at(channel, ns_to_s(monotonic_ns() - m_start_ns));
    return ReadStatus::ok;
}

std::vector<std::string> ReplaySensor::notes() const {
    return {"replaying " + std::to_string(m_channels.size()) + " channels over " +
            std::to_string(m_duration_s) + " s from " + m_path};
}

std::vector<std::string> ReplaySensor::run_warnings(double ran_s) const {
    // 50 ms of slack: the last reading lands up to one sampling period after the recording's last row.
    if (!(ran_s > m_duration_s + 0.05)) return {};
    char text[160];
    std::snprintf(text, sizeof text, " ends after %.2f s but the run lasted %.2f s", m_duration_s, ran_s);
    return {"the replayed trace " + m_path + text + ": its last readings are held for the rest"};
}

}  // namespace joulecast::sensors
