#include "cli/run_filters.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>

#include "core/text.hpp"
#include "store/iso_time.hpp"

namespace joulecast::cli {

using core::Args;
using core::parse_double;
using core::parse_duration;
using core::to_lower;
using core::trim;
using core::UsageError;
using core::whole_number_option;

using meter::parse_run_status;

using store::default_store_path;
using store::parse_iso8601;
using store::RunFilter;
using store::unix_now;

double time_bound(const std::string& option, const std::string& text) {
    if (auto t = parse_iso8601(text, true)) return *t;
    const std::string lower = to_lower(trim(text));
    double seconds = -1;
    if (!lower.empty() && (lower.back() == 'd' || lower.back() == 'w')) {
        if (auto n = parse_double(std::string_view(lower).substr(0, lower.size() - 1)); n && *n >= 0)
            seconds = *n * (lower.back() == 'd' ? 86400.0 : 7 * 86400.0);
    } else if (auto d = parse_duration(lower)) {
        seconds = static_cast<double>(d->count()) * 1e-9;
    }
    if (seconds < 0)
        throw UsageError(option + ": '" + text +
                         "' is neither a time (2026-11-26, 2026-11-26T14:30) nor a duration (30m, 2h, 3d)");
    return unix_now() - seconds;
}

bool filter_option(Args& args, RunFilter& filter) {
    std::string text;
    if (args.value("--name", filter.name)) return true;
    if (args.value("--study", text)) {
        filter.tags.emplace_back("study", text);
        return true;
    }
    if (args.value("--job", text)) {
        if (text.empty()) throw UsageError("--job: expected a job id");
        filter.job = text;
        return true;
    }
    if (args.value("--status", text)) {
        filter.status = parse_run_status(text);
        if (!filter.status)
            throw UsageError("--status: '" + text +
                             "' is not one of running, completed, failed, interrupted, profiled");
        return true;
    }
    if (args.value("--tag", text)) {
        auto eq = text.find('=');
        std::string key = text.substr(0, eq);
        if (key.empty()) throw UsageError("--tag: expected KEY=VALUE or KEY, got '" + text + "'");
        filter.tags.emplace_back(key, eq == std::string::npos ? "" : text.substr(eq + 1));
        return true;
    }
    if (args.value("--since", text)) {
        filter.since_unix = time_bound("--since", text);
        return true;
    }
    if (args.value("--until", text)) {
        filter.until_unix = time_bound("--until", text);
        return true;
    }
    if (args.value("--limit", text)) {
        filter.limit = static_cast<std::size_t>(whole_number_option("--limit", text));
        return true;
    }
    return false;
}

std::string store_path(const std::string& db) {
    return db.empty() ? default_store_path() : db;
}

}  // namespace joulecast::cli
