#pragma once
// Analysis of many stored runs: derived metrics per run, correlations between energy and the model/hardware
// characteristics, what energy per sample depends on most, the accuracy/energy Pareto front, the
// energy-optimal batch size per model, the lifetime share of inference, and guidelines computed from the data
// (or the reason none could be given). Used by `joulecast analyze` and by the HTML report.
//
// Units: joules, watts, seconds, samples; energy per sample in J/sample. Every energy figure carries how it
// was obtained: "measured" (counters or integrated measured power only), "modelled" (models only), "mixed"
// (both; see measured_share) or "unknown". Missing or non-finite inputs become std::nullopt (null in JSON),
// never NaN.
//
// JSON (to_json(const Analysis&)): schema "joulecast.analysis/1", described at to_json below.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/run_store.hpp"

namespace joulecast::analysis {

inline constexpr const char* analysis_schema = "joulecast.analysis/1";

// ---- Derived metrics per run -----------------------------------------------------------------------------

/// How an energy figure was obtained, for one run or an aggregate of runs.
struct EnergyMethod {
    std::string label = "unknown";         ///< measured | modelled | mixed | unknown
    std::optional<double> measured_share;  ///< 0..1: part of the energy from counters/integrated power
};

/// One run, reduced to the numbers the analysis uses. Built by derive_row from a run and, when given, its
/// stored trace (for utilisation).
struct RunRow {
    std::string id;
    std::string name;
    meter::RunStatus status = meter::RunStatus::completed;
    std::string started_at;    ///< ISO 8601 UTC
    std::string model;         ///< meta.model, else tag model, else the run's name
    std::string model_source;  ///< "meta" | "tag" | "name"
    std::string device;        ///< GPU name from host.gpus ("2x NAME" for several alike), else host.cpu_model
    std::optional<double> batch_size;     ///< meta.batch_size, else tag batch_size
    std::optional<double> learning_rate;  ///< meta.learning_rate, else tag learning_rate
    std::optional<double> epochs;   ///< meta.epochs, else tag epochs, else the number of epochs[] marked
    std::optional<double> threads;  ///< tag threads, else meta.threads
    std::optional<double> power_limit_w;   ///< tag power_limit_w, else host.gpus[0].power_limit_w (when > 0)
    std::optional<double> params;          ///< meta.params (trainable parameters)
    std::optional<double> macs;            ///< meta.macs (multiply-accumulates per sample, forward)
    std::optional<double> macs_per_param;  ///< meta.macs_per_param, else macs / params
    std::string dataset;                   ///< meta.dataset, may be empty

    std::optional<double> training_samples;   ///< samples of the train/training phases (else their epochs)
    std::optional<double> inference_samples;  ///< samples of the infer/inference phases
    std::optional<double> training_time_s;    ///< summed duration of the train phases
    std::optional<double> inference_time_s;
    std::optional<double> training_energy_j;              ///< E_tr (result.training_energy_j)
    std::optional<double> inference_energy_j;             ///< E_in (result.inference_energy_j)
    std::optional<double> total_energy_j;                 ///< energy_j.total, gross over the whole command
    std::optional<double> training_energy_per_sample_j;   ///< E_tr / training samples
    std::optional<double> inference_energy_per_sample_j;  ///< E_in / inference samples
    /// The headline energy per sample: training when known, else inference, else total energy / all samples
    /// the run reported (phases, epochs or meta.samples). `basis` says which.
    std::optional<double> energy_per_sample_j;
    std::string basis = "none";  ///< training | inference | total | none
    std::optional<double>
        work_params_per_s;                ///< params × training samples / training time (params·samples/s)
    std::optional<double> samples_per_j;  ///< 1 / energy_per_sample_j
    std::optional<double> mean_power_w, peak_power_w;
    std::optional<double> gpu_utilisation_pct;  ///< mean over the command of every GPU's utilisation gauge
    std::optional<double> cpu_utilisation_pct;  ///< mean of the CPU utilisation gauge (the CPU model's)
    std::optional<double> accuracy;  ///< metrics.accuracy.last (0..1 or %, as the workload reported it)
    std::optional<double> classes;   ///< meta.classes, else tag classes: what chance accuracy is
    /// The accuracy is no better than guessing (at_chance_accuracy with classes and the inference samples as
    /// the test size); false when the classes are unknown.
    bool at_chance = false;
    std::optional<double> loss;  ///< metrics.loss.last
    std::optional<double> duration_s;
    EnergyMethod method;           ///< of the whole run's energy (energy_j.measured / total)
    EnergyMethod training_method;  ///< of E_tr, from the train phases' domain split where known
    EnergyMethod inference_method;
    std::map<std::string, std::string> tags;
    /// What was missing or assumed while deriving the row, e.g. "no accuracy metric".
    std::vector<std::string> notes;
    /// A distributed job merged over its nodes by `--by-job` (id is then the job id), with `nodes` runs.
    bool merged_job = false;
    std::size_t nodes = 1;
};

/// Derives a row from a run (as RunStore::get returns it) and optionally its stored trace. Missing,
/// non-numeric or non-finite figures become nullopt and a note. Numbers given as text in meta/tags
/// ("11173962") are parsed.
RunRow derive_row(const meter::RunResult& result, const store::StoredTrace* trace = nullptr);

/// The numeric variables of a row that correlations use, in a fixed order: {name, unit}. Names are the
/// RunRow field names (e.g. "energy_per_sample_j", "batch_size", "macs_per_param").
struct VariableInfo {
    std::string name;
    std::string unit;  ///< "J/sample", "J", "W", "%", "" (dimensionless), ...
    /// energy (an outcome) | setting | model | hardware (the three kinds of characteristic that rankings use)
    /// | quality (accuracy, loss) | run (duration)
    std::string role;
    std::string label;         ///< in words, for sentences and charts: "MACs per parameter"
    std::string abbreviation;  ///< for narrow table columns: "MACs/param"
    std::optional<double> RunRow::*field = nullptr;  ///< where a RunRow holds it
};
const std::vector<VariableInfo>& numeric_variables();
/// The variable called `name`, or nullptr.
const VariableInfo* find_variable(std::string_view name);
/// The value of variable `name` in a row; nullopt when missing or unknown name.
std::optional<double> variable_value(const RunRow& row, std::string_view name);

// ---- Statistics (exposed for tests and the report) -------------------------------------------------------

/// Pearson correlation; nullopt when fewer than 3 pairs, sizes differ, or either side has zero variance.
std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y);
/// Spearman correlation: Pearson on average ranks (ties share their mean rank); nullopt as for pearson.
std::optional<double> spearman(const std::vector<double>& x, const std::vector<double>& y);
/// Average ranks, 1-based: {10, 20, 20, 30} -> {1, 2.5, 2.5, 4}.
std::vector<double> average_ranks(const std::vector<double>& values);

/// Indices of the points not dominated by any other, for "higher first is better, lower second is better"
/// (accuracy, energy per sample). A point dominates another when it is at least as good in both and better
/// in one. Exact duplicates are all kept. Order: ascending second value.
std::vector<std::size_t> pareto_front(const std::vector<std::pair<double, double>>& higher_lower);

/// The highest accuracy (0..1) still taken as chance for `classes` classes: 1.5 / classes, or, where a small
/// test set makes it higher, the one-sided 99.9% binomial bound above 1 / classes
/// (1/k + 3.09 sqrt((1/k)(1 - 1/k) / test_samples)). 10 classes, 1,024 test samples: 0.15.
double chance_accuracy_limit(double classes, std::optional<double> test_samples = std::nullopt);
/// Whether `accuracy` (0..1, or percent when above 1) is at most chance_accuracy_limit. False when the
/// accuracy or the classes (fewer than 2) are unknown.
bool at_chance_accuracy(std::optional<double> accuracy, std::optional<double> classes,
                        std::optional<double> test_samples = std::nullopt);

// ---- Results -------------------------------------------------------------------------------------------

struct CorrelationCell {
    std::optional<double> pearson;  ///< null where n < 3 or zero variance
    std::optional<double> spearman;
    std::size_t n = 0;  ///< runs with both values (pairwise complete)
};

struct CorrelationMatrix {
    std::vector<std::string> variables;  ///< rows and columns; only variables with ≥ 3 values and variance
    std::vector<std::vector<CorrelationCell>> cells;  ///< cells[i][j], symmetric; diagonal 1 where defined
    /// Variables left out and why: "no values", "only 2 values", "constant (batch_size = 128 in every run)".
    std::vector<std::pair<std::string, std::string>> omitted;
    /// The cell for two variable names, or nullptr when either is not in the matrix.
    const CorrelationCell* find(std::string_view a, std::string_view b) const;
};

/// One characteristic in the ranking of what an outcome depends on.
struct Driver {
    std::string variable;
    double spearman = 0;  ///< ranking key: |spearman|, larger first
    std::optional<double> pearson;
    std::size_t n = 0;
    std::string direction;   ///< "rises with" | "falls with"
    std::string strength;    ///< strong (|ρ| ≥ 0.7) | moderate (≥ 0.4) | weak
    bool supported = false;  ///< |ρ| and n pass the guideline threshold (see Options)
};

struct DriverRanking {
    std::string outcome;             ///< "energy_per_sample_j" | "training_energy_j" | ...
    std::vector<Driver> drivers;     ///< sorted by |spearman| descending
    std::vector<std::string> notes;  ///< e.g. why the ranking is empty
};

/// A run, or a configuration (its repeats averaged), summarised.
struct ConfigurationStats {
    std::string key;    ///< model|device|batch|lr|epochs|threads|power_limit|config tag (for grouping)
    std::string label;  ///< "resnet18 batch 128" plus the settings that vary in this analysis
    std::string model;
    std::string device;
    std::optional<double> batch_size, learning_rate, epochs, threads, power_limit_w;
    std::vector<std::string> run_ids;
    std::size_t n = 0;                             ///< runs (repeats)
    std::optional<double> energy_per_sample_j;     ///< mean of the runs' headline energy per sample
    std::optional<double> energy_per_sample_sd_j;  ///< sample standard deviation over repeats (n ≥ 2)
    std::string basis = "none";                    ///< the runs' basis when they agree, else "mixed"
    std::optional<double> training_energy_j, inference_energy_j;                        ///< means
    std::optional<double> training_energy_per_sample_j, inference_energy_per_sample_j;  ///< means
    std::optional<double> accuracy;                                                     ///< mean
    std::optional<double> accuracy_sd;
    EnergyMethod method;  ///< combined over the runs
};

struct ParetoPoint {
    std::string label;  ///< run name or configuration label
    std::string model;
    std::optional<double> batch_size;
    std::vector<std::string> run_ids;
    std::size_t n = 0;
    double accuracy = 0;
    double energy_per_sample_j = 0;
    bool on_front = false;
    /// Mean accuracy at chance (RunRow::at_chance): never on the front, never recommended.
    bool at_chance = false;
    EnergyMethod method;
};

struct ParetoFront {
    std::string grouping = "configuration";  ///< "run" | "configuration" (repeats averaged)
    std::string basis = "none";              ///< which energy per sample: training | inference | total
    std::vector<ParetoPoint> points;         ///< every candidate; on_front marks the front; sorted by energy
    std::vector<std::string> notes;          ///< runs left out and why
};

struct BatchStat {
    double batch_size = 0;
    std::size_t n = 0;
    double mean_energy_per_sample_j = 0;
    bool at_chance = false;  ///< the mean accuracy is at chance (never recommended as the best batch size)
    std::optional<double> sd_j;
    std::optional<double> mean_accuracy;
    EnergyMethod method;
};

struct OptimalBatch {
    std::string model;
    std::string device;
    std::string basis = "training";  ///< energy per sample used: training (normally) or the headline's basis
    std::vector<BatchStat> batches;  ///< ascending batch size
    double best_batch = 0, worst_batch = 0;
    double best_energy_per_sample_j = 0, worst_energy_per_sample_j = 0;
    std::optional<double> worst_to_best;  ///< worst / best energy per sample (≥ 1); null with one batch size
    EnergyMethod method;
    std::vector<std::string> notes;  ///< e.g. "other settings pooled: learning_rate varies"
};

struct InferenceShare {
    std::string label;  ///< configuration label
    std::string model;
    std::size_t n = 0;
    double inferences = 0;                        ///< the deployment volume N
    double training_energy_j = 0;                 ///< mean E_tr
    double inference_energy_per_sample_j = 0;     ///< mean E_in / inference samples
    double lifetime_energy_j = 0;                 ///< E_tr + N × inference energy per sample
    double inference_share = 0;                   ///< N × e_in / lifetime, 0..1
    std::optional<double> break_even_inferences;  ///< E_tr / e_in; null when e_in is 0
    EnergyMethod method;
};

/// A guideline computed from the data.
struct Guideline {
    std::string topic;  ///< batch_size | driver | pareto | inference | power_limit
    std::string text;   ///< one sentence, e.g. "batch 512 uses 5.4x less energy per sample than batch 32 ..."
    std::string evidence;  ///< the numbers behind it
    std::size_t n = 0;     ///< runs behind it
    EnergyMethod method;
};

/// A topic on which no guideline was given, and why.
struct Withheld {
    std::string topic;
    std::string reason;  ///< e.g. "resnet18: batch 32 has 1 run; at least 2 per batch size are needed"
};

struct Options {
    double inferences = 1e6;  ///< deployment volume N for the inference share
    /// Pareto and inference share per configuration (repeats averaged) rather than per run.
    bool per_configuration = true;
    std::size_t min_runs_per_group = 2;   ///< runs per batch size (or configuration) behind a guideline
    std::size_t min_runs_for_driver = 5;  ///< runs behind a correlation guideline
    /// A correlation guideline needs |ρ| ≥ max(min_abs_rho, 1.96 / sqrt(n − 1)) (≈ 5% significance).
    double min_abs_rho = 0.5;
    double min_batch_ratio = 1.1;  ///< a batch-size guideline needs worst/best ≥ this
    /// Each distributed job is one row (load_units): its runs on every node merged (job_as_run).
    bool by_job = false;
};

struct Analysis {
    Options options;
    std::vector<RunRow> runs;
    std::vector<ConfigurationStats> configurations;  ///< sorted by model, then batch size, then key
    CorrelationMatrix correlations;
    std::vector<DriverRanking> drivers;  ///< energy_per_sample_j, then training_energy_j
    ParetoFront pareto;
    std::vector<OptimalBatch> optimal_batches;  ///< one per model (and device)
    std::vector<InferenceShare> inference_shares;
    std::vector<Guideline> guidelines;
    std::vector<Withheld> withheld;
    EnergyMethod method;  ///< over all runs
    /// Anything the user must know: runs skipped, empty store, a single run, ...
    std::vector<std::string> warnings;
    std::size_t jobs = 0;      ///< with options.by_job: rows that are merged jobs
    std::size_t job_runs = 0;  ///< and the runs merged into them
};

/// What an analysis or the report covers, loaded from the store: one row per matching run, or with `by_job`
/// one row per job (docs/distributed.md).
///   by_job: a job is taken whole: when any of its runs matches the filters, all runs of that job id in the
///   store (every node's) are merged into one row (merge_job, job_as_run; `nodes` says how many); runs
///   without a job id stay rows of their own. A job with a run that is not usable (not completed or
///   profiled, or not of the --status asked for) is left out with a warning: a part of a job is not the job.
///   Utilisation is the mean of the nodes' weighted by their duration.
struct AnalysisUnits {
    std::vector<RunRow> rows;
    std::vector<meter::RunResult> results;  ///< parallel to rows (a merged job's is job_as_run's)
    std::vector<std::string> warnings;
    std::size_t runs_matched = 0;  ///< runs matching the filter, any status
    std::size_t jobs = 0;          ///< rows that are merged jobs
    std::size_t job_runs = 0;      ///< runs merged into those rows
};
AnalysisUnits load_units(store::RunStore& store, const store::RunFilter& filter, bool by_job);

/// Analyses rows already derived. Never throws for bad or missing data: it gives partial results, warnings
/// and withheld guidelines instead.
Analysis analyze(std::vector<RunRow> rows, const Options& options = {});

/// Loads the runs matching `filter` from the store (with their traces), derives rows and analyses them.
/// Without a status in the filter, only completed and profiled runs are used (others are counted in a
/// warning). A run whose document cannot be read is skipped with a warning. Throws StoreError only for a
/// store that cannot be used at all.
Analysis analyze_store(store::RunStore& store, const store::RunFilter& filter, const Options& options = {});

/// The whole analysis as JSON. Field names are the struct member names above; missing values are null.
///   schema: "joulecast.analysis/1"
///   options {inferences, per_configuration, min_runs_per_group, min_runs_for_driver, min_abs_rho,
///            min_batch_ratio, by_job}
///   by_job {jobs, job_runs}                              only with options.by_job: rows that are merged
///                                                        jobs (merged_job true) and the runs behind them
///   method {label, measured_share}                       every `method` below has this shape
///   warnings [text]
///   runs [to_json(RunRow)]
///   configurations [{key, label, model, device, batch_size, learning_rate, epochs, threads, power_limit_w,
///            run_ids[], n, energy_per_sample_j, energy_per_sample_sd_j, basis, training_energy_j,
///            inference_energy_j, training_energy_per_sample_j, inference_energy_per_sample_j, accuracy,
///            accuracy_sd, method}]
///   correlations {variables[], units[], pearson[i][j], spearman[i][j], n[i][j], omitted[{variable, reason}]}
///   drivers [{outcome, drivers[{variable, spearman, pearson, n, direction, strength, supported}], notes[]}]
///   pareto {grouping, basis, points[{label, model, batch_size, run_ids[], n, accuracy, energy_per_sample_j,
///            on_front, method}], notes[]}
///   optimal_batches [{model, device, basis, batches[{batch_size, n, mean_energy_per_sample_j, sd_j,
///            mean_accuracy, method}], best_batch, best_energy_per_sample_j, worst_batch,
///            worst_energy_per_sample_j, worst_to_best, method, notes[]}]
///   inference_shares [{label, model, n, inferences, training_energy_j, inference_energy_per_sample_j,
///            lifetime_energy_j, inference_share, break_even_inferences, method}]
///   guidelines [{topic, text, evidence, n, method}]
///   withheld [{topic, reason}]
nlohmann::ordered_json to_json(const Analysis& analysis);
nlohmann::ordered_json to_json(const RunRow& row);
nlohmann::ordered_json to_json(const EnergyMethod& method);

/// Combines the methods of several figures: measured if all measured, modelled if all modelled, else mixed;
/// the share is the mean of the known shares.
EnergyMethod combine(const std::vector<EnergyMethod>& methods);

}  // namespace joulecast::analysis
