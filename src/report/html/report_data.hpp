#pragma once
// The data behind `joulecast report`'s HTML page (schema "joulecast.report/1"): loaded from the run store,
// analysed (analysis/analysis.hpp), and shaped per chart. Every section has "status" ("ok" or "no data"),
// "reason" (why there is no data; empty when ok), "source" (where its numbers come from: counter, integrated
// or modelled energy, per domain) and "notes"; the page's script (web/report/report.js) draws it.
//
// Sections: timeline (power per domain over one run, phases and epochs, the job's own share of each device
// beside its gross energy), batch (energy per sample against batch size, one series per model), pareto
// (accuracy against energy per sample, with the Pareto front), correlations (Pearson and Spearman matrices),
// forecast (forecast after k epochs against the measured total, per run), plus guidelines, withheld
// guidelines, inference shares, runs (each with its attributed total where every share was measured) and
// warnings.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.hpp"
#include "store/run_store.hpp"

namespace joulecast::report {

inline constexpr const char* report_schema = "joulecast.report/1";

struct ReportOptions {
    double inferences = 1e6;                ///< deployment volume for the inference share (analysis Options)
    std::size_t max_timeline_bins = 1200;   ///< points per domain in the power timeline
    std::size_t forecast_after_epochs = 2;  ///< k: the backtest forecasts each run's total from k epochs
};

/// Which runs the report covers.
struct ReportRequest {
    store::RunFilter filter;
    std::string filter_text;  ///< the filters as the user gave them, for the page's header ("" = all runs)
    std::string run_id;       ///< the run of the power timeline (id or prefix); empty: the latest with phases
    bool by_job = false;      ///< each distributed job one unit, merged over its nodes (analysis::load_units)
    ReportOptions options;
};

/// The run whose power the timeline shows, as loaded.
struct TimelineRun {
    meter::RunResult result;
    store::StoredTrace trace;
    std::string chosen_by;  ///< "--run", "the latest run with phases", "the latest run"
};

/// Everything the page is made from, loaded from a store (or built by tests).
struct ReportInputs {
    std::string store_path;
    std::string filter_text;
    std::size_t runs_matched = 0;  ///< runs matching the filter, any status
    /// The analysed runs, in the order of analysis.runs.
    std::vector<meter::RunResult> results;
    analysis::Analysis analysis;
    std::optional<TimelineRun> timeline;
    std::string timeline_reason;  ///< why there is no timeline run, when there is none
};

/// Loads the runs matching `request.filter` from `store` (nullptr: no store file yet, i.e. no runs), analyses
/// them, and loads the timeline run: request.run_id when given (throws RunNotFound / StoreError for an
/// unknown or ambiguous id), else the newest matching run with phases and readings, else the newest with
/// readings. Throws StoreError only for a store that cannot be used.
ReportInputs load_report_inputs(store::RunStore* store, const ReportRequest& request);

/// The page's data document (see the header comment). Never throws for missing or odd data: each section
/// without data says why.
nlohmann::ordered_json build_report_data(const ReportInputs& inputs, const ReportOptions& options = {});

// ---- Sections, exposed for tests -------------------------------------------------------------------------

nlohmann::ordered_json timeline_section(const std::optional<TimelineRun>& run, const std::string& reason,
                                        std::size_t max_bins);
nlohmann::ordered_json batch_section(const analysis::Analysis& analysis,
                                     const std::vector<meter::RunResult>& results);
nlohmann::ordered_json pareto_section(const analysis::Analysis& analysis,
                                      const std::vector<meter::RunResult>& results);
nlohmann::ordered_json correlation_section(const analysis::Analysis& analysis);
nlohmann::ordered_json forecast_section(const std::vector<meter::RunResult>& results,
                                        std::size_t after_epochs);

/// How the energy of some runs was obtained, per domain, from their energy methods:
/// {"domains": {"gpu": {"counter": 5}, "cpu": {"modelled": 5}}, "text": "gpu: counter (5 runs); cpu:
/// modelled (5 runs)"}. Runs without energy_method count as "unknown".
nlohmann::ordered_json energy_provenance(const std::vector<const meter::RunResult*>& results);

}  // namespace joulecast::report
