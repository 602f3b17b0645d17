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
#include "core/clock.hpp"
#include "core/text.hpp"
#include "runner/runner.hpp"
#include "store/run_store.hpp"
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
  --db PATH          run store (default $JOULECAST_DB, else ~/.local/share/joulecast/runs.db)
  --no-store         do not keep the run in the store
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
    bool no_store = false;
    std::string db_path;
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
            args.value("--replay", options.monitor.sensors.replay_path) || args.value("--name", options.name) ||
            args.value("--db", options.db_path)) {
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
    RunOptions options = parse_run_options(raw);
    // Everything a user can get wrong is checked before the command runs.
    RunSpec spec;
    spec.carbon = resolve_carbon(options.carbon, std::getenv("JOULECAST_COUNTRY"));
    spec.command = options.command;
    spec.name = options.name;
    spec.tags = options.tags;
    spec.monitor = options.monitor;
    spec.quiet = options.quiet;
    if (!options.no_store) spec.store_path = options.db_path.empty() ? default_store_path() : options.db_path;
    std::ofstream json_out, trace_out;
    if (!options.json_path.empty()) json_out = open_output("--json", options.json_path);
    if (!options.trace_path.empty()) trace_out = open_output("--trace", options.trace_path);

    RunOutcome outcome = measure_command(spec, std::cerr);

    if (!options.quiet) print_summary(std::cerr, outcome.result);
    if (json_out.is_open()) {
        json_out << to_json(outcome.result).dump(2) << '\n';
        if (!json_out) std::cerr << "joulecast: writing " << options.json_path << " failed\n";
    }
    if (trace_out.is_open()) {
        write_trace_csv(trace_out, outcome.trace, outcome.start_ns);
        if (!trace_out) std::cerr << "joulecast: writing " << options.trace_path << " failed\n";
    }
    return outcome.exit_code;
}

}  // namespace joulecast::cli
