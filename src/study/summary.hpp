#pragma once
// What a study reports at its end: per configuration, the mean over repeats of training energy per sample
// (E_tr / samples trained), inference energy per sample (E_in / samples inferred) and accuracy, with n; and
// the study's total energy, time and CO2e. Printed as a table and written as JSON ("joulecast.study/1").

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "meter/run_result.hpp"
#include "study/grid.hpp"
#include "study/plan.hpp"

namespace joulecast::study {

inline constexpr const char* study_schema = "joulecast.study/1";

/// One planned run as it ended (or was found in the store by --resume).
struct RunRecord {
    std::size_t config_index = 0;
    GridPoint config;
    int repeat = 1;
    std::string run_id;  ///< empty when no run was started (e.g. its power limit could not be set)
    meter::RunStatus status = meter::RunStatus::failed;
    int exit_code = 0;
    bool resumed = false;  ///< measured by an earlier `joulecast study --resume` invocation
    std::string error;     ///< why it failed before or around the command, when known
    double duration_s = 0;
    double energy_j = 0;  ///< gross, every accounted domain
    double co2e_g = 0;
    std::optional<double> training_energy_j;  ///< E_tr (phases named "train" or "training")
    std::optional<long long> train_samples;   ///< samples of those phases (else of the epochs)
    std::optional<double> inference_energy_j;
    std::optional<long long> infer_samples;
    std::optional<double> accuracy;  ///< the workload's last "accuracy" metric
    std::optional<double> classes;   ///< meta.classes (what chance accuracy is), when the workload sent it
    /// How the run's energy was obtained, per domain, from its result's energy_method: "cpu modelled, ...".
    std::string energy_source;

    std::optional<double> train_j_per_sample() const;
    std::optional<double> infer_j_per_sample() const;
};

/// Fills a record's measurements from a run (as measured, or RunStore::get).
void fill_from_result(RunRecord& record, const meter::RunResult& result);

/// One configuration of the summary table: means over its completed runs.
struct SummaryRow {
    std::size_t config_index = 0;
    GridPoint config;
    int n = 0;                                 ///< completed runs
    int failed = 0;                            ///< failed or interrupted runs
    std::optional<double> train_j_per_sample;  ///< mean over the completed runs that report it
    std::optional<double> infer_j_per_sample;
    std::optional<double> accuracy;
    /// The mean accuracy is at chance (analysis::at_chance_accuracy, with the runs' classes and test
    /// samples): flagged in the table and JSON, and never recommended by the analysis or the report.
    bool at_chance = false;
    std::optional<double>
        chance_limit;                ///< the accuracy at or below which it is chance, when classes are known
    std::optional<double> energy_j;  ///< mean gross energy per completed run
    std::optional<double> duration_s;  ///< mean duration per completed run
};

struct StudySummary {
    std::string name;
    std::string source;
    std::vector<std::string> columns;  ///< configuration keys shown: model, batch_size and the varying ones
    std::vector<SummaryRow> rows;      ///< in the grid's order
    std::size_t planned = 0;
    int completed = 0, failed = 0, interrupted = 0, resumed = 0, not_run = 0;
    int at_chance = 0;      ///< configurations whose mean accuracy is at chance
    double energy_j = 0;    ///< every run's gross energy, failed ones included
    double run_time_s = 0;  ///< sum of the runs' durations
    double co2e_g = 0;
    double wall_s = 0;  ///< this invocation, cool-downs and idle baselines included
    std::string carbon_source;
    /// The distinct energy sources of the runs (RunRecord::energy_source), "; "-joined.
    std::string energy_sources;
};

/// `planned`: how many runs the plan has (runs missing from `records` were not reached).
StudySummary summarise(const StudyGrid& grid, const std::vector<RunRecord>& records, std::size_t planned,
                       double wall_s, const std::string& carbon_source);

void print_study_summary(std::ostream& out, const StudySummary& summary);

/// {"schema": "joulecast.study/1", name, source, totals{...}, rows[...], runs[...]}.
nlohmann::ordered_json to_json(const StudySummary& summary, const std::vector<RunRecord>& records);

}  // namespace joulecast::study
