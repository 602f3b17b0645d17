// joulecast run [options] -- CMD [ARGS...]: measure a command.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/clock.hpp"
#include "core/output_file.hpp"
#include "core/text.hpp"
#include "export/run_metrics.hpp"
#include "meter/run_json.hpp"
#include "report/summary.hpp"
#include "report/trace_csv.hpp"
#include "runner/runner.hpp"
#include "sensors/registry.hpp"
#include "store/run_store.hpp"

namespace joulecast::cli {

using core::Args;
using core::check_output_path;
using core::duration_option;
using core::positive_duration_option;
using core::starts_with;
using core::UsageError;
using core::whole_number_option;
using core::write_output_file;

using meter::MonitorOptions;
using meter::to_json;

using carbon::CarbonOptions;
using carbon::resolve_carbon;

using forecast::ForecastTarget;

using store::default_store_path;

using report::write_trace_csv;

const char* const run_usage = R"(usage: joulecast run [options] -- CMD [ARGS...]

Runs CMD (no shell), measures the energy it takes, prints a summary on stderr and exits with CMD's status
(128+N when signal N ended it; 127 when CMD cannot be started; 2 for bad options).

options:
  --json FILE        write the result (schema joulecast.run/2) to FILE
  --trace FILE.csv   write every reading to FILE.csv (replayable with --replay)
  --interval D       sampling interval, 10ms to 10s (default 100ms)
  --idle D           measure idle power for D (e.g. 5s) before starting CMD; report net energy
  --cpu-tdp W        CPU thermal design power for the CPU model (where RAPL is missing)
  --gpus SEL         the GPUs measured: all, visible (default: CUDA_VISIBLE_DEVICES, else every GPU), used
                     (the visible ones where a process of the job held a compute context) or a list of
                     indices or GPU- UUIDs such as 0,2
  --replay FILE.csv  read a recorded trace instead of this machine's sensors
  --name NAME        a name for the run
  --tag K=V          a tag for the run (repeatable)
  --job ID           the distributed job this run is one node's part of (default $SLURM_JOB_ID, else
                     $TORCHELASTIC_RUN_ID); `joulecast jobs show ID` merges its nodes (docs/distributed.md).
                     The first run of a job on a node measures; others of the same job join it (they run
                     their command as its client, write no result, and exit with their command's status)
  --redact GLOB      also mask the values of arguments named like GLOB in the stored command line
                     (repeatable; *token*, *password*, *passwd*, *secret* and *key* always are)
  --country ISO3     grid carbon intensity of a country (default: $JOULECAST_COUNTRY, else the world average)
  --region P:R       grid carbon intensity of a cloud region, e.g. gcp:europe-west1
  --intensity G      grid carbon intensity in gCO2e/kWh
  --pue X            data-centre power usage effectiveness (default 1.0)
  --db PATH          run store (default $JOULECAST_DB, else ~/.local/share/joulecast/runs.db)
  --no-store         do not keep the run in the store
  --quiet            no summary on stderr (nor forecast lines)
  --push URL         push the run's metrics to a Prometheus Pushgateway (e.g. http://gateway:9091) every
                     --push-interval and at the end; a failed push is a warning (needs joulecast-agent)
  --push-interval D  time between pushes while the command runs (default 15s)
  --no-export        do not show the run in a local agent's /metrics (`joulecast serve`; by default a run
                     registers with the agent of $JOULECAST_RUNS_DIR, else /run/joulecast where it
                     exists, else /tmp/joulecast-runs, when one runs there)

forecast while it runs (see README, "Forecast while it runs"):
  --expect-epochs N     the whole job has N epochs: forecast its energy, time and CO2e as epochs end
  --expect-samples N    the whole job processes N samples (needs epochs that report samples=)
  --expect-duration D   the whole job runs for D (e.g. 2h); jobs without epochs are forecast from windows
  --profile-epochs K    end the command after K epochs: SIGINT, then SIGTERM after the grace period; the run
                        is stored as `profiled` with its forecast, and joulecast exits 0 when the command
                        exits 0 or dies of that signal
  --profile-seconds D   end the command after D, the same way
  --grace D             time between the profile's SIGINT and SIGTERM (default 10s)
  --window D            window length for jobs that mark no epochs (default 1s, or D/60 of --profile-seconds
                        when longer; at least 5 sampling intervals)
  One --expect-* at most and one --profile-* at most. A profile without --expect-* ends the command and stores
  a profiled run, but makes no forecast. Lines that start "joulecast: forecast" are forecasts of the whole job
  (the part measured so far included), printed while the forecast moves.

The command finds the control channel in $JOULECAST_SOCKET: phases, epochs, meta and metrics sent there (by
the Python client, include/joulecast/client.hpp or `joulecast mark`) are measured and reported.
)";

namespace {

struct RunOptions {
    std::string json_path;
    std::string trace_path;
    std::string name;
    std::string job;
    std::map<std::string, std::string> tags;
    std::vector<std::string> redact_patterns;
    bool quiet = false;
    bool no_store = false;
    bool no_export = false;
    std::string db_path;
    MonitorOptions monitor;
    CarbonOptions carbon;
    runner::ForecastSpec forecast;
    std::string push_url;
    std::optional<std::chrono::nanoseconds> push_interval;
    bool window_given = false, grace_given = false;
    int expectations = 0, profiles = 0;
    std::vector<std::string> command;
};

/// The forecast options that make sense only together, checked before anything runs.
void check_forecast_options(RunOptions& options) {
    using namespace std::chrono_literals;
    runner::ForecastSpec& f = options.forecast;
    if (options.expectations > 1)
        throw UsageError("give one of --expect-epochs, --expect-samples and --expect-duration, not several");
    if (options.profiles > 1) throw UsageError("give --profile-epochs or --profile-seconds, not both");
    if (options.grace_given && !f.profile_epochs && !f.profile_duration)
        throw UsageError("--grace needs --profile-epochs or --profile-seconds");
    if (options.window_given && !(f.target && f.target->kind == ForecastTarget::Kind::duration))
        throw UsageError("--window is for windows of jobs without epochs: it needs --expect-duration");
    if (f.target && f.target->kind == ForecastTarget::Kind::epochs && f.profile_epochs &&
        static_cast<double>(*f.profile_epochs) >= f.target->amount)
        throw UsageError("--profile-epochs must be fewer than --expect-epochs (the profile is part of it)");
    if (f.target && f.target->kind == ForecastTarget::Kind::duration && f.profile_duration &&
        static_cast<double>(f.profile_duration->count()) / 1e9 >= f.target->amount)
        throw UsageError("--profile-seconds must be shorter than --expect-duration (the profile is in it)");
    const auto interval = options.monitor.sampler.interval;
    if (!options.window_given && f.profile_duration)
        f.window = std::max<std::chrono::nanoseconds>(1s, *f.profile_duration / 60);
    if (!options.window_given) f.window = std::max<std::chrono::nanoseconds>(f.window, 5 * interval);
    if (options.window_given && f.window < 5 * interval)
        throw UsageError("--window must be at least 5 sampling intervals (--interval) long");
}

RunOptions parse_run_options(const std::vector<std::string>& raw) {
    RunOptions options;
    Args args(raw);
    std::string text;
    while (!args.done()) {
        if (args.flag("--")) break;
        if (args.value("--json", options.json_path) || args.value("--trace", options.trace_path) ||
            args.value("--replay", options.monitor.sensors.replay_path) ||
            args.value("--name", options.name) || args.value("--job", options.job) ||
            args.value("--db", options.db_path) || args.value("--push", options.push_url)) {
        } else if (args.value("--push-interval", text)) {
            options.push_interval = positive_duration_option("--push-interval", text);
        } else if (measuring_option(args, options.monitor) || carbon_option(args, options.carbon)) {
        } else if (args.value("--idle", text)) {
            options.monitor.idle = duration_option("--idle", text);
        } else if (args.value("--redact", text)) {
            if (text.empty()) throw UsageError("--redact: expected a name pattern such as '*auth*'");
            options.redact_patterns.push_back(text);
        } else if (args.value("--tag", text)) {
            auto eq = text.find('=');
            if (eq == std::string::npos || eq == 0)
                throw UsageError("--tag: expected KEY=VALUE, got '" + text + "'");
            options.tags[text.substr(0, eq)] = text.substr(eq + 1);
        } else if (args.value("--expect-epochs", text)) {
            options.forecast.target =
                ForecastTarget::epochs(static_cast<double>(whole_number_option("--expect-epochs", text)));
            ++options.expectations;
        } else if (args.value("--expect-samples", text)) {
            options.forecast.target =
                ForecastTarget::samples(static_cast<double>(whole_number_option("--expect-samples", text)));
            ++options.expectations;
        } else if (args.value("--expect-duration", text)) {
            auto d = positive_duration_option("--expect-duration", text);
            options.forecast.target = ForecastTarget::duration(static_cast<double>(d.count()) / 1e9);
            ++options.expectations;
        } else if (args.value("--profile-epochs", text)) {
            options.forecast.profile_epochs = whole_number_option("--profile-epochs", text);
            ++options.profiles;
        } else if (args.value("--profile-seconds", text)) {
            options.forecast.profile_duration = positive_duration_option("--profile-seconds", text);
            ++options.profiles;
        } else if (args.value("--grace", text)) {
            options.forecast.grace = duration_option("--grace", text);
            options.grace_given = true;
        } else if (args.value("--window", text)) {
            options.forecast.window = positive_duration_option("--window", text);
            options.window_given = true;
        } else if (args.flag("--quiet") || args.flag("-q")) {
            options.quiet = true;
        } else if (args.flag("--no-export")) {
            options.no_export = true;
        } else if (args.flag("--no-store")) {
            options.no_store = true;
        } else if (starts_with(args.peek(), "-")) {
            throw UsageError("unknown option '" + args.peek() + "'");
        } else {
            break;  // the command starts here (a "--" is recommended but not required)
        }
    }
    options.command = args.rest();
    if (options.command.empty()) throw UsageError("no command given");
    if (options.push_interval && options.push_url.empty())
        throw UsageError("--push-interval needs --push URL");
    if (!options.push_url.empty() && options.push_url.rfind("http://", 0) != 0 &&
        options.push_url.rfind("https://", 0) != 0)
        throw UsageError("--push wants an http:// or https:// URL, e.g. http://pushgateway:9091, not '" +
                         options.push_url + "'");
    check_forecast_options(options);
    return options;
}

/// Says, once and even with --quiet, that the store did not take the run (a full disk) and where its result
/// is: the --json file, else a file written for it in the temporary folder, else only the summary.
void report_unstored_run(const runner::RunOutcome& outcome, const std::string& json_path,
                         const std::function<void(std::ostream&)>& write_json) {
    std::string where = json_path;
    if (where.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        const std::string rescue =
            std::string(tmp && *tmp == '/' ? tmp : "/tmp") + "/joulecast-run-" + outcome.result.id + ".json";
        if (write_output_file(rescue, write_json).empty()) where = rescue;
    }
    std::cerr << "joulecast: error: run " << outcome.result.id << " is not "
              << (outcome.stored_row_only ? "wholly " : "") << "in the store: " << outcome.store_failure
              << '\n';
    if (outcome.stored_row_only)
        std::cerr
            << "joulecast: the store keeps its status, duration and energy totals, not its full result\n";
    if (where.empty())
        std::cerr << "joulecast: its result could not be written to a file either (give --json FILE on "
                     "another disk next time)\n";
    else
        std::cerr << "joulecast: its result is in " << where << ": `joulecast runs import " << where
                  << "` stores it once there is space\n";
}

}  // namespace

int run_command(const std::vector<std::string>& raw) {
    RunOptions options = parse_run_options(raw);
    // Everything a user can get wrong is checked before the command runs.
    runner::RunSpec spec;
    spec.carbon = resolve_carbon(options.carbon, std::getenv("JOULECAST_COUNTRY"));
    spec.command = options.command;
    spec.redact_patterns.insert(spec.redact_patterns.end(), options.redact_patterns.begin(),
                                options.redact_patterns.end());
    spec.name = options.name;
    spec.tags = options.tags;
    spec.job = options.job;
    spec.monitor = options.monitor;
    spec.quiet = options.quiet;
    spec.forecast = options.forecast;
    if (!options.push_url.empty()) {
        runner::PushSpec push;
        push.url = options.push_url;
        if (options.push_interval) push.interval = *options.push_interval;
        // joulecast-agent makes the HTTP request (runner/push.hpp): the one beside this binary.
        std::error_code error;
        const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
        push.agent_path =
            ((error ? std::filesystem::path(".") : self.parent_path()) / "joulecast-agent").string();
        if (access(push.agent_path.c_str(), X_OK) != 0)
            throw UsageError("--push needs joulecast-agent beside joulecast (" + push.agent_path +
                             " is missing; it is built where libcpp-httplib-dev is installed)");
        spec.push = push;
    }
    if (!options.no_export) spec.runs_dir = exporter::default_runs_dir();
    if (!options.no_store) spec.store_path = options.db_path.empty() ? default_store_path() : options.db_path;
    // An output that cannot be written fails now, not after an hour of measuring.
    if (!options.json_path.empty()) check_output_path("--json", options.json_path);
    if (!options.trace_path.empty()) check_output_path("--trace", options.trace_path);

    runner::RunOutcome outcome = runner::measure_command(spec, std::cerr);
    // Joined the run that measures this job on this node: nothing measured here, the command's status.
    if (outcome.joined) return outcome.exit_code;

    // Each output is written on its own: a failure of one (said on stderr) never loses the others, and the
    // exit status still follows the command.
    if (!options.quiet) {
        try {
            report::print_run_summary(std::cerr, outcome.result);
        } catch (const std::exception& error) {
            std::cerr << "joulecast: printing the summary failed: " << error.what() << '\n';
        }
    }
    bool output_failed = false;
    auto write_output = [&output_failed](const std::string& path,
                                         const std::function<void(std::ostream&)>& write) {
        if (path.empty()) return;
        const std::string failure = write_output_file(path, write);
        if (failure.empty()) return;
        std::cerr << "joulecast: writing " << path << " failed: " << failure << '\n';
        output_failed = true;
    };
    auto write_json = [&](std::ostream& out) {
        out << to_json(outcome.result).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
            << '\n';
    };
    write_output(options.json_path, write_json);
    const bool json_written = !options.json_path.empty() && !output_failed;
    write_output(options.trace_path,
                 [&](std::ostream& out) { write_trace_csv(out, outcome.trace, outcome.start_ns); });
    if (!outcome.store_failure.empty()) {
        report_unstored_run(outcome, json_written ? options.json_path : "", write_json);
        output_failed = true;
    }
    // A command ended by its profile's signal did what was asked of it. The exit status is the command's,
    // except that a command that succeeded with an output (or the store) that could not be written is a
    // failure (1).
    const int status = outcome.ended_by_profile ? 0 : outcome.exit_code;
    return status == 0 && output_failed ? 1 : status;
}

}  // namespace joulecast::cli
