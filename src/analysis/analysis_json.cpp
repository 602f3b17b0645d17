// The analysis as JSON (schema joulecast.analysis/1). Missing values are null, never NaN.

#include "analysis/analysis.hpp"

#include <cmath>

#include "core/json_fields.hpp"

namespace joulecast::analysis {

using core::optional_json;

namespace {

using Json = nlohmann::ordered_json;

Json finite(double value) {
    return std::isfinite(value) ? Json(value) : Json(nullptr);
}

Json configuration_json(const ConfigurationStats& c) {
    return {{"key", c.key},
            {"label", c.label},
            {"model", c.model},
            {"device", c.device},
            {"batch_size", optional_json(c.batch_size)},
            {"learning_rate", optional_json(c.learning_rate)},
            {"epochs", optional_json(c.epochs)},
            {"threads", optional_json(c.threads)},
            {"power_limit_w", optional_json(c.power_limit_w)},
            {"run_ids", c.run_ids},
            {"n", c.n},
            {"energy_per_sample_j", optional_json(c.energy_per_sample_j)},
            {"energy_per_sample_sd_j", optional_json(c.energy_per_sample_sd_j)},
            {"basis", c.basis},
            {"training_energy_j", optional_json(c.training_energy_j)},
            {"inference_energy_j", optional_json(c.inference_energy_j)},
            {"training_energy_per_sample_j", optional_json(c.training_energy_per_sample_j)},
            {"inference_energy_per_sample_j", optional_json(c.inference_energy_per_sample_j)},
            {"accuracy", optional_json(c.accuracy)},
            {"accuracy_sd", optional_json(c.accuracy_sd)},
            {"method", to_json(c.method)}};
}

Json correlations_json(const CorrelationMatrix& m) {
    Json units = Json::array(), pearson = Json::array(), spearman = Json::array(), n = Json::array();
    for (const auto& name : m.variables) {
        const VariableInfo* v = find_variable(name);
        units.push_back(v ? v->unit : std::string());
    }
    for (const auto& row : m.cells) {
        Json p = Json::array(), s = Json::array(), c = Json::array();
        for (const auto& cell : row) {
            p.push_back(optional_json(cell.pearson));
            s.push_back(optional_json(cell.spearman));
            c.push_back(cell.n);
        }
        pearson.push_back(p);
        spearman.push_back(s);
        n.push_back(c);
    }
    Json omitted = Json::array();
    for (const auto& [variable, reason] : m.omitted)
        omitted.push_back({{"variable", variable}, {"reason", reason}});
    return {{"variables", m.variables}, {"units", units}, {"pearson", pearson},
            {"spearman", spearman},     {"n", n},         {"omitted", omitted}};
}

Json drivers_json(const DriverRanking& r) {
    Json drivers = Json::array();
    for (const auto& d : r.drivers)
        drivers.push_back({{"variable", d.variable},
                           {"spearman", finite(d.spearman)},
                           {"pearson", optional_json(d.pearson)},
                           {"n", d.n},
                           {"direction", d.direction},
                           {"strength", d.strength},
                           {"supported", d.supported}});
    return {{"outcome", r.outcome}, {"drivers", drivers}, {"notes", r.notes}};
}

Json pareto_json(const ParetoFront& f) {
    Json points = Json::array();
    for (const auto& p : f.points)
        points.push_back({{"label", p.label},
                          {"model", p.model},
                          {"batch_size", optional_json(p.batch_size)},
                          {"run_ids", p.run_ids},
                          {"n", p.n},
                          {"accuracy", finite(p.accuracy)},
                          {"energy_per_sample_j", finite(p.energy_per_sample_j)},
                          {"on_front", p.on_front},
                          {"at_chance", p.at_chance},
                          {"method", to_json(p.method)}});
    return {{"grouping", f.grouping}, {"basis", f.basis}, {"points", points}, {"notes", f.notes}};
}

Json optimal_batch_json(const OptimalBatch& o) {
    Json batches = Json::array();
    for (const auto& b : o.batches)
        batches.push_back({{"batch_size", finite(b.batch_size)},
                           {"n", b.n},
                           {"mean_energy_per_sample_j", finite(b.mean_energy_per_sample_j)},
                           {"sd_j", optional_json(b.sd_j)},
                           {"mean_accuracy", optional_json(b.mean_accuracy)},
                           {"at_chance", b.at_chance},
                           {"method", to_json(b.method)}});
    return {{"model", o.model},
            {"device", o.device},
            {"basis", o.basis},
            {"batches", batches},
            {"best_batch", finite(o.best_batch)},
            {"best_energy_per_sample_j", finite(o.best_energy_per_sample_j)},
            {"worst_batch", finite(o.worst_batch)},
            {"worst_energy_per_sample_j", finite(o.worst_energy_per_sample_j)},
            {"worst_to_best", optional_json(o.worst_to_best)},
            {"method", to_json(o.method)},
            {"notes", o.notes}};
}

Json inference_share_json(const InferenceShare& s) {
    return {{"label", s.label},
            {"model", s.model},
            {"n", s.n},
            {"inferences", finite(s.inferences)},
            {"training_energy_j", finite(s.training_energy_j)},
            {"inference_energy_per_sample_j", finite(s.inference_energy_per_sample_j)},
            {"lifetime_energy_j", finite(s.lifetime_energy_j)},
            {"inference_share", finite(s.inference_share)},
            {"break_even_inferences", optional_json(s.break_even_inferences)},
            {"method", to_json(s.method)}};
}

}  // namespace

Json to_json(const EnergyMethod& method) {
    return {{"label", method.label}, {"measured_share", optional_json(method.measured_share)}};
}

Json to_json(const RunRow& r) {
    return {{"id", r.id},
            {"name", r.name},
            {"status", to_string(r.status)},
            {"started_at", r.started_at},
            {"model", r.model},
            {"model_source", r.model_source},
            {"device", r.device},
            {"dataset", r.dataset},
            {"batch_size", optional_json(r.batch_size)},
            {"learning_rate", optional_json(r.learning_rate)},
            {"epochs", optional_json(r.epochs)},
            {"threads", optional_json(r.threads)},
            {"power_limit_w", optional_json(r.power_limit_w)},
            {"params", optional_json(r.params)},
            {"macs", optional_json(r.macs)},
            {"macs_per_param", optional_json(r.macs_per_param)},
            {"training_samples", optional_json(r.training_samples)},
            {"inference_samples", optional_json(r.inference_samples)},
            {"training_time_s", optional_json(r.training_time_s)},
            {"inference_time_s", optional_json(r.inference_time_s)},
            {"training_energy_j", optional_json(r.training_energy_j)},
            {"inference_energy_j", optional_json(r.inference_energy_j)},
            {"total_energy_j", optional_json(r.total_energy_j)},
            {"training_energy_per_sample_j", optional_json(r.training_energy_per_sample_j)},
            {"inference_energy_per_sample_j", optional_json(r.inference_energy_per_sample_j)},
            {"energy_per_sample_j", optional_json(r.energy_per_sample_j)},
            {"basis", r.basis},
            {"work_params_per_s", optional_json(r.work_params_per_s)},
            {"samples_per_j", optional_json(r.samples_per_j)},
            {"mean_power_w", optional_json(r.mean_power_w)},
            {"peak_power_w", optional_json(r.peak_power_w)},
            {"gpu_utilisation_pct", optional_json(r.gpu_utilisation_pct)},
            {"cpu_utilisation_pct", optional_json(r.cpu_utilisation_pct)},
            {"accuracy", optional_json(r.accuracy)},
            {"loss", optional_json(r.loss)},
            {"duration_s", optional_json(r.duration_s)},
            {"method", to_json(r.method)},
            {"training_method", to_json(r.training_method)},
            {"inference_method", to_json(r.inference_method)},
            {"tags", r.tags},
            {"merged_job", r.merged_job},
            {"nodes", r.nodes},
            {"notes", r.notes}};
}

Json to_json(const Analysis& a) {
    Json j;
    j["schema"] = analysis_schema;
    j["options"] = {{"inferences", finite(a.options.inferences)},
                    {"per_configuration", a.options.per_configuration},
                    {"min_runs_per_group", a.options.min_runs_per_group},
                    {"min_runs_for_driver", a.options.min_runs_for_driver},
                    {"min_abs_rho", finite(a.options.min_abs_rho)},
                    {"min_batch_ratio", finite(a.options.min_batch_ratio)},
                    {"by_job", a.options.by_job}};
    if (a.options.by_job) j["by_job"] = {{"jobs", a.jobs}, {"job_runs", a.job_runs}};
    j["method"] = to_json(a.method);
    j["warnings"] = a.warnings;
    Json runs = Json::array();
    for (const auto& r : a.runs) runs.push_back(to_json(r));
    j["runs"] = runs;
    Json configurations = Json::array();
    for (const auto& c : a.configurations) configurations.push_back(configuration_json(c));
    j["configurations"] = configurations;
    j["correlations"] = correlations_json(a.correlations);
    Json drivers = Json::array();
    for (const auto& d : a.drivers) drivers.push_back(drivers_json(d));
    j["drivers"] = drivers;
    j["pareto"] = pareto_json(a.pareto);
    Json batches = Json::array();
    for (const auto& o : a.optimal_batches) batches.push_back(optimal_batch_json(o));
    j["optimal_batches"] = batches;
    Json shares = Json::array();
    for (const auto& s : a.inference_shares) shares.push_back(inference_share_json(s));
    j["inference_shares"] = shares;
    Json guidelines = Json::array();
    for (const auto& g : a.guidelines)
        guidelines.push_back({{"topic", g.topic},
                              {"text", g.text},
                              {"evidence", g.evidence},
                              {"n", g.n},
                              {"method", to_json(g.method)}});
    j["guidelines"] = guidelines;
    Json withheld = Json::array();
    for (const auto& w : a.withheld) withheld.push_back({{"topic", w.topic}, {"reason", w.reason}});
    j["withheld"] = withheld;
    return j;
}

}  // namespace joulecast::analysis
