#include "report/json_result.hpp"

#include <cstdio>

#include "core/json_fields.hpp"
#include "core/text.hpp"
#include "sensors/replay/replay_sensor.hpp"

namespace joulecast {

namespace {

nlohmann::ordered_json source_json(const SourceEnergy& s) {
    return {{"sensor", s.sensor},  {"channel", s.channel},          {"domain", s.domain},
            {"device", s.device},  {"method", to_string(s.method)}, {"energy_j", s.energy_j},
            {"samples", s.samples}, {"accounted", s.accounted}};
}

nlohmann::ordered_json forecast_json(const RunForecast& f) {
    nlohmann::ordered_json j;
    j["target"] = {{"kind", f.target}, {"amount", f.target_amount}};
    j["basis"] = f.basis;
    j["window_s"] =
        f.basis == "windows" ? nlohmann::ordered_json(f.window_s) : nlohmann::ordered_json(nullptr);
    j["total_energy_j"] = f.total_energy_j;
    j["low_energy_j"] = f.low_energy_j;
    j["high_energy_j"] = f.high_energy_j;
    j["confidence"] = f.confidence;
    j["total_duration_s"] = f.total_duration_s;
    j["co2e_g"] = optional_json(f.co2e_g);
    j["low_co2e_g"] = optional_json(f.low_co2e_g);
    j["high_co2e_g"] = optional_json(f.high_co2e_g);
    j["method"] = f.method;
    j["converged"] = f.converged;
    // The forecaster's own fields (measured part, warm-up excluded, level, trend, notes, ...) after these.
    if (f.detail.is_object())
        for (const auto& [key, value] : f.detail.items())
            if (!j.contains(key)) j[key] = value;
    return j;
}

}  // namespace

nlohmann::ordered_json to_json(const RunResult& r) {
    nlohmann::ordered_json j;
    j["schema"] = run_schema;
    j["id"] = r.id;
    j["name"] = r.name;
    j["command"] = r.command;
    j["exit_code"] = r.exit_code;
    j["status"] = r.status;
    j["started_at"] = r.started_at;
    j["duration_s"] = r.duration_s;
    j["origin_monotonic_ns"] = r.origin_monotonic_ns;

    nlohmann::ordered_json gpus = nlohmann::ordered_json::array();
    for (const auto& g : r.gpus)
        gpus.push_back({{"index", g.index}, {"name", g.name}, {"uuid", g.uuid}, {"power_limit_w", g.power_limit_w}});
    j["host"] = {{"hostname", r.host.hostname},
                 {"cpu_model", r.host.cpu_model},
                 {"cores", r.host.cores},
                 {"memory_bytes", r.host.memory_bytes},
                 {"gpus", gpus}};

    const WindowEnergy& e = r.energy;
    j["energy_j"] = {{"total", e.total_j},        {"gpu", e.domain("gpu")},         {"cpu", e.domain("cpu")},
                     {"dram", e.domain("dram")},  {"measured", e.measured_j},       {"modelled", e.modelled_j}};
    for (const auto& [domain, joules] : e.domain_j)
        if (!j["energy_j"].contains(domain)) j["energy_j"][domain] = joules;
    j["energy_method"] = e.domain_method;
    const AttributedEnergy& a = r.attributed;
    j["attributed"] = a.measurable ? nlohmann::ordered_json{{"cpu_j", a.cpu_j}, {"dram_j", a.dram_j},
                                                           {"gross_cpu_j", a.gross_cpu_j},
                                                           {"gross_dram_j", a.gross_dram_j}, {"method", a.method}}
                                   : nlohmann::ordered_json{{"cpu_j", nullptr}, {"dram_j", nullptr},
                                                            {"method", a.method},
                                                            {"reason", a.reason.empty()
                                                                           ? "unmeasurable: no command was run"
                                                                           : a.reason}};
    if (r.idle) {
        j["idle_power_w"] = r.idle->power_w;
        j["idle"] = {{"duration_s", r.idle->duration_s}, {"power_w", r.idle->power_w},
                     {"domain_power_w", r.idle->domain_power_w}};
    } else {
        j["idle_power_w"] = nullptr;
    }
    j["net_energy_j"] = r.net_energy_j ? nlohmann::ordered_json(*r.net_energy_j) : nlohmann::ordered_json(nullptr);
    j["power_w"] = {{"mean", r.mean_power_w}, {"peak", r.peak_power_w}};

    // Errors are per channel; a source lists those of its own channel.
    nlohmann::ordered_json sources = nlohmann::ordered_json::array();
    for (const auto& s : e.sources) {
        auto sj = source_json(s);
        std::uint64_t errors = 0;
        for (const auto& p : r.problems)
            if (p.sensor == s.sensor && p.channel == s.channel) errors += p.errors;
        sj["errors"] = errors;
        sources.push_back(sj);
    }
    j["sources"] = sources;
    nlohmann::ordered_json disagreements = nlohmann::ordered_json::array();
    for (const auto& d : e.disagreements)
        disagreements.push_back({{"device", d.device}, {"counter_j", d.counter_j}, {"integrated_j", d.integrated_j},
                                 {"relative", d.relative()}});
    j["disagreements"] = disagreements;

    auto optional_number = [](const auto& value) {
        return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
    };
    nlohmann::ordered_json phases = nlohmann::ordered_json::array();
    for (const auto& p : r.phases)
        phases.push_back({{"name", p.name},
                          {"start_s", p.start_s},
                          {"end_s", p.end_s},
                          {"duration_s", p.end_s - p.start_s},
                          {"energy_j", p.energy_j},
                          {"domain_j", p.domain_j},
                          {"samples", optional_number(p.samples)},
                          {"energy_per_sample_j", optional_number(p.energy_per_sample_j)},
                          {"mean_power_w", p.end_s > p.start_s ? p.energy_j / (p.end_s - p.start_s) : 0.0},
                          {"co2e_g", p.co2e_g},
                          {"co2e_per_sample_g", optional_number(co2e_per_sample_g(r, p.energy_j, p.samples))},
                          {"boundary", p.boundary},
                          {"closed", p.closed},
                          {"fields", p.fields}});
    j["phases"] = phases;
    nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
    for (const auto& epoch : r.epochs) {
        const auto per_sample = co2e_per_sample_g(r, epoch.energy_j, epoch.samples);
        epochs.push_back({{"n", epoch.n},
                          {"start_s", epoch.start_s},
                          {"end_s", epoch.end_s},
                          {"energy_j", epoch.energy_j},
                          {"samples", optional_number(epoch.samples)},
                          {"energy_per_sample_j", optional_number(epoch.energy_per_sample_j)},
                          {"co2e_g", optional_number(co2e_of(r, epoch.energy_j))},
                          {"co2e_per_sample_g", optional_number(per_sample)}});
    }
    j["epochs"] = epochs;
    j["training_energy_j"] = optional_number(r.training_energy_j);
    j["inference_energy_j"] = optional_number(r.inference_energy_j);
    const std::optional<long long> samples = run_samples(r);
    const std::optional<double> run_per_sample = co2e_per_sample_g(r, r.energy.total_j, samples);
    if (r.carbon) {
        j["carbon"] = {{"intensity_g_per_kwh", r.carbon->intensity_g_per_kwh},
                       {"intensity_source", r.carbon->intensity_source},
                       {"pue", r.carbon->pue},
                       {"co2e_g", r.carbon->co2e_g},
                       {"samples", optional_number(samples)},
                       {"co2e_per_sample_g", optional_number(run_per_sample)}};
    } else {
        j["carbon"] = nullptr;
    }
    j["forecast"] = r.forecast ? forecast_json(*r.forecast) : nlohmann::ordered_json(nullptr);
    j["meta"] = r.meta;
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const auto& [name, series] : r.metrics) {
        nlohmann::ordered_json points = nlohmann::ordered_json::array();
        for (const auto& [t, v] : series.points) points.push_back({t, v});
        metrics[name] = {{"last", series.last()}, {"series", points}};
    }
    j["metrics"] = metrics;
    j["tags"] = r.tags;
    j["control"] = r.control;

    nlohmann::ordered_json sensors = nlohmann::ordered_json::array();
    for (const auto& s : r.sensors)
        sensors.push_back({{"name", s.name}, {"available", s.available}, {"used", s.used}, {"reason", s.reason},
                           {"role", s.role}, {"notes", s.notes}});
    j["sensors"] = sensors;
    j["fallbacks"] = r.fallbacks;
    nlohmann::ordered_json problems = nlohmann::ordered_json::array();
    for (const auto& p : r.problems)
        problems.push_back({{"sensor", p.sensor}, {"channel", p.channel}, {"errors", p.errors},
                            {"unsupported", p.unsupported}, {"lost", p.lost}});
    j["problems"] = problems;
    j["warnings"] = r.warnings;
    j["overhead"] = {{"cpu_s", r.overhead.process_cpu_s}, {"sampler_cpu_s", r.overhead.sampler_cpu_s},
                     {"readings", r.overhead.readings},    {"wall_s", r.overhead.wall_s},
                     {"interval_s", r.overhead.interval_s}};
    return j;
}

void write_trace_csv(std::ostream& out, const Trace& trace, std::int64_t origin_ns) {
    out << trace_csv_header << '\n';
    const auto& channels = trace.channels();
    char number[64];
    for (const Reading& r : trace.readings()) {
        if (r.channel >= channels.size()) continue;
        const auto& tc = channels[r.channel];
        std::snprintf(number, sizeof number, "%.9f", static_cast<double>(r.t_ns - origin_ns) * 1e-9);
        out << number << ',' << csv_field(tc.sensor) << ',' << csv_field(tc.channel.name) << ','
            << csv_field(tc.channel.domain) << ',' << csv_field(tc.channel.device) << ','
            << to_string(tc.channel.quantity) << ',' << to_string(tc.channel.behaviour) << ','
            << (tc.channel.modelled ? 1 : 0) << ',' << unit_of(tc.channel.quantity) << ',';
        std::snprintf(number, sizeof number, "%.17g", r.value);
        out << number << '\n';
    }
}

}  // namespace joulecast
