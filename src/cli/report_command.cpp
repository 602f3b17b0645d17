// joulecast report [--db PATH] [--html FILE] [filters] [--run ID] [--inferences N]: the HTML report.

#include "cli/report_command.hpp"

#include <cmath>
#include <iostream>

#include "cli/args.hpp"
#include "cli/run_filters.hpp"
#include "core/output_file.hpp"
#include "core/text.hpp"
#include "report/html/report_data.hpp"
#include "report/html/write_report.hpp"
#include "store/run_store.hpp"

namespace joulecast::cli {

using core::Args;
using core::check_output_path;
using core::starts_with;
using core::UsageError;
using core::whole_number_option;

const char* const report_usage =
    R"(usage: joulecast report [--db PATH] [--html FILE] [FILTERS] [--by-job] [--run ID] [--inferences N]

Writes one self-contained HTML page about the runs in the store: it embeds its chart library and data, so
it opens in any browser without network. Charts: power over time of one run per domain with its phases;
energy per sample against batch size per model; accuracy against energy per sample with the Pareto front;
correlations (Pearson / Spearman); forecast after a few epochs against the measured total. Each chart says
where its numbers come from (energy counter, integrated power or a model), or "no data" and why.

options:
  --db PATH            the store (default: $JOULECAST_DB, else ~/.local/share/joulecast/runs.db)
  --html FILE          where to write the page (default joulecast-report.html)
  --run ID             the run whose power over time is drawn (id or unique prefix; default: the latest
                       matching run with phases)
  --by-job             each distributed job is one unit of the analysis charts: its runs on every node
                       merged (as in `joulecast analyze --by-job`); the timeline stays one node's run
  --inferences N       deployment volume for the inference share (default 1000000; 250k, 2M also work)
  --forecast-epochs K  the backtest forecasts each run from its first K epochs (default 2)

filters (which runs the analysis charts cover; default: every completed or profiled run):
  --study NAME         runs of the study NAME (tag study=NAME)
  --job ID             runs of one distributed job (each node's run; --by-job makes them one unit)
  --name PATTERN       a glob (*, ?, [...]) or else a case-insensitive substring of the run's name
  --tag K=V            runs tagged K=V; repeatable, all must match (--tag K: runs with tag K)
  --status S           runs with status S (running | completed | failed | interrupted | profiled)
  --since T            started at or after T: an ISO 8601 time (2026-11-26, 2026-11-26T14:30) or a duration
                       before now (30m, 2h, 3d, 1w)
  --until T            started at or before T (same forms)
  --limit N            at most the N newest runs

Exit status: 0 written (sections without data say so); 1 unknown run id, unusable store, or writing the
file failed part way (e.g. a full disk); 2 bad options, among them an --html FILE that cannot be written (a
folder, a missing or read-only folder), checked before the report is built.
)";

namespace {

std::string quoted(const std::string& text) {
    return text.find_first_of(" \t'\"") == std::string::npos ? text : "'" + text + "'";
}

}  // namespace

int report_command(const std::vector<std::string>& raw) {
    Args args(raw);
    std::string db, html = "joulecast-report.html", text;
    report::ReportRequest request;
    std::string filter_text;  // as given, for the page's header
    while (!args.done()) {
        if (args.value("--db", db)) continue;
        if (args.value("--html", html) || args.value("--run", request.run_id)) continue;
        if (args.flag("--by-job")) {
            request.by_job = true;
            filter_text += std::string(filter_text.empty() ? "" : " ") + "--by-job";
            continue;
        }
        if (args.value("--inferences", text)) {
            request.options.inferences = inferences_option(text);
            continue;
        }
        if (args.value("--forecast-epochs", text)) {
            request.options.forecast_after_epochs =
                static_cast<std::size_t>(whole_number_option("--forecast-epochs", text, 1, 1000));
            continue;
        }
        const std::size_t before = args.position();
        if (filter_option(args, request.filter)) {
            // Written one way whichever way it was typed: "--study=demo" as "--study demo".
            for (const auto& arg : args.consumed_since(before)) {
                const auto eq = arg.find('=');
                const bool joined = starts_with(arg, "--") && eq != std::string::npos;
                filter_text += (filter_text.empty() ? "" : " ") +
                               (joined ? arg.substr(0, eq) + " " + quoted(arg.substr(eq + 1)) : quoted(arg));
            }
            continue;
        }
        throw UsageError((starts_with(args.peek(), "-") ? "unknown option '" : "unexpected argument '") +
                         args.peek() + "'");
    }
    request.filter_text = filter_text;
    check_output_path("--html", html);
    report::write_report(store_path(db), request, html, std::cout);
    return 0;
}

}  // namespace joulecast::cli
