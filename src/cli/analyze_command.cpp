// joulecast analyze [FILTERS] [--inferences N] [--json]: what the stored runs say about energy.

#include "cli/analyze_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <set>

#include "analysis/analysis.hpp"
#include "analysis/common.hpp"
#include "cli/args.hpp"
#include "cli/run_filters.hpp"
#include "core/format.hpp"
#include "core/text.hpp"
#include "store/run_store.hpp"

namespace joulecast::cli {

using core::Args;
using core::format_energy;
using core::format_significant;
using core::starts_with;
using core::UsageError;

using store::open_store_to_read;
using store::RunFilter;

const char* const analyze_usage =
    R"(usage: joulecast analyze [FILTERS] [--by-job] [--inferences N] [--per-run] [--json]

Analyses the stored runs: energy per sample per run and configuration (repeats averaged), what energy per
sample and training energy depend on most (Spearman rank correlation), the correlation matrix, the
accuracy/energy Pareto front, the energy-optimal batch size per model, the share of inference in a model's
lifetime energy, and guidelines computed from the data -- or why the data cannot support one.

Energy per sample is E_tr / training samples (phases named train), else E_in / inference samples (infer),
else total energy / reported samples; the "basis" column says which. Every energy figure says how it was
obtained: measured (counters, integrated measured power), modelled, or mixed.

filters (as in 'joulecast runs list'):
  --study NAME     runs of one study (tag study=NAME)
  --job ID         runs of one distributed job (each node's run; --by-job makes them one row)
  --name PATTERN   a glob (*, ?, [...]; case-sensitive) or else a case-insensitive substring of the name
  --tag K=V        runs tagged K=V; repeatable, all must match (--tag K: runs with tag K)
  --status S       running | completed | failed | interrupted | profiled (default: completed and profiled)
  --since T        started at or after T: an ISO 8601 time or a duration before now (30m, 2h, 3d, 1w)
  --until T        started at or before T (same forms)
  --limit N        at most the N newest runs

options:
  --by-job         each distributed job is one row: its runs on every node (all of them, when any matches
                   the filters) merged as `jobs show` merges them -- energy summed over the nodes, samples
                   over all ranks, E/sample = the job's energy / all its samples; runs without a job id stay
                   rows of their own; a job with a node's run not completed is left out, with a warning
  --inferences N   deployment volume for the inference share: lifetime energy = E_tr + N x inference energy
                   per sample (default 1000000; 1e6, 250k, 2M, 1G also work)
  --per-run        Pareto front and inference share per run instead of per configuration
  --json           the whole analysis as JSON (schema joulecast.analysis/1) on stdout
  --db PATH        the store (default: $JOULECAST_DB, else ~/.local/share/joulecast/runs.db)

Exit status: 0 analysed (also when the data allow no conclusion; the output says why); 1 a store that cannot
be used; 2 bad options.
)";

namespace {

using namespace joulecast::analysis;

// ---- Tables -----------------------------------------------------------------------------------------------

/// Display width of UTF-8 text: code points (the tables hold µ and ρ).
std::size_t width(const std::string& text) {
    std::size_t n = 0;
    for (unsigned char c : text)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

class Table {
public:
    /// `align`: one letter per column, 'l' or 'r'.
    Table(std::vector<std::string> header, std::string align)
        : m_header(std::move(header)), m_align(std::move(align)) {}
    void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
    bool empty() const { return m_rows.empty(); }

    void print(std::ostream& out) const {
        std::vector<std::size_t> widths(m_header.size(), 0);
        auto measure = [&](const std::vector<std::string>& row) {
            for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
                widths[i] = std::max(widths[i], width(row[i]));
        };
        measure(m_header);
        for (const auto& row : m_rows) measure(row);
        auto line = [&](const std::vector<std::string>& row) {
            std::string text = "  ";
            for (std::size_t i = 0; i < widths.size(); ++i) {
                const std::string cell = i < row.size() ? row[i] : "";
                const std::string pad(widths[i] - width(cell), ' ');
                const bool right = i < m_align.size() && m_align[i] == 'r';
                text += right ? pad + cell : cell + (i + 1 < widths.size() ? pad : "");
                if (i + 1 < widths.size()) text += "  ";
            }
            while (!text.empty() && text.back() == ' ') text.pop_back();
            out << text << '\n';
        };
        line(m_header);
        for (const auto& row : m_rows) line(row);
    }

private:
    std::vector<std::string> m_header;
    std::string m_align;
    std::vector<std::vector<std::string>> m_rows;
};

std::string dash() {
    return "-";
}
std::string num(const std::optional<double>& v, int digits = 3) {
    return v ? format_significant(*v, digits) : dash();
}
std::string joules(const std::optional<double>& v) {
    return v ? format_energy(*v) : dash();
}
std::string short_id(const std::string& id) {
    return id.substr(0, 8);
}
std::string method_text(const EnergyMethod& m) {
    if (m.label == "mixed" && m.measured_share)
        return "mixed (" + format_percent(*m.measured_share) + " measured)";
    return m.label;
}
std::string rho_text(const std::optional<double>& rho) {
    if (!rho) return dash();
    char text[16];
    std::snprintf(text, sizeof text, "%+.2f", *rho);
    return text;
}

void section(std::ostream& out, const std::string& title) {
    out << '\n' << title << '\n';
}

/// Short column names for the compact correlation matrix.
std::string abbreviation(const std::string& variable) {
    const VariableInfo* v = find_variable(variable);
    return v ? v->abbreviation : variable;
}

// ---- Sections ---------------------------------------------------------------------------------------------

void print_runs(std::ostream& out, const Analysis& a, bool several_devices) {
    const std::size_t shown = std::min<std::size_t>(a.runs.size(), 30);
    section(out, a.options.by_job ? "Jobs and runs (" + std::to_string(a.runs.size()) +
                                        "; a job's id is its job id, its nodes' runs merged)"
                                  : "Runs (" + std::to_string(a.runs.size()) + ")");
    std::vector<std::string> header = {"id", "model"};
    if (several_devices) header.push_back("device");
    for (const char* h :
         {"batch", "E/sample", "basis", "E_tr", "E_in", "accuracy", "P mean", "GPU%", "method"})
        header.emplace_back(h);
    Table table(header, several_devices ? "lllrrlrrrrrl" : "llrrlrrrrrl");
    for (std::size_t i = 0; i < shown; ++i) {
        const RunRow& r = a.runs[i];
        std::vector<std::string> row = {
            r.merged_job ? r.id + " (" + std::to_string(r.nodes) + (r.nodes == 1 ? " node)" : " nodes)")
                         : short_id(r.id),
            r.model};
        if (several_devices) row.push_back(r.device);
        row.push_back(num(r.batch_size, 6));
        row.push_back(joules(r.energy_per_sample_j));
        row.push_back(r.basis);
        row.push_back(joules(r.training_energy_j));
        row.push_back(joules(r.inference_energy_j));
        row.push_back(num(r.accuracy));
        row.push_back(r.mean_power_w ? format_significant(*r.mean_power_w) + " W" : dash());
        row.push_back(num(r.gpu_utilisation_pct, 2));
        row.push_back(method_text(r.method));
        table.add(row);
    }
    table.print(out);
    if (shown < a.runs.size())
        out << "  ... " << a.runs.size() - shown << " more runs (--json lists every run)\n";
}

void print_configurations(std::ostream& out, const Analysis& a) {
    section(out, "Configurations (repeats averaged; +- is the standard deviation)");
    Table table({"configuration", "n", "E/sample", "+-", "basis", "E_tr", "E_in", "accuracy", "method"},
                "lrrrlrrrl");
    for (const auto& c : a.configurations)
        table.add({c.label, std::to_string(c.n), joules(c.energy_per_sample_j),
                   joules(c.energy_per_sample_sd_j), c.basis, joules(c.training_energy_j),
                   joules(c.inference_energy_j), num(c.accuracy), method_text(c.method)});
    table.print(out);
}

void print_drivers(std::ostream& out, const Analysis& a) {
    for (const auto& ranking : a.drivers) {
        section(out, "What " + abbreviation(ranking.outcome) + " (" + ranking.outcome +
                         ") depends on most (|Spearman|, * = strong enough for a guideline)");
        if (ranking.drivers.empty()) {
            for (const auto& note : ranking.notes) out << "  " << note << '\n';
            if (ranking.notes.empty()) out << "  nothing to rank\n";
            continue;
        }
        Table table({"", "variable", "Spearman", "Pearson", "n", "direction", "strength"}, "llrrrll");
        for (const auto& d : ranking.drivers)
            table.add({d.supported ? "*" : "", d.variable, rho_text(d.spearman), rho_text(d.pearson),
                       std::to_string(d.n), d.direction, d.strength});
        table.print(out);
    }
}

void print_correlations(std::ostream& out, const Analysis& a) {
    const CorrelationMatrix& m = a.correlations;
    std::vector<std::string> rows, columns;
    for (const auto& v : m.variables) {
        const VariableInfo* info = find_variable(v);
        const std::string role = info ? info->role : "";
        if (role == "energy" && v != "samples_per_j")
            rows.push_back(v);
        else if (role != "energy")
            columns.push_back(v);
    }
    section(out,
            "Spearman correlation of energy with the other variables (pairwise complete; - = n < 3 or "
            "no variance)");
    if (rows.empty() || columns.empty()) {
        std::size_t few = 0;
        std::string constant;
        for (const auto& [variable, reason] : m.omitted) {
            if (starts_with(reason, "only ")) ++few;
            if (starts_with(reason, "constant")) constant += (constant.empty() ? "" : ", ") + variable;
        }
        out << "  no matrix: too few variables vary over 3 or more runs";
        if (few) out << "; " << few << " with fewer than 3 values";
        if (!constant.empty()) out << "; constant: " << constant;
        out << '\n';
        return;
    }
    std::vector<std::string> header = {""};
    std::string align = "l";
    for (const auto& c : columns) {
        header.push_back(abbreviation(c));
        align += 'r';
    }
    Table table(header, align);
    std::size_t min_n = SIZE_MAX, max_n = 0;
    for (const auto& r : rows) {
        std::vector<std::string> line = {abbreviation(r)};
        for (const auto& c : columns) {
            const CorrelationCell* cell = m.find(r, c);
            line.push_back(cell ? rho_text(cell->spearman) : dash());
            if (cell) {
                min_n = std::min(min_n, cell->n);
                max_n = std::max(max_n, cell->n);
            }
        }
        table.add(line);
    }
    table.print(out);
    out << "  runs per cell: "
        << (min_n == max_n ? std::to_string(min_n) : std::to_string(min_n) + " to " + std::to_string(max_n))
        << "; Pearson and n per cell in --json\n";
}

void print_pareto(std::ostream& out, const Analysis& a) {
    const ParetoFront& f = a.pareto;
    // f.basis is "none" when no run has both an accuracy and an energy per sample.
    const std::string basis =
        f.basis.empty() || f.basis == "none" ? "no energy per sample" : f.basis + " energy per sample";
    section(out, "Accuracy/energy Pareto front (per " + f.grouping + ", " + basis + "; * = on the front)");
    if (f.points.empty()) {
        for (const auto& note : f.notes) out << "  " << note << '\n';
        return;
    }
    Table table({"", f.grouping, "n", "accuracy", "E/sample", "method"}, "llrrrl");
    for (const auto& p : f.points)
        table.add({p.on_front ? "*" : "", p.label, std::to_string(p.n), format_significant(p.accuracy),
                   format_energy(p.energy_per_sample_j), method_text(p.method)});
    table.print(out);
    for (const auto& note : f.notes) out << "  note: " << note << '\n';
}

void print_optimal_batches(std::ostream& out, const Analysis& a) {
    section(out, "Energy-optimal batch size per model (lowest mean energy per sample)");
    if (a.optimal_batches.empty()) {
        out << "  no run with a batch size and an energy per sample\n";
        return;
    }
    Table table({"model", "device", "best batch", "E/sample", "worst batch", "E/sample", "worst/best",
                 "runs per batch", "basis", "method"},
                "llrrrrrlll");
    for (const auto& o : a.optimal_batches) {
        std::string counts;
        for (const auto& b : o.batches)
            counts +=
                (counts.empty() ? "" : " ") + format_significant(b.batch_size, 6) + ":" + std::to_string(b.n);
        table.add({o.model, o.device, format_significant(o.best_batch, 6),
                   format_energy(o.best_energy_per_sample_j), format_significant(o.worst_batch, 6),
                   format_energy(o.worst_energy_per_sample_j),
                   o.worst_to_best ? format_ratio(*o.worst_to_best) : dash(), counts, o.basis,
                   method_text(o.method)});
    }
    table.print(out);
    for (const auto& o : a.optimal_batches)
        for (const auto& note : o.notes) out << "  note: " << o.model << ": " << note << '\n';
}

void print_inference(std::ostream& out, const Analysis& a) {
    section(out, "Inference share of lifetime energy at " + format_count(a.options.inferences) +
                     " inferences (lifetime = E_tr + N x E_in/sample)");
    if (a.inference_shares.empty()) {
        out << "  no run has both a train phase and an infer phase with samples\n";
        return;
    }
    Table table(
        {"configuration", "n", "E_tr", "E_in/sample", "lifetime", "inference", "break-even N", "method"},
        "lrrrrrrl");
    for (const auto& s : a.inference_shares)
        table.add({s.label, std::to_string(s.n), format_energy(s.training_energy_j),
                   format_energy(s.inference_energy_per_sample_j), format_energy(s.lifetime_energy_j),
                   format_percent(s.inference_share),
                   s.break_even_inferences ? format_count(*s.break_even_inferences) : dash(),
                   method_text(s.method)});
    table.print(out);
}

void print_guidelines(std::ostream& out, const Analysis& a) {
    section(out, "Guidelines");
    if (a.guidelines.empty()) out << "  NONE: the data cannot support a guideline (reasons below)\n";
    std::size_t k = 0;
    for (const auto& g : a.guidelines) {
        out << "  " << ++k << ". " << g.text << '\n';
        if (!g.evidence.empty()) out << "     evidence: " << g.evidence << '\n';
    }
    if (!a.withheld.empty()) {
        section(out, "No guideline given");
        for (const auto& w : a.withheld) out << "  - " << w.topic << ": " << w.reason << '\n';
    }
}

void print_analysis(std::ostream& out, const Analysis& a, const std::string& store_path) {
    std::set<std::string> devices;
    for (const auto& r : a.runs) devices.insert(r.device);
    const char* unit = a.options.by_job ? (a.runs.size() == 1 ? " job or run" : " jobs and runs")
                                        : (a.runs.size() == 1 ? " run" : " runs");
    out << "joulecast analyze: " << a.runs.size() << unit << " in " << a.configurations.size()
        << (a.configurations.size() == 1 ? " configuration" : " configurations") << " from " << store_path;
    if (devices.size() == 1) out << " on " << *devices.begin();
    out << "; energy " << method_text(a.method) << '\n';
    if (a.options.by_job)
        out << "  by job: " << a.jobs << (a.jobs == 1 ? " job" : " jobs") << " merged from " << a.job_runs
            << (a.job_runs == 1 ? " run" : " runs")
            << " (energy summed over nodes, samples over all ranks); runs without a job id stay alone\n";
    for (const auto& w : a.warnings) out << "  warning: " << w << '\n';
    if (a.runs.empty()) return;
    print_runs(out, a, devices.size() > 1);
    if (a.configurations.size() < a.runs.size()) print_configurations(out, a);
    print_drivers(out, a);
    print_correlations(out, a);
    print_pareto(out, a);
    print_optimal_batches(out, a);
    print_inference(out, a);
    print_guidelines(out, a);
}

}  // namespace

int analyze_command(const std::vector<std::string>& arguments) {
    Args args(arguments);
    RunFilter filter;
    Options options;
    std::string db, text;
    bool json = false;
    while (!args.done()) {
        if (args.value("--db", db) || filter_option(args, filter)) continue;
        if (args.flag("--json")) {
            json = true;
        } else if (args.flag("--by-job")) {
            options.by_job = true;
        } else if (args.flag("--per-run")) {
            options.per_configuration = false;
        } else if (args.value("--inferences", text)) {
            options.inferences = inferences_option(text);
        } else {
            throw UsageError((starts_with(args.peek(), "-") ? "unknown option '" : "unexpected argument '") +
                             args.peek() + "'");
        }
    }

    const std::string path = store_path(db);
    Analysis result;
    const auto store = open_store_to_read(path);
    if (!store) {
        // Reading creates nothing: an absent store is an empty one.
        result = analyze({}, options);
        result.warnings.insert(
            result.warnings.begin(),
            "no run store at " + path + " (nothing measured yet, or see --db / $JOULECAST_DB)");
    } else {
        result = analyze_store(*store, filter, options);
    }
    if (json) {
        std::cout << to_json(result).dump(2) << '\n';
    } else {
        print_analysis(std::cout, result, path);
    }
    return 0;
}

}  // namespace joulecast::cli
