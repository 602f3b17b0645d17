// joulecast forecast RUN --epochs N | --backtest [FILTERS]: short-profile forecasts of stored runs.

#include "cli/forecast_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "analysis/common.hpp"
#include "carbon/carbon.hpp"
#include "cli/args.hpp"
#include "cli/run_filters.hpp"
#include "core/clock.hpp"
#include "core/format.hpp"
#include "core/json_fields.hpp"
#include "core/text.hpp"
#include "forecast/backtest.hpp"
#include "forecast/forecaster.hpp"
#include "forecast/windows.hpp"
#include "meter/energy.hpp"
#include "report/summary.hpp"
#include "store/run_store.hpp"

namespace joulecast::cli {

using core::Args;
using core::format_duration;
using core::format_energy;
using core::format_fixed;
using core::format_mass;
using core::format_significant;
using core::parse_double;
using core::parse_int;
using core::positive_duration_option;
using core::s_to_ns;
using core::starts_with;
using core::trim;
using core::UsageError;
using core::whole_number_option;

using sensors::Quantity;

using meter::EpochResult;
using meter::Reading;
using meter::RunResult;
using meter::RunStatus;
using meter::Timeline;

using carbon::CarbonSetting;
using carbon::co2e_g;

using forecast::backtest;
using forecast::backtest_to_json;
using forecast::BacktestSummary;
using forecast::CompletedRun;
using forecast::first_epoch_windows;
using forecast::Forecast;
using forecast::forecast_to_json;
using forecast::forecast_total;
using forecast::ForecastOptions;
using forecast::ForecastTarget;
using forecast::naive_forecast;
using forecast::Observation;
using forecast::observations_from_epochs;
using forecast::observations_from_windows;
using forecast::ProfileLength;
using forecast::RunBacktest;

using store::open_store_to_read;
using store::RunFilter;
using store::RunStore;
using store::RunSummary;
using store::StoredTrace;
using store::StoreError;

const char* const forecast_usage =
    R"(usage: joulecast forecast RUN (--epochs N | --samples N | --duration D) [--window D] [--confidence X]
                          [--json] [--db PATH]
       joulecast forecast --backtest [--profile K|P%] [FILTERS] [--confidence X] [--json] [--db PATH]

Forecasts the total energy, duration and CO2e of a job from a short profile: the epochs of a stored run (or,
when it marked none, fixed time windows of its stored readings). Leading epochs that differ from the steady
state (warm-up) are excluded, the level and a significant trend are fitted robustly, and the total comes with
a confidence interval. The naive carbontracker-style figure (mean of all epochs so far x N) is shown beside.
See docs/forecast.md.

forecast RUN (RUN: a run id or a unique prefix, as in 'joulecast runs show'):
  --epochs N       the whole job has N epochs, a whole number >= 1 (N windows for a run without epochs)
  --samples N      the whole job processes N samples, a whole number >= 1 (needs epochs marked with samples=)
  --duration D     the whole job lasts D, more than 0 (e.g. 3600s, 90m, 2h)
  --window D       window length, only for a run without epochs: at least 5 of the run's sampling intervals
                   (default: 1/20 of the run, at least 5 sampling intervals)

forecast --backtest: for every completed run in the store with at least 2 epochs, the forecast made after
the profile against the run's measured total over its epochs; median and 90th-percentile absolute error,
side by side with the naive baseline, and whether the accuracy targets for a 10% profile are met (median
error <= 3%, 90th percentile <= 8%, at most half the baseline's median and 90th percentile).
  --profile K|P%   the profile: K epochs, or P% of each run's epochs, rounded up (default 10%)
  --study NAME     runs of one study (tag study=NAME)
  --name PATTERN   a glob (*, ?, [...]; case-sensitive) or else a case-insensitive substring of the name
  --tag K=V        runs tagged K=V; repeatable, all must match (--tag K: runs with tag K)
  --status S       running | completed | failed | interrupted | profiled (default completed)
  --since T        started at or after T: an ISO 8601 time or a duration before now (30m, 2h, 3d, 1w)
  --until T        started at or before T (same forms)
  --limit N        at most the N newest runs

options:
  --confidence X   two-sided confidence of the intervals, in (0, 1) (default 0.9)
  --json           JSON on stdout (schema joulecast.forecast/1 or joulecast.backtest/1)
  --db PATH        the store (default: $JOULECAST_DB, else $XDG_DATA_HOME/joulecast/runs.db, else
                   ~/.local/share/joulecast/runs.db)

Exit status: 0 done (a backtest also when its targets are not met); 1 unknown or ambiguous run, a run with
neither epochs nor readings, readings too short for one window, an empty store, no run left to backtest;
2 bad options (among them a target that is not a positive whole number or duration, a --window shorter than
5 sampling intervals, --window for a run with epochs).
)";

namespace {

// The accuracy targets for a profile of 10% of the epochs.
constexpr double target_median_ape_pct = 3.0;
constexpr double target_p90_ape_pct = 8.0;
constexpr double target_baseline_ratio = 0.5;

struct Options {
    std::string db;
    std::string run;
    std::optional<ForecastTarget> target;
    std::string target_text;  ///< the option as given, for messages
    std::optional<std::chrono::nanoseconds> window;
    bool backtest = false;
    ProfileLength profile = ProfileLength::fraction(0.1);
    bool profile_given = false;
    RunFilter filter;
    bool filter_given = false;
    ForecastOptions forecast;
    bool json = false;
};

/// A target count: a whole number >= 1 (written as 40 or 4e4); anything else is a usage error.
double target_amount(const std::string& option, const std::string& text) {
    return static_cast<double>(whole_number_option(option, text));
}

ProfileLength profile_option(const std::string& text) {
    const std::string_view t = trim(text);
    if (!t.empty() && t.back() == '%') {
        auto p = parse_double(t.substr(0, t.size() - 1));
        if (p && *p > 0 && *p <= 100) return ProfileLength::fraction(*p / 100);
    } else if (auto k = parse_int(t); k && *k >= 1) {
        return ProfileLength::epochs(static_cast<std::size_t>(*k));
    }
    throw UsageError(
        "--profile: expected a whole number of epochs >= 1 or a percentage in (0, 100], e.g. 10%, "
        "got '" +
        text + "'");
}

void set_target(Options& o, const std::string& option, ForecastTarget target) {
    if (o.target)
        throw UsageError("give one target: " + o.target_text + " and " + option + " were both given");
    o.target = target;
    o.target_text = option;
}

Options parse_options(const std::vector<std::string>& raw) {
    Args args(raw);
    Options o;
    std::string text;
    while (!args.done()) {
        if (args.value("--db", o.db)) continue;
        if (filter_option(args, o.filter)) {
            o.filter_given = true;
        } else if (args.flag("--json")) {
            o.json = true;
        } else if (args.flag("--backtest")) {
            o.backtest = true;
        } else if (args.value("--profile", text)) {
            o.profile = profile_option(text);
            o.profile_given = true;
        } else if (args.value("--epochs", text)) {
            set_target(o, "--epochs", ForecastTarget::epochs(target_amount("--epochs", text)));
        } else if (args.value("--samples", text)) {
            set_target(o, "--samples", ForecastTarget::samples(target_amount("--samples", text)));
        } else if (args.value("--duration", text)) {
            const auto d = positive_duration_option("--duration", text);
            set_target(o, "--duration", ForecastTarget::duration(static_cast<double>(d.count()) * 1e-9));
        } else if (args.value("--window", text)) {
            o.window = positive_duration_option("--window", text);
        } else if (args.value("--confidence", text)) {
            auto c = parse_double(text);
            if (!c || !(*c > 0 && *c < 1))
                throw UsageError("--confidence: expected a number in (0, 1), e.g. 0.9, got '" + text + "'");
            o.forecast.confidence = *c;
        } else if (!starts_with(args.peek(), "-") && o.run.empty()) {
            o.run = args.next();
        } else {
            throw UsageError((starts_with(args.peek(), "-") ? "unknown option '" : "unexpected argument '") +
                             args.peek() + "'");
        }
    }
    if (o.backtest) {
        if (!o.run.empty()) throw UsageError("--backtest takes no run id (select runs with the filters)");
        if (o.target)
            throw UsageError("--backtest forecasts each run's own epochs: " + o.target_text +
                             " does not apply");
        if (o.window) throw UsageError("--backtest uses epochs: --window does not apply");
    } else {
        if (o.run.empty()) throw UsageError("which run? give its id (or a unique prefix), or --backtest");
        if (!o.target)
            throw UsageError("how long is the whole job? give --epochs N, --samples N or --duration D");
        if (o.profile_given) throw UsageError("--profile applies to --backtest only");
        if (o.filter_given) throw UsageError("the filters apply to --backtest only");
    }
    return o;
}

/// The store, which must exist: reading creates nothing.
std::unique_ptr<RunStore> open_existing_store(const std::string& path, const std::string& what) {
    auto store = open_store_to_read(path);
    if (!store)
        throw StoreError(what + ": there is no run store at " + path + " yet (see --db / $JOULECAST_DB)");
    return store;
}

/// The run's sampling interval in seconds: the one stored in its result (overhead.interval_s), else the
/// median spacing of its stored power readings (per channel); 0 when neither is known.
/// How the run's energy was obtained, per domain, as its result recorded it: "gpu counter, cpu modelled".
std::string energy_sources(const RunResult& run) {
    std::string text;
    for (const auto& [domain, method] : run.energy.domain_method)
        text += (text.empty() ? "" : ", ") + domain + " " + method;
    return text.empty() ? "not recorded" : text;
}

double sampling_interval_s(const RunResult& run, const StoredTrace& trace) {
    if (const double stored = run.overhead.interval_s; stored > 0 && std::isfinite(stored)) return stored;
    auto spacings = [&](bool power_only) {
        std::map<std::uint32_t, std::int64_t> last;
        std::vector<std::int64_t> gaps;
        for (const Reading& r : trace.readings) {
            if (r.channel >= trace.channels.size()) continue;
            if (power_only && trace.channels[r.channel].channel.quantity != Quantity::power) continue;
            auto [it, inserted] = last.try_emplace(r.channel, r.t_ns);
            if (!inserted) {
                if (r.t_ns > it->second) gaps.push_back(r.t_ns - it->second);
                it->second = r.t_ns;
            }
        }
        return gaps;
    };
    std::vector<std::int64_t> gaps = spacings(true);
    if (gaps.empty()) gaps = spacings(false);
    if (gaps.empty()) return 0;
    const auto mid = gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2);
    std::nth_element(gaps.begin(), mid, gaps.end());
    return static_cast<double>(*mid) * 1e-9;
}

std::string signed_percent(double pct) {
    char text[32];
    std::snprintf(text, sizeof text, "%+.1f%%", pct);
    return text;
}

std::string plural(std::size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// ---- forecast RUN -----------------------------------------------------------------------------------------

int forecast_run(const Options& o) {
    const std::string path = store_path(o.db);
    auto store = open_existing_store(path, "no run with id '" + o.run + "'");
    const RunResult run = store->get(o.run);  // RunNotFound / ambiguous: StoreError
    const std::string& id = run.id;
    const std::string& name = run.name;

    // Observations: the run's epochs, else whole windows of its stored readings.
    std::vector<Observation> observations, first_epoch;
    std::string unit = "epoch";
    std::optional<double> window_s;
    std::string window_note;
    const std::vector<EpochResult>& epochs = run.epochs;
    if (!epochs.empty()) {
        if (o.window)
            throw UsageError("--window applies only to runs without epochs: run " + id + " marked " +
                             plural(epochs.size(), "epoch") + ", which are the observations");
        observations = observations_from_epochs(epochs);
        // The first epoch's stored power timeline, when kept, for the sub-epoch warm-up test.
        const StoredTrace trace = store->trace(id);
        if (!trace.readings.empty()) {
            first_epoch = first_epoch_windows(Timeline(trace.channels, trace.readings),
                                              s_to_ns(epochs.front().start_s), s_to_ns(epochs.front().end_s));
        }
    } else {
        const StoredTrace trace = store->trace(id);
        if (trace.readings.empty())
            throw std::runtime_error("run " + id +
                                     " has neither epochs nor stored readings: nothing to forecast "
                                     "from (mark epochs with `joulecast mark epoch` or the Python client)");
        const Timeline timeline(trace.channels, trace.readings);
        // The command's own span (stored reading times count from its start); an idle baseline before it is
        // not part of the job.
        const std::int64_t start_ns = std::max<std::int64_t>(0, timeline.first_ns());
        std::int64_t end_ns = timeline.last_ns();
        const double run_s = run.duration_s;
        if (run_s > 0) end_ns = std::min(end_ns, static_cast<std::int64_t>(std::llround(run_s * 1e9)));
        std::chrono::nanoseconds window{0};
        const double interval_s = sampling_interval_s(run, trace);
        if (o.window) {
            window = *o.window;
            const double window_len_s = static_cast<double>(window.count()) * 1e-9;
            if (interval_s > 0 && window_len_s < 5 * interval_s - 1e-12)
                throw UsageError("--window " + format_fixed(window_len_s, 3) + " s is shorter than 5 " +
                                 "sampling intervals of run " + id + " (it sampled every " +
                                 format_fixed(interval_s, 3) + " s): give --window " +
                                 format_fixed(5 * interval_s, 3) + "s or longer");
        } else {
            // Shorter windows than a few sampling intervals would show sampling steps as warm-up or shifts.
            const auto floor_ns = std::max<std::int64_t>(100'000'000, std::llround(5 * interval_s * 1e9));
            window = std::chrono::nanoseconds(std::max<std::int64_t>(floor_ns, (end_ns - start_ns) / 20));
            window_note = " (the default: 1/20 of the run, at least 5 sampling intervals; set --window)";
        }
        observations = observations_from_windows(timeline, start_ns, end_ns, window);
        if (observations.empty())
            throw std::runtime_error(
                "run " + id + " marked no epochs and its readings (" +
                format_fixed(static_cast<double>(std::max<std::int64_t>(0, end_ns - start_ns)) * 1e-9, 2) +
                " s) hold no whole window of " + format_fixed(static_cast<double>(window.count()) * 1e-9, 3) +
                " s: give a shorter --window");
        unit = "window";
        window_s = static_cast<double>(window.count()) * 1e-9;
    }

    auto forecast = forecast_total(observations, *o.target, o.forecast, first_epoch);
    if (!forecast) throw std::runtime_error("run " + id + ": " + forecast.error());
    auto naive = naive_forecast(observations, *o.target);
    if (!naive) throw std::runtime_error("run " + id + ": " + naive.error());
    const Forecast& f = *forecast;

    // CO2e at the run's own stored intensity and PUE.
    std::optional<CarbonSetting> carbon;
    if (run.carbon && run.carbon->intensity_g_per_kwh > 0) {
        CarbonSetting setting;
        setting.intensity_g_per_kwh = run.carbon->intensity_g_per_kwh;
        setting.source = run.carbon->intensity_source;
        setting.pue = run.carbon->pue;
        setting.pue_source = "as stored with the run";
        carbon = setting;
    }

    const std::string from = "forecast from " + plural(f.observations, unit);
    if (o.json) {
        nlohmann::ordered_json j;
        j["schema"] = "joulecast.forecast/1";
        j["run_id"] = id;
        j["run_name"] = name;
        j["target"] = {{"kind", to_string(o.target->kind)}, {"amount", o.target->amount}};
        j["observations_from"] = unit == "epoch" ? "epochs" : "windows";
        if (window_s) j["window_s"] = *window_s;
        // What the forecast extrapolates: counter, integrated or modelled energy, per domain.
        j["energy_method"] = run.energy.domain_method;
        j["forecast"] = forecast_to_json(f);
        j["naive"] = forecast_to_json(*naive);
        if (carbon) {
            j["carbon"] = {{"intensity_g_per_kwh", carbon->intensity_g_per_kwh},
                           {"intensity_source", carbon->source},
                           {"pue", carbon->pue},
                           {"basis", "the run's stored carbon intensity and PUE"},
                           {"co2e_g", co2e_g(f.total_energy_j, *carbon)},
                           {"low_co2e_g", co2e_g(f.low_energy_j, *carbon)},
                           {"high_co2e_g", co2e_g(f.high_energy_j, *carbon)},
                           {"naive_co2e_g", co2e_g(naive->total_energy_j, *carbon)}};
        } else {
            j["carbon"] = nullptr;
        }
        std::cout << j.dump(2) << '\n';
        return 0;
    }

    std::string target;
    switch (o.target->kind) {
        case ForecastTarget::Kind::epochs:
            target = format_significant(o.target->amount, 6) + " " + unit + "s";
            break;
        case ForecastTarget::Kind::samples:
            target = analysis::format_count(o.target->amount) + " samples";
            break;
        case ForecastTarget::Kind::duration:
            target = format_duration(o.target->amount);
            break;
    }
    const int confidence_pct = static_cast<int>(std::lround(f.confidence * 100));
    auto line = [](const std::string& label, const std::string& value) {
        std::cout << "  " << label << std::string(label.size() < 10 ? 10 - label.size() : 1, ' ') << value
                  << '\n';
    };
    std::cout << "forecast of run " << id << (name.empty() ? "" : "  " + name) << " for " << target << ", "
              << from;
    if (window_s) std::cout << " of " << format_fixed(*window_s, 3) << " s" << window_note;
    std::cout << '\n';
    line("energy", format_energy(f.total_energy_j) + "  (" + std::to_string(confidence_pct) + "% interval " +
                       format_energy(f.low_energy_j) + " .. " + format_energy(f.high_energy_j) + ")  " +
                       from);
    line("duration", format_duration(f.total_duration_s) + "  " + from);
    if (carbon) {
        line("CO2e", format_mass(co2e_g(f.total_energy_j, *carbon)) + "  (" +
                         format_mass(co2e_g(f.low_energy_j, *carbon)) + " .. " +
                         format_mass(co2e_g(f.high_energy_j, *carbon)) + ")  " + from +
                         ", at the run's stored " + format_fixed(carbon->intensity_g_per_kwh, 0) +
                         " g/kWh (" + carbon->source + ") and PUE " + format_fixed(carbon->pue, 2));
    } else {
        line("CO2e", "-  (the run stored no carbon intensity)");
    }
    line("measured", format_energy(f.measured_energy_j) + " in " + format_duration(f.measured_duration_s) +
                         " so far (" + plural(f.observations, unit) + "; energy: " + energy_sources(run) +
                         ")");
    line("method", f.method + "; warm-up excluded: " + plural(f.warmup_excluded, unit) + "; " +
                       plural(f.observations_used, unit) +
                       " used; converged: " + (f.converged ? "yes" : "no"));
    const std::string naive_how = naive->remaining_observations == 0
                                      ? "  (measured up to the target: the profile already passed it)"
                                      : "  (carbontracker-style: mean of all " +
                                            plural(naive->observations, unit) +
                                            " so far x the whole job, warm-up included)";
    line("naive", format_energy(naive->total_energy_j) + naive_how +
                      (carbon ? ", " + format_mass(co2e_g(naive->total_energy_j, *carbon)) + " CO2e" : ""));
    for (const auto& note : f.notes) std::cout << "  note: " << note << '\n';
    return 0;
}

// ---- forecast --backtest ----------------------------------------------------------------------------------

int forecast_backtest(Options o) {
    if (!o.filter.status) o.filter.status = RunStatus::completed;
    const std::string path = store_path(o.db);
    auto store = open_existing_store(path, "nothing to backtest");
    const std::vector<RunSummary> listed = store->list(o.filter);
    if (listed.empty())
        throw std::runtime_error(std::string("no ") + to_string(*o.filter.status) + " run" +
                                 (o.filter_given ? " matches the filters" : "") + " in " + path +
                                 ": nothing to backtest");

    std::vector<CompletedRun> runs;
    std::vector<std::string> skipped;
    std::map<std::string, std::string> names;  // id -> run name
    for (const RunSummary& summary : listed) {
        const std::vector<EpochResult> epochs = store->get(summary.id).epochs;
        names[summary.id] = summary.name;
        if (epochs.size() < 2) {
            skipped.push_back(summary.id + (summary.name.empty() ? "" : " " + summary.name) + ": " +
                              plural(epochs.size(), "epoch") + " (at least 2 needed)");
            continue;
        }
        CompletedRun run;
        run.name = summary.id;
        for (const EpochResult& e : epochs) {
            run.epoch_energy_j.push_back(e.energy_j);
            run.epoch_duration_s.push_back(std::max(0.0, e.end_s - e.start_s));
        }
        // The measured total is the sum of the epochs (total_energy_j unset): energy outside the epochs
        // (start-up, setup, evaluation after the last epoch) is not something an epoch forecast predicts.
        runs.push_back(std::move(run));
    }
    if (runs.empty()) {
        std::string reasons;
        for (const auto& s : skipped) reasons += "\n  " + s;
        throw std::runtime_error("no run left to backtest:" + reasons);
    }
    auto result = backtest(runs, o.profile, o.forecast);
    if (!result) throw std::runtime_error(result.error());
    BacktestSummary& s = result.value();
    for (auto& reason : s.skipped) skipped.push_back(reason);

    const bool median_met = s.forecast_median_ape_pct <= target_median_ape_pct;
    const bool p90_met = s.forecast_p90_ape_pct <= target_p90_ape_pct;
    const bool baseline_met = s.forecast_median_ape_pct <= target_baseline_ratio * s.naive_median_ape_pct &&
                              s.forecast_p90_ape_pct <= target_baseline_ratio * s.naive_p90_ape_pct;
    const std::string note =
        "the measured total of each run is the sum of its epochs: energy outside the epochs (start-up, "
        "setup, "
        "evaluation after the last epoch) is not part of the comparison";

    if (o.json) {
        nlohmann::ordered_json j;
        j["schema"] = "joulecast.backtest/1";
        j["store"] = path;
        nlohmann::ordered_json body = backtest_to_json(s);
        for (auto& run : body["runs"]) {
            const std::string id = run["name"].get<std::string>();
            run["name"] = names[id];
            run["id"] = id;
        }
        body["skipped"] = skipped;
        for (auto& [key, value] : body.items()) j[key] = value;
        j["targets"] = {{"median_ape_pct_max", target_median_ape_pct},
                        {"p90_ape_pct_max", target_p90_ape_pct},
                        {"baseline_ratio_max", target_baseline_ratio},
                        {"median_met", median_met},
                        {"p90_met", p90_met},
                        {"baseline_met", baseline_met},
                        {"all_met", median_met && p90_met && baseline_met}};
        j["note"] = note;
        std::cout << j.dump(2) << '\n';
        return 0;
    }

    const int confidence_pct = static_cast<int>(std::lround(s.confidence * 100));
    std::cout << "backtest of " << plural(s.runs.size(), "run") << " from " << path << ", profile "
              << s.profile.describe() << ", " << confidence_pct << "% intervals\n\n";
    std::vector<std::vector<std::string>> rows = {{"ID", "NAME", "EPOCHS", "PROFILE", "MEASURED", "FORECAST",
                                                   "+-", "ERROR", "NAIVE", "NAIVE ERROR", "IN INTERVAL",
                                                   "WARM-UP"}};
    for (const RunBacktest& r : s.runs) {
        std::string shown_name = names[r.name];
        if (shown_name.size() > 28) shown_name = shown_name.substr(0, 25) + "...";
        rows.push_back(
            {r.name.substr(0, 8), shown_name, std::to_string(r.epochs), std::to_string(r.profile_epochs),
             format_energy(r.measured_j), format_energy(r.forecast_j),
             format_energy((r.forecast_high_j - r.forecast_low_j) / 2), signed_percent(r.forecast_error_pct),
             format_energy(r.naive_j), signed_percent(r.naive_error_pct), r.covered ? "yes" : "no",
             std::to_string(r.warmup_excluded)});
    }
    const std::string align = "llrrrrrrrrll";
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
    for (const auto& row : rows) {
        std::string text = " ";
        for (std::size_t c = 0; c < row.size(); ++c) {
            const std::string pad(widths[c] - row[c].size(), ' ');
            text += " " + (align[c] == 'r' ? pad + row[c] : row[c] + pad) + " ";
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        std::cout << text << '\n';
    }

    // Percentages right-aligned in columns of 9 and 8 characters.
    auto pct = [](double v, std::size_t width) {
        const std::string text = format_fixed(v, 1) + "%";
        return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
    };
    std::cout << "\nabsolute error      median     p90\n"
              << "  forecaster     " << pct(s.forecast_median_ape_pct, 9) << pct(s.forecast_p90_ape_pct, 8)
              << '\n'
              << "  naive baseline " << pct(s.naive_median_ape_pct, 9) << pct(s.naive_p90_ape_pct, 8) << '\n';
    std::cout << "coverage: " << analysis::format_percent(s.coverage)
              << " of the measured totals lie inside the " << confidence_pct << "% interval\n";
    auto met = [](bool ok) { return ok ? "met" : "NOT met"; };
    std::cout << "targets (for a 10% profile): median <= " << format_fixed(target_median_ape_pct, 0)
              << "%: " << met(median_met) << "; p90 <= " << format_fixed(target_p90_ape_pct, 0)
              << "%: " << met(p90_met)
              << "; at most half the baseline's median and p90: " << met(baseline_met) << '\n';
    if (s.profile.kind != ProfileLength::Kind::fraction || std::fabs(s.profile.value - 0.1) > 1e-9)
        std::cout << "  (this backtest used a profile of " << s.profile.describe() << ", not 10%)\n";
    std::cout << "note: " << note << '\n';
    if (!skipped.empty()) {
        std::cout << "skipped " << plural(skipped.size(), "run") << ":\n";
        for (const auto& reason : skipped) std::cout << "  " << reason << '\n';
    }
    return 0;
}

}  // namespace

int forecast_command(const std::vector<std::string>& arguments) {
    const Options options = parse_options(arguments);
    return options.backtest ? forecast_backtest(options) : forecast_run(options);
}

}  // namespace joulecast::cli
