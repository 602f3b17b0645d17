#pragma once
// Writing the HTML report to a file: load the runs from the store, shape the page's data, render it and
// write it atomically. Shared by `joulecast report` and `joulecast study` (its report at the end).

#include <ostream>
#include <string>

#include "report/html/report_data.hpp"

namespace joulecast::report {

/// Writes the report on the runs of the store at `store_path` that `request` selects to the file `html`
/// (atomically) and says on `out` where it is and which sections had no data. Throws RunNotFound for an
/// unknown run id and std::runtime_error when the file cannot be written.
void write_report(const std::string& store_path, const ReportRequest& request, const std::string& html,
                  std::ostream& out);

}  // namespace joulecast::report
