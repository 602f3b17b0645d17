// joulecast run [options] -- CMD [ARGS...]: measure a command.

#include <cerrno>
#include <cstdlib>
#include <map>
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
#include "carbon/run_carbon.hpp"
#include "control/server.hpp"
#include "meter/monitor.hpp"
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
  --tag K=V          a tag for the run (repeatable)
  --country ISO3     grid carbon intensity of a country (default: $JOULECAST_COUNTRY, else the world average)
  --region P:R       grid carbon intensity of a cloud region, e.g. gcp:europe-west1
  --intensity G      grid carbon intensity in gCO2e/kWh
  --pue X            data-centre power usage effectiveness (default 1.0)
  --quiet            no summary on stderr

The command finds the control channel in $JOULECAST_SOCKET: phases, epochs, meta and metrics sent there (by
the Python client, include/joulecast/client.hpp or `joulecast mark`) are measured and reported.
)";

namespace {

struct RunOptions {
    std::string json_path;
    std::string trace_path;
    std::string name;
    std::map<std::string, std::string> tags;
    bool quiet = false;
    MonitorOptions monitor;
    CarbonOptions carbon;
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
            args.value("--replay", options.monitor.sensors.replay_path) || args.value("--name", options.name)) {
        } else if (args.value("--interval", text)) {
            options.monitor.sampler.interval = duration_option("--interval", text);
        } else if (args.value("--idle", text)) {
            options.monitor.idle = duration_option("--idle", text);
        } else if (args.value("--cpu-tdp", text)) {
            double watts = number_option("--cpu-tdp", text);
            if (watts <= 0 || watts > 2000) throw UsageError("--cpu-tdp: expected watts between 0 and 2000");
            options.monitor.sensors.cpu_tdp_w = watts;
        } else if (args.value("--tag", text)) {
            auto eq = text.find('=');
            if (eq == std::string::npos || eq == 0) throw UsageError("--tag: expected KEY=VALUE, got '" + text + "'");
            options.tags[text.substr(0, eq)] = text.substr(eq + 1);
        } else if (args.value("--country", text)) {
            options.carbon.country = text;
        } else if (args.value("--region", text)) {
            options.carbon.region = text;
        } else if (args.value("--intensity", text)) {
            options.carbon.intensity_g_per_kwh = number_option("--intensity", text);
        } else if (args.value("--pue", text)) {
            options.carbon.pue = number_option("--pue", text);
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
    if (options.monitor.sampler.interval < 10ms || options.monitor.sampler.interval > 10s)
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
    // Everything a user can get wrong is checked before the command runs.
    const CarbonSetting carbon = resolve_carbon(options.carbon, std::getenv("JOULECAST_COUNTRY"));
    std::ofstream json_out, trace_out;
    if (!options.json_path.empty()) json_out = open_output("--json", options.json_path);
    if (!options.trace_path.empty()) trace_out = open_output("--trace", options.trace_path);

    Monitor monitor(options.monitor);
    if (!options.monitor.sensors.replay_path.empty() && monitor.sensors().used().empty())
        throw UsageError("--replay: " + monitor.sensors().sensors.front().availability.reason);
    if (!options.quiet)
        for (const auto& note : monitor.sensors().fallbacks) std::cerr << "joulecast: note: " << note << '\n';

    // The workload's phases, epochs, meta and metrics arrive here; a channel that cannot open is a warning.
    std::vector<std::string> warnings;
    auto server = ControlServer::start([&monitor](const ControlEvent& event) { monitor.record(event.t_ns, event.message); });
    std::map<std::string, std::string> child_env;
    if (server) child_env["JOULECAST_SOCKET"] = (*server)->path();
    else warnings.push_back("no control channel (phases and epochs will not be measured): " + server.error());

    SignalForwarder forwarder;  // from here on, SIGINT/SIGTERM/SIGHUP go to the command, not to us
    if (!options.quiet && options.monitor.idle.count() > 0)
        std::cerr << "joulecast: measuring idle power for "
                  << format_number(ns_to_s(options.monitor.idle.count()), 1) << " s before starting the command\n";
    const std::string started_at_iso = (monitor.start(), iso8601_utc_now());

    auto child = ChildProcess::spawn(options.command, child_env);
    int exit_code;
    std::string status = "completed";
    if (!child) {
        std::cerr << "joulecast: " << child.error() << '\n';
        exit_code = 127;
        status = "failed";
        warnings.push_back(child.error());
    } else {
        forwarder.forward_to(child->pid());
        exit_code = child->wait();
        forwarder.forward_to(0);
        if (exit_code > 128 && SignalForwarder::last_signal() == exit_code - 128) status = "interrupted";
        else if (exit_code != 0) status = "failed";
    }
    // Lines the workload sent just before it ended are read before the window closes.
    if (server) (*server)->stop();
    RunResult result = monitor.stop();
    result.id = new_run_id();
    result.name = options.name;
    result.command = options.command;
    result.host = read_host_info(options.monitor.sensors.proc_root);
    result.started_at = started_at_iso;
    result.exit_code = exit_code;
    result.status = status;
    result.tags = options.tags;
    for (auto& w : warnings) result.warnings.push_back(w);
    if (server) {
        ControlCounters counters = (*server)->counters();
        result.control = {{"lines", counters.lines},         {"accepted", counters.accepted},
                          {"malformed", counters.malformed}, {"unknown_verb", counters.unknown_verb},
                          {"oversized", counters.oversized}, {"clients", counters.clients}};
        const std::uint64_t rejected = counters.malformed + counters.unknown_verb + counters.oversized;
        if (rejected > 0) {
            std::string example = counters.rejected_examples.empty()
                                      ? ""
                                      : " (first: " + counters.rejected_examples[0].reason + ")";
            result.warnings.push_back(std::to_string(rejected) + " control lines were rejected" + example);
        }
    }
    apply_carbon(result, carbon);
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
        write_trace_csv(trace_out, monitor.trace(), *monitor.start_ns());
        if (!trace_out) std::cerr << "joulecast: writing " << options.trace_path << " failed\n";
    }
    return exit_code;
}

}  // namespace joulecast::cli
