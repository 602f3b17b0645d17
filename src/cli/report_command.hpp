#pragma once
// `joulecast report`: writes one self-contained HTML page (charts and tables, no network needed) about the
// runs in the store (the logic is in report/html/).

#include <string>
#include <vector>

namespace joulecast::cli {

/// `args` are the words after "report". Exit status: 0 when the page was written (also with "no data"
/// sections: an empty store, a single run, runs without samples); 1 for an unknown run id, a store that
/// cannot be used or a file that cannot be written; UsageError (exit 2) for bad options.
int report_command(const std::vector<std::string>& args);

extern const char* const report_usage;

}  // namespace joulecast::cli
