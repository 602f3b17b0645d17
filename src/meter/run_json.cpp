#include "meter/run_json.hpp"

#include <set>
#include <string>

#include "core/json_fields.hpp"

namespace joulecast::meter {

using core::Error;
using core::HostInfo;
using core::number_or;
using core::optional_json;
using core::Result;
using core::string_or;

using sensors::GpuInfo;
using sensors::Method;

namespace {

using Json = nlohmann::ordered_json;

// ---- Writing ---------------------------------------------------------------------------------------------

Json optional_number(const std::optional<long long>& value) {
    return value ? Json(*value) : Json(nullptr);
}
Json optional_number(const std::optional<double>& value) {
    return optional_json(value);
}

/// The one shape of an energy figure, for a run, a phase and an epoch: the total, the three main domains
/// (0 when absent), the measured and modelled parts, then any other domain.
Json energy_object(double total, const std::map<std::string, double>& domain_j, double measured,
                   double modelled) {
    auto domain = [&](const char* name) {
        auto it = domain_j.find(name);
        return it == domain_j.end() ? 0.0 : it->second;
    };
    Json j = {{"total", total},         {"gpu", domain("gpu")}, {"cpu", domain("cpu")},
              {"dram", domain("dram")}, {"measured", measured}, {"modelled", modelled}};
    for (const auto& [name, joules] : domain_j)
        if (!j.contains(name)) j[name] = joules;
    return j;
}

Json source_json(const SourceEnergy& s) {
    return {{"sensor", s.sensor},   {"channel", s.channel},          {"domain", s.domain},
            {"device", s.device},   {"method", to_string(s.method)}, {"energy_j", s.energy_j},
            {"samples", s.samples}, {"accounted", s.accounted}};
}

Json forecast_json(const RunForecast& f) {
    Json j;
    j["target"] = {{"kind", to_string(f.target)}, {"amount", f.target_amount}};
    j["basis"] = to_string(f.basis);
    j["window_s"] = f.basis == ForecastBasis::windows ? Json(f.window_s) : Json(nullptr);
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
    write_forecast_working(j, f);
    return j;
}

// ---- Reading ---------------------------------------------------------------------------------------------

/// A field with the wrong JSON type: what run_from_json reports.
struct BadField {
    std::string what;
};

template <typename J, typename T>
void read(const J& object, const char* key, T& out) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return;
    try {
        out = it->template get<T>();
    } catch (const nlohmann::json::exception&) {
        throw BadField{std::string("'") + key + "' is " + it->type_name()};
    }
}

template <typename J, typename T>
void read(const J& object, const char* key, std::optional<T>& out) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return;
    T value{};
    read(object, key, value);
    out = value;
}

template <typename J>
const J* member(const J& object, const char* key, typename J::value_t type) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    if (it->type() != type) throw BadField{std::string("'") + key + "' is " + it->type_name()};
    return &*it;
}

template <typename J>
const J* array_member(const J& object, const char* key) {
    return member(object, key, J::value_t::array);
}

template <typename J>
const J* object_member(const J& object, const char* key) {
    return member(object, key, J::value_t::object);
}

template <typename Enum, typename J>
void read_enum(const J& object, const char* key, Enum& out, std::optional<Enum> (*parse)(std::string_view)) {
    std::string text;
    read(object, key, text);
    if (text.empty()) return;
    auto value = parse(text);
    if (!value)
        throw BadField{std::string("'") + key + "' is '" + text + "', which this joulecast does not know"};
    out = *value;
}

/// An energy figure of schema /2 (energy_object) or /1 (a number, with the domains in `domain_j` beside it).
/// The three main domains are written as 0 when absent: a 0 is read back as absent unless `present` names it.
template <typename J>
void read_energy(const J& parent, const char* key, double& total, std::map<std::string, double>& domain_j,
                 double* measured, double* modelled, const std::set<std::string>& present = {}) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return;
    if (it->is_number()) {  // schema /1
        total = it->template get<double>();
        if (const J* domains = object_member(parent, "domain_j"))
            for (const auto& [name, joules] : domains->items())
                if (joules.is_number()) domain_j[name] = joules.template get<double>();
        return;
    }
    if (!it->is_object()) throw BadField{std::string("'") + key + "' is " + it->type_name()};
    for (const auto& [name, value] : it->items()) {
        if (!value.is_number())
            throw BadField{std::string("'") + key + "." + name + "' is " + value.type_name()};
        const double joules = value.template get<double>();
        if (name == "total") {
            total = joules;
        } else if (name == "measured") {
            if (measured) *measured = joules;
        } else if (name == "modelled") {
            if (modelled) *modelled = joules;
        } else if (joules != 0 || !(name == "gpu" || name == "cpu" || name == "dram") ||
                   present.count(name)) {
            domain_j[name] = joules;
        }
    }
}

template <typename J>
RunForecast read_forecast(const J& j) {
    RunForecast f;
    if (const J* target = object_member(j, "target")) {
        read_enum(*target, "kind", f.target, parse_target_kind);
        read(*target, "amount", f.target_amount);
    } else if (j.contains("target")) {
        throw BadField{"'forecast.target' is not an object"};
    }
    read_enum(j, "basis", f.basis, parse_forecast_basis);
    read(j, "window_s", f.window_s);
    read(j, "total_energy_j", f.total_energy_j);
    read(j, "low_energy_j", f.low_energy_j);
    read(j, "high_energy_j", f.high_energy_j);
    read(j, "confidence", f.confidence);
    read(j, "total_duration_s", f.total_duration_s);
    read(j, "co2e_g", f.co2e_g);
    read(j, "low_co2e_g", f.low_co2e_g);
    read(j, "high_co2e_g", f.high_co2e_g);
    read(j, "method", f.method);
    read(j, "converged", f.converged);
    ForecastWorking::for_each_field(static_cast<ForecastWorking&>(f),
                                    [&](const char* key, auto& field) { read(j, key, field); });
    return f;
}

template <typename J>
PhaseResult read_phase(const J& p) {
    PhaseResult out;
    read(p, "name", out.name);
    read(p, "start_s", out.start_s);
    read(p, "end_s", out.end_s);
    read_energy(p, "energy_j", out.energy_j, out.domain_j, &out.measured_j, &out.modelled_j);
    read(p, "samples", out.samples);
    read(p, "energy_per_sample_j", out.energy_per_sample_j);
    read(p, "co2e_g", out.co2e_g);
    read_enum(p, "boundary", out.boundary, parse_phase_boundary);
    read(p, "closed", out.closed);
    read(p, "fields", out.fields);
    return out;
}

template <typename J>
EpochResult read_epoch(const J& e) {
    EpochResult out;
    read(e, "n", out.n);
    read(e, "start_s", out.start_s);
    read(e, "end_s", out.end_s);
    read_energy(e, "energy_j", out.energy_j, out.domain_j, &out.measured_j, &out.modelled_j);
    read(e, "samples", out.samples);
    read(e, "energy_per_sample_j", out.energy_per_sample_j);
    return out;
}

template <typename J>
void read_energy_part(const J& j, RunResult& r) {
    WindowEnergy& e = r.energy;
    read(j, "energy_method", e.domain_method);
    std::set<std::string> present;
    for (const auto& [domain, method] : e.domain_method) present.insert(domain);
    read_energy(j, "energy_j", e.total_j, e.domain_j, &e.measured_j, &e.modelled_j, present);
    if (const J* sources = array_member(j, "sources")) {
        for (const auto& s : *sources) {
            SourceEnergy out;
            read(s, "sensor", out.sensor);
            read(s, "channel", out.channel);
            read(s, "domain", out.domain);
            read(s, "device", out.device);
            std::string method;
            read(s, "method", method);
            if (method == "integrated")
                out.method = Method::integrated;
            else if (method == "modelled")
                out.method = Method::modelled;
            else if (method.empty() || method == "counter")
                out.method = Method::counter;
            else
                throw BadField{"'sources[].method' is '" + method + "'"};
            read(s, "energy_j", out.energy_j);
            read(s, "samples", out.samples);
            read(s, "accounted", out.accounted);
            e.sources.push_back(std::move(out));
        }
    }
    if (const J* disagreements = array_member(j, "disagreements"))
        for (const auto& d : *disagreements) {
            Disagreement out;
            read(d, "device", out.device);
            read(d, "counter_j", out.counter_j);
            read(d, "integrated_j", out.integrated_j);
            e.disagreements.push_back(std::move(out));
        }
    // The window in CLOCK_MONOTONIC time, as the run measured it: from the command's start for its duration.
    e.start_ns = r.origin_monotonic_ns;
    e.end_ns = r.origin_monotonic_ns + static_cast<std::int64_t>(r.duration_s * 1e9);
}

template <typename J>
RunResult read_run(const J& j) {
    RunResult r;
    read(j, "id", r.id);
    read(j, "name", r.name);
    read(j, "command", r.command);
    read(j, "exit_code", r.exit_code);
    read_enum(j, "status", r.status, parse_run_status);
    read(j, "partial", r.partial);
    read(j, "started_at", r.started_at);
    read(j, "duration_s", r.duration_s);
    read(j, "origin_monotonic_ns", r.origin_monotonic_ns);
    if (const J* host = object_member(j, "host")) r.host = host_from_json(nlohmann::json(*host), r.gpus);
    if (const J* job = object_member(j, "job")) {
        if (auto it = job->find("id"); it != job->end() && !it->is_null()) read(*job, "id", r.job_id);
        read(*job, "source", r.job_source);
        read(*job, "node", r.node);
        read(*job, "node_rank", r.node_rank);
        read(*job, "node_rank_source", r.node_rank_source);
    }

    read_energy_part(j, r);
    if (const J* attributed = object_member(j, "attributed")) {
        AttributedEnergy& a = r.attributed;
        a.measurable = attributed->contains("cpu_j") && (*attributed)["cpu_j"].is_number();
        read(*attributed, "method", a.method);
        read(*attributed, "reason", a.reason);
        read(*attributed, "cpu_j", a.cpu_j);
        read(*attributed, "dram_j", a.dram_j);
        read(*attributed, "gross_cpu_j", a.gross_cpu_j);
        read(*attributed, "gross_dram_j", a.gross_dram_j);
        a.gpu_measurable = attributed->contains("gpu_j") && (*attributed)["gpu_j"].is_number();
        read(*attributed, "gpu_j", a.gpu_j);
        read(*attributed, "gross_gpu_j", a.gross_gpu_j);
        read(*attributed, "gpu_reason", a.gpu_reason);
        if (const J* gpus = array_member(*attributed, "gpus"))
            for (const auto& g : *gpus) {
                AttributedGpu gpu;
                read(g, "device", gpu.device);
                read(g, "gross_j", gpu.gross_j);
                read(g, "attributed_j", gpu.attributed_j);
                read(g, "method", gpu.method);
                read(g, "reason", gpu.reason);
                a.gpus.push_back(std::move(gpu));
            }
    }
    if (const J* idle = object_member(j, "idle")) {
        IdleBaseline baseline;
        read(*idle, "duration_s", baseline.duration_s);
        read(*idle, "power_w", baseline.power_w);
        read(*idle, "domain_power_w", baseline.domain_power_w);
        r.idle = baseline;
    }
    read(j, "net_energy_j", r.net_energy_j);
    if (const J* power = object_member(j, "power_w")) {
        read(*power, "mean", r.mean_power_w);
        read(*power, "peak", r.peak_power_w);
    }

    if (const J* phases = array_member(j, "phases"))
        for (const auto& p : *phases) r.phases.push_back(read_phase(p));
    if (const J* epochs = array_member(j, "epochs"))
        for (const auto& e : *epochs) r.epochs.push_back(read_epoch(e));
    if (const J* ranks = array_member(j, "ranks"))
        for (const auto& k : *ranks) {
            RankResult rank;
            read(k, "rank", rank.rank);
            read(k, "local_rank", rank.local_rank);
            read(k, "world_size", rank.world_size);
            read(k, "node_rank", rank.node_rank);
            read(k, "pid", rank.pid);
            read(k, "launcher", rank.launcher);
            if (auto it = k.find("gpu"); it != k.end() && it->is_number_unsigned())
                rank.gpu_index = it->template get<unsigned>();
            if (rank.gpu_index)
                rank.gpu_device = string_or(k, "gpu_device", sensors::nvml_device_name(*rank.gpu_index));
            read(k, "gpu_source", rank.gpu_source);
            read(k, "gpu_energy_j", rank.gpu_energy_j);
            if (const J* phases = array_member(k, "phases"))
                for (const auto& p : *phases) rank.phases.push_back(read_phase(p));
            if (const J* epochs = array_member(k, "epochs"))
                for (const auto& e : *epochs) rank.epochs.push_back(read_epoch(e));
            r.ranks.push_back(std::move(rank));
        }
    read(j, "training_energy_j", r.training_energy_j);
    read(j, "inference_energy_j", r.inference_energy_j);
    if (const J* carbon = object_member(j, "carbon")) {
        CarbonResult c;
        read(*carbon, "intensity_g_per_kwh", c.intensity_g_per_kwh);
        read(*carbon, "intensity_source", c.intensity_source);
        read(*carbon, "pue", c.pue);
        read(*carbon, "co2e_g", c.co2e_g);
        r.carbon = c;
    }
    if (const J* forecast = object_member(j, "forecast")) r.forecast = read_forecast(*forecast);
    read(j, "meta", r.meta);
    if (const J* metrics = object_member(j, "metrics"))
        for (const auto& [name, metric] : metrics->items()) {
            MetricSeries& series = r.metrics[name];
            if (const J* points = array_member(metric, "series"))
                for (const auto& point : *points) {
                    if (!point.is_array() || point.size() != 2 || !point[0].is_number() ||
                        !point[1].is_number())
                        throw BadField{"'metrics." + name + ".series' holds something other than [t, value]"};
                    series.points.emplace_back(point[0].template get<double>(),
                                               point[1].template get<double>());
                }
        }
    read(j, "tags", r.tags);
    read(j, "control", r.control);

    if (const J* sensors = array_member(j, "sensors"))
        for (const auto& s : *sensors) {
            SensorReport out;
            read(s, "name", out.name);
            read(s, "available", out.available);
            read(s, "used", out.used);
            read(s, "reason", out.reason);
            read(s, "role", out.role);
            read(s, "notes", out.notes);
            r.sensors.push_back(std::move(out));
        }
    read(j, "fallbacks", r.fallbacks);
    if (const J* problems = array_member(j, "problems"))
        for (const auto& p : *problems) {
            ChannelProblem out;
            read(p, "sensor", out.sensor);
            read(p, "channel", out.channel);
            read(p, "errors", out.errors);
            read(p, "unsupported", out.unsupported);
            read(p, "lost", out.lost);
            r.problems.push_back(std::move(out));
        }
    read(j, "warnings", r.warnings);
    if (const J* overhead = object_member(j, "overhead")) {
        read(*overhead, "cpu_s", r.overhead.process_cpu_s);
        read(*overhead, "sampler_cpu_s", r.overhead.sampler_cpu_s);
        read(*overhead, "readings", r.overhead.readings);
        read(*overhead, "wall_s", r.overhead.wall_s);
        read(*overhead, "interval_s", r.overhead.interval_s);
    }
    return r;
}

template <typename J>
Result<RunResult> from_json(const J& document) {
    if (!document.is_object()) return Error{"a run result must be a JSON object"};
    std::string schema;
    auto it = document.find("schema");
    if (it != document.end() && it->is_string()) schema = it->template get<std::string>();
    if (schema != run_schema && schema != "joulecast.run/1")
        return Error{schema.empty() ? std::string("not a joulecast run result (no \"schema\")")
                                    : "run result schema '" + schema + "' is not one this joulecast reads (" +
                                          run_schema + " and joulecast.run/1)"};
    try {
        return read_run(document);
    } catch (const BadField& bad) {
        return Error{"run result " + string_or(document, "id") + ": " + bad.what};
    }
}

}  // namespace

void write_forecast_working(nlohmann::ordered_json& j, const ForecastWorking& working) {
    ForecastWorking::for_each_field(working, [&](const char* key, const auto& field) { j[key] = field; });
}

namespace {

/// One GPU of the result: what the sensor saw, its accounted energy, and what the job did on it.
Json gpu_json(const GpuInfo& g, const WindowEnergy& energy) {
    Json j{{"index", g.index},
           {"device", g.device},
           {"name", g.name},
           {"uuid", g.uuid},
           {"power_limit_w", g.power_limit_w}};
    j["energy_j"] = optional_number(gpu_energy(energy, g.device));
    j["energy_scope"] = g.mig ? "whole board (MIG mode: every instance together)" : "whole GPU";
    j["mig"] = g.mig;
    j["used"] = g.used ? Json(*g.used) : Json(nullptr);
    j["shared"] = !g.other_pids.empty();
    j["job_pids"] = g.job_pids;
    j["other_pids"] = g.other_pids;
    if (g.mig) j["job_instances"] = g.job_instances;
    return j;
}

}  // namespace

HostInfo host_from_json(const nlohmann::json& j, std::vector<GpuInfo>& gpus) {
    HostInfo host;
    host.hostname = string_or(j, "hostname");
    host.cpu_model = string_or(j, "cpu_model");
    host.cores = static_cast<unsigned>(number_or(j, "cores"));
    host.memory_bytes = j.contains("memory_bytes") && j["memory_bytes"].is_number_unsigned()
                            ? j["memory_bytes"].get<std::uint64_t>()
                            : static_cast<std::uint64_t>(number_or(j, "memory_bytes"));
    if (j.contains("gpus") && j["gpus"].is_array())
        for (const auto& g : j["gpus"])
            if (g.is_object()) {
                GpuInfo gpu;
                gpu.index = static_cast<unsigned>(number_or(g, "index"));
                gpu.device = string_or(g, "device", sensors::nvml_device_name(gpu.index));
                gpu.name = string_or(g, "name");
                gpu.uuid = string_or(g, "uuid");
                gpu.power_limit_w = number_or(g, "power_limit_w");
                if (auto it = g.find("mig"); it != g.end() && it->is_boolean()) gpu.mig = it->get<bool>();
                if (auto it = g.find("used"); it != g.end() && it->is_boolean()) gpu.used = it->get<bool>();
                for (const char* key : {"job_pids", "other_pids"})
                    if (auto it = g.find(key); it != g.end() && it->is_array())
                        for (const auto& pid : *it)
                            if (pid.is_number_integer())
                                (key[0] == 'j' ? gpu.job_pids : gpu.other_pids).push_back(pid.get<int>());
                if (auto it = g.find("job_instances"); it != g.end() && it->is_array())
                    for (const auto& id : *it)
                        if (id.is_number_unsigned()) gpu.job_instances.push_back(id.get<unsigned>());
                gpus.push_back(std::move(gpu));
            }
    return host;
}

Result<RunResult> run_from_json(const nlohmann::ordered_json& document) {
    return from_json(document);
}
Result<RunResult> run_from_json(const nlohmann::json& document) {
    return from_json(document);
}

nlohmann::ordered_json to_json(const RunResult& r) {
    Json j;
    j["schema"] = run_schema;
    j["id"] = r.id;
    j["name"] = r.name;
    j["command"] = r.command;
    j["exit_code"] = r.partial ? Json(nullptr) : Json(r.exit_code);
    j["status"] = to_string(r.status);
    j["started_at"] = r.started_at;
    j["duration_s"] = r.duration_s;
    j["origin_monotonic_ns"] = r.origin_monotonic_ns;

    Json gpus = Json::array();
    for (const auto& g : r.gpus) gpus.push_back(gpu_json(g, r.energy));
    j["host"] = {{"hostname", r.host.hostname},
                 {"cpu_model", r.host.cpu_model},
                 {"cores", r.host.cores},
                 {"memory_bytes", r.host.memory_bytes},
                 {"gpus", gpus}};
    j["job"] = {{"id", r.job_id.empty() ? Json(nullptr) : Json(r.job_id)},
                {"source", r.job_source},
                {"node", r.node},
                {"node_rank", optional_number(r.node_rank)},
                {"node_rank_source", r.node_rank_source}};

    const WindowEnergy& e = r.energy;
    j["energy_j"] = energy_object(e.total_j, e.domain_j, e.measured_j, e.modelled_j);
    j["energy_method"] = e.domain_method;
    const AttributedEnergy& a = r.attributed;
    j["attributed"] =
        a.measurable ? Json{{"cpu_j", a.cpu_j},
                            {"dram_j", a.dram_j},
                            {"gross_cpu_j", a.gross_cpu_j},
                            {"gross_dram_j", a.gross_dram_j},
                            {"method", a.method}}
                     : Json{{"cpu_j", nullptr},
                            {"dram_j", nullptr},
                            {"method", a.method},
                            {"reason", a.reason.empty() ? "unmeasurable: no command was run" : a.reason}};
    if (!a.gpus.empty()) {
        Json& attributed = j["attributed"];
        attributed["gpu_j"] = a.gpu_measurable ? Json(a.gpu_j) : Json(nullptr);
        attributed["gross_gpu_j"] = a.gross_gpu_j;
        if (!a.gpu_measurable) attributed["gpu_reason"] = a.gpu_reason;
        Json shares = Json::array();
        for (const AttributedGpu& g : a.gpus) {
            Json one{{"device", g.device},
                     {"gross_j", g.gross_j},
                     {"attributed_j", g.attributed_j ? Json(*g.attributed_j) : Json(nullptr)}};
            if (g.attributed_j)
                one["method"] = g.method;
            else
                one["reason"] = g.reason;
            shares.push_back(std::move(one));
        }
        attributed["gpus"] = shares;
    }
    if (r.idle) {
        j["idle_power_w"] = r.idle->power_w;
        j["idle"] = {{"duration_s", r.idle->duration_s},
                     {"power_w", r.idle->power_w},
                     {"domain_power_w", r.idle->domain_power_w}};
    } else {
        j["idle_power_w"] = nullptr;
    }
    j["net_energy_j"] = optional_json(r.net_energy_j);
    j["power_w"] = {{"mean", r.mean_power_w}, {"peak", r.peak_power_w}};

    // Errors are per channel; a source lists those of its own channel.
    Json sources = Json::array();
    for (const auto& s : e.sources) {
        auto sj = source_json(s);
        std::uint64_t errors = 0;
        for (const auto& p : r.problems)
            if (p.sensor == s.sensor && p.channel == s.channel) errors += p.errors;
        sj["errors"] = errors;
        sources.push_back(sj);
    }
    j["sources"] = sources;
    Json disagreements = Json::array();
    for (const auto& d : e.disagreements)
        disagreements.push_back({{"device", d.device},
                                 {"counter_j", d.counter_j},
                                 {"integrated_j", d.integrated_j},
                                 {"relative", d.relative()}});
    j["disagreements"] = disagreements;

    auto phase_json = [&r](const PhaseResult& p) {
        return Json{{"name", p.name},
                    {"start_s", p.start_s},
                    {"end_s", p.end_s},
                    {"duration_s", p.end_s - p.start_s},
                    {"energy_j", energy_object(p.energy_j, p.domain_j, p.measured_j, p.modelled_j)},
                    {"samples", optional_number(p.samples)},
                    {"energy_per_sample_j", optional_number(p.energy_per_sample_j)},
                    {"mean_power_w", p.mean_power_w()},
                    {"co2e_g", p.co2e_g},
                    {"co2e_per_sample_g", optional_number(co2e_per_sample_g(r, p.energy_j, p.samples))},
                    {"boundary", to_string(p.boundary)},
                    {"closed", p.closed},
                    {"fields", p.fields}};
    };
    auto epoch_json = [&r](const EpochResult& epoch) {
        const auto per_sample = co2e_per_sample_g(r, epoch.energy_j, epoch.samples);
        return Json{
            {"n", epoch.n},
            {"start_s", epoch.start_s},
            {"end_s", epoch.end_s},
            {"energy_j", energy_object(epoch.energy_j, epoch.domain_j, epoch.measured_j, epoch.modelled_j)},
            {"samples", optional_number(epoch.samples)},
            {"energy_per_sample_j", optional_number(epoch.energy_per_sample_j)},
            {"co2e_g", optional_number(co2e_of(r, epoch.energy_j))},
            {"co2e_per_sample_g", optional_number(per_sample)}};
    };
    Json phases = Json::array();
    for (const auto& p : r.phases) phases.push_back(phase_json(p));
    j["phases"] = phases;
    Json epochs = Json::array();
    for (const auto& epoch : r.epochs) epochs.push_back(epoch_json(epoch));
    j["epochs"] = epochs;
    Json ranks = Json::array();
    for (const RankResult& rank : r.ranks) {
        Json rank_phases = Json::array(), rank_epochs = Json::array();
        for (const auto& p : rank.phases) rank_phases.push_back(phase_json(p));
        for (const auto& epoch : rank.epochs) rank_epochs.push_back(epoch_json(epoch));
        ranks.push_back({{"rank", rank.rank},
                         {"local_rank", optional_number(rank.local_rank)},
                         {"world_size", optional_number(rank.world_size)},
                         {"node_rank", optional_number(rank.node_rank)},
                         {"pid", optional_number(rank.pid)},
                         {"launcher", rank.launcher},
                         {"gpu", rank.gpu_index ? Json(*rank.gpu_index) : Json(nullptr)},
                         {"gpu_device", rank.gpu_index ? Json(rank.gpu_device) : Json(nullptr)},
                         {"gpu_source", rank.gpu_source},
                         {"gpu_energy_j", optional_number(rank.gpu_energy_j)},
                         {"phases", rank_phases},
                         {"epochs", rank_epochs}});
    }
    j["ranks"] = ranks;
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
    j["forecast"] = r.forecast ? forecast_json(*r.forecast) : Json(nullptr);
    j["meta"] = r.meta;
    Json metrics = Json::object();
    for (const auto& [name, series] : r.metrics) {
        Json points = Json::array();
        for (const auto& [t, v] : series.points) points.push_back({t, v});
        metrics[name] = {{"last", series.last()}, {"series", points}};
    }
    j["metrics"] = metrics;
    j["tags"] = r.tags;
    j["control"] = r.control;

    Json sensors = Json::array();
    for (const auto& s : r.sensors)
        sensors.push_back({{"name", s.name},
                           {"available", s.available},
                           {"used", s.used},
                           {"reason", s.reason},
                           {"role", s.role},
                           {"notes", s.notes}});
    j["sensors"] = sensors;
    j["fallbacks"] = r.fallbacks;
    Json problems = Json::array();
    for (const auto& p : r.problems)
        problems.push_back({{"sensor", p.sensor},
                            {"channel", p.channel},
                            {"errors", p.errors},
                            {"unsupported", p.unsupported},
                            {"lost", p.lost}});
    j["problems"] = problems;
    j["warnings"] = r.warnings;
    j["overhead"] = {{"cpu_s", r.overhead.process_cpu_s},
                     {"sampler_cpu_s", r.overhead.sampler_cpu_s},
                     {"readings", r.overhead.readings},
                     {"wall_s", r.overhead.wall_s},
                     {"interval_s", r.overhead.interval_s}};
    if (r.partial) j["partial"] = true;
    return j;
}

}  // namespace joulecast::meter
