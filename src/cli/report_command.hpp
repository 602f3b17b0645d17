#pragma once
// `joulecast report`: writes one self-contained HTML page (charts and tables, no network needed) about the
// runs in the store (the logic is in report/html/).

#include <ostream>
#include <string>
#include <vector>

#include "report/html/report_data.hpp"

namespace joulecast::cli {

/// `args` are the words after "report". Exit status: 0 when the page was written (also with "no data"
/// sections: an empty store, a single run, runs without samples); 1 for an unknown run id, a store that
/// cannot be used or a file that cannot be written; UsageError (exit 2) for bad options.
int report_command(const std::vector<std::string>& args);

extern const char* const report_usage;

/// Writes the report on the runs of the store at `store_path` that `request` selects to the file `html`
/// (atomically) and says on `out` where it is and which sections had no data. Throws RunNotFound for an
/// unknown run id and std::runtime_error when the file cannot be written.
void write_report(const std::string& store_path, const report::ReportRequest& request, const std::string& html,
                  std::ostream& out);

}  // namespace joulecast::cli
