// What `analyze` and the report cover: the matching runs, each one row, or with --by-job each distributed
// job one row merged over its nodes (analysis.hpp, load_units; docs/distributed.md).

#include <map>
#include <optional>
#include <set>

#include "analysis/analysis.hpp"
#include "analysis/job_merge.hpp"
#include "meter/run_kinds.hpp"

namespace joulecast::analysis {

using meter::is_usable;
using meter::RunResult;
using meter::RunStatus;

using store::RunFilter;
using store::RunStore;
using store::RunSummary;
using store::StoredTrace;
using store::StoreError;

namespace {

std::string runs_text(std::size_t n) {
    return std::to_string(n) + (n == 1 ? " run" : " runs");
}

struct Loaded {
    RunResult result;
    RunRow row;
};

/// One run and its row (utilisation from its stored readings, when they can be read).
Loaded load_run(RunStore& store, const std::string& id, std::vector<std::string>& warnings) {
    Loaded loaded{store.get(id), {}};
    std::optional<StoredTrace> trace;
    try {
        trace = store.trace(id);
    } catch (const StoreError& error) {
        warnings.push_back("run " + id + ": readings unavailable (" + error.what() + "): no utilisation");
    }
    loaded.row = derive_row(loaded.result, trace ? &*trace : nullptr);
    return loaded;
}

/// The nodes' utilisation, weighted by their duration; none when a node has none.
std::optional<double> weighted(const std::vector<Loaded>& nodes, std::optional<double> RunRow::*field) {
    double sum = 0, weight = 0;
    for (const Loaded& n : nodes) {
        const auto& value = n.row.*field;
        const double duration = n.row.duration_s.value_or(0);
        if (!value || duration <= 0) return std::nullopt;
        sum += *value * duration;
        weight += duration;
    }
    if (weight <= 0) return std::nullopt;
    return sum / weight;
}

}  // namespace

AnalysisUnits load_units(RunStore& store, const RunFilter& filter, bool by_job) {
    AnalysisUnits units;
    const std::vector<RunSummary> summaries = store.list(filter);
    units.runs_matched = summaries.size();
    std::map<std::string, std::size_t> skipped;
    std::set<std::string> jobs_done;
    auto usable = [&](RunStatus status) {
        return filter.status ? status == *filter.status : is_usable(status);
    };
    for (const RunSummary& s : summaries) {
        if (by_job && !s.job_id.empty()) {
            if (!jobs_done.insert(s.job_id).second) continue;
            // The whole job, whichever of its runs matched.
            RunFilter of_job;
            of_job.job = s.job_id;
            const std::vector<RunSummary> parts = store.list(of_job);
            std::string unusable;
            for (const RunSummary& part : parts)
                if (!usable(part.status) && unusable.empty())
                    unusable =
                        "its run " + part.id + " on node " + part.node + " is " + to_string(part.status);
            if (!unusable.empty()) {
                units.warnings.push_back("job " + s.job_id + " (" + runs_text(parts.size()) +
                                         ") left out: " + unusable + " (a job is analysed whole)");
                continue;
            }
            try {
                std::vector<Loaded> nodes;
                std::vector<RunResult> results;
                for (const RunSummary& part : parts) {
                    nodes.push_back(load_run(store, part.id, units.warnings));
                    results.push_back(nodes.back().result);
                }
                const JobResult job = merge_job(s.job_id, results);
                RunResult merged = job_as_run(job, results);
                RunRow row = derive_row(merged, nullptr);
                row.merged_job = true;
                row.nodes = parts.size();
                row.gpu_utilisation_pct = weighted(nodes, &RunRow::gpu_utilisation_pct);
                row.cpu_utilisation_pct = weighted(nodes, &RunRow::cpu_utilisation_pct);
                row.notes.push_back(
                    "job " + s.job_id + ": " + runs_text(parts.size()) +
                    " (one per node) merged: energy summed over nodes, samples over all ranks");
                for (const auto& warning : job.warnings) row.notes.push_back("job: " + warning);
                units.rows.push_back(std::move(row));
                units.results.push_back(std::move(merged));
                ++units.jobs;
                units.job_runs += parts.size();
            } catch (const StoreError& error) {
                units.warnings.push_back("job " + s.job_id + " skipped: " + error.what());
            }
            continue;
        }
        if (!filter.status && !is_usable(s.status)) {
            ++skipped[to_string(s.status)];
            continue;
        }
        try {
            Loaded loaded = load_run(store, s.id, units.warnings);
            units.rows.push_back(std::move(loaded.row));
            units.results.push_back(std::move(loaded.result));
        } catch (const StoreError& error) {
            units.warnings.push_back("run " + s.id + " skipped: " + error.what());
        }
    }
    for (const auto& [status, count] : skipped)
        units.warnings.push_back(
            runs_text(count) + " with status " + status +
            " left out (only completed and profiled runs are analysed; choose with --status)");
    if (summaries.empty()) units.warnings.push_back("no run in " + store.path() + " matches the filters");
    return units;
}

}  // namespace joulecast::analysis
