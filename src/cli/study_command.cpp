// joulecast study [options] [GRID.toml]: run a grid of configurations, each one measured and stored.

#include "cli/study_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "cli/args.hpp"
#include "core/format.hpp"
#include "core/output_file.hpp"
#include "core/text.hpp"
#include "model/zoo.hpp"
#include "report/html/write_report.hpp"
#include "report/summary.hpp"
#include "store/run_store.hpp"
#include "study/grid.hpp"
#include "study/plan.hpp"
#include "study/study.hpp"
#include "study/summary.hpp"

namespace joulecast::cli {

using core::Args;
using core::check_output_path;
using core::format_number;
using core::starts_with;
using core::UsageError;
using core::write_output_file;

using meter::MonitorOptions;

using carbon::CarbonOptions;
using carbon::resolve_carbon;

using store::default_store_path;
using store::RunStore;
using store::StoreError;

const char* const study_usage = R"(usage: joulecast study [options] [GRID.toml]

Runs every configuration of a grid (the cartesian product of its axes, times its repeats), each measured like
`joulecast run` and kept in the run store with its configuration as tags (study, model, batch_size, ...,
repeat, config), then prints energy per sample and accuracy by configuration. Without GRID.toml, runs the
default study: small Fashion-MNIST subsets on joulecast-zoo (see --print-default). Grid format: docs/study.md.

options:
  --dry-run            print the plan (every run's configuration and command, the time bound) and exit
  --resume             skip runs this study already completed in the store (same name, config hash, repeat)
  --db PATH            run store (default $JOULECAST_DB, else ~/.local/share/joulecast/runs.db)
  --json FILE          write the summary and every run (schema joulecast.study/1) to FILE
  --allow-power-limit  apply the grid's power_limits_w to every GPU (needs root; restored at the end)
  --zoo PATH           the joulecast-zoo program for built-in mode (default: beside joulecast, else in PATH)
  --interval D         sampling interval, 10ms to 10s (default 100ms)
  --cpu-tdp W          CPU thermal design power for the CPU model (where RAPL is missing)
  --gpus SEL           the GPUs measured: all, visible (the default) or a list such as 0,2
  --country ISO3       grid carbon intensity of a country (default: $JOULECAST_COUNTRY, else world average)
  --region P:R         grid carbon intensity of a cloud region, e.g. gcp:europe-west1
  --intensity G        grid carbon intensity in gCO2e/kWh
  --pue X              data-centre power usage effectiveness (default 1.0)
  --report FILE        write the HTML report on this study's runs to FILE at the end (the default study
                       writes joulecast-report.html unless --no-report)
  --no-report          write no report
  --print-default      print the default study's grid (a starting point for your own) and exit

Exit status: 0 when every run completed, 1 when one failed (the study goes on after a failure) or the report
could not be written, 128+N when signal N stopped it (SIGINT is forwarded to the current run; the study stops
after it), 2 for bad options, an invalid grid or an unusable store (nothing is run). --dry-run exits with 2
where the study itself would refuse to start, else 0.
)";

namespace {

struct StudyCliOptions {
    std::string grid_path;
    std::string db_path;
    std::string json_path;
    std::string zoo_path;
    std::string report_path;
    bool no_report = false;
    bool dry_run = false;
    bool resume = false;
    bool allow_power_limit = false;
    bool print_default = false;
    MonitorOptions monitor;
    CarbonOptions carbon;
};

StudyCliOptions parse_options(const std::vector<std::string>& raw) {
    StudyCliOptions options;
    Args args(raw);
    std::string text;
    while (!args.done()) {
        if (args.value("--db", options.db_path) || args.value("--json", options.json_path) ||
            args.value("--zoo", options.zoo_path)) {
        } else if (args.value("--report", options.report_path)) {
        } else if (args.flag("--no-report")) {
            options.no_report = true;
        } else if (args.flag("--dry-run")) {
            options.dry_run = true;
        } else if (args.flag("--resume")) {
            options.resume = true;
        } else if (args.flag("--allow-power-limit")) {
            options.allow_power_limit = true;
        } else if (args.flag("--print-default")) {
            options.print_default = true;
        } else if (measuring_option(args, options.monitor) || carbon_option(args, options.carbon)) {
        } else if (starts_with(args.peek(), "-")) {
            throw UsageError("unknown option '" + args.peek() + "'");
        } else if (options.grid_path.empty()) {
            options.grid_path = args.next();
        } else {
            throw UsageError("one grid file at most (got '" + options.grid_path + "' and '" + args.peek() +
                             "')");
        }
    }
    return options;
}

}  // namespace

int study_command(const std::vector<std::string>& raw) {
    StudyCliOptions cli = parse_options(raw);
    if (cli.print_default) {
        std::cout << study::default_grid_text();
        return 0;
    }
    // Everything a user can get wrong is checked before the first run.
    const study::StudyGrid grid =
        cli.grid_path.empty() ? study::default_grid() : study::load_grid(cli.grid_path);
    study::StudyOptions options;
    options.store_path = cli.db_path.empty() ? default_store_path() : cli.db_path;
    options.resume = cli.resume;
    options.allow_power_limit = cli.allow_power_limit;
    options.carbon = resolve_carbon(cli.carbon, std::getenv("JOULECAST_COUNTRY"));
    options.monitor = cli.monitor;
    options.zoo_path =
        cli.zoo_path.empty() ? model::find_zoo().value_or(model::zoo_beside_this_program()) : cli.zoo_path;

    if (cli.dry_run) {
        std::set<std::pair<std::string, int>> done;
        if (cli.resume)
            for (const auto& record : study::completed_runs(options.store_path, grid.name))
                done.insert({record.config.hash, record.repeat});
        const auto runs = study::plan_runs(grid);
        study::print_plan(std::cout, grid, runs, options.zoo_path, done);
        // The plan is printed either way; the status says whether the study itself would start.
        int status = 0;
        try {
            study::check_before_running(grid, runs, options, true);
        } catch (const UsageError& error) {
            std::cout << "error: " << error.what() << '\n';
            status = 2;
        }
        if (grid.axis("power_limit_w") && !cli.allow_power_limit) {
            std::cout << "error: the grid sets power limits: running it needs --allow-power-limit\n";
            status = 2;
        }
        return status;
    }

    // Outputs are checked before the first run (see core/output_file.hpp for what each kind of path gets).
    if (!cli.json_path.empty()) check_output_path("--json", cli.json_path);
    if (!cli.no_report && !cli.report_path.empty()) check_output_path("--report", cli.report_path);

    // The store is checked before the first run, like every other output: a study that cannot keep its runs
    // cannot be resumed or reported.
    try {
        RunStore store(options.store_path);
    } catch (const std::exception& error) {
        throw StoreError(std::string("--db: cannot use the run store: ") + error.what());
    }

    study::StudyOutcome outcome = study::run_study(grid, options, std::cerr);

    const std::string carbon_source =
        format_number(options.carbon.intensity_g_per_kwh, 0) + " gCO2e/kWh, " + options.carbon.source +
        (options.carbon.pue != 1.0 ? ", PUE " + format_number(options.carbon.pue, 2) : "");
    const auto summary =
        study::summarise(grid, outcome.records, outcome.planned, outcome.wall_s, carbon_source);
    study::print_study_summary(std::cerr, summary);
    if (!cli.json_path.empty()) {
        const std::string failure = write_output_file(cli.json_path, [&](std::ostream& out) {
            out << study::to_json(summary, outcome.records)
                       .dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                << '\n';
        });
        if (!failure.empty())
            std::cerr << "joulecast study: writing " << cli.json_path << " failed: " << failure << '\n';
    }
    std::string report_path = cli.report_path;
    if (report_path.empty() && cli.grid_path.empty()) report_path = "joulecast-report.html";
    if (!cli.no_report && !report_path.empty()) {
        // The report covers this study's runs; a failure to write it never hides the study's own status.
        report::ReportRequest request;
        request.filter.tags.emplace_back("study", grid.name);
        request.filter_text = "--study " + grid.name;
        try {
            report::write_report(options.store_path, request, report_path, std::cerr);
        } catch (const std::exception& error) {
            std::cerr << "joulecast study: the report was not written: " << error.what() << '\n';
            if (outcome.exit_code == 0) return 1;
        }
    }
    return outcome.exit_code;
}

}  // namespace joulecast::cli
