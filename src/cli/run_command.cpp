// joulecast run [options] -- CMD [ARGS...]: measure a command.

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/child_process.hpp"
#include "core/clock.hpp"
#include "core/host.hpp"
#include "core/text.hpp"
#include "meter/run_result.hpp"
#include "meter/sampler.hpp"
#include "report/json_result.hpp"
#include "report/summary.hpp"
#include "sensors/registry.hpp"

namespace joulecast::cli {

const char* const run_usage = R"(usage: joulecast run [options] -- CMD [ARGS...]

Runs CMD (no shell), measures the energy it takes, prints a summary on stderr and exits with CMD's status
(128+N when signal N ended it; 127 when CMD cannot be started; 2 for bad options).

options:
  --json FILE        write the result (schema joulecast.run/1) to FILE
  --trace FILE.csv   write every reading to FILE.csv (replayable with --replay)
  --interval D       sampling interval, 10ms to 10s (default 100ms)
  --idle D           measure idle power for D (e.g. 5s) before starting CMD; report net energy
  --cpu-tdp W        CPU thermal design power for the CPU model (where RAPL is missing)
  --replay FILE.csv  read a recorded trace instead of this machine's sensors
  --name NAME        a name for the run
  --quiet            no summary on stderr
)";

namespace {

struct RunOptions {
    std::string json_path;
    std::string trace_path;
    std::chrono::nanoseconds interval = std::chrono::milliseconds(100);
    std::chrono::nanoseconds idle{0};
    std::string name;
    bool quiet = false;
    SensorConfig sensors = SensorConfig::from_environment();
    std::vector<std::string> command;
};

std::chrono::nanoseconds duration_option(const std::string& name, const std::string& text) {
    auto parsed = parse_duration(text);
    if (!parsed) throw UsageError(name + ": " + parsed.error());
    return *parsed;
}

RunOptions parse_run_options(const std::vector<std::string>& raw) {
    RunOptions options;
    Args args(raw);
    std::string text;
    while (!args.done()) {
        if (args.flag("--")) break;
        if (args.value("--json", options.json_path) || args.value("--trace", options.trace_path) ||
            args.value("--replay", options.sensors.replay_path) || args.value("--name", options.name)) {
        } else if (args.value("--interval", text)) {
            options.interval = duration_option("--interval", text);
        } else if (args.value("--idle", text)) {
            options.idle = duration_option("--idle", text);
        } else if (args.value("--cpu-tdp", text)) {
            double watts = number_option("--cpu-tdp", text);
            if (watts <= 0 || watts > 2000) throw UsageError("--cpu-tdp: expected watts between 0 and 2000");
            options.sensors.cpu_tdp_w = watts;
        } else if (args.flag("--quiet") || args.flag("-q")) {
            options.quiet = true;
        } else if (starts_with(args.peek(), "-")) {
            throw UsageError("unknown option '" + args.peek() + "'");
        } else {
            break;  // the command starts here (a "--" is recommended but not required)
        }
    }
    options.command = args.rest();
    if (options.command.empty()) throw UsageError("no command given");
    using namespace std::chrono_literals;
    if (options.interval < 10ms || options.interval > 10s)
        throw UsageError("--interval must be between 10ms and 10s");
    return options;
}

/// Opens an output file before anything runs, so that a bad path fails fast instead of after an hour.
std::ofstream open_output(const std::string& option, const std::string& path) {
    std::ofstream out(path, std::ios::trunc);
    if (!out) throw UsageError(option + ": cannot write " + path + ": " + std::strerror(errno));
    return out;
}

}  // namespace

int run_command(const std::vector<std::string>& raw) {
    const std::int64_t wall_start = monotonic_ns();
    RunOptions options = parse_run_options(raw);
    std::ofstream json_out, trace_out;
    if (!options.json_path.empty()) json_out = open_output("--json", options.json_path);
    if (!options.trace_path.empty()) trace_out = open_output("--trace", options.trace_path);

    RunResult result;
    result.id = new_run_id();
    result.name = options.name;
    result.command = options.command;
    result.host = read_host_info(options.sensors.proc_root);

    SensorSet sensors = make_sensor_set(options.sensors);
    if (!options.quiet)
        for (const auto& note : sensors.fallbacks) std::cerr << "joulecast: note: " << note << '\n';
    if (!options.sensors.replay_path.empty() && sensors.used().empty())
        throw UsageError("--replay: " + sensors.sensors.front().availability.reason);

    Sampler sampler(sensors.used(), SamplerOptions{options.interval});
    SignalForwarder forwarder;  // from here on, SIGINT/SIGTERM/SIGHUP go to the command, not to us
    sampler.start();

    std::optional<std::int64_t> idle_start;
    if (options.idle.count() > 0) {
        if (!options.quiet)
            std::cerr << "joulecast: measuring idle power for " << format_number(ns_to_s(options.idle.count()), 1)
                      << " s before starting the command\n";
        idle_start = sampler.read_all_now();
        std::this_thread::sleep_for(options.idle);
    }

    result.started_at = iso8601_utc_now();
    const std::int64_t start = sampler.read_all_now();
    auto child = ChildProcess::spawn(options.command);
    int exit_code;
    if (!child) {
        std::cerr << "joulecast: " << child.error() << '\n';
        exit_code = 127;
        result.status = "failed";
        result.warnings.push_back(child.error());
    } else {
        forwarder.forward_to(child->pid());
        exit_code = child->wait();
        forwarder.forward_to(0);
        if (exit_code > 128 && SignalForwarder::last_signal() == exit_code - 128) result.status = "interrupted";
        else if (exit_code != 0) result.status = "failed";
    }
    const std::int64_t end = sampler.read_all_now();
    sampler.stop();
    result.exit_code = exit_code;

    account_run(result, sampler, sensors, start, end, idle_start);
    result.overhead.process_cpu_s = process_cpu_seconds();
    // What joulecast added to the wall time: everything but the command itself and the idle baseline asked for.
    result.overhead.wall_s = ns_to_s(monotonic_ns() - wall_start) - result.duration_s -
                             (result.idle ? result.idle->duration_s : 0.0);

    if (!options.quiet) print_summary(std::cerr, result);
    if (json_out.is_open()) {
        json_out << to_json(result).dump(2) << '\n';
        if (!json_out) std::cerr << "joulecast: writing " << options.json_path << " failed\n";
    }
    if (trace_out.is_open()) {
        write_trace_csv(trace_out, sampler.trace(), start);
        if (!trace_out) std::cerr << "joulecast: writing " << options.trace_path << " failed\n";
    }
    return exit_code;
}

}  // namespace joulecast::cli
