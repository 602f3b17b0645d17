// `joulecast jobs`: distributed jobs whose nodes' runs are in the store (their own, or brought in with
// `joulecast runs import`), merged into one (analysis/job_merge.hpp, docs/distributed.md).

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "analysis/job_merge.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/run_filters.hpp"
#include "cli/text_table.hpp"
#include "core/format.hpp"
#include "core/text.hpp"
#include "store/iso_time.hpp"
#include "store/run_store.hpp"

namespace joulecast::cli {

using core::Args;
using core::format_clock;
using core::format_energy_fixed;
using core::format_fixed;
using core::format_mass_fixed;
using core::format_per_sample_fixed;
using core::split;
using core::starts_with;
using core::UsageError;

using meter::RunResult;

using store::format_local_time;
using store::open_store_to_read;
using store::parse_iso8601;
using store::RunFilter;
using store::RunSummary;

const char* const jobs_usage = R"(usage: joulecast jobs [--db PATH] SUBCOMMAND [options]

Distributed jobs: the runs of one job (`joulecast run --job ID`, or $SLURM_JOB_ID, $TORCHELASTIC_RUN_ID), one
per node, merged. Bring the other nodes' results into this store first: `joulecast runs import node*.json`.

subcommands:
  list [--json]           jobs, newest first: id, nodes, runs, start, energy summed over the nodes
  show ID [--json]        one job merged: energy summed over nodes by domain and by device (NODE/DEVICE),
                          each phase from the earliest begin to the latest end of any node (wall clock),
                          samples summed over nodes, energy per sample, CO2e of each node at its own
                          intensity, summed (--json: schema joulecast.job/1, docs/result-schema.md)

options:
  --db PATH               the store (default: $JOULECAST_DB, else ~/.local/share/joulecast/runs.db)

Exit status: 0 done; 1 no such job, or a store that cannot be used; 2 bad options.
)";

namespace {

std::string optional_count(const std::optional<long long>& n) {
    return n ? std::to_string(*n) : "-";
}

int list_jobs(Args& args, const std::string& db) {
    bool json = false;
    while (!args.done()) {
        if (args.flag("--json"))
            json = true;
        else
            throw UsageError("unexpected argument '" + args.peek() + "'");
    }
    auto store = open_store_to_read(store_path(db));
    struct Job {
        std::string id;
        double started_unix = 0;
        std::string started_at;
        std::size_t runs = 0;
        std::map<std::string, int> nodes;
        double energy_j = 0;
        bool unfinished = false;
    };
    std::map<std::string, Job> jobs;
    if (store)
        for (const RunSummary& r : store->list()) {
            if (r.job_id.empty()) continue;
            Job& job = jobs[r.job_id];
            if (job.runs == 0 || r.started_unix < job.started_unix) {
                job.started_unix = r.started_unix;
                job.started_at = r.started_at;
            }
            job.id = r.job_id;
            ++job.runs;
            // A node is a name and a rank: several "nodes" of one job may share a machine.
            ++job.nodes[(r.node.empty() ? r.hostname : r.node) + "#" +
                        (r.node_rank ? std::to_string(*r.node_rank) : std::string("-"))];
            job.energy_j += r.total_energy_j.value_or(0);
            job.unfinished = job.unfinished || !r.finished;
        }
    std::vector<Job> ordered;
    for (auto& [id, job] : jobs) ordered.push_back(job);
    std::sort(ordered.begin(), ordered.end(),
              [](const Job& a, const Job& b) { return a.started_unix > b.started_unix; });
    if (json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const Job& job : ordered)
            out.push_back({{"job", job.id},
                           {"started_at", job.started_at},
                           {"nodes", job.nodes.size()},
                           {"runs", job.runs},
                           {"energy_j", job.energy_j},
                           {"finished", !job.unfinished}});
        std::cout << out.dump(2) << '\n';
        return 0;
    }
    if (ordered.empty()) {
        std::cout << "no jobs (no run has a job id; see `joulecast run --job`)\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows = {{"JOB", "STARTED", "NODES", "RUNS", "ENERGY"}};
    for (const Job& job : ordered)
        rows.push_back(
            {job.id, format_local_time(job.started_unix), std::to_string(job.nodes.size()),
             std::to_string(job.runs),
             format_energy_fixed(job.energy_j) + (job.unfinished ? " (some runs unfinished)" : "")});
    print_table(std::cout, rows, {false, false, true, true, true});
    return 0;
}

void print_job(std::ostream& out, const analysis::JobResult& job) {
    out << "job " << job.job_id << "  (" << job.nodes.size() << " node" << (job.nodes.size() == 1 ? "" : "s")
        << ", merged: energy summed over nodes)\n";
    auto started = parse_iso8601(job.started_at);
    out << "  started   " << (started ? format_local_time(*started, true) : job.started_at) << '\n';
    out << "  duration  " << format_clock(job.duration_s) << "  (earliest start to latest end)\n\n";
    std::vector<std::vector<std::string>> rows = {
        {"NODE", "RANK", "RUN", "STATUS", "DURATION", "ENERGY", "SAMPLES", "CO2E"}};
    for (const auto& n : job.nodes)
        rows.push_back({n.node, optional_count(n.node_rank), n.run_id.substr(0, 8), to_string(n.status),
                        format_clock(n.duration_s), format_energy_fixed(n.energy_j),
                        optional_count(n.samples), n.co2e_g ? format_mass_fixed(*n.co2e_g) : "-"});
    print_table(out, rows, {false, true, false, false, true, true, true, true});
    out << '\n';
    for (const auto& [domain, joules] : job.domain_j)
        out << "  " << domain << std::string(domain.size() < 10 ? 10 - domain.size() : 1, ' ')
            << format_energy_fixed(joules) << '\n';
    out << "  total     " << format_energy_fixed(job.energy_j);
    if (job.modelled_j > 0)
        out << "  (" << format_energy_fixed(job.measured_j) << " measured, "
            << format_energy_fixed(job.modelled_j) << " modelled)";
    out << '\n';
    if (job.samples) out << "  samples   " << *job.samples << " (all nodes)\n";
    if (job.energy_per_sample_j)
        out << "  per sample " << format_per_sample_fixed(*job.energy_per_sample_j) << '\n';
    if (job.co2e_g)
        out << "  carbon    " << format_mass_fixed(*job.co2e_g) << " CO2e (each node at its own intensity)\n";
    if (!job.device_j.empty()) {
        out << "\n  devices:\n";
        for (const auto& [device, joules] : job.device_j)
            out << "    " << device << "  " << format_energy_fixed(joules) << '\n';
    }
    if (!job.phases.empty()) {
        out << "\n  phases (wall clock, from the job's start):\n";
        std::vector<std::vector<std::string>> p = {
            {"NAME", "START", "END", "ENERGY", "SAMPLES", "J/SAMPLE", "NODES"}};
        for (const auto& s : job.phases)
            p.push_back({s.name, format_fixed(s.start_s, 2) + " s", format_fixed(s.end_s, 2) + " s",
                         format_energy_fixed(s.energy_j), optional_count(s.samples),
                         s.energy_per_sample_j ? format_per_sample_fixed(*s.energy_per_sample_j) : "-",
                         std::to_string(s.nodes)});
        std::ostringstream table;
        print_table(table, p, {false, true, true, true, true, true, true});
        for (const auto& row : split(table.str(), '\n'))
            if (!row.empty()) out << "    " << row << '\n';
    }
    if (!job.epochs.empty()) out << "\n  epochs    " << job.epochs.size() << " (merged by epoch number)\n";
    for (const auto& w : job.warnings) out << "  warning: " << w << '\n';
}

int show_job(Args& args, const std::string& db) {
    bool json = false;
    std::string id;
    while (!args.done()) {
        if (args.flag("--json"))
            json = true;
        else if (id.empty() && !starts_with(args.peek(), "-"))
            id = args.next();
        else
            throw UsageError("unexpected argument '" + args.peek() + "'");
    }
    if (id.empty()) throw UsageError("jobs show: expected a job id");
    auto store = open_store_to_read(store_path(db));
    RunFilter filter;
    filter.job = id;
    const std::vector<RunSummary> summaries = store ? store->list(filter) : std::vector<RunSummary>{};
    if (summaries.empty()) {
        std::cerr << "joulecast: no runs of job '" << id << "' in " << store_path(db)
                  << " (import the nodes' results with `joulecast runs import FILE.json...`)\n";
        return 1;
    }
    std::vector<RunResult> runs;
    for (const RunSummary& s : summaries) runs.push_back(store->get(s.id));
    const analysis::JobResult job = analysis::merge_job(id, runs);
    if (json)
        std::cout << analysis::to_json(job).dump(2) << '\n';
    else
        print_job(std::cout, job);
    return 0;
}

}  // namespace

int jobs_command(const std::vector<std::string>& raw) {
    std::vector<std::string> rest;
    std::string db;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == "--help" || raw[i] == "-h") {
            std::cout << jobs_usage;
            return 0;
        }
        if (raw[i] == "--db") {
            if (i + 1 >= raw.size()) throw UsageError("--db: expected a path");
            db = raw[++i];
        } else {
            rest.push_back(raw[i]);
        }
    }
    Args args(rest);
    const std::string subcommand = args.done() ? "list" : args.next();
    if (subcommand == "list" || subcommand == "ls") return list_jobs(args, db);
    if (subcommand == "show") return show_job(args, db);
    throw UsageError("unknown subcommand '" + subcommand + "' (list, show)");
}

}  // namespace joulecast::cli
