// joulecast runs [--db PATH] list|show|export|rm ...: the store of measured runs.

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/run_filters.hpp"
#include "cli/text_table.hpp"
#include "core/format.hpp"
#include "core/json_fields.hpp"
#include "core/output_file.hpp"
#include "core/text.hpp"
#include "meter/run_json.hpp"
#include "report/summary.hpp"
#include "store/export.hpp"
#include "store/import.hpp"
#include "store/iso_time.hpp"
#include "store/run_store.hpp"

namespace joulecast::cli {

using core::Args;
using core::check_output_path;
using core::format_clock;
using core::format_energy_fixed;
using core::format_fixed;
using core::format_mass_fixed;
using core::format_per_sample_fixed;
using core::split;
using core::starts_with;
using core::to_lower;
using core::trim;
using core::UsageError;
using core::write_output_file;

using meter::RunResult;
using meter::RunStatus;
using meter::WindowEnergy;

using store::export_json;
using store::format_local_time;
using store::import_result_file;
using store::ImportOutcome;
using store::ImportStatus;
using store::open_store_to_read;
using store::parse_iso8601;
using store::readings_csv_header;
using store::RunFilter;
using store::RunNotFound;
using store::RunStore;
using store::RunSummary;
using store::StoreError;
using store::summary_json;
using store::write_readings_csv;
using store::write_runs_csv;

const char* const runs_usage = R"(usage: joulecast runs [--db PATH] SUBCOMMAND [options]

The store of measured runs (SQLite). Run ids may be shortened to any unique prefix, as in git.

subcommands:
  list [FILTERS] [--json]          runs, newest first (the default): id, start, name, status, duration,
                                   energy with how it was obtained, CO2e
                                   (and the job and node, where a run is part of a job)
  show ID [--json]                 one run in full (--json: its result document as stored, schema joulecast.run/2, or /1 for older runs)
  export [FILTERS] --format csv|json [--output FILE] [--readings]
                                   csv: one row per run, or one per reading with --readings;
                                   json: an array of result documents (with their readings with --readings)
  rm ID... [--yes] [--force]       remove runs and everything stored with them
  import FILE.json...              add result documents (`joulecast run --json`) written on other nodes;
                                   a run already in the store is skipped (by its id), a file that is not
                                   a joulecast result is refused with the reason (exit 1), the others
                                   are still imported

filters:
  --study NAME     runs of one study (tag study=NAME)
  --name PATTERN   a glob (*, ?, [...]; case-sensitive) or else a case-insensitive substring of the name
  --tag K=V        runs tagged K=V; repeatable, all must match (--tag K: runs with tag K)
  --job ID         the runs of one distributed job (`joulecast jobs` merges them)
  --status S       running | completed | failed | interrupted | profiled
  --since T        started at or after T: an ISO 8601 time (2026-11-26, 2026-11-26T14:30, ...Z or +01:00;
                   local time without a zone) or a duration before now (30m, 2h, 3d, 1w)
  --until T        started at or before T (same forms)
  --limit N        at most N runs, the newest

options (every subcommand):
  --db PATH        the store (default: $JOULECAST_DB, else $XDG_DATA_HOME/joulecast/runs.db, else
                   ~/.local/share/joulecast/runs.db)

rm asks for confirmation when stdin is a terminal. When it is not (scripts, pipes), rm removes nothing
unless --yes is given (exit 2). A run still "running" (its joulecast alive, or on another host) is kept
unless --force is given. A run whose joulecast died shows as "interrupted"; its figures come from the
readings stored until then.

Exit status: 0 done; 1 unknown or ambiguous run id, or a store that cannot be used; 2 bad options.
)";

namespace {

struct Common {
    std::string db;
};

/// Consumes --db wherever it appears among a subcommand's options.
bool common_option(Args& args, Common& common) {
    return args.value("--db", common.db);
}

std::string store_path(const Common& common) {
    return cli::store_path(common.db);
}

/// The store, or nullptr when it does not exist yet and `create` is false (a read needs no new file).
std::unique_ptr<RunStore> open_store(const Common& common, bool create) {
    const std::string path = store_path(common);
    return create ? std::make_unique<RunStore>(path) : open_store_to_read(path);
}

[[noreturn]] void unknown_argument(const Args& args) {
    throw UsageError((starts_with(args.peek(), "-") ? "unknown option '" : "unexpected argument '") +
                     args.peek() + "'");
}

// ---- Formatting -------------------------------------------------------------------------------------------

/// How the total was obtained, in a word: measured, modelled, "NN% modelled", or partial (joulecast died).
std::string method_hint(const RunSummary& r) {
    if (!r.total_energy_j) return "";
    if (!r.finished) return "partial";
    const double total = *r.total_energy_j;
    const double modelled = r.modelled_energy_j.value_or(0);
    if (total <= 0) return "";
    if (modelled <= total * 1e-6) return "measured";
    if (modelled >= total * (1 - 1e-6)) return "modelled";
    return format_fixed(100 * modelled / total, 0) + "% modelled";
}

std::string shortened(const std::string& text, std::size_t max) {
    return text.size() <= max ? text : text.substr(0, max - 3) + "...";
}

void print_list(std::ostream& out, const std::vector<RunSummary>& runs) {
    // The JOB column (job id, node and node rank) only where some run is part of a distributed job.
    const bool jobs =
        std::any_of(runs.begin(), runs.end(), [](const RunSummary& r) { return !r.job_id.empty(); });
    std::vector<std::vector<std::string>> rows = {
        {"ID", "STARTED", "NAME", "STATUS", "DURATION", "ENERGY", "METHOD", "CO2E"}};
    if (jobs) rows[0].push_back("JOB (NODE)");
    for (const RunSummary& r : runs) {
        rows.push_back({r.id.substr(0, 8), format_local_time(r.started_unix), shortened(r.name, 32),
                        to_string(r.status), r.duration_s ? format_clock(*r.duration_s) : "-",
                        r.total_energy_j ? format_energy_fixed(*r.total_energy_j) : "-", method_hint(r),
                        r.co2e_g ? format_mass_fixed(*r.co2e_g) : "-"});
        if (jobs)
            rows.back().push_back(r.job_id.empty()
                                      ? "-"
                                      : shortened(r.job_id, 24) + " (" + r.node +
                                            (r.node_rank ? " #" + std::to_string(*r.node_rank) : "") + ")");
    }
    print_table(out, rows, {false, false, false, false, true, true, false, true, false});
}

void print_run(std::ostream& out, const RunResult& r) {
    auto line = [&](const std::string& label, const std::string& value) {
        out << "  " << label << std::string(label.size() < 10 ? 10 - label.size() : 1, ' ') << value << '\n';
    };
    out << "run " << r.id;
    if (!r.name.empty()) out << "  " << r.name;
    out << '\n';
    std::string status = to_string(r.status);
    if (!r.partial) status += " (exit " + std::to_string(r.exit_code) + ")";
    line("status", status);
    std::string command;
    for (const auto& word : r.command) command += (command.empty() ? "" : " ") + word;
    line("command", command);
    auto started_unix = parse_iso8601(r.started_at);
    line("started",
         started_unix ? format_local_time(*started_unix, true) + " (" + r.started_at + ")" : r.started_at);
    line("duration", format_clock(r.duration_s));
    std::string host = r.host.hostname;
    if (!r.host.cpu_model.empty()) host += ", " + r.host.cpu_model;
    for (const auto& g : r.gpus) host += ", " + g.name;
    line("host", host);
    if (!r.job_id.empty() || r.node_rank) {
        std::string job = r.job_id.empty() ? "-" : r.job_id + " (from " + r.job_source + ")";
        job += ", node " + (r.node.empty() ? r.host.hostname : r.node);
        if (r.node_rank)
            job += " rank " + std::to_string(*r.node_rank) + " (from " + r.node_rank_source + ")";
        line("job", job);
    }
    out << '\n';

    const WindowEnergy& e = r.energy;
    auto domain_line = [&](const std::string& domain, double joules) {
        auto method = e.domain_method.find(domain);
        if (joules == 0 && method == e.domain_method.end()) return;
        line(domain, format_energy_fixed(joules) + (method == e.domain_method.end() || method->second.empty()
                                                        ? ""
                                                        : "  (" + method->second + ")"));
    };
    for (const char* domain : {"gpu", "cpu", "dram"}) domain_line(domain, e.domain(domain));
    for (const auto& [domain, joules] : e.domain_j)
        if (domain != "gpu" && domain != "cpu" && domain != "dram") domain_line(domain, joules);
    std::string total = format_energy_fixed(e.total_j);
    if (e.modelled_j > 0)
        total += "  (" + format_energy_fixed(e.measured_j) + " measured, " +
                 format_energy_fixed(e.modelled_j) + " modelled)";
    line("total", total);
    if (r.net_energy_j)
        line("net", format_energy_fixed(*r.net_energy_j) + "  (idle " +
                        format_fixed(r.idle ? r.idle->power_w : 0.0, 1) + " W subtracted)");
    if (const std::string attributed = report::attributed_text(r); !attributed.empty())
        line("attributed",
             r.attributed.measurable
                 ? format_energy_fixed(r.attributed.cpu_j + r.attributed.dram_j) + "  " + attributed
                 : attributed);
    if (const std::string gpu = report::attributed_gpu_text(r); !gpu.empty())
        line("attributed gpu",
             r.attributed.gpu_measurable ? format_energy_fixed(r.attributed.gpu_j) + "  " + gpu : gpu);
    line("power",
         "mean " + format_fixed(r.mean_power_w, 1) + " W, peak " + format_fixed(r.peak_power_w, 1) + " W");
    if (r.carbon)
        line("carbon", format_mass_fixed(r.carbon->co2e_g) + " CO2e  (" +
                           format_fixed(r.carbon->intensity_g_per_kwh, 0) + " g/kWh, " +
                           r.carbon->intensity_source + ", PUE " + format_fixed(r.carbon->pue, 2) + ")");
    if (!r.phases.empty()) {
        out << "\n  phases:\n";
        std::vector<std::vector<std::string>> rows = {
            {"NAME", "START", "END", "ENERGY", "SAMPLES", "J/SAMPLE"}};
        for (const auto& p : r.phases)
            rows.push_back({p.name, format_fixed(p.start_s, 2) + " s", format_fixed(p.end_s, 2) + " s",
                            format_energy_fixed(p.energy_j), p.samples ? std::to_string(*p.samples) : "-",
                            p.energy_per_sample_j ? format_per_sample_fixed(*p.energy_per_sample_j) : "-"});
        std::ostringstream table;
        print_table(table, rows, {false, true, true, true, true, true});
        for (const auto& row : split(table.str(), '\n'))
            if (!row.empty()) out << "    " << row << '\n';
    }
    if (!r.epochs.empty()) {
        double energy = 0;
        for (const auto& epoch : r.epochs) energy += epoch.energy_j;
        out << '\n';
        line("epochs", std::to_string(r.epochs.size()) + ", " + format_energy_fixed(energy) + " in all");
    }
    auto key_values = [&](const std::map<std::string, std::string>& values, const char* label) {
        if (values.empty()) return;
        std::string text;
        for (const auto& [k, v] : values) text += (text.empty() ? "" : "  ") + k + "=" + v;
        line(label, text);
    };
    out << '\n';
    key_values(r.meta, "meta");
    std::map<std::string, std::string> metrics;
    for (const auto& [name, series] : r.metrics) metrics[name] = nlohmann::json(series.last()).dump();
    key_values(metrics, "metrics");
    key_values(r.tags, "tags");
    for (const auto& w : r.warnings) out << "  warning: " << w << '\n';
}

// ---- Subcommands ------------------------------------------------------------------------------------------

int list_runs(Args& args, Common common) {
    RunFilter filter;
    bool json = false;
    while (!args.done()) {
        if (common_option(args, common) || filter_option(args, filter)) continue;
        if (args.flag("--json"))
            json = true;
        else
            unknown_argument(args);
    }
    auto store = open_store(common, false);
    const std::vector<RunSummary> runs = store ? store->list(filter) : std::vector<RunSummary>{};
    if (json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& r : runs) out.push_back(summary_json(r));
        std::cout << out.dump(2) << '\n';
    } else if (runs.empty()) {
        std::cout << (store ? "no runs match\n" : "no runs yet (no store at " + store_path(common) + ")\n");
    } else {
        print_list(std::cout, runs);
    }
    return 0;
}

int show_run(Args& args, Common common) {
    std::string id;
    bool json = false;
    while (!args.done()) {
        if (common_option(args, common)) continue;
        if (args.flag("--json"))
            json = true;
        else if (!starts_with(args.peek(), "-") && id.empty())
            id = args.next();
        else
            unknown_argument(args);
    }
    if (id.empty()) throw UsageError("show: which run? give its id (or a unique prefix)");
    auto store = open_store(common, false);
    if (!store)
        throw RunNotFound("no run with id '" + id + "': there is no store at " + store_path(common) + " yet");
    if (json)
        std::cout << store->get_document(id).dump(2) << '\n';
    else
        print_run(std::cout, store->get(id));
    return 0;
}

int export_runs(Args& args, Common common) {
    RunFilter filter;
    std::string format, output;
    bool readings = false;
    while (!args.done()) {
        if (common_option(args, common) || filter_option(args, filter)) continue;
        if (args.value("--format", format) || args.value("--output", output) || args.value("-o", output))
            continue;
        if (args.flag("--readings"))
            readings = true;
        else
            unknown_argument(args);
    }
    if (format.empty()) throw UsageError("export: --format csv or --format json is required");
    if (format != "csv" && format != "json")
        throw UsageError("--format: expected csv or json, got '" + format + "'");

    if (!output.empty()) check_output_path("--output", output);
    auto store = open_store(common, false);
    const std::vector<RunSummary> runs = store ? store->list(filter) : std::vector<RunSummary>{};
    auto write = [&](std::ostream& out) {
        if (format == "json") {
            out << (store ? export_json(*store, runs, readings) : nlohmann::ordered_json::array()).dump(2)
                << '\n';
        } else if (readings) {
            if (store)
                write_readings_csv(out, *store, runs);
            else
                out << readings_csv_header << '\n';
        } else {
            write_runs_csv(out, runs);
        }
    };
    std::string failure;
    if (output.empty()) {
        write(std::cout);
        std::cout.flush();
        if (!std::cout) failure = "write failed";
    } else {
        failure = write_output_file(output, write);
    }
    if (!failure.empty()) {
        std::cerr << "joulecast runs: error: writing " << (output.empty() ? "standard output" : output)
                  << " failed: " << failure << '\n';
        return 1;
    }
    if (!output.empty())
        std::cerr << "joulecast: exported " << runs.size() << " run" << (runs.size() == 1 ? "" : "s")
                  << " to " << output << '\n';
    return 0;
}

int import_runs(Args& args, Common common) {
    std::vector<std::string> files;
    while (!args.done()) {
        if (common_option(args, common)) continue;
        if (args.peek() != "-" && starts_with(args.peek(), "-")) unknown_argument(args);
        files.push_back(args.next());
    }
    if (files.empty())
        throw UsageError("runs import: expected one or more result files (joulecast run --json)");
    auto store = open_store(common, true);
    std::size_t imported = 0, present = 0, refused = 0;
    for (const std::string& file : files) {
        const ImportOutcome outcome = import_result_file(*store, file);
        std::string where = outcome.job_id.empty() ? "" : ", job " + outcome.job_id;
        if (!outcome.node.empty()) where += ", node " + outcome.node;
        switch (outcome.status) {
            case ImportStatus::imported:
                ++imported;
                std::cout << "imported " << outcome.run_id << " from " << file << " (" << where.substr(2)
                          << ")\n";
                break;
            case ImportStatus::already_present:
                ++present;
                std::cout << "skipped " << file << ": run " << outcome.run_id << " is already in "
                          << store->path() << '\n';
                break;
            case ImportStatus::refused:
                ++refused;
                std::cerr << "joulecast: runs import: refused " << file << ": " << outcome.reason << '\n';
                break;
        }
    }
    std::cout << imported << " imported, " << present << " already present, " << refused << " refused\n";
    return refused > 0 ? 1 : 0;
}

int remove_runs(Args& args, Common common) {
    std::vector<std::string> ids;
    bool yes = false, force = false;
    while (!args.done()) {
        if (common_option(args, common)) continue;
        if (args.flag("--yes") || args.flag("-y"))
            yes = true;
        else if (args.flag("--force"))
            force = true;
        else if (!starts_with(args.peek(), "-"))
            ids.push_back(args.next());
        else
            unknown_argument(args);
    }
    if (ids.empty()) throw UsageError("rm: which runs? give one or more ids (or unique prefixes)");
    auto store = open_store(common, false);
    if (!store)
        throw RunNotFound("no run with id '" + ids.front() + "': there is no store at " + store_path(common) +
                          " yet");
    if (store->read_only())
        throw StoreError("run store " + store->path() +
                         " is read-only; give write access to it and its folder to remove runs");

    // Every id must resolve before anything is removed.
    std::vector<RunSummary> runs;
    for (const auto& id : ids) {
        RunSummary run = store->summary(id);
        bool seen = false;
        for (const auto& r : runs) seen = seen || r.id == run.id;
        if (seen) continue;
        if (run.status == RunStatus::running && !force)
            throw StoreError("run " + run.id + " is still running (or its joulecast runs on host " +
                             run.hostname + "); remove it with --force");
        runs.push_back(std::move(run));
    }
    if (!yes) {
        if (!isatty(STDIN_FILENO))
            throw UsageError(
                "rm: stdin is not a terminal, so nothing can be confirmed: add --yes to remove " +
                std::to_string(runs.size()) + " run" + (runs.size() == 1 ? "" : "s"));
        for (const auto& r : runs)
            std::cerr << "  " << r.id << "  " << format_local_time(r.started_unix) << "  " << r.name << "  "
                      << to_string(r.status) << '\n';
        std::cerr << "remove " << runs.size() << " run" << (runs.size() == 1 ? "" : "s") << "? [y/N] ";
        std::string answer;
        std::getline(std::cin, answer);
        answer = to_lower(trim(answer));
        if (answer != "y" && answer != "yes") {
            std::cerr << "nothing removed\n";
            return 1;
        }
    }
    for (const auto& r : runs) {
        if (store->remove(r.id))
            std::cout << "removed " << r.id << (r.name.empty() ? "" : "  " + r.name) << '\n';
    }
    return 0;
}

}  // namespace

int runs_command(const std::vector<std::string>& raw) {
    // --help / -h anywhere (`runs list --help`, `runs show --help`, ...): the usage, exit 0.
    for (const std::string& argument : raw) {
        if (argument == "--") break;
        if (argument == "--help" || argument == "-h") {
            std::cout << runs_usage;
            return 0;
        }
    }
    Args args(raw);
    Common common;
    while (!args.done() && common_option(args, common)) {
    }
    std::string subcommand = args.done() ? "list" : args.peek();
    if (!args.done() && !starts_with(subcommand, "-"))
        args.next();
    else
        subcommand = "list";  // options straight after `runs` belong to list
    if (subcommand == "list" || subcommand == "ls") return list_runs(args, common);
    if (subcommand == "show") return show_run(args, common);
    if (subcommand == "export") return export_runs(args, common);
    if (subcommand == "rm" || subcommand == "remove") return remove_runs(args, common);
    if (subcommand == "import") return import_runs(args, common);
    throw UsageError("unknown subcommand '" + subcommand + "' (list, show, export, rm, import)");
}

}  // namespace joulecast::cli
