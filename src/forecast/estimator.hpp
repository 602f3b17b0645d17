#pragma once
// Estimates a job's energy from model characteristics alone (trainable parameters, forward MACs per sample,
// and where known the activations and MAC layers) and the batch size, without running it: a per-device
// regression of log(energy per sample), fitted from a calibration set measured on that device, separately for
// training and inference.
//
// Method: two model families compete, and cross-validation picks one.
//  - log-linear: y = log(J per sample) regressed on standardised log features (log MACs, log params, log MACs
//    per parameter, log batch size, log batch size squared, and MACs × batch interactions), by ridge least
//    squares with an unpenalised intercept;
//  - additive: J per sample = e_mac × MACs + (e_step + e_param × params) / batch [+ e_sample], i.e. compute
//    that scales with the work plus a per-batch overhead (kernel launches, the optimizer's step over the
//    parameters) and optionally a fixed cost per sample, fitted by non-negative least squares on the relative
//    error (rows weighted by 1 / measured). Non-negative physical terms extrapolate sanely to tiny and huge
//    models, where a log-linear trend can run away.
//  - additive with memory terms: J per sample = e_mac × MACs + e_act × activations + e_layer × MAC layers /
//    batch, where activations are the elements the MAC layers write per sample (memory traffic: depthwise
//    convolutions move many activations per MAC) and MAC layers the kernels each batch launches (a per-layer
//    overhead, which dominates small models). Fitted like the additive family, without e_sample (the
//    activations already are a per-sample cost), and a candidate only when every row and the query know both
//    characteristics (EstimatorOptions::memory_terms).
// The candidate (feature set and ridge strength, or additive with or without e_sample) is chosen by
// cross-validation: leave-one-group-out (group = architecture) when there are 3+ architectures, since the
// question is how well it predicts a model it has not seen, else leave-one-out. Every candidate's CV error is
// the mean square of ln(measured) − ln(predicted), so the families compare in the same units. With
// leave-one-group-out a log-linear candidate may have at most (architectures − spare_architectures) features
// (few architectures cannot support many slopes). Among candidates within `tie_tolerance` of the best CV
// error plus, by the one-standard-error rule, that error's standard error over the folds, the fewest fitted
// coefficients (intercept included) win, then the additive family, then the strongest ridge. Predictions
// carry an interval from the chosen candidate's out-of-fold residuals in log space: their empirical quantiles
// with 20+ residuals, else a Student t interval from their mean and spread.
//
// The same machinery fits log(seconds per sample) for time estimates: EstimatorOptions::per_sample = time
// takes the rows' *_seconds_per_sample instead of their energy; the fitted model and its estimates then hold
// seconds where the names say joules (EnergyModel::per_sample says which).
//
// Pure functions: nothing here reads the run store or files.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace joulecast::forecast {

enum class EnergyTask { training, inference };
std::string_view task_name(EnergyTask task);  ///< "training" | "inference"

/// What a model predicts per sample: joules (energy) or seconds (time).
enum class PerSample { energy, time };
std::string_view per_sample_name(PerSample what);  ///< "energy" | "time"

/// The two model families (see the method above).
enum class ModelFamily { log_linear, additive };
std::string_view family_name(ModelFamily family);  ///< "log_linear" | "additive"
std::optional<ModelFamily> family_from_name(std::string_view name);

/// The additive family's coefficients, all >= 0, in J (seconds for a time model): per sample =
/// e_mac × MACs + e_act × activations + (e_step + e_param × params + e_layer × MAC layers) / batch +
/// e_sample. Without memory terms e_act and e_layer are 0; with them e_step and e_param are 0.
struct AdditiveCoefficients {
    double e_mac = 0;           ///< per forward MAC of a sample (J/MAC)
    double e_step = 0;          ///< per batch (optimizer step, launches), shared by the batch's samples (J)
    double e_param = 0;         ///< per parameter per batch (J/param)
    double e_sample = 0;        ///< fixed per sample (J); 0 when sample_term is false
    double e_act = 0;           ///< per activation element a MAC layer writes for a sample (J/element)
    double e_layer = 0;         ///< per MAC layer per batch (J/layer): launches and per-layer passes
    bool sample_term = false;   ///< whether e_sample was fitted
    bool memory_terms = false;  ///< whether e_act and e_layer (instead of e_step and e_param) were fitted
};

/// Candidate regressors, all in natural-log units.
enum class Feature {
    log_macs,                        ///< ln(forward MACs per sample)
    log_params,                      ///< ln(trainable parameters)
    log_macs_per_param,              ///< ln(MACs / parameters): arithmetic intensity of the model
    log_batch,                       ///< ln(batch size)
    log_batch_squared,               ///< ln(batch size)²: the saturation of the batching gain
    log_macs_x_log_batch,            ///< ln(MACs) × ln(batch): big models gain less from batching
    log_macs_per_param_x_log_batch,  ///< ln(MACs / params) × ln(batch)
};
std::string_view feature_name(Feature feature);  ///< the enumerator's name, e.g. "log_macs"
std::optional<Feature> feature_from_name(std::string_view name);

/// What the estimator needs to know about a model and how it is run.
struct ModelCharacteristics {
    double params = 0;      ///< trainable parameters (> 0)
    double macs = 0;        ///< forward multiply-accumulates per sample (> 0)
    double batch_size = 0;  ///< samples per batch (> 0)
    /// Elements the MAC layers (conv, linear, attention; MatMul/Gemm/Conv nodes) write per sample in the
    /// forward pass; 0 when unknown.
    double activations = 0;
    double mac_layers = 0;  ///< MAC layer calls per forward pass; 0 when unknown
    bool knows_memory() const { return activations > 0 && mac_layers > 0; }
};

/// One measured configuration on the calibration device.
struct CalibrationRow {
    std::string model;       ///< architecture name, e.g. "resnet18": the group in leave-one-group-out
    double params = 0;       ///< trainable parameters
    double macs = 0;         ///< forward MACs per sample
    double batch_size = 0;   ///< samples per batch
    double activations = 0;  ///< as ModelCharacteristics::activations; 0 when not recorded
    double mac_layers = 0;   ///< as ModelCharacteristics::mac_layers; 0 when not recorded
    std::optional<double> train_energy_per_sample_j;  ///< measured training J per sample
    std::optional<double> infer_energy_per_sample_j;  ///< measured inference J per sample
    std::optional<double> train_samples;   ///< samples in the measured training job (for total-energy checks)
    std::optional<double> train_energy_j;  ///< that job's measured total, joules
    std::optional<double> infer_samples;   ///< likewise for inference
    std::optional<double> infer_energy_j;
    std::optional<double> train_seconds_per_sample;  ///< measured training time per sample, seconds
    std::optional<double> infer_seconds_per_sample;  ///< measured inference time per sample, seconds
    /// Each training epoch's energy, joules, where recorded (may cover more domains than train_energy_j: only
    /// its shape is used). With 2+ epochs the first epoch's excess over the later epochs' mean is warm-up:
    /// fitted as joules per run, not as energy per sample (see fit_energy_model).
    std::vector<double> epoch_energy_j;
    /// The run's measured warm-up cost, joules, where it marked a separate "warmup" phase before its train
    /// phases (examples/pytorch/train.py --windows): that phase's energy minus the steady energy per sample
    /// times its samples, at least 0. When known, it is the row's warm-up per run and epoch_energy_j is not
    /// searched for one (the train phases then hold no warm-up).
    std::optional<double> warmup_j;
    std::string measured_at;  ///< ISO 8601 time of the measurement
    std::string how;          ///< how it was measured, e.g. "joulecast study, nvml counter, 3 epochs"
};

/// A calibration data set for one device; shipped as JSON ("schema": "joulecast.calibration/1").
struct Calibration {
    std::string device;  ///< e.g. "NVIDIA H100 80GB HBM3"
    std::vector<CalibrationRow> rows;
};

/// The default candidate feature sets (from 2 to 5 features), simplest first.
std::vector<std::vector<Feature>> default_feature_sets();

struct EstimatorOptions {
    std::vector<std::vector<Feature>> feature_sets = default_feature_sets();
    std::vector<double> ridge = {0.0, 0.01, 0.1, 1.0};  ///< on standardised features, per row (>= 0)
    double tie_tolerance = 0.02;  ///< relative CV-error margin within which the simpler candidate wins
    bool additive = true;         ///< also try the additive family (with and without e_sample)
    /// Also try the additive family with memory terms, when every row knows activations and MAC layers. Turn
    /// it off when the model to estimate does not know them (e.g. --params/--macs only).
    bool memory_terms = true;
    /// One-standard-error rule: a simpler candidate also ties when its CV error is within the standard error
    /// (over the folds) of the best candidate's; with few architectures that error is itself uncertain.
    bool one_standard_error = true;
    /// With leave-one-group-out over G architectures, log-linear candidates have at most G − this features
    /// (when no feature set is that small, only the smallest sets are tried); 0: no cap.
    std::size_t spare_architectures = 2;
    PerSample per_sample = PerSample::energy;  ///< fit J per sample (default) or seconds per sample
};

struct FeatureRange {
    double min = 0;
    double max = 0;
};

/// A fitted per-device, per-task model of J per sample.
struct EnergyModel {
    std::string device;
    EnergyTask task = EnergyTask::training;
    PerSample per_sample = PerSample::energy;  ///< time: every "_j" figure below and in estimates is seconds
    ModelFamily family = ModelFamily::log_linear;
    AdditiveCoefficients additive;  ///< the additive family's terms (zeros for log-linear)
    /// Log-linear only (empty, 0 for additive): the features, the ridge strength, and
    /// log(J per sample) = intercept + Σ coefficients[i] × (feature_i − feature_mean[i]) / feature_scale[i].
    /// A feature that did not vary in the calibration has coefficient 0 (and scale 1).
    std::vector<Feature> features;
    double ridge = 0;
    std::vector<double> feature_mean;
    std::vector<double> feature_scale;
    std::vector<double> coefficients;
    double intercept = 0;
    std::vector<double> cv_residuals;  ///< out-of-fold ln(measured) − ln(predicted), sorted
    double cv_rmse_log = 0;            ///< their root mean square
    std::string cv_scheme;             ///< e.g. "leave-one-group-out over 6 models" or "leave-one-out"
    std::size_t rows = 0;              ///< calibration rows fitted
    std::vector<std::string> groups;   ///< distinct models (twins joined by '+'), in first-seen order
    /// Training energy only: warm-up per run, joules (the median over the calibration rows with per-epoch
    /// energies of the first epoch's excess over the later epochs' mean, scaled to the measured total), and
    /// the number of rows it came from (0: none known, warmup_j is 0).
    double warmup_j = 0;
    std::size_t warmup_rows = 0;
    FeatureRange params_range, macs_range, batch_range;  ///< of the calibration rows, raw units
    /// Of the calibration rows, with memory terms only (zeros otherwise).
    FeatureRange activations_range, mac_layers_range;
};

/// The model's coefficients in raw log units: {"intercept", c0}, {feature name, ci}, ..., i.e.
/// ln(J per sample) = c0 + Σ ci × feature_i. With features {log_macs, log_batch} and data following
/// J = a × MACs^b × batch^c these are ln a, b, c. For the additive family: {"e_mac", ..}, {"e_step", ..},
/// {"e_param", ..}, {"e_sample", ..}, and with memory terms {"e_act", ..}, {"e_layer", ..} in J (or seconds).
std::vector<std::pair<std::string, double>> raw_coefficients(const EnergyModel& model);

/// "log_macs+log_batch, ridge 0", "additive: e_mac*MACs + (e_step + e_param*params)/batch + e_sample", or
/// "additive: e_mac*MACs + e_act*activations + e_layer*MAC layers/batch".
std::string describe(const EnergyModel& model);

/// Fits the model for `task` from the calibration rows that have that task's energy per sample (seconds per
/// sample with options.per_sample = time). Errors for:
/// an empty calibration, a row with a non-positive or non-finite params / MACs / batch size / energy, fewer
/// than 3 rows for the task, bad options, or no candidate that could be fitted.
core::Result<EnergyModel> fit_energy_model(const Calibration& calibration, EnergyTask task,
                                           const EstimatorOptions& options = {});

struct EnergyEstimate {
    double energy_per_sample_j = 0;  ///< exp of the predicted log: a median, not a mean
    double low_j = 0;                ///< per-sample bounds at `confidence`
    double high_j = 0;
    double confidence = 0.9;
    std::optional<double> total_energy_j;  ///< × samples plus the model's warm-up, when samples were given
    double warmup_j = 0;                   ///< the model's warm-up per run, included in the totals
    std::optional<double> total_low_j;
    std::optional<double> total_high_j;
    std::string interval_method;     ///< "cv-quantiles" (20+ residuals) or "cv-t"
    std::vector<std::string> notes;  ///< e.g. extrapolation beyond the calibration range
};

/// Predicts J per sample (and the total for `samples` samples) with an interval at `confidence`. Errors for a
/// non-positive or non-finite characteristic or sample count, a confidence outside (0, 1), or a model with
/// memory terms asked about a model whose activations or MAC layers are unknown.
core::Result<EnergyEstimate> estimate_energy(const EnergyModel& model,
                                             const ModelCharacteristics& model_stats,
                                             std::optional<double> samples = std::nullopt,
                                             double confidence = 0.9);

/// One held-out calibration row in leave-one-group-out validation.
struct HeldOutPrediction {
    std::string model;
    double batch_size = 0;
    double measured_j = 0;                    ///< measured J per sample
    double predicted_j = 0;                   ///< predicted by a model fitted without this row's architecture
    double ape_pct = 0;                       ///< |predicted − measured| / measured × 100
    bool inside_interval = false;             ///< measured within the estimate's interval (90%)
    std::optional<double> measured_total_j;   ///< the row's measured job total, where given
    std::optional<double> predicted_total_j;  ///< predicted J per sample × the row's samples
};

struct GroupValidation {
    std::string model;
    std::size_t rows = 0;
    double mape_energy_per_sample_pct = 0;
    std::optional<double> mape_total_energy_pct;
    std::string chosen;  ///< describe() of the model fitted without this group
};

struct LogoValidation {
    std::string device;
    EnergyTask task = EnergyTask::training;
    PerSample per_sample = PerSample::energy;  ///< time: the "energy" figures below are seconds
    std::vector<GroupValidation> groups;
    std::vector<HeldOutPrediction> predictions;
    double mape_energy_per_sample_pct = 0;  ///< mean APE over all held-out rows
    double median_ape_pct = 0;
    /// Mean APE of total energy over the held-out rows that have samples and a measured total.
    std::optional<double> mape_total_energy_pct;
    double coverage = 0;               ///< fraction of held-out rows inside their 90% interval
    std::vector<std::string> skipped;  ///< "model: reason" for groups whose fit failed
};

/// Leave-one-group-out validation, groups = the rows' `model` names: each architecture is predicted by a
/// model fitted (with its own selection) on the others. Errors for fewer than 2 architectures with the task's
/// energy, invalid rows, or every fold failing. With options.per_sample = time it validates seconds per
/// sample (no totals).
core::Result<LogoValidation> validate_leave_one_group_out(const Calibration& calibration, EnergyTask task,
                                                          const EstimatorOptions& options = {});

/// JSON forms. calibration_from_json / energy_model_from_json accept what the *_to_json functions write and
/// return an Error naming the first bad field.
nlohmann::ordered_json calibration_to_json(const Calibration& calibration);
core::Result<Calibration> calibration_from_json(const nlohmann::ordered_json& json);
nlohmann::ordered_json energy_model_to_json(const EnergyModel& model);
core::Result<EnergyModel> energy_model_from_json(const nlohmann::ordered_json& json);
nlohmann::ordered_json validation_to_json(const LogoValidation& validation);

}  // namespace joulecast::forecast
