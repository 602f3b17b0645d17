// The analysis' guidelines: plain-language advice on batch size, power limits, the drivers of energy, the
// Pareto front and the inference share, each with the figures and the method behind it; and the warnings
// about the runs themselves.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "analysis/analysis.hpp"
#include "analysis/common.hpp"
#include "analysis/internal.hpp"
#include "core/format.hpp"

namespace joulecast::analysis::detail {

using core::format_energy;
using core::format_per_sample;
using core::format_significant;

namespace {

std::string counts_text(std::size_t a, std::size_t b) {
    return a == b ? std::to_string(a) + " runs each"
                  : std::to_string(a) + " and " + std::to_string(b) + " runs";
}

// ---- Guidelines -----------------------------------------------------------------------------------------

}  // namespace

void batch_guidelines(Analysis& a) {
    bool any_batch = std::any_of(a.runs.begin(), a.runs.end(), [](const RunRow& r) { return r.batch_size; });
    if (!any_batch) {
        a.withheld.push_back(
            {"batch_size", "no run reports a batch size (meta batch_size or tag batch_size)"});
        return;
    }
    if (a.optimal_batches.empty()) {
        a.withheld.push_back({"batch_size", "no run with a batch size has an energy per sample"});
        return;
    }
    for (const auto& o : a.optimal_batches) {
        // The device is named only where one model ran on several.
        const bool several_devices =
            std::count_if(a.optimal_batches.begin(), a.optimal_batches.end(),
                          [&](const OptimalBatch& x) { return x.model == o.model; }) > 1;
        const std::string who = o.model + (several_devices ? " on " + o.device : "");
        if (o.batches.size() < 2) {
            a.withheld.push_back({"batch_size", who + ": only batch " + format_significant(o.best_batch, 6) +
                                                    " measured; at least two batch sizes are needed"});
            continue;
        }
        const BatchStat* best = nullptr;
        const BatchStat* worst = nullptr;
        for (const auto& b : o.batches) {
            if (b.batch_size == o.best_batch) best = &b;
            if (b.batch_size == o.worst_batch) worst = &b;
        }
        if (best->at_chance) {
            a.withheld.push_back({"batch_size", who + ": batch " + format_significant(best->batch_size, 6) +
                                                    " uses the least energy per sample but its accuracy (" +
                                                    format_significant(best->mean_accuracy.value_or(0)) +
                                                    ") is at chance: not recommended"});
            continue;
        }
        if (best->n < a.options.min_runs_per_group || worst->n < a.options.min_runs_per_group) {
            a.withheld.push_back({"batch_size", who + ": batch " + format_significant(best->batch_size, 6) +
                                                    " has " + runs_text(best->n) + " and batch " +
                                                    format_significant(worst->batch_size, 6) + " has " +
                                                    runs_text(worst->n) + "; at least " +
                                                    std::to_string(a.options.min_runs_per_group) +
                                                    " per batch size are needed"});
            continue;
        }
        const double ratio = o.worst_to_best.value_or(1.0);
        if (ratio < a.options.min_batch_ratio) {
            a.withheld.push_back({"batch_size", who + ": energy per sample differs by only " +
                                                    format_percent(ratio - 1.0) + " across batch sizes " +
                                                    format_significant(o.batches.front().batch_size, 6) +
                                                    ".." +
                                                    format_significant(o.batches.back().batch_size, 6)});
            continue;
        }
        Guideline g;
        g.topic = "batch_size";
        g.n = best->n + worst->n;
        g.method = combine({best->method, worst->method});
        g.text = "batch " + format_significant(best->batch_size, 6) + " uses " + format_ratio(ratio) +
                 " less energy per sample than batch " + format_significant(worst->batch_size, 6) + " for " +
                 who + " (" + counts_text(best->n, worst->n) + "; " + o.basis + ", " + g.method.label + ")";
        g.evidence = "batch " + format_significant(best->batch_size, 6) + ": " +
                     format_per_sample(best->mean_energy_per_sample_j) + " (n=" + std::to_string(best->n) +
                     ")";
        if (best->mean_accuracy) g.evidence += ", accuracy " + format_significant(*best->mean_accuracy);
        g.evidence += "; batch " + format_significant(worst->batch_size, 6) + ": " +
                      format_per_sample(worst->mean_energy_per_sample_j) + " (n=" + std::to_string(worst->n) +
                      ")";
        if (worst->mean_accuracy) g.evidence += ", accuracy " + format_significant(*worst->mean_accuracy);
        for (const auto& note : o.notes) g.evidence += "; " + note;
        a.guidelines.push_back(std::move(g));
    }
}

void power_limit_guidelines(Analysis& a) {
    std::map<std::string, std::vector<const RunRow*>> groups;
    for (const auto& r : a.runs)
        if (r.power_limit_w) groups[r.model + "|" + r.device + "|" + key_number(r.batch_size)].push_back(&r);
    for (const auto& [key, group] : groups) {
        SettingGroups by_limit = group_by_setting(group, [](const RunRow& r) { return r.power_limit_w; });
        if (by_limit.by_value.size() < 2) continue;  // no power-limit sweep here: nothing to say
        const RunRow& first = *group.front();
        const std::string who =
            first.model + (first.batch_size ? " batch " + format_significant(*first.batch_size, 6) : "");
        const double highest = by_limit.by_value.rbegin()->first;
        double best = highest;
        for (const auto& [limit, energies] : by_limit.energy)
            if (mean(energies) < mean(by_limit.energy[best])) best = limit;
        const std::size_t n_best = by_limit.by_value[best].size(), n_high = by_limit.by_value[highest].size();
        if (best == highest) {
            a.withheld.push_back({"power_limit", who + ": the highest power limit (" +
                                                     format_significant(highest) +
                                                     " W) already uses the least energy per sample"});
            continue;
        }
        if (n_best < a.options.min_runs_per_group || n_high < a.options.min_runs_per_group) {
            a.withheld.push_back(
                {"power_limit", who + ": " + format_significant(best) + " W has " + runs_text(n_best) +
                                    " and " + format_significant(highest) + " W has " + runs_text(n_high) +
                                    "; at least " + std::to_string(a.options.min_runs_per_group) +
                                    " each are needed"});
            continue;
        }
        const double e_best = mean(by_limit.energy[best]), e_high = mean(by_limit.energy[highest]);
        const double saving = e_high > 0 ? 1.0 - e_best / e_high : 0.0;
        if (saving < 0.05) {
            a.withheld.push_back({"power_limit", who + ": capping the power limit saved only " +
                                                     format_percent(saving) + " energy per sample"});
            continue;
        }
        std::vector<EnergyMethod> methods;
        for (const RunRow* r : by_limit.by_value[best]) methods.push_back(basis_method(*r, by_limit.basis));
        for (const RunRow* r : by_limit.by_value[highest])
            methods.push_back(basis_method(*r, by_limit.basis));
        Guideline g;
        g.topic = "power_limit";
        g.n = n_best + n_high;
        g.method = combine(methods);
        g.text = "a power limit of " + format_significant(best) + " W uses " + format_percent(saving) +
                 " less energy per sample than " + format_significant(highest) + " W for " + who + " (" +
                 counts_text(n_best, n_high) + "; " + by_limit.basis + ", " + g.method.label + ")";
        auto acc_best = mean_of(by_limit.by_value[best], [](const RunRow& r) { return r.accuracy; });
        auto acc_high = mean_of(by_limit.by_value[highest], [](const RunRow& r) { return r.accuracy; });
        g.evidence = format_significant(best) + " W: " + format_per_sample(e_best) + "; " +
                     format_significant(highest) + " W: " + format_per_sample(e_high);
        if (acc_best && acc_high)
            g.evidence +=
                "; accuracy " + format_significant(*acc_best) + " vs " + format_significant(*acc_high);
        a.guidelines.push_back(std::move(g));
    }
}

void driver_guidelines(Analysis& a) {
    for (const auto& ranking : a.drivers) {
        const std::string outcome = human(ranking.outcome);
        std::vector<const RunRow*> with;
        std::map<std::string, std::size_t> bases;
        for (const auto& r : a.runs)
            if (variable_value(r, ranking.outcome)) {
                with.push_back(&r);
                ++bases[r.basis];
            }
        if (with.size() < a.options.min_runs_for_driver) {
            a.withheld.push_back({"driver", outcome + ": " + runs_text(with.size()) +
                                                " with a value; at least " +
                                                std::to_string(a.options.min_runs_for_driver) +
                                                " are needed for a correlation guideline"});
            continue;
        }
        if (ranking.drivers.empty()) {
            a.withheld.push_back({"driver", outcome + ": " +
                                                (ranking.notes.empty() ? std::string("nothing to rank")
                                                                       : ranking.notes.front())});
            continue;
        }
        std::vector<EnergyMethod> methods;
        for (const RunRow* r : with)
            methods.push_back(ranking.outcome == "training_energy_j" ? r->training_method
                                                                     : basis_method(*r, r->basis));
        const EnergyMethod method = combine(methods);
        std::string basis_note;
        if (ranking.outcome == "energy_per_sample_j" && bases.size() > 1) {
            basis_note = "; bases differ:";
            for (const auto& [basis, count] : bases) basis_note += " " + basis + " " + std::to_string(count);
        }
        // Characteristics that move together in these runs (same rho over the same runs, e.g. params and
        // MACs of a model family) cannot be told apart: one guideline names them all.
        std::vector<std::vector<const Driver*>> groups;
        for (const auto& d : ranking.drivers) {
            if (!d.supported) continue;
            if (!groups.empty() && groups.back().front()->n == d.n &&
                std::fabs(groups.back().front()->spearman - d.spearman) < 1e-9)
                groups.back().push_back(&d);
            else
                groups.push_back({&d});
        }
        std::size_t given = 0;
        for (const auto& group : groups) {
            if (given == 3) break;
            const Driver& d = *group.front();
            std::string names;
            for (std::size_t i = 0; i < group.size(); ++i)
                names += (i == 0 ? "" : i + 1 == group.size() ? " and " : ", ") + human(group[i]->variable);
            Guideline g;
            g.topic = "driver";
            g.n = d.n;
            g.method = method;
            char rho[32];
            std::snprintf(rho, sizeof rho, "%.2f", d.spearman);
            g.text = outcome + " " + d.direction + " " + names + " (Spearman " + rho + ", " + runs_text(d.n) +
                     ", " + method.label + (group.size() > 1 ? "; these vary together in the runs" : "") +
                     ")";
            g.evidence = "Spearman " + std::string(rho) + " (" + d.strength + "), Pearson " +
                         (d.pearson ? format_significant(*d.pearson, 2) : std::string("n/a")) +
                         ", n=" + std::to_string(d.n) +
                         ", threshold |rho| >= " + format_significant(rho_threshold(d.n, a.options), 2) +
                         basis_note;
            a.guidelines.push_back(std::move(g));
            ++given;
        }
        if (given == 0) {
            const Driver& top = ranking.drivers.front();
            char rho[32];
            std::snprintf(rho, sizeof rho, "%.2f", top.spearman);
            a.withheld.push_back(
                {"driver",
                 outcome + ": the strongest link, " + human(top.variable) + " (Spearman " + rho + ", " +
                     runs_text(top.n) + "), is below the threshold |rho| >= " +
                     format_significant(rho_threshold(top.n, a.options), 2) + " for " + runs_text(top.n) +
                     (top.n < a.options.min_runs_for_driver
                          ? " (and fewer than " + std::to_string(a.options.min_runs_for_driver) + " runs)"
                          : "")});
        }
    }
}

void pareto_guidelines(Analysis& a) {
    const ParetoFront& front = a.pareto;
    if (front.points.size() < 2) {
        a.withheld.push_back(
            {"pareto", front.points.empty()
                           ? "no run has both accuracy and energy per sample"
                           : "only one " + front.grouping +
                                 " has both accuracy and energy per sample: nothing to compare"});
        return;
    }
    const std::size_t min_n = front.grouping == "configuration" ? a.options.min_runs_per_group : 1;
    const std::size_t front_size = static_cast<std::size_t>(std::count_if(
        front.points.begin(), front.points.end(), [](const ParetoPoint& p) { return p.on_front; }));
    for (const auto& p : front.points)
        if (p.at_chance)
            a.withheld.push_back({"pareto", p.label + " is at chance accuracy (" +
                                                format_significant(p.accuracy) +
                                                "): not a candidate, never recommended"});
    for (const auto& p : front.points) {
        if (!p.on_front) continue;
        if (p.n < min_n) {
            a.withheld.push_back({"pareto", p.label + " is on the front but has " + runs_text(p.n) +
                                                "; at least " + std::to_string(min_n) + " are needed"});
            continue;
        }
        Guideline g;
        g.topic = "pareto";
        g.n = p.n;
        g.method = p.method;
        g.text = p.label + " is on the accuracy/energy Pareto front: " + format_significant(p.accuracy) +
                 " accuracy at " + format_per_sample(p.energy_per_sample_j) + " (" + front.basis + ", " +
                 p.method.label + ", " + runs_text(p.n) + ")";
        g.evidence = std::to_string(front_size) + " of " + std::to_string(front.points.size()) + " " +
                     front.grouping + "s on the front";
        a.guidelines.push_back(std::move(g));
    }
    // A dominated point, with the cheapest point that beats it on both counts.
    for (const auto& p : front.points) {
        if (p.on_front || p.n < min_n) continue;
        const ParetoPoint* better = nullptr;
        for (const auto& q : front.points)
            if (q.n >= min_n && !q.at_chance && q.accuracy >= p.accuracy &&
                q.energy_per_sample_j <= p.energy_per_sample_j &&
                (!better || q.energy_per_sample_j < better->energy_per_sample_j))
                better = &q;
        if (!better || better == &p) continue;
        Guideline g;
        g.topic = "pareto";
        g.n = p.n + better->n;
        g.method = combine({p.method, better->method});
        g.text = p.label + " is dominated: " + better->label + " reaches " +
                 format_significant(better->accuracy) + " accuracy (vs " + format_significant(p.accuracy) +
                 ") at " + format_per_sample(better->energy_per_sample_j) + " (vs " +
                 format_per_sample(p.energy_per_sample_j) + "; " + front.basis + ", " + g.method.label + ")";
        g.evidence = runs_text(p.n) + " and " + runs_text(better->n);
        a.guidelines.push_back(std::move(g));
    }
}

void inference_guidelines(Analysis& a) {
    if (a.inference_shares.empty()) {
        a.withheld.push_back(
            {"inference", "no run has both a train phase (E_tr) and an infer phase with samples"});
        return;
    }
    const std::size_t min_n = a.options.per_configuration ? a.options.min_runs_per_group : 1;
    for (const auto& s : a.inference_shares) {
        if (s.n < min_n) {
            a.withheld.push_back({"inference", s.label + ": " + runs_text(s.n) + "; at least " +
                                                   std::to_string(min_n) + " are needed"});
            continue;
        }
        Guideline g;
        g.topic = "inference";
        g.n = s.n;
        g.method = s.method;
        g.text = "for " + s.label + ", inference is " + format_percent(s.inference_share) +
                 " of lifetime energy at " + format_count(s.inferences) + " inferences";
        if (s.break_even_inferences)
            g.text +=
                "; it outweighs training after " + format_count(*s.break_even_inferences) + " inferences";
        g.text += " (" + runs_text(s.n) + ", " + s.method.label + ")";
        g.evidence = "E_tr " + format_energy(s.training_energy_j) + ", inference " +
                     format_per_sample(s.inference_energy_per_sample_j) + ", lifetime " +
                     format_energy(s.lifetime_energy_j);
        a.guidelines.push_back(std::move(g));
    }
}

void run_warnings(Analysis& a) {
    if (a.runs.empty()) {
        a.warnings.push_back("no runs to analyse");
        return;
    }
    if (a.runs.size() == 1)
        a.warnings.push_back("only one run: correlations, rankings and guidelines need several runs");
    auto list = [](const std::vector<const RunRow*>& rows) {
        std::string text;
        for (std::size_t i = 0; i < rows.size() && i < 3; ++i)
            text += (i ? ", " : "") + (rows[i]->name.empty() ? rows[i]->id : rows[i]->name);
        if (rows.size() > 3) text += ", ...";
        return text;
    };
    std::vector<const RunRow*> no_energy, no_accuracy;
    std::map<std::string, std::size_t> bases;
    for (const auto& r : a.runs) {
        if (!r.energy_per_sample_j)
            no_energy.push_back(&r);
        else
            ++bases[r.basis];
        if (!r.accuracy) no_accuracy.push_back(&r);
    }
    if (!no_energy.empty())
        a.warnings.push_back(runs_text(no_energy.size()) +
                             " without energy per sample (no samples reported): " + list(no_energy));
    std::vector<const RunRow*> unnamed;
    for (const auto& r : a.runs)
        if (r.model_source == "name") unnamed.push_back(&r);
    if (!unnamed.empty())
        a.warnings.push_back(
            runs_text(unnamed.size()) +
            " without a model in meta or tags: the run's name stands for the model: " + list(unnamed));
    if (!no_accuracy.empty())
        a.warnings.push_back(runs_text(no_accuracy.size()) +
                             " without an accuracy metric: " + list(no_accuracy));
    if (bases.size() > 1) {
        std::string text = "energy per sample has different bases across runs:";
        for (const auto& [basis, count] : bases) text += " " + basis + " " + std::to_string(count);
        a.warnings.push_back(text + "; compare like with like");
    }
    if (a.method.label == "modelled" || a.method.label == "mixed")
        a.warnings.push_back("some energy figures are modelled, not measured (see each figure's method)");
}

}  // namespace joulecast::analysis::detail
