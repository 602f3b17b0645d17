// Shapes the runs and their analysis (loaded by load_report_inputs.cpp) into the data of the HTML report,
// one section per chart.

#include "report/html/report_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "analysis/common.hpp"
#include "core/json_fields.hpp"
#include "forecast/backtest.hpp"
#include "report/html/page.hpp"
#include "report/html/timeline.hpp"

namespace joulecast::report {

using core::optional_json;

using meter::AttributedPart;
using meter::PhaseResult;
using meter::RunResult;

using forecast::backtest;
using forecast::CompletedRun;
using forecast::ProfileLength;

namespace {

using ojson = nlohmann::ordered_json;

/// A figure, when it is finite.
std::optional<double> finite_or_none(double value) {
    return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
}

/// A count as the page's number.
std::optional<double> as_double(const std::optional<long long>& count) {
    return count ? std::optional<double>(static_cast<double>(*count)) : std::nullopt;
}

/// Rounds for the page: 6 significant digits are more than a chart can show.
double rounded(double value, int digits = 6) {
    if (value == 0 || !std::isfinite(value)) return value;
    const double scale =
        std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::fabs(value)))));
    return std::round(value * scale) / scale;
}

ojson section(const char* title) {
    ojson s;
    s["title"] = title;
    s["status"] = "ok";
    s["reason"] = "";
    s["source"] = "";
    s["notes"] = ojson::array();
    return s;
}

void no_data(ojson& s, const std::string& reason) {
    s["status"] = "no data";
    s["reason"] = reason;
}

ojson method_json(const analysis::EnergyMethod& method) {
    return {{"label", method.label}, {"measured_share", optional_json(method.measured_share)}};
}

std::string runs_text(std::size_t n) {
    return std::to_string(n) + (n == 1 ? " run" : " runs");
}

std::string share_text(std::optional<double> share) {
    if (!share) return "";
    char text[32];
    std::snprintf(text, sizeof text, "%.0f%%", *share * 100.0);
    return text;
}

/// "measured (counters or integrated power)" etc.: the analysis' label, spelled out.
std::string method_sentence(const analysis::EnergyMethod& method) {
    if (method.label == "measured") return "measured (energy counters or integrated measured power)";
    if (method.label == "modelled") return "modelled (no sensor; a power model)";
    if (method.label == "mixed") {
        auto share = share_text(method.measured_share);
        return "mixed: " + (share.empty() ? std::string("partly") : share) + " measured, the rest modelled";
    }
    return "of unknown origin";
}

std::vector<const RunResult*> results_for(const std::vector<RunResult>& results,
                                          const std::set<std::string>& ids) {
    std::vector<const RunResult*> out;
    for (const auto& r : results)
        if (ids.count(r.id)) out.push_back(&r);
    return out;
}

std::optional<double> per_sample_on(const analysis::RunRow& r, const std::string& basis) {
    if (basis == "training") return r.training_energy_per_sample_j;
    if (basis == "inference") return r.inference_energy_per_sample_j;
    if (basis == "total" && r.basis == "total") return r.energy_per_sample_j;
    return std::nullopt;
}

std::string basis_text(const std::string& basis) {
    if (basis == "training") return "training phases' energy / training samples";
    if (basis == "inference") return "inference phases' energy / inference samples";
    if (basis == "total") return "the whole run's energy / all samples it reported";
    return basis;
}

std::string short_id(const std::string& id) {
    return id.substr(0, 8);
}

std::string now_iso8601() {
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::string phase_boundary_text(const std::vector<PhaseResult>& phases) {
    std::map<std::string, std::vector<std::string>> by_boundary;
    for (const auto& p : phases) by_boundary[to_string(p.boundary)].push_back(p.name);
    std::string text;
    for (const auto& [boundary, names] : by_boundary) {
        std::set<std::string> unique(names.begin(), names.end());
        std::string list;
        for (const auto& n : unique) list += (list.empty() ? "" : ", ") + n;
        std::string how = boundary == "counter"        ? "energy counter read at both ends"
                          : boundary == "interpolated" ? "along the power timeline between counter readings"
                          : boundary == "integrated"   ? "integrated measured power (no counter)"
                          : boundary == "modelled"     ? "modelled"
                                                       : boundary;
        text += (text.empty() ? "" : "; ") + how + " (" + list + ")";
    }
    return text;
}

}  // namespace

// ---- Provenance -------------------------------------------------------------------------------------------

ojson energy_provenance(const std::vector<const RunResult*>& results) {
    std::map<std::string, std::map<std::string, std::size_t>> domains;
    for (const RunResult* r : results) {
        if (r->energy.domain_method.empty()) {
            ++domains["all"]["unknown"];
            continue;
        }
        for (const auto& [domain, method] : r->energy.domain_method) ++domains[domain][method];
    }
    ojson out;
    out["domains"] = ojson::object();
    std::string text;
    for (const auto& [domain, methods] : domains) {
        std::string part;
        for (const auto& [method, count] : methods) {
            out["domains"][domain][method] = count;
            part += (part.empty() ? "" : ", ") + method + " (" + runs_text(count) + ")";
        }
        text += (text.empty() ? "" : "; ") + domain + ": " + part;
    }
    out["text"] = text;
    return out;
}

/// The job's own share of each device beside its whole energy (meter/attribution.hpp's rows): gross energy
/// with its domain's energy method (counter, integrated, modelled), the attributed part (null where the
/// share could not be measured), and how it was measured or why not.
ojson attributed_rows(const RunResult& result) {
    ojson rows = ojson::array();
    for (const AttributedPart& part : attributed_parts(result.attributed)) {
        const auto gross_method = result.energy.domain_method.find(part.domain);
        rows.push_back(
            {{"part", part.device.empty() ? part.domain : part.device},
             {"gross_j", rounded(part.gross_j)},
             {"gross_method",
              gross_method == result.energy.domain_method.end() ? std::string() : gross_method->second},
             {"attributed_j", part.attributed_j ? ojson(rounded(*part.attributed_j)) : ojson(nullptr)},
             {"share", part.attributed_j && part.gross_j > 0
                           ? ojson(rounded(*part.attributed_j / part.gross_j))
                           : ojson(nullptr)},
             {"how", part.attributed_j ? part.method : part.reason}});
    }
    return rows;
}

/// The job's own energy over every domain, when each domain's share was measured (none otherwise), and how:
/// per domain, the share's method and how the energy it is a share of was obtained (counter, integrated,
/// modelled), e.g. "gpu: per-process SM utilisation of counter energy".
std::pair<std::optional<double>, std::string> attributed_total(const RunResult& result) {
    const std::vector<AttributedPart> parts = attributed_parts(result.attributed);
    double sum = 0;
    std::set<std::string> methods;
    for (const AttributedPart& part : parts) {
        if (!part.attributed_j) return {std::nullopt, ""};
        sum += *part.attributed_j;
        const auto gross = result.energy.domain_method.find(part.domain);
        methods.insert(
            part.domain + ": " + part.method +
            (gross == result.energy.domain_method.end() ? "" : " of " + gross->second + " energy"));
    }
    std::string how;
    for (const auto& m : methods) how += (how.empty() ? "" : "; ") + m;
    return {parts.empty() ? std::nullopt : std::optional<double>(sum), how};
}

// ---- Sections ---------------------------------------------------------------------------------------------

ojson timeline_section(const std::optional<TimelineRun>& run, const std::string& reason,
                       std::size_t max_bins) {
    ojson s = section("Power over time");
    if (!run) {
        no_data(s, reason.empty() ? "no run to show" : reason);
        return s;
    }
    const RunResult& result = run->result;
    s["run"] = {{"id", result.id},
                {"name", result.name},
                {"status", to_string(result.status)},
                {"started_at", result.started_at},
                {"duration_s", optional_json(result.duration_s)},
                {"chosen_by", run->chosen_by}};
    const PowerTimeline timeline = power_timeline(run->trace, finite_or_none(result.duration_s), max_bins);
    for (const auto& note : timeline.notes) s["notes"].push_back(note);
    if (timeline.series.empty()) {
        no_data(s, "run " + short_id(result.id) + " has no stored power or energy readings");
        return s;
    }
    const auto& methods = result.energy.domain_method;
    // The energy of a domain as the result states it: the three main domains always (0 when absent), any
    // other only when the run measured it.
    auto domain_energy = [&](const std::string& domain) -> std::optional<double> {
        if (domain == "gpu" || domain == "cpu" || domain == "dram") return result.energy.domain(domain);
        auto it = result.energy.domain_j.find(domain);
        return it == result.energy.domain_j.end() ? std::nullopt : std::optional<double>(it->second);
    };
    s["bin_s"] = rounded(timeline.bin_s);
    ojson series = ojson::array();
    std::string source;
    for (const auto& p : timeline.series) {
        ojson points = ojson::array();
        for (std::size_t i = 0; i < timeline.bins; ++i)
            points.push_back({rounded(timeline.bin_centre_s(i)),
                              p.power_w[i] ? ojson(rounded(*p.power_w[i], 5)) : ojson(nullptr)});
        std::string how = p.method == "measured"   ? "measured power"
                          : p.method == "counter"  ? "power from energy-counter differences"
                          : p.method == "modelled" ? "modelled power"
                                                   : p.method;
        std::string channels;
        for (const auto& c : p.channels) channels += (channels.empty() ? "" : ", ") + c;
        source += (source.empty() ? "" : "; ") + p.domain + ": " + how + " (" + channels + ")";
        auto method = methods.find(p.domain);
        std::string total_method = method == methods.end() ? "" : method->second;
        if (!total_method.empty()) source += ", its energy total by " + total_method;
        series.push_back({{"domain", p.domain},
                          {"method", p.method},
                          {"channels", p.channels},
                          {"energy_j", optional_json(domain_energy(p.domain))},
                          {"energy_method", total_method},
                          {"points", std::move(points)}});
    }
    s["series"] = std::move(series);

    ojson phases = ojson::array();
    for (const auto& p : result.phases)
        phases.push_back({{"name", p.name},
                          {"start_s", p.start_s},
                          {"end_s", p.end_s},
                          {"energy_j", optional_json(p.energy_j)},
                          {"samples", optional_json(as_double(p.samples))},
                          {"energy_per_sample_j", optional_json(p.energy_per_sample_j)},
                          {"mean_power_w", optional_json(p.mean_power_w())},
                          {"boundary", to_string(p.boundary)}});
    if (!phases.empty()) source += ". Phase energies: " + phase_boundary_text(result.phases);
    s["phases"] = std::move(phases);
    ojson epochs = ojson::array();
    for (const auto& e : result.epochs)
        epochs.push_back({{"n", optional_json(static_cast<double>(e.n))},
                          {"start_s", e.start_s},
                          {"end_s", e.end_s},
                          {"energy_j", optional_json(e.energy_j)},
                          {"samples", optional_json(as_double(e.samples))}});
    s["epochs"] = std::move(epochs);
    // Gross (whole devices) stays the headline; the job's own share is shown beside it.
    s["attributed"] = attributed_rows(result);
    s["source"] = source + ".";
    return s;
}

ojson batch_section(const analysis::Analysis& analysis, const std::vector<RunResult>& results) {
    ojson s = section("Energy per sample against batch size");
    ojson series = ojson::array();
    std::set<std::string> used_ids;
    std::vector<analysis::EnergyMethod> methods;
    std::set<std::string> bases, devices;
    for (const auto& o : analysis.optimal_batches) devices.insert(o.device);
    for (const auto& o : analysis.optimal_batches) {
        ojson means = ojson::array();
        for (const auto& b : o.batches)
            means.push_back({{"batch_size", b.batch_size},
                             {"energy_per_sample_j", b.mean_energy_per_sample_j},
                             {"sd_j", optional_json(b.sd_j)},
                             {"n", b.n},
                             {"accuracy", optional_json(b.mean_accuracy)},
                             {"method", b.method.label}});
        if (means.empty()) continue;
        ojson runs = ojson::array();
        for (const auto& r : analysis.runs) {
            if (r.model != o.model || r.device != o.device || !r.batch_size) continue;
            auto e = per_sample_on(r, o.basis);
            if (!e) continue;
            runs.push_back({{"id", r.id},
                            {"name", r.name},
                            {"batch_size", *r.batch_size},
                            {"energy_per_sample_j", *e},
                            {"method", r.method.label}});
            used_ids.insert(r.id);
        }
        const std::string label = devices.size() > 1 ? o.model + " on " + o.device : o.model;
        series.push_back({{"model", o.model},
                          {"device", o.device},
                          {"label", label},
                          {"basis", o.basis},
                          {"worst_to_best", optional_json(o.worst_to_best)},
                          {"best_batch", o.best_batch},
                          {"method", method_json(o.method)},
                          {"means", std::move(means)},
                          {"runs", std::move(runs)}});
        for (const auto& note : o.notes) s["notes"].push_back(label + ": " + note);
        methods.push_back(o.method);
        bases.insert(o.basis);
    }
    s["series"] = std::move(series);
    if (s["series"].empty()) {
        if (analysis.runs.empty())
            no_data(s, "no runs");
        else
            no_data(s,
                    "no run reports both a batch size (meta batch_size or tag batch_size) and samples "
                    "with its energy");
        return s;
    }
    std::size_t without_batch = 0;
    for (const auto& r : analysis.runs) without_batch += r.batch_size ? 0 : 1;
    if (without_batch) s["notes"].push_back(runs_text(without_batch) + " without a batch size left out");
    std::string basis_list;
    for (const auto& b : bases) basis_list += (basis_list.empty() ? "" : " / ") + basis_text(b);
    const auto method = analysis::combine(methods);
    const auto provenance = energy_provenance(results_for(results, used_ids));
    s["method"] = method_json(method);
    s["provenance"] = provenance;
    s["source"] = "Energy per sample = " + basis_list + ", mean over repeats (points: single runs). Energy " +
                  method_sentence(method) +
                  "; the runs' energy by domain: " + provenance["text"].get<std::string>() + ".";
    return s;
}

ojson pareto_section(const analysis::Analysis& analysis, const std::vector<RunResult>& results) {
    ojson s = section("Accuracy against energy per sample");
    const auto& front = analysis.pareto;
    for (const auto& note : front.notes) s["notes"].push_back(note);
    ojson points = ojson::array();
    std::set<std::string> ids;
    for (const auto& p : front.points) {
        points.push_back({{"label", p.label},
                          {"model", p.model},
                          {"batch_size", optional_json(p.batch_size)},
                          {"n", p.n},
                          {"accuracy", p.accuracy},
                          {"energy_per_sample_j", p.energy_per_sample_j},
                          {"on_front", p.on_front},
                          {"at_chance", p.at_chance},
                          {"method", p.method.label},
                          {"run_ids", p.run_ids}});
        ids.insert(p.run_ids.begin(), p.run_ids.end());
    }
    s["grouping"] = front.grouping;
    s["basis"] = front.basis;
    s["points"] = std::move(points);
    if (s["points"].empty()) {
        no_data(s, analysis.runs.empty() ? "no runs"
                                         : "no run reports both an accuracy metric (metric accuracy=...) and "
                                           "energy per sample");
        return s;
    }
    std::vector<analysis::EnergyMethod> methods;
    for (const auto& p : front.points) methods.push_back(p.method);
    const auto method = analysis::combine(methods);
    const auto provenance = energy_provenance(results_for(results, ids));
    s["method"] = method_json(method);
    s["provenance"] = provenance;
    s["source"] = "Accuracy: the workload's last reported accuracy metric. Energy per sample = " +
                  basis_text(front.basis) + (front.grouping == "configuration" ? ", repeats averaged" : "") +
                  ". Energy " + method_sentence(method) +
                  "; the runs' energy by domain: " + provenance["text"].get<std::string>() + ".";
    return s;
}

ojson correlation_section(const analysis::Analysis& analysis) {
    ojson s = section("Correlations");
    const auto& m = analysis.correlations;
    auto variable_json = [](const std::string& name) {
        const analysis::VariableInfo* v = analysis::find_variable(name);
        return ojson{{"name", name},
                     {"unit", v ? v->unit : ""},
                     {"role", v ? v->role : ""},
                     {"label", v ? v->label : name}};
    };
    ojson variables = ojson::array();
    for (const auto& v : m.variables) variables.push_back(variable_json(v));
    ojson pearson = ojson::array(), spearman = ojson::array(), counts = ojson::array();
    for (const auto& row : m.cells) {
        ojson p = ojson::array(), r = ojson::array(), n = ojson::array();
        for (const auto& cell : row) {
            p.push_back(optional_json(cell.pearson ? std::optional<double>(rounded(*cell.pearson, 4))
                                                   : std::nullopt));
            r.push_back(optional_json(cell.spearman ? std::optional<double>(rounded(*cell.spearman, 4))
                                                    : std::nullopt));
            n.push_back(cell.n);
        }
        pearson.push_back(std::move(p));
        spearman.push_back(std::move(r));
        counts.push_back(std::move(n));
    }
    s["variables"] = std::move(variables);
    s["pearson"] = std::move(pearson);
    s["spearman"] = std::move(spearman);
    s["n"] = std::move(counts);
    ojson omitted = ojson::array();
    for (const auto& [name, why] : m.omitted) {
        ojson o = variable_json(name);
        o["reason"] = why;
        omitted.push_back(std::move(o));
    }
    s["omitted"] = std::move(omitted);
    ojson drivers = ojson::array();
    for (const auto& ranking : analysis.drivers) {
        ojson list = ojson::array();
        for (const auto& d : ranking.drivers)
            list.push_back({{"variable", d.variable},
                            {"spearman", d.spearman},
                            {"pearson", optional_json(d.pearson)},
                            {"n", d.n},
                            {"direction", d.direction},
                            {"strength", d.strength},
                            {"supported", d.supported}});
        drivers.push_back(
            {{"outcome", ranking.outcome}, {"drivers", std::move(list)}, {"notes", ranking.notes}});
    }
    s["drivers"] = std::move(drivers);
    if (m.variables.size() < 2) {
        no_data(s, analysis.runs.size() < 3 ? "correlations need at least 3 runs (" +
                                                  runs_text(analysis.runs.size()) + " analysed)"
                                            : "fewer than two variables vary across the runs");
        return s;
    }
    s["source"] =
        "Pearson and Spearman (rank) correlation over runs with both values (pairwise complete); "
        "energy variables as in the result documents: " +
        method_sentence(analysis.method) + ".";
    return s;
}

ojson forecast_section(const std::vector<RunResult>& results, std::size_t after_epochs) {
    ojson s = section("Forecast against actual");
    after_epochs = std::max<std::size_t>(after_epochs, 1);
    s["after_epochs"] = after_epochs;
    s["runs"] = ojson::array();
    // Runs with their epochs, as the backtest takes them (the name carries the run id back).
    std::vector<CompletedRun> completed;
    std::map<std::string, const RunResult*> by_id;
    std::size_t without_epochs = 0;
    for (const auto& result : results) {
        if (result.epochs.empty()) {
            ++without_epochs;
            continue;
        }
        CompletedRun run;
        run.name = result.id;
        for (const auto& e : result.epochs) {
            // A non-finite figure is rejected by the backtest for this run, with its reason.
            run.epoch_energy_j.push_back(e.energy_j);
            run.epoch_duration_s.push_back(e.end_s - e.start_s);
        }
        by_id[result.id] = &result;
        completed.push_back(std::move(run));
    }
    if (without_epochs) s["notes"].push_back(runs_text(without_epochs) + " without marked epochs left out");
    if (completed.empty()) {
        no_data(s, results.empty() ? "no runs"
                                   : "no run marks epochs (joulecast mark epoch, or the client's epoch())");
        return s;
    }
    auto summary = backtest(completed, ProfileLength::epochs(after_epochs));
    if (!summary) {
        // One line for the page; the backtest's per-run reasons would list every run for the same cause.
        std::size_t most = 0;
        for (const auto& run : completed) most = std::max(most, run.epoch_energy_j.size());
        if (most <= after_epochs)
            no_data(s, "no run marks more than " + std::to_string(after_epochs) + " epochs (the " +
                           runs_text(completed.size()) + " with epochs mark at most " + std::to_string(most) +
                           "): a forecast from the first " + std::to_string(after_epochs) +
                           " needs more to compare with (--forecast-epochs sets how many)");
        else
            no_data(s, summary.error());
        return s;
    }
    constexpr std::size_t shown_skips = 5;
    for (std::size_t i = 0; i < summary->skipped.size() && i < shown_skips; ++i)
        s["notes"].push_back("left out: run " + summary->skipped[i]);
    if (summary->skipped.size() > shown_skips)
        s["notes"].push_back("and " + runs_text(summary->skipped.size() - shown_skips) + " more left out");

    std::set<std::string> ids;
    for (const auto& r : summary->runs) {
        const RunResult& result = *by_id.at(r.name);
        auto model = result.meta.find("model");
        s["runs"].push_back({{"id", r.name},
                             {"name", result.name},
                             {"model", model == result.meta.end() ? "" : model->second},
                             {"epochs", r.epochs},
                             {"profile_epochs", r.profile_epochs},
                             {"actual_j", r.measured_j},
                             {"forecast_j", r.forecast_j},
                             {"low_j", r.forecast_low_j},
                             {"high_j", r.forecast_high_j},
                             {"naive_j", r.naive_j},
                             {"confidence", summary->confidence},
                             {"relative_error", r.forecast_error_pct / 100.0},
                             {"naive_relative_error", r.naive_error_pct / 100.0},
                             {"covered", r.covered},
                             {"converged", r.converged},
                             {"warmup_excluded", r.warmup_excluded}});
        ids.insert(r.name);
    }
    s["summary"] = {{"forecast_median_ape_pct", summary->forecast_median_ape_pct},
                    {"forecast_p90_ape_pct", summary->forecast_p90_ape_pct},
                    {"naive_median_ape_pct", summary->naive_median_ape_pct},
                    {"naive_p90_ape_pct", summary->naive_p90_ape_pct},
                    {"coverage", summary->coverage}};
    const auto provenance = energy_provenance(results_for(results, ids));
    s["provenance"] = provenance;
    char figures[160];
    std::snprintf(
        figures, sizeof figures,
        "median absolute error %.1f%% (naive mean-so-far baseline %.1f%%); %.0f%% of measured totals "
        "inside the %.0f%% interval",
        summary->forecast_median_ape_pct, summary->naive_median_ape_pct, summary->coverage * 100.0,
        summary->confidence * 100.0);
    s["source"] =
        "Backtest (forecast/backtest.hpp): each run's total over its marked epochs, forecast from its "
        "first " +
        std::to_string(after_epochs) + " epochs, against the measured sum of its epochs: " + figures +
        ". The runs' energy by domain: " + provenance["text"].get<std::string>() + ".";
    return s;
}

// ---- The whole document -----------------------------------------------------------------------------------

ojson build_report_data(const ReportInputs& inputs, const ReportOptions& options) {
    const analysis::Analysis& a = inputs.analysis;
    ojson data;
    data["schema"] = report_schema;
    data["generated_at"] = now_iso8601();
    data["generator"] = "joulecast 0.1.0";
    data["chart_library"] = chart_library_label();
    data["store"] = inputs.store_path;
    data["filter"] = inputs.filter_text;
    data["runs_matched"] = inputs.runs_matched;
    data["runs_analysed"] = a.runs.size();
    // --by-job: each distributed job is one of the analysed units (analysis::load_units).
    data["by_job"] = {{"on", a.options.by_job}, {"jobs", a.jobs}, {"job_runs", a.job_runs}};
    data["inferences"] = a.options.inferences;

    ojson runs = ojson::array();
    std::map<std::string, const RunResult*> by_id;
    for (const auto& r : inputs.results) by_id[r.id] = &r;
    for (const auto& r : a.runs) {
        ojson methods = ojson::object();
        std::pair<std::optional<double>, std::string> attributed;
        if (auto it = by_id.find(r.id); it != by_id.end()) {
            methods = it->second->energy.domain_method;
            attributed = attributed_total(*it->second);
        }
        runs.push_back({{"id", r.id},
                        {"name", r.name},
                        {"status", to_string(r.status)},
                        {"started_at", r.started_at},
                        {"model", r.model},
                        {"batch_size", optional_json(r.batch_size)},
                        {"duration_s", optional_json(r.duration_s)},
                        {"total_energy_j", optional_json(r.total_energy_j)},
                        {"attributed_energy_j", optional_json(attributed.first)},
                        {"attributed_method", attributed.second},
                        {"energy_per_sample_j", optional_json(r.energy_per_sample_j)},
                        {"basis", r.basis},
                        {"accuracy", optional_json(r.accuracy)},
                        {"method", r.method.label},
                        {"energy_method", methods}});
    }
    data["runs"] = std::move(runs);

    ojson sections;
    sections["timeline"] =
        timeline_section(inputs.timeline, inputs.timeline_reason, options.max_timeline_bins);
    sections["batch"] = batch_section(a, inputs.results);
    sections["pareto"] = pareto_section(a, inputs.results);
    sections["correlations"] = correlation_section(a);
    sections["forecast"] = forecast_section(inputs.results, options.forecast_after_epochs);
    data["sections"] = std::move(sections);

    ojson guidelines = ojson::array();
    for (const auto& g : a.guidelines)
        guidelines.push_back({{"topic", g.topic},
                              {"text", g.text},
                              {"evidence", g.evidence},
                              {"n", g.n},
                              {"method", g.method.label}});
    data["guidelines"] = std::move(guidelines);
    ojson withheld = ojson::array();
    for (const auto& w : a.withheld) withheld.push_back({{"topic", w.topic}, {"reason", w.reason}});
    data["withheld"] = std::move(withheld);
    ojson shares = ojson::array();
    for (const auto& i : a.inference_shares)
        shares.push_back({{"label", i.label},
                          {"model", i.model},
                          {"n", i.n},
                          {"training_energy_j", i.training_energy_j},
                          {"inference_energy_per_sample_j", i.inference_energy_per_sample_j},
                          {"lifetime_energy_j", i.lifetime_energy_j},
                          {"inference_share", i.inference_share},
                          {"break_even_inferences", optional_json(i.break_even_inferences)},
                          {"method", i.method.label}});
    data["inference_shares"] = std::move(shares);
    data["warnings"] = a.warnings;
    return data;
}

}  // namespace joulecast::report
