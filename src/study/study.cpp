#include "study/study.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "core/child_process.hpp"
#include "core/clock.hpp"
#include "core/format.hpp"
#include "core/text.hpp"
#include "runner/runner.hpp"
#include "store/run_store.hpp"
#include "study/power_limits.hpp"

namespace joulecast::study {

using core::format_clock;
using core::format_millijoules_per_sample;
using core::format_number;
using core::InputError;
using core::monotonic_ns;
using core::ns_to_s;
using core::parse_double;
using core::parse_int;
using core::SignalForwarder;
using core::split;

using meter::RunStatus;

using store::RunFilter;
using store::RunStore;

namespace {

// Signal handlers reach state only through globals; this one belongs to StopSignals alone.
volatile sig_atomic_t g_stop_signal = 0;
constexpr int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};

void on_stop_signal(int sig) {
    g_stop_signal = sig;
}

// Between runs, SIGINT/SIGTERM/SIGHUP only ask the study to stop. During a run, measure_command's
// SignalForwarder takes them over (forwarding them to the command) and puts this handler back afterwards.
class StopSignals {
public:
    StopSignals() {
        g_stop_signal = 0;
        struct sigaction action {};
        action.sa_handler = on_stop_signal;
        action.sa_flags = SA_RESTART;
        sigemptyset(&action.sa_mask);
        for (int i = 0; i < 3; ++i) sigaction(stop_signals[i], &action, &m_previous[i]);
    }
    ~StopSignals() {
        for (int i = 0; i < 3; ++i) sigaction(stop_signals[i], &m_previous[i], nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    int received() const { return g_stop_signal; }

private:
    struct sigaction m_previous[3];
};

/// Sleeps up to `duration`, in short slices so that a stop signal ends the wait at once. False when stopped.
bool interruptible_sleep(std::chrono::nanoseconds duration, const StopSignals& signals) {
    const std::int64_t end = monotonic_ns() + duration.count();
    while (signals.received() == 0) {
        const std::int64_t left = end - monotonic_ns();
        if (left <= 0) return true;
        const std::int64_t slice = std::min<std::int64_t>(left, 50'000'000);
        timespec ts{static_cast<time_t>(slice / 1'000'000'000), static_cast<long>(slice % 1'000'000'000)};
        nanosleep(&ts, nullptr);
    }
    return false;
}

bool executable(const std::string& path) {
    struct stat info {};
    return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

/// Where execvp would find `program`; empty when it would not.
std::string find_program(const std::string& program) {
    if (program.find('/') != std::string::npos) return executable(program) ? program : "";
    const char* path = std::getenv("PATH");
    for (const auto& dir : split(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
        const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        if (executable(candidate) && !std::filesystem::is_directory(candidate)) return candidate;
    }
    return "";
}

}  // namespace

std::string shell_quote(const std::string& text) {
    if (!text.empty() &&
        text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "_-+=./:,@%") == std::string::npos)
        return text;
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::vector<RunRecord> completed_runs(const std::string& store_path, const std::string& study_name) {
    RunStore store(store_path);
    RunFilter filter;
    filter.tags = {{"study", study_name}};
    filter.status = RunStatus::completed;
    std::vector<RunRecord> records;
    std::set<std::pair<std::string, int>> seen;
    for (const auto& summary : store.list(filter)) {  // newest first: the newest of duplicates wins
        auto config = summary.tags.find("config");
        auto repeat = summary.tags.find("repeat");
        if (config == summary.tags.end() || repeat == summary.tags.end()) continue;
        auto repeat_number = parse_int(repeat->second);
        if (!repeat_number || !seen.insert({config->second, static_cast<int>(*repeat_number)}).second)
            continue;
        RunRecord record;
        record.config.hash = config->second;
        record.repeat = static_cast<int>(*repeat_number);
        record.resumed = true;
        fill_from_result(record, store.get(summary.id));
        records.push_back(std::move(record));
    }
    return records;
}

void check_before_running(const StudyGrid& grid, const std::vector<PlannedRun>& runs,
                          const StudyOptions& options, bool dry_run) {
    const Axis* limits = grid.axis("power_limit_w");
    if (limits && !options.allow_power_limit && !dry_run)
        throw InputError(
            grid.source + ":" + std::to_string(limits->line) +
            ": the grid sets power_limits_w, which changes the power limit of every GPU of this "
            "machine for the whole study (other jobs on them included; root is needed). Add "
            "--allow-power-limit to apply them: each GPU's previous limit is restored at the end.");
    if (grid.mode == Mode::builtin) {
        if (!executable(options.zoo_path))
            throw InputError(
                "built-in mode runs joulecast-zoo, which is not at " + options.zoo_path +
                ": build joulecast where libtorch is installed (libtorch-dev), give --zoo PATH, or "
                "use mode = \"command\" in [study]");
    } else {
        const std::string program =
            runs.empty() ? "" : run_argv(grid, runs.front(), options.zoo_path).front();
        if (find_program(program).empty())
            throw InputError(
                grid.source + ": [command] argv: cannot find the program '" + program + "'" +
                (program.find('/') == std::string::npos ? " in PATH" : " (or it is not executable)"));
    }
}

std::string plan_time_bound(const StudyGrid& grid, std::size_t runs) {
    if (grid.time_limit.count() <= 0 || runs == 0)
        return "time: not bounded (no [study] time_limit: each run lasts as long as its command)";
    const double limit_s = ns_to_s(grid.time_limit.count());
    const double grace_s = ns_to_s(std::chrono::nanoseconds(runner::time_limit_grace).count());
    const double idle_s = ns_to_s(grid.idle.count());
    const double cooldown_s = ns_to_s(grid.cooldown.count());
    const double n = static_cast<double>(runs);
    const double bound_s = n * (idle_s + limit_s + grace_s) + (n - 1) * cooldown_s;
    std::string text = "time: at most " + format_clock(bound_s) + " = " + std::to_string(runs) + " runs x (";
    if (idle_s > 0) text += format_number(idle_s, 3) + " s idle + ";
    text += format_number(limit_s, 3) + " s time_limit + " + format_number(grace_s, 3) + " s until SIGKILL)";
    if (cooldown_s > 0)
        text += " + " + std::to_string(runs - 1) + " x " + format_number(cooldown_s, 3) + " s cool-down";
    return text + ", plus joulecast's own start and store write per run (not bounded here)";
}

void print_plan(std::ostream& out, const StudyGrid& grid, const std::vector<PlannedRun>& runs,
                const std::string& zoo_path, const std::set<std::pair<std::string, int>>& done) {
    out << "study \"" << grid.name << "\" (" << grid.source << "): " << grid.configuration_count()
        << " configurations x " << grid.repeats << (grid.repeats == 1 ? " repeat = " : " repeats = ")
        << runs.size() << " runs, "
        << (grid.order == Order::random ? "random order (seed " + std::to_string(grid.seed) + ")"
                                        : "given order")
        << ", " << (grid.mode == Mode::builtin ? "built-in (joulecast-zoo)" : "command") << " mode";
    if (grid.idle.count() > 0) out << ", idle baseline " << format_clock(ns_to_s(grid.idle.count()));
    if (grid.cooldown.count() > 0) out << ", cool-down " << format_clock(ns_to_s(grid.cooldown.count()));
    out << '\n' << plan_time_bound(grid, runs.size()) << '\n';
    if (!done.empty()) out << "(--resume: runs marked \"done\" are already in the store and are skipped)\n";
    const std::size_t width = std::to_string(runs.size()).size();
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto& run = runs[i];
        std::string position = std::to_string(i + 1);
        out << std::string(width - position.size(), ' ') << position << ". " << run.config.label()
            << " repeat=" << run.repeat << " config=" << run.config.hash;
        if (done.count({run.config.hash, run.repeat})) out << "  done";
        out << "\n    ";
        const auto env = run_env(grid, run);
        for (const auto& [key, value] : env) out << key << '=' << shell_quote(value) << ' ';
        const auto argv = run_argv(grid, run, zoo_path);
        for (std::size_t k = 0; k < argv.size(); ++k) out << (k ? " " : "") << shell_quote(argv[k]);
        if (const std::string* watts = run.config.find("power_limit_w"))
            out << "    (GPU power limit " << *watts << " W)";
        out << '\n';
    }
}

StudyOutcome run_study(const StudyGrid& grid, const StudyOptions& options, std::ostream& log) {
    const std::int64_t study_start = monotonic_ns();
    const auto runs = plan_runs(grid);
    check_before_running(grid, runs, options, false);
    StopSignals signals;  // first in, last out: the power-limit guard below unwinds while signals are caught

    // (hash, repeat) → a run that an earlier invocation completed.
    std::map<std::pair<std::string, int>, RunRecord> done;
    if (options.resume)
        for (auto& record : completed_runs(options.store_path, grid.name))
            done.emplace(std::pair{record.config.hash, record.repeat}, std::move(record));

    // Limits are checked (range, permission) before the first run; the guard restores them however we leave.
    std::unique_ptr<PowerLimitGuard> guard;
    if (const Axis* limits = grid.axis("power_limit_w")) {
        std::vector<double> watts;
        for (const auto& value : limits->values) watts.push_back(parse_double(value).value_or(0));
        guard = std::make_unique<PowerLimitGuard>(options.monitor.sensors.nvml_library, watts,
                                                  options.monitor.sensors.rocm_smi_library);
        for (std::size_t gpu = 0; gpu < guard->original().size(); ++gpu)
            log << "joulecast study: gpu" << gpu
                << " power limit before the study: " << format_number(guard->original()[gpu].current_w, 0)
                << " W (restored at the end)\n";
    }

    StudyOutcome outcome;
    outcome.planned = runs.size();
    std::vector<std::optional<RunRecord>> slots(runs.size());
    std::size_t to_run = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        auto it = done.find({runs[i].config.hash, runs[i].repeat});
        if (it == done.end()) {
            ++to_run;
            continue;
        }
        RunRecord record = it->second;
        record.config_index = runs[i].config_index;
        record.config = runs[i].config;
        slots[i] = std::move(record);
    }
    if (to_run < runs.size())
        log << "joulecast study: --resume: " << runs.size() - to_run << " of " << runs.size()
            << " runs already completed in " << options.store_path << "\n";

    std::optional<std::string> applied_limit;
    std::size_t executed = 0;
    double executed_wall_s = 0;
    int stop_signal = 0;
    for (std::size_t i = 0; i < runs.size() && stop_signal == 0; ++i) {
        if (slots[i]) continue;
        const PlannedRun& run = runs[i];
        const std::int64_t run_start = monotonic_ns();
        if (executed > 0 && grid.cooldown.count() > 0 && !interruptible_sleep(grid.cooldown, signals)) break;
        if ((stop_signal = signals.received()) != 0) break;

        const std::string position = "[" + std::to_string(i + 1) + "/" + std::to_string(runs.size()) + "]";
        std::string eta;
        if (executed > 0)
            eta = ", ETA " + format_clock(executed_wall_s / static_cast<double>(executed) *
                                          static_cast<double>(to_run - executed));
        log << "joulecast study: " << position << " " << run.config.label(&grid) << " repeat " << run.repeat
            << "/" << grid.repeats << " (" << executed << " of " << to_run << " done" << eta << ")\n";

        RunRecord record;
        record.config_index = run.config_index;
        record.config = run.config;
        record.repeat = run.repeat;
        record.status = RunStatus::failed;

        bool limit_ok = true;
        if (const std::string* watts = run.config.find("power_limit_w");
            watts && guard && applied_limit != *watts) {
            auto set = guard->apply(parse_double(*watts).value_or(0));
            if (set) {
                applied_limit = *watts;
            } else {
                applied_limit.reset();
                limit_ok = false;
                record.error = "power limit " + *watts + " W not applied: " + set.error();
            }
        }
        if (limit_ok) {
            runner::RunSpec spec;
            spec.command = run_argv(grid, run, options.zoo_path);
            spec.env = run_env(grid, run);
            spec.name = grid.name + " " + run.config.label(&grid) + " #" + std::to_string(run.repeat);
            spec.tags = run_tags(grid, run);
            spec.monitor = options.monitor;
            spec.monitor.idle = grid.idle;
            spec.time_limit = grid.time_limit;
            spec.carbon = options.carbon;
            spec.store_path = options.store_path;
            spec.quiet = executed > 0;  // sensor notes once, not once per run
            try {
                runner::RunOutcome measured = runner::measure_command(spec, log);
                fill_from_result(record, measured.result);
                for (const auto& warning : measured.result.warnings)
                    log << "joulecast study: " << position << " warning: " << warning << '\n';
                // Only a signal that asks to stop stops the study; SIGUSR1 and the like were for the command.
                const int forwarded = SignalForwarder::last_signal();
                if (std::find(std::begin(stop_signals), std::end(stop_signals), forwarded) !=
                    std::end(stop_signals))
                    stop_signal = forwarded;
            } catch (const std::exception& error) {
                record.error = error.what();
            }
        }
        if (stop_signal == 0) stop_signal = signals.received();

        log << "joulecast study: " << position << " " << to_string(record.status);
        if (record.status == RunStatus::completed || !record.run_id.empty())
            log << " in " << format_clock(record.duration_s) << ": " << format_number(record.energy_j, 1)
                << " J" << (record.energy_source.empty() ? "" : " (" + record.energy_source + ")")
                << ", train " << format_millijoules_per_sample(record.train_j_per_sample()) << ", infer "
                << format_millijoules_per_sample(record.infer_j_per_sample())
                << (record.accuracy ? ", accuracy " + format_number(*record.accuracy, 3) : "");
        if (record.status != RunStatus::completed && record.run_id.size())
            log << " (exit status " << record.exit_code << ")";
        if (!record.error.empty()) log << ": " << record.error;
        log << '\n';

        slots[i] = std::move(record);
        ++executed;
        executed_wall_s += ns_to_s(monotonic_ns() - run_start);
    }
    if (stop_signal == 0) stop_signal = signals.received();
    if (stop_signal != 0)
        log << "joulecast study: stopped by signal " << stop_signal << " after the current run; "
            << "run again with --resume to finish\n";

    if (guard)
        for (const auto& line : guard->restore()) log << "joulecast study: " << line << '\n';

    bool any_failed = false;
    for (auto& slot : slots)
        if (slot) {
            any_failed = any_failed || slot->status != RunStatus::completed;
            outcome.records.push_back(std::move(*slot));
        }
    outcome.wall_s = ns_to_s(monotonic_ns() - study_start);
    outcome.exit_code = stop_signal != 0 ? 128 + stop_signal : any_failed ? 1 : 0;
    return outcome;
}

}  // namespace joulecast::study
