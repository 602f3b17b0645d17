// joulecast: measure, forecast and explain the energy of ML jobs. This file only dispatches to commands.

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/analyze_command.hpp"
#include "cli/commands.hpp"
#include "cli/estimate_command.hpp"
#include "cli/forecast_command.hpp"
#include "cli/inspect_command.hpp"
#include "cli/mark_command.hpp"
#include "cli/report_command.hpp"
#include "cli/study_command.hpp"
#include "core/result.hpp"

namespace {

const char* const usage = R"(usage: joulecast COMMAND [options]

commands:
  run [options] -- CMD [ARGS...]   measure the energy of a command
  sensors [--json]                 list energy sensors, available or not and why
  mark begin|end|epoch|meta|metric  tell the joulecast run around this script about a phase, epoch, ...
  runs [list|show|export|rm|import]  the store of measured runs (import: results of other nodes)
  jobs [list|show ID]              distributed jobs: their nodes' runs merged into one
  study [GRID.toml]                run a grid of measured training runs (default: the built-in study)
  analyze [filters]                what drives energy: correlations, Pareto front, guidelines
  forecast RUN --epochs N          forecast a stored run from its first epochs; --backtest over the store
  report [--html FILE]             a self-contained HTML report with charts
  inspect MODEL.onnx|NAME          parameters, MACs and MACs per parameter of a model
  models                           the built-in model zoo
  estimate MODEL|--params --macs   energy, time and CO2e from the model alone (a MODEL estimate)
  serve [--listen ADDR:PORT]       node agent serving Prometheus metrics (runs joulecast-agent)
  help [COMMAND]                   show help

Run 'joulecast help COMMAND' for a command's options.
)";

struct Command {
    const char* name;
    int (*function)(const std::vector<std::string>&);
    const char* const* usage;
};

const Command commands[] = {
    {"run", joulecast::cli::run_command, &joulecast::cli::run_usage},
    {"sensors", joulecast::cli::sensors_command, &joulecast::cli::sensors_usage},
    {"mark", joulecast::cli::mark_command, &joulecast::cli::mark_usage},
    {"runs", joulecast::cli::runs_command, &joulecast::cli::runs_usage},
    {"jobs", joulecast::cli::jobs_command, &joulecast::cli::jobs_usage},
    {"study", joulecast::cli::study_command, &joulecast::cli::study_usage},
    {"analyze", joulecast::cli::analyze_command, &joulecast::cli::analyze_usage},
    {"forecast", joulecast::cli::forecast_command, &joulecast::cli::forecast_usage},
    {"report", joulecast::cli::report_command, &joulecast::cli::report_usage},
    {"inspect", joulecast::cli::inspect_command, &joulecast::cli::inspect_usage},
    {"models", joulecast::cli::models_command, &joulecast::cli::models_usage},
    {"estimate", joulecast::cli::estimate_command, &joulecast::cli::estimate_usage},
};

/// `joulecast serve` is joulecast-agent, a separate executable (its HTTP library would make joulecast need
/// OpenSSL): exec the one beside this binary.
int exec_agent(const std::vector<std::string>& args) {
    std::error_code error;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    const auto agent = (error ? std::filesystem::path(".") : self.parent_path()) / "joulecast-agent";
    std::vector<std::string> agent_args = {"joulecast-agent"};
    agent_args.insert(agent_args.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : agent_args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::signal(SIGPIPE, SIG_DFL);
    execv(agent.c_str(), argv.data());
    const int why = errno;
    std::cerr << "joulecast serve: cannot run " << agent.string() << ": " << std::strerror(why)
              << (why == ENOENT ? "\n  joulecast-agent is built beside joulecast where libcpp-httplib-dev is "
                                  "installed (cmake target joulecast-agent)"
                                : "")
              << '\n';
    return 1;
}

const Command* find(const std::string& name) {
    for (const auto& command : commands)
        if (name == command.name) return &command;
    return nullptr;
}

/// Flushes stdout; false (with a message on stderr) when what was written could not be.
bool flush_stdout() {
    std::cout.flush();
    if (std::cout.good() && std::fflush(stdout) == 0 && !std::ferror(stdout)) return true;
    const int error = errno;
    std::cerr << "joulecast: error: writing the output to stdout failed"
              << (error != 0 ? std::string(": ") + std::strerror(error) : std::string()) << '\n';
    return false;
}

int dispatch(const std::vector<std::string>& args);

}  // namespace

int main(int argc, char** argv) {
    // A reader that goes away (stderr into `head`) must not kill joulecast before --json and --trace are
    // written: writes then fail with EPIPE instead. The measured command gets the default back.
    std::signal(SIGPIPE, SIG_IGN);
    const int status = dispatch(std::vector<std::string>(argv + 1, argv + argc));
    // What a command printed on stdout must have arrived: a full disk or a closed pipe is a failure (exit 1
    // with the reason), not a silent success.
    if (!flush_stdout()) return status == 0 ? 1 : status;
    return status;
}

namespace {

int dispatch(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
        (args.empty() ? std::cerr : std::cout) << usage;
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "help" || args[0] == "--version") {
        if (args[0] == "--version") {
            std::cout << "joulecast 0.1.0\n";
            return 0;
        }
        if (args.size() > 1 && args[1] == "serve") return exec_agent({"serve", "--help"});
        const Command* command = args.size() > 1 ? find(args[1]) : nullptr;
        if (args.size() > 1 && !command) {
            std::cerr << "joulecast: unknown command '" << args[1] << "'\n\n" << usage;
            return 2;
        }
        std::cout << (command ? *command->usage : usage);
        return 0;
    }
    if (args[0] == "serve") return exec_agent(args);
    const Command* command = find(args[0]);
    if (!command) {
        std::cerr << "joulecast: unknown command '" << args[0] << "'\n\n" << usage;
        return 2;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (!rest.empty() && (rest[0] == "-h" || rest[0] == "--help")) {
        std::cout << *command->usage;
        return 0;
    }
    try {
        return command->function(rest);
    } catch (const joulecast::core::InputError& error) {
        // What the user gave is wrong, not how the command was called: the message alone.
        std::cerr << "joulecast " << command->name << ": " << error.what() << '\n';
        return 2;
    } catch (const joulecast::core::UsageError& error) {
        std::cerr << "joulecast " << command->name << ": " << error.what() << "\n\n" << *command->usage;
        return 2;
    } catch (const std::exception& error) {
        std::cerr << "joulecast " << command->name << ": error: " << error.what() << '\n';
        return 1;
    }
}

}  // namespace
