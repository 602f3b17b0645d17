// The analysis over many runs: configurations, correlations, driver rankings, Pareto front, optimal batch
// size, inference share and guidelines. Thresholds live in Options; every aggregate carries its method.

#include "analysis/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <set>

#include "analysis/common.hpp"
#include "analysis/internal.hpp"
#include "core/format.hpp"

namespace joulecast::analysis {

using core::format_significant;

using store::RunFilter;
using store::RunStore;

namespace detail {

std::string key_number(std::optional<double> value) {
    if (!value) return "";
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", *value);
    return text;
}

std::string config_key(const RunRow& r) {
    // A study's configuration hash (tag config) also tells apart what the columns here do not show, such as
    // the optimiser or the sample counts: runs that differ only there are never averaged together.
    const auto config = r.tags.find("config");
    return r.model + "|" + r.device + "|" + key_number(r.batch_size) + "|" + key_number(r.learning_rate) +
           "|" + key_number(r.epochs) + "|" + key_number(r.threads) + "|" + key_number(r.power_limit_w) +
           "|" + (config == r.tags.end() ? "" : config->second);
}

double mean(const std::vector<double>& values) {
    return values.empty()
               ? 0.0
               : std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

/// Sample standard deviation; nullopt below two values.
std::optional<double> stddev(const std::vector<double>& values) {
    if (values.size() < 2) return std::nullopt;
    const double m = mean(values);
    double ss = 0;
    for (double v : values) ss += (v - m) * (v - m);
    return std::sqrt(ss / static_cast<double>(values.size() - 1));
}

/// The method behind a row's figure on a given basis.
const EnergyMethod& basis_method(const RunRow& r, const std::string& basis) {
    if (basis == "training") return r.training_method;
    if (basis == "inference") return r.inference_method;
    return r.method;
}

std::optional<double> per_sample_on(const RunRow& r, const std::string& basis) {
    if (basis == "training") return r.training_energy_per_sample_j;
    if (basis == "inference") return r.inference_energy_per_sample_j;
    if (basis == "total" && r.basis == "total") return r.energy_per_sample_j;
    return std::nullopt;
}

/// Human names of variables for guideline text.
std::string human(std::string_view variable) {
    const VariableInfo* v = find_variable(variable);
    return v ? v->label : std::string(variable);
}

std::string runs_text(std::size_t n) {
    return std::to_string(n) + (n == 1 ? " run" : " runs");
}

/// Which settings differ between runs: they go into configuration labels.
struct Varying {
    bool device = false, learning_rate = false, epochs = false, threads = false, power_limit = false;
};

Varying find_varying(const std::vector<RunRow>& rows) {
    Varying v;
    auto differs = [&](auto get) {
        std::set<std::string> seen;
        for (const auto& r : rows) seen.insert(get(r));
        return seen.size() > 1;
    };
    v.device = differs([](const RunRow& r) { return r.device; });
    v.learning_rate = differs([](const RunRow& r) { return key_number(r.learning_rate); });
    v.epochs = differs([](const RunRow& r) { return key_number(r.epochs); });
    v.threads = differs([](const RunRow& r) { return key_number(r.threads); });
    v.power_limit = differs([](const RunRow& r) { return key_number(r.power_limit_w); });
    return v;
}

std::string config_label(const RunRow& r, const Varying& v) {
    std::string label = r.model;
    if (r.batch_size) label += " batch " + format_significant(*r.batch_size, 6);
    if (v.learning_rate && r.learning_rate) label += " lr " + format_significant(*r.learning_rate);
    if (v.epochs && r.epochs) label += " " + format_significant(*r.epochs) + " epochs";
    if (v.threads && r.threads) label += " " + format_significant(*r.threads) + " threads";
    if (v.power_limit && r.power_limit_w) label += " " + format_significant(*r.power_limit_w) + " W";
    if (v.device) label += " on " + r.device;
    return label;
}

/// Rows grouped by configuration (or one group per run), in first-seen order.
std::vector<std::vector<const RunRow*>> group_rows(const std::vector<const RunRow*>& rows,
                                                   bool per_configuration) {
    std::vector<std::vector<const RunRow*>> groups;
    std::map<std::string, std::size_t> index;
    for (const RunRow* r : rows) {
        if (!per_configuration) {
            groups.push_back({r});
            continue;
        }
        auto [it, fresh] = index.emplace(config_key(*r), groups.size());
        if (fresh) groups.emplace_back();
        groups[it->second].push_back(r);
    }
    return groups;
}

std::vector<ConfigurationStats> build_configurations(const std::vector<RunRow>& rows,
                                                     const Varying& varying) {
    std::vector<const RunRow*> all;
    for (const auto& r : rows) all.push_back(&r);
    std::vector<ConfigurationStats> configs;
    for (const auto& group : group_rows(all, true)) {
        const RunRow& first = *group.front();
        ConfigurationStats c;
        c.key = config_key(first);
        c.label = config_label(first, varying);
        c.model = first.model;
        c.device = first.device;
        c.batch_size = first.batch_size;
        c.learning_rate = first.learning_rate;
        c.epochs = first.epochs;
        c.threads = first.threads;
        c.power_limit_w = first.power_limit_w;
        c.n = group.size();
        std::vector<double> eps, accuracy;
        std::set<std::string> bases;
        std::vector<EnergyMethod> methods;
        for (const RunRow* r : group) {
            c.run_ids.push_back(r->id);
            if (r->energy_per_sample_j) {
                eps.push_back(*r->energy_per_sample_j);
                bases.insert(r->basis);
                methods.push_back(basis_method(*r, r->basis));
            }
            if (r->accuracy) accuracy.push_back(*r->accuracy);
        }
        if (!eps.empty()) {
            c.energy_per_sample_j = mean(eps);
            c.energy_per_sample_sd_j = stddev(eps);
        }
        c.basis = bases.empty() ? "none" : bases.size() == 1 ? *bases.begin() : "mixed";
        c.method = methods.empty() ? combine({first.method}) : combine(methods);
        if (!accuracy.empty()) {
            c.accuracy = mean(accuracy);
            c.accuracy_sd = stddev(accuracy);
        }
        c.training_energy_j = mean_of(group, [](const RunRow& r) { return r.training_energy_j; });
        c.inference_energy_j = mean_of(group, [](const RunRow& r) { return r.inference_energy_j; });
        c.training_energy_per_sample_j =
            mean_of(group, [](const RunRow& r) { return r.training_energy_per_sample_j; });
        c.inference_energy_per_sample_j =
            mean_of(group, [](const RunRow& r) { return r.inference_energy_per_sample_j; });
        configs.push_back(std::move(c));
    }
    std::stable_sort(configs.begin(), configs.end(),
                     [](const ConfigurationStats& a, const ConfigurationStats& b) {
                         if (a.model != b.model) return a.model < b.model;
                         if (a.batch_size != b.batch_size) return a.batch_size < b.batch_size;
                         return a.key < b.key;
                     });
    return configs;
}

CorrelationMatrix correlate(const std::vector<RunRow>& rows) {
    CorrelationMatrix matrix;
    std::vector<std::vector<std::optional<double>>> columns;
    for (const auto& info : numeric_variables()) {
        std::vector<std::optional<double>> column;
        std::size_t present = 0;
        std::set<double> distinct;
        for (const auto& r : rows) {
            column.push_back(variable_value(r, info.name));
            if (column.back()) {
                ++present;
                distinct.insert(*column.back());
            }
        }
        if (present == 0) {
            matrix.omitted.emplace_back(info.name, "no values");
        } else if (present < 3) {
            matrix.omitted.emplace_back(
                info.name, "only " + std::to_string(present) + (present == 1 ? " value" : " values"));
        } else if (distinct.size() == 1) {
            matrix.omitted.emplace_back(info.name, "constant (" + format_significant(*distinct.begin(), 6) +
                                                       " in every run with a value)");
        } else {
            matrix.variables.push_back(info.name);
            columns.push_back(std::move(column));
        }
    }
    const std::size_t k = matrix.variables.size();
    matrix.cells.assign(k, std::vector<CorrelationCell>(k));
    for (std::size_t i = 0; i < k; ++i)
        for (std::size_t j = i; j < k; ++j) {
            std::vector<double> x, y;
            for (std::size_t r = 0; r < rows.size(); ++r)
                if (columns[i][r] && columns[j][r]) {
                    x.push_back(*columns[i][r]);
                    y.push_back(*columns[j][r]);
                }
            CorrelationCell cell;
            cell.n = x.size();
            cell.pearson = pearson(x, y);
            cell.spearman = spearman(x, y);
            matrix.cells[i][j] = cell;
            matrix.cells[j][i] = cell;
        }
    return matrix;
}

double rho_threshold(std::size_t n, const Options& options) {
    const double significance = n > 1 ? 1.96 / std::sqrt(static_cast<double>(n - 1)) : 1.0;
    return std::max(options.min_abs_rho, significance);
}

bool is_characteristic(const std::string& name) {
    const VariableInfo* info = find_variable(name);
    return info && (info->role == "setting" || info->role == "model" || info->role == "hardware");
}

DriverRanking rank_drivers(const CorrelationMatrix& matrix, const std::string& outcome,
                           const Options& options) {
    DriverRanking ranking;
    ranking.outcome = outcome;
    if (std::find(matrix.variables.begin(), matrix.variables.end(), outcome) == matrix.variables.end()) {
        std::string why = "not enough values";
        for (const auto& [name, reason] : matrix.omitted)
            if (name == outcome) why = reason;
        ranking.notes.push_back(human(outcome) + ": " + why + "; nothing to rank");
        return ranking;
    }
    for (const auto& variable : matrix.variables) {
        if (!is_characteristic(variable)) continue;
        const CorrelationCell* cell = matrix.find(outcome, variable);
        if (!cell || !cell->spearman) {
            ranking.notes.push_back(variable + ": " +
                                    (cell && cell->n < 3
                                         ? "only " + std::to_string(cell->n) + " runs with both values"
                                         : std::string("no variance among the runs with both values")));
            continue;
        }
        Driver d;
        d.variable = variable;
        d.spearman = *cell->spearman;
        d.pearson = cell->pearson;
        d.n = cell->n;
        d.direction = d.spearman > 0 ? "rises with" : d.spearman < 0 ? "falls with" : "does not change with";
        const double a = std::fabs(d.spearman);
        d.strength = a >= 0.7 ? "strong" : a >= 0.4 ? "moderate" : "weak";
        d.supported = d.n >= options.min_runs_for_driver && a >= rho_threshold(d.n, options);
        ranking.drivers.push_back(d);
    }
    std::stable_sort(ranking.drivers.begin(), ranking.drivers.end(), [](const Driver& a, const Driver& b) {
        if (std::fabs(a.spearman) != std::fabs(b.spearman))
            return std::fabs(a.spearman) > std::fabs(b.spearman);
        return a.n > b.n;
    });
    if (ranking.drivers.empty())
        ranking.notes.push_back("no characteristic varies across the runs with " + human(outcome));
    return ranking;
}

ParetoFront build_pareto(const std::vector<RunRow>& rows, const Options& options, const Varying& varying) {
    ParetoFront front;
    front.grouping = options.per_configuration ? "configuration" : "run";
    // Points on one basis only: training and inference energy per sample are not comparable.
    std::size_t best_count = 0;
    for (const char* basis : {"training", "inference", "total"}) {
        std::size_t count = 0;
        for (const auto& r : rows)
            if (r.accuracy && per_sample_on(r, basis)) ++count;
        if (count > best_count) {
            best_count = count;
            front.basis = basis;
        }
    }
    std::vector<const RunRow*> candidates;
    std::size_t no_accuracy = 0, other_basis = 0, no_energy = 0;
    for (const auto& r : rows) {
        if (!r.accuracy)
            ++no_accuracy;
        else if (per_sample_on(r, front.basis))
            candidates.push_back(&r);
        else if (r.energy_per_sample_j)
            ++other_basis;
        else
            ++no_energy;
    }
    if (no_accuracy) front.notes.push_back(runs_text(no_accuracy) + " without an accuracy metric left out");
    if (no_energy) front.notes.push_back(runs_text(no_energy) + " without energy per sample left out");
    if (other_basis)
        front.notes.push_back(runs_text(other_basis) + " with energy per sample on another basis than " +
                              front.basis + " left out");
    if (candidates.empty()) {
        front.notes.push_back("no run has both accuracy and energy per sample: no Pareto front");
        return front;
    }
    std::vector<std::pair<double, double>> values;  // of the points not at chance
    std::vector<std::size_t> candidate_points;      // their indices in front.points
    std::vector<std::string> chance;
    double chance_limit = 0;
    for (const auto& group : group_rows(candidates, options.per_configuration)) {
        ParetoPoint p;
        const RunRow& first = *group.front();
        p.label = config_label(first, varying);
        if (!options.per_configuration) p.label += " [" + first.id.substr(0, 8) + "]";
        p.model = first.model;
        p.batch_size = first.batch_size;
        p.n = group.size();
        std::vector<double> accuracy, energy;
        std::vector<EnergyMethod> methods;
        for (const RunRow* r : group) {
            p.run_ids.push_back(r->id);
            accuracy.push_back(*r->accuracy);
            energy.push_back(*per_sample_on(*r, front.basis));
            methods.push_back(basis_method(*r, front.basis));
        }
        p.accuracy = mean(accuracy);
        p.energy_per_sample_j = mean(energy);
        p.method = combine(methods);
        p.at_chance = at_chance_accuracy(p.accuracy, first.classes, first.inference_samples);
        if (p.at_chance) {
            chance.push_back(p.label);
            if (first.classes) chance_limit = chance_accuracy_limit(*first.classes, first.inference_samples);
        } else {
            values.emplace_back(p.accuracy, p.energy_per_sample_j);
            candidate_points.push_back(front.points.size());
        }
        front.points.push_back(std::move(p));
    }
    // A point at chance accuracy is shown but never on the front: cheap and useless must not be "optimal".
    for (std::size_t i : pareto_front(values)) front.points[candidate_points[i]].on_front = true;
    if (!chance.empty()) {
        std::string list;
        for (const auto& label : chance) list += (list.empty() ? "" : ", ") + label;
        front.notes.push_back(std::to_string(chance.size()) + " " + front.grouping +
                              (chance.size() == 1 ? "" : "s") + " at chance accuracy (at most " +
                              format_significant(chance_limit) + ") not considered for the front: " + list);
    }
    std::stable_sort(front.points.begin(), front.points.end(),
                     [](const ParetoPoint& a, const ParetoPoint& b) {
                         return a.energy_per_sample_j < b.energy_per_sample_j;
                     });
    return front;
}

SettingGroups group_by_setting(const std::vector<const RunRow*>& rows,
                               const std::function<std::optional<double>(const RunRow&)>& setting) {
    SettingGroups groups;
    // Training energy per sample where any run has it; else the headline figure on its most common basis.
    groups.basis = "training";
    bool any_training = std::any_of(rows.begin(), rows.end(), [&](const RunRow* r) {
        return setting(*r) && r->training_energy_per_sample_j;
    });
    if (!any_training) {
        std::map<std::string, std::size_t> counts;
        for (const RunRow* r : rows)
            if (setting(*r) && r->energy_per_sample_j) ++counts[r->basis];
        std::size_t best = 0;
        for (const auto& [basis, count] : counts)
            if (count > best) {
                best = count;
                groups.basis = basis;
            }
    }
    for (const RunRow* r : rows) {
        auto value = setting(*r);
        auto energy = per_sample_on(*r, groups.basis);
        if (!value || !energy) continue;
        groups.by_value[*value].push_back(r);
        groups.energy[*value].push_back(*energy);
    }
    return groups;
}

std::vector<std::string> pooled_settings(const std::vector<const RunRow*>& rows, bool skip_power_limit) {
    std::vector<std::string> pooled;
    auto differs = [&](auto get) {
        std::set<std::string> seen;
        for (const RunRow* r : rows) seen.insert(key_number(get(*r)));
        return seen.size() > 1;
    };
    if (differs([](const RunRow& r) { return r.learning_rate; })) pooled.push_back("learning_rate");
    if (differs([](const RunRow& r) { return r.epochs; })) pooled.push_back("epochs");
    if (differs([](const RunRow& r) { return r.threads; })) pooled.push_back("threads");
    if (!skip_power_limit && differs([](const RunRow& r) { return r.power_limit_w; }))
        pooled.push_back("power_limit_w");
    return pooled;
}

std::vector<OptimalBatch> build_optimal_batches(const std::vector<RunRow>& rows) {
    std::map<std::pair<std::string, std::string>, std::vector<const RunRow*>> by_model;
    for (const auto& r : rows)
        if (r.batch_size) by_model[{r.model, r.device}].push_back(&r);
    std::vector<OptimalBatch> result;
    for (const auto& [model_device, group] : by_model) {
        SettingGroups groups = group_by_setting(group, [](const RunRow& r) { return r.batch_size; });
        if (groups.by_value.empty()) continue;
        OptimalBatch o;
        o.model = model_device.first;
        o.device = model_device.second;
        o.basis = groups.basis;
        std::vector<EnergyMethod> all_methods;
        for (const auto& [batch, members] : groups.by_value) {
            BatchStat s;
            s.batch_size = batch;
            s.n = members.size();
            s.mean_energy_per_sample_j = mean(groups.energy[batch]);
            s.sd_j = stddev(groups.energy[batch]);
            s.mean_accuracy = mean_of(members, [](const RunRow& r) { return r.accuracy; });
            s.at_chance = at_chance_accuracy(s.mean_accuracy, members.front()->classes,
                                             members.front()->inference_samples);
            std::vector<EnergyMethod> methods;
            for (const RunRow* r : members) methods.push_back(basis_method(*r, o.basis));
            s.method = combine(methods);
            all_methods.insert(all_methods.end(), methods.begin(), methods.end());
            o.batches.push_back(s);
        }
        auto best =
            std::min_element(o.batches.begin(), o.batches.end(), [](const BatchStat& a, const BatchStat& b) {
                return a.mean_energy_per_sample_j < b.mean_energy_per_sample_j;
            });
        auto worst =
            std::max_element(o.batches.begin(), o.batches.end(), [](const BatchStat& a, const BatchStat& b) {
                return a.mean_energy_per_sample_j < b.mean_energy_per_sample_j;
            });
        o.best_batch = best->batch_size;
        o.best_energy_per_sample_j = best->mean_energy_per_sample_j;
        o.worst_batch = worst->batch_size;
        o.worst_energy_per_sample_j = worst->mean_energy_per_sample_j;
        if (o.batches.size() >= 2 && o.best_energy_per_sample_j > 0)
            o.worst_to_best = finite_or_null(o.worst_energy_per_sample_j / o.best_energy_per_sample_j);
        if (o.batches.size() < 2) o.notes.push_back("only one batch size measured");
        if (o.basis != "training")
            o.notes.push_back("no training energy per sample: " + o.basis + " basis used");
        auto pooled = pooled_settings(group, false);
        if (!pooled.empty()) {
            std::string text = "other settings pooled:";
            for (const auto& p : pooled) text += " " + p;
            o.notes.push_back(text + " (they vary)");
        }
        o.method = combine(all_methods);
        result.push_back(std::move(o));
    }
    return result;
}

std::vector<InferenceShare> build_inference_shares(const std::vector<RunRow>& rows, const Options& options,
                                                   const Varying& varying) {
    std::vector<const RunRow*> usable;
    for (const auto& r : rows)
        if (r.training_energy_j && r.inference_energy_per_sample_j) usable.push_back(&r);
    std::vector<InferenceShare> shares;
    for (const auto& group : group_rows(usable, options.per_configuration)) {
        InferenceShare s;
        const RunRow& first = *group.front();
        s.label = config_label(first, varying);
        if (!options.per_configuration) s.label += " [" + first.id.substr(0, 8) + "]";
        s.model = first.model;
        s.n = group.size();
        s.inferences = options.inferences;
        s.training_energy_j = *mean_of(group, [](const RunRow& r) { return r.training_energy_j; });
        s.inference_energy_per_sample_j =
            *mean_of(group, [](const RunRow& r) { return r.inference_energy_per_sample_j; });
        s.lifetime_energy_j = s.training_energy_j + s.inferences * s.inference_energy_per_sample_j;
        s.inference_share = s.lifetime_energy_j > 0
                                ? s.inferences * s.inference_energy_per_sample_j / s.lifetime_energy_j
                                : 0.0;
        if (s.inference_energy_per_sample_j > 0)
            s.break_even_inferences = finite_or_null(s.training_energy_j / s.inference_energy_per_sample_j);
        std::vector<EnergyMethod> methods;
        for (const RunRow* r : group) {
            methods.push_back(r->training_method);
            methods.push_back(r->inference_method);
        }
        s.method = combine(methods);
        shares.push_back(std::move(s));
    }
    std::stable_sort(shares.begin(), shares.end(),
                     [](const InferenceShare& a, const InferenceShare& b) { return a.label < b.label; });
    return shares;
}

}  // namespace detail

using namespace detail;

const CorrelationCell* CorrelationMatrix::find(std::string_view a, std::string_view b) const {
    auto index = [&](std::string_view name) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < variables.size(); ++i)
            if (variables[i] == name) return i;
        return std::nullopt;
    };
    auto i = index(a), j = index(b);
    if (!i || !j) return nullptr;
    return &cells[*i][*j];
}

EnergyMethod combine(const std::vector<EnergyMethod>& methods) {
    EnergyMethod result;
    std::set<std::string> labels;
    std::vector<double> shares;
    for (const auto& m : methods) {
        labels.insert(m.label);
        if (m.measured_share) shares.push_back(*m.measured_share);
    }
    if (!shares.empty()) result.measured_share = mean(shares);
    // "unknown" (a run without energy figures) adds nothing to a figure: it counts only when alone.
    if (labels.size() > 1) labels.erase("unknown");
    if (labels.size() == 1)
        result.label = *labels.begin();
    else if (labels.size() > 1)
        result.label = "mixed";
    return result;
}

Analysis analyze(std::vector<RunRow> rows, const Options& options) {
    Analysis a;
    a.options = options;
    if (!std::isfinite(a.options.inferences) || a.options.inferences < 0) a.options.inferences = 0;
    a.runs = std::move(rows);
    for (auto& r : a.runs) drop_non_finite(r);
    const Varying varying = find_varying(a.runs);
    std::vector<EnergyMethod> methods;
    for (const auto& r : a.runs) methods.push_back(r.method);
    a.method = combine(methods);
    run_warnings(a);
    a.configurations = build_configurations(a.runs, varying);
    a.correlations = correlate(a.runs);
    a.drivers.push_back(rank_drivers(a.correlations, "energy_per_sample_j", a.options));
    a.drivers.push_back(rank_drivers(a.correlations, "training_energy_j", a.options));
    a.pareto = build_pareto(a.runs, a.options, varying);
    a.optimal_batches = build_optimal_batches(a.runs);
    a.inference_shares = build_inference_shares(a.runs, a.options, varying);
    if (a.runs.empty()) {
        a.withheld.push_back({"all", "no runs: nothing to base a guideline on"});
        return a;
    }
    batch_guidelines(a);
    driver_guidelines(a);
    pareto_guidelines(a);
    inference_guidelines(a);
    power_limit_guidelines(a);
    return a;
}

Analysis analyze_store(RunStore& store, const RunFilter& filter, const Options& options) {
    AnalysisUnits units = load_units(store, filter, options.by_job);
    Analysis a = analyze(std::move(units.rows), options);
    a.jobs = units.jobs;
    a.job_runs = units.job_runs;
    a.warnings.insert(a.warnings.begin(), units.warnings.begin(), units.warnings.end());
    return a;
}

}  // namespace joulecast::analysis
