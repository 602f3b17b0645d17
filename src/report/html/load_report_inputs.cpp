// Loads what the HTML report is made from out of the run store: the runs matching the filter, their
// analysis, and the run whose power the timeline shows. Shaping it into the page's data is report_data.cpp.

#include "report/html/report_data.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "meter/run_kinds.hpp"

namespace joulecast::report {

using meter::RunResult;

using store::RunStore;
using store::RunSummary;
using store::StoredTrace;
using store::StoreError;

ReportInputs load_report_inputs(RunStore* store, const ReportRequest& request) {
    ReportInputs inputs;
    inputs.filter_text = request.filter_text;
    analysis::Options options;
    options.inferences = request.options.inferences;
    if (!store) {
        inputs.analysis = analysis::analyze({}, options);
        inputs.analysis.warnings.insert(inputs.analysis.warnings.begin(), "the run store does not exist yet");
        inputs.timeline_reason = "no runs";
        return inputs;
    }
    inputs.store_path = store->path();

    // As analyze_store, but keeping each unit's result document for the charts' provenance and the backtest.
    analysis::AnalysisUnits units = analysis::load_units(*store, request.filter, request.by_job);
    options.by_job = request.by_job;
    inputs.runs_matched = units.runs_matched;
    inputs.results = std::move(units.results);
    inputs.analysis = analysis::analyze(std::move(units.rows), options);
    inputs.analysis.jobs = units.jobs;
    inputs.analysis.job_runs = units.job_runs;
    inputs.analysis.warnings.insert(inputs.analysis.warnings.begin(), units.warnings.begin(),
                                    units.warnings.end());
    const std::vector<RunSummary> summaries = store->list(request.filter);

    // The timeline's run.
    if (!request.run_id.empty()) {
        const std::string id = store->resolve_id(request.run_id);
        inputs.timeline = TimelineRun{store->get(id), store->trace(id), "--run"};
        return inputs;
    }
    // Newest first; a run with phases is preferred, but only the newest few are read for it.
    constexpr std::size_t look_at = 50;
    std::optional<TimelineRun> fallback;
    std::size_t looked = 0;
    for (const auto& s : summaries) {
        if (looked++ >= look_at) break;
        try {
            RunResult result = store->get(s.id);
            StoredTrace trace = store->trace(s.id);
            if (trace.readings.empty()) continue;
            if (!result.phases.empty()) {
                inputs.timeline =
                    TimelineRun{std::move(result), std::move(trace), "the latest run with phases"};
                return inputs;
            }
            if (!fallback) fallback = TimelineRun{std::move(result), std::move(trace), "the latest run"};
        } catch (const StoreError&) {
            // A run that cannot be read is not shown; the next one is.
        }
    }
    inputs.timeline = std::move(fallback);
    if (!inputs.timeline)
        inputs.timeline_reason = summaries.empty() ? "no runs" : "no matching run has stored readings";
    return inputs;
}

}  // namespace joulecast::report
