#include "store/export.hpp"

#include <cstdio>

#include "core/json_fields.hpp"
#include "core/text.hpp"
#include "meter/run_json.hpp"

namespace joulecast::store {

using core::csv_field;
using core::optional_json;

using sensors::unit_of;

using meter::Reading;
using meter::to_json;
using meter::TraceChannel;

namespace {

std::string number(double value, const char* format = "%.15g") {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string number(const std::optional<double>& value) {
    return value ? number(*value) : std::string();
}

std::string joined_command(const std::vector<std::string>& command) {
    std::string text;
    for (const auto& word : command) text += (text.empty() ? "" : " ") + word;
    return text;
}

}  // namespace

void write_runs_csv(std::ostream& out, const std::vector<RunSummary>& runs) {
    out << runs_csv_header << '\n';
    for (const RunSummary& r : runs) {
        std::string tags;
        for (const auto& [key, value] : r.tags) tags += (tags.empty() ? "" : ";") + key + "=" + value;
        out << csv_field(r.id) << ',' << csv_field(r.name) << ',' << csv_field(to_string(r.status)) << ','
            << csv_field(r.started_at) << ',' << number(r.duration_s) << ','
            << (r.exit_code ? std::to_string(*r.exit_code) : "") << ',' << number(r.total_energy_j) << ','
            << number(r.gpu_energy_j) << ',' << number(r.cpu_energy_j) << ',' << number(r.dram_energy_j)
            << ',' << number(r.measured_energy_j) << ',' << number(r.modelled_energy_j) << ','
            << number(r.co2e_g) << ',' << (r.finished ? 1 : 0) << ',' << csv_field(r.hostname) << ','
            << csv_field(joined_command(r.command)) << ',' << csv_field(tags) << '\n';
    }
}

void write_readings_csv(std::ostream& out, RunStore& store, const std::vector<RunSummary>& runs) {
    out << readings_csv_header << '\n';
    for (const RunSummary& r : runs) {
        const StoredTrace stored = store.trace(r.id);
        for (const Reading& reading : stored.readings) {
            if (reading.channel >= stored.channels.size()) continue;
            const TraceChannel& tc = stored.channels[reading.channel];
            out << r.id << ',' << number(static_cast<double>(reading.t_ns) * 1e-9, "%.9f") << ','
                << csv_field(tc.sensor) << ',' << csv_field(tc.channel.name) << ','
                << csv_field(tc.channel.domain) << ',' << csv_field(tc.channel.device) << ','
                << to_string(tc.channel.quantity) << ',' << to_string(tc.channel.behaviour) << ','
                << (tc.channel.modelled ? 1 : 0) << ',' << unit_of(tc.channel.quantity) << ','
                << number(reading.value, "%.17g") << '\n';
        }
    }
}

nlohmann::ordered_json summary_json(const RunSummary& r) {
    return {
        {"id", r.id},
        {"name", r.name},
        {"status", to_string(r.status)},
        {"command", r.command},
        {"started_at", r.started_at},
        {"duration_s", optional_json(r.duration_s)},
        {"exit_code", r.exit_code ? nlohmann::ordered_json(*r.exit_code) : nlohmann::ordered_json(nullptr)},
        {"energy_j",
         {{"total", optional_json(r.total_energy_j)},
          {"gpu", optional_json(r.gpu_energy_j)},
          {"cpu", optional_json(r.cpu_energy_j)},
          {"dram", optional_json(r.dram_energy_j)},
          {"measured", optional_json(r.measured_energy_j)},
          {"modelled", optional_json(r.modelled_energy_j)}}},
        {"co2e_g", optional_json(r.co2e_g)},
        {"finished", r.finished},
        {"hostname", r.hostname},
        {"job", r.job_id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.job_id)},
        {"node", r.node},
        {"node_rank", r.node_rank ? nlohmann::ordered_json(*r.node_rank) : nlohmann::ordered_json(nullptr)},
        {"tags", r.tags}};
}

nlohmann::ordered_json export_json(RunStore& store, const std::vector<RunSummary>& runs, bool readings) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const RunSummary& r : runs) {
        // Every run in the current schema, whatever schema it was stored in.
        nlohmann::ordered_json document = to_json(store.get(r.id));
        if (readings) {
            const StoredTrace stored = store.trace(r.id);
            nlohmann::ordered_json channels = nlohmann::ordered_json::array();
            for (std::size_t i = 0; i < stored.channels.size(); ++i) {
                const TraceChannel& tc = stored.channels[i];
                channels.push_back({{"index", i},
                                    {"sensor", tc.sensor},
                                    {"name", tc.channel.name},
                                    {"domain", tc.channel.domain},
                                    {"device", tc.channel.device},
                                    {"quantity", to_string(tc.channel.quantity)},
                                    {"unit", unit_of(tc.channel.quantity)},
                                    {"behaviour", to_string(tc.channel.behaviour)},
                                    {"modelled", tc.channel.modelled},
                                    {"accounted", tc.channel.accounted}});
            }
            nlohmann::ordered_json values = nlohmann::ordered_json::array();
            for (const Reading& reading : stored.readings)
                values.push_back({static_cast<double>(reading.t_ns) * 1e-9, reading.channel, reading.value});
            document["trace"] = {{"channels", channels}, {"readings", values}};
        }
        out.push_back(std::move(document));
    }
    return out;
}

}  // namespace joulecast::store
