#pragma once
// The run-store options that several commands share (runs list/export, analyze, report, forecast
// --backtest): the filters --study, --name, --tag, --status, --since, --until, --limit, and where the store
// is
// (--db).

#include <string>

#include "cli/args.hpp"
#include "store/run_store.hpp"

namespace joulecast::cli {

/// If the next argument is a filter option, consumes it (and its value) into `filter` and returns true.
/// Throws UsageError for a bad value: an unknown status, a --tag without a key, a time that is neither an
/// ISO 8601 time nor a duration before now, a --limit that is not a positive whole number.
bool filter_option(core::Args& args, store::RunFilter& filter);

/// Parses a --since / --until value: an ISO 8601 time (local time without a zone) or a duration before now
/// (30m, 2h, 3d, 1w). Returns Unix seconds; throws UsageError naming `option`.
double time_bound(const std::string& option, const std::string& text);

/// The store path: `db` (from --db) when not empty, else default_store_path() ($JOULECAST_DB, ...).
std::string store_path(const std::string& db);

}  // namespace joulecast::cli
