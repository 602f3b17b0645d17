// joulecast estimate MODEL|--params P --macs M --batch B [...]: energy, time and CO2e from the model alone.

#include "cli/estimate_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "analysis/common.hpp"
#include "carbon/carbon.hpp"
#include "cli/args.hpp"
#include "cli/estimate_internal.hpp"
#include "cli/run_filters.hpp"
#include "core/child_process.hpp"
#include "core/format.hpp"
#include "core/host.hpp"
#include "core/json_fields.hpp"
#include "core/output_file.hpp"
#include "core/text.hpp"
#include "forecast/calibration_sources.hpp"
#include "forecast/estimator.hpp"
#include "model/onnx_inspect.hpp"
#include "model/zoo.hpp"
#include "report/summary.hpp"
#include "sensors/registry.hpp"
#include "store/run_store.hpp"

namespace joulecast::cli {

using core::Args;
using core::capture_output;
using core::Error;
using core::format_duration;
using core::format_energy;
using core::format_significant;
using core::HostInfo;
using core::number_option;
using core::optional_json;
using core::read_host_info;
using core::Result;
using core::starts_with;
using core::to_lower;
using core::trim;
using core::UsageError;
using core::whole_number_option;

using sensors::make_sensor_set;
using sensors::SensorConfig;
using sensors::SensorSet;

using carbon::CarbonOptions;
using carbon::CarbonSetting;
using carbon::co2e_g;
using carbon::resolve_carbon;

using forecast::Calibration;
using forecast::CalibrationOrigin;
using forecast::calibrations_from_store;
using forecast::CalibrationSource;
using forecast::choose_calibration;
using forecast::ChosenCalibration;
using forecast::describe;
using forecast::EnergyEstimate;
using forecast::EnergyModel;
using forecast::EnergyTask;
using forecast::estimate_energy;
using forecast::EstimatorOptions;
using forecast::fit_energy_model;
using forecast::ModelCharacteristics;
using forecast::origin_name;
using forecast::PerSample;
using forecast::shipped_calibrations;
using forecast::StoreCalibrations;

using store::open_store_to_read;

const char* const estimate_usage =
    R"(usage: joulecast estimate MODEL.onnx|NAME|--params P --macs M [...] --batch B [options]
       joulecast estimate --validate [--device NAME|this] [--db PATH] [--json]
       joulecast estimate --save-calibration FILE [--device NAME|this] [--db PATH]

Estimates a job's energy from the model alone, without running it: training energy (E_tr), inference energy
(E_in), time and CO2e, each with an interval. A per-device regression of log(energy per sample) on the
model's MACs, parameters and the batch size is fitted to a calibration of that device: its stored runs when
they cover 3+ architectures (runs whose meta gives model, params, macs and batch_size, as the built-in
workloads and examples/pytorch/train.py send), else the calibration shipped with joulecast, else -- said
plainly -- the nearest calibrated device by TDP, scaled. Training energy per sample is fitted at steady state:
the first epoch's excess (warm-up) is a fitted cost per run, printed apart and added to E_tr. Every figure is
a MODEL estimate, not a measurement.

model (one of):
  MODEL.onnx            an ONNX file (parameters, MACs, activations and MAC layers per sample as `joulecast
                        inspect` counts them)
  NAME                  a built-in model (counted by joulecast-zoo, input 3x32x32, 10 classes)
  --params P --macs M [--activations A --mac-layers L]
                        trainable parameters and forward MACs per sample, and optionally the elements the
                        MAC layers write per sample and the number of MAC layers (without them, fits that
                        use them are not candidates)

options:
  --batch B             batch size (required)
  --samples-per-epoch S training samples per epoch: gives the training total
  --epochs E            epochs (default 1 with --samples-per-epoch)
  --inferences N        samples inferred over the model's life: gives the inference total
  --device NAME|this    the device, as NVML names a GPU or /proc/cpuinfo a CPU (a unique part of a calibrated
                        device's name also works, e.g. h100); default this: this machine's GPU when NVML
                        sees one, else its CPU
  --country ISO3 | --region P:R | --intensity G | --pue X   carbon intensity and PUE, as for `joulecast run`
  --confidence C        interval level, in (0, 1) (default 0.9)
  --db PATH             the run store (default: $JOULECAST_DB, else ~/.local/share/joulecast/runs.db)
  --json                JSON on stdout (schema joulecast.estimate/1, or joulecast.estimate-validation/1)
  --validate            leave-one-architecture-out validation of the device's calibration: each architecture
                        predicted by a model fitted without it; error per architecture and overall MAPE
  --save-calibration FILE  write the device's calibration from the store's runs (schema
                        joulecast.calibration/1, the form of data/calibration/*.json, which a build compiles
                        in) to FILE

Exit status: 0 done; 1 no calibration for the device, an unreadable model or store; 2 bad options.
)";

namespace {

using Json = nlohmann::ordered_json;
using analysis::format_count;

struct Options {
    std::string model;
    std::optional<double> params, macs, activations, mac_layers, batch, samples_per_epoch, epochs, inferences;
    std::string device = "this";
    CarbonOptions carbon;
    double confidence = 0.9;
    std::string db;
    bool json = false;
    bool validate = false;
    std::string save_calibration;
};

constexpr double k_most_params = 1e15;  ///< parameters of a model: 100 x the largest there are
constexpr double k_most_macs = 1e18;    ///< MACs (and activations) per sample

double positive_option(const std::string& name, const std::string& text) {
    const double v = number_option(name, text);
    if (!(v > 0) || !std::isfinite(v))
        throw UsageError(name + ": must be a positive number, not '" + text + "'");
    return v;
}

// A model count beyond any model that exists (the largest have ~1e13 parameters) is a typo: refused with the
// bound, rather than estimated into figures of 60 digits.
double model_count_option(const std::string& name, const std::string& text, double most) {
    const double v = positive_option(name, text);
    if (v > most)
        throw UsageError(name + ": " + text + " is beyond any model (at most " + format_significant(most, 3) +
                         "); give the count itself, e.g. 1.2e9 for 1.2 billion");
    return v;
}

double whole_option(const std::string& name, const std::string& text) {
    return static_cast<double>(whole_number_option(name, text));
}

Options parse(const std::vector<std::string>& arguments) {
    Args args(arguments);
    Options o;
    std::string text;
    while (!args.done()) {
        if (args.flag("--json")) {
            o.json = true;
        } else if (args.flag("--validate")) {
            o.validate = true;
        } else if (args.value("--save-calibration", text)) {
            o.save_calibration = text;
        } else if (args.value("--params", text)) {
            o.params = model_count_option("--params", text, k_most_params);
        } else if (args.value("--macs", text)) {
            o.macs = model_count_option("--macs", text, k_most_macs);
        } else if (args.value("--activations", text)) {
            o.activations = model_count_option("--activations", text, k_most_macs);
        } else if (args.value("--mac-layers", text)) {
            o.mac_layers = whole_option("--mac-layers", text);
        } else if (args.value("--batch", text)) {
            o.batch = whole_option("--batch", text);
        } else if (args.value("--samples-per-epoch", text)) {
            o.samples_per_epoch = whole_option("--samples-per-epoch", text);
        } else if (args.value("--epochs", text)) {
            o.epochs = whole_option("--epochs", text);
        } else if (args.value("--inferences", text)) {
            o.inferences = whole_option("--inferences", text);
        } else if (args.value("--device", text)) {
            if (trim(text).empty()) throw UsageError("--device: expected a device name or 'this'");
            o.device = text;
        } else if (carbon_option(args, o.carbon)) {
        } else if (args.value("--confidence", text)) {
            o.confidence = number_option("--confidence", text);
            if (!(o.confidence > 0 && o.confidence < 1))
                throw UsageError("--confidence: must lie strictly between 0 and 1, not '" + text + "'");
        } else if (args.value("--db", text)) {
            o.db = text;
        } else if (!args.peek().empty() && args.peek()[0] != '-' && o.model.empty()) {
            o.model = args.next();
        } else {
            throw UsageError((starts_with(args.peek(), "-") ? "unknown option '" : "unexpected argument '") +
                             args.peek() + "'");
        }
    }
    if (o.validate && !o.save_calibration.empty())
        throw UsageError("--validate and --save-calibration go separately");
    if (o.validate || !o.save_calibration.empty()) {
        if (!o.model.empty() || o.params || o.macs || o.activations || o.mac_layers || o.batch ||
            o.samples_per_epoch || o.epochs || o.inferences)
            throw UsageError(std::string(o.validate ? "--validate" : "--save-calibration") +
                             " takes no model or job options (only --device, --db, --json)");
        return o;
    }
    if (!o.model.empty() && (o.params || o.macs || o.activations || o.mac_layers))
        throw UsageError("give either a model (MODEL.onnx or NAME) or --params and --macs, not both");
    if (o.activations.has_value() != o.mac_layers.has_value())
        throw UsageError("--activations and --mac-layers go together");
    if (o.activations && !(o.params && o.macs))
        throw UsageError("--activations and --mac-layers go with --params and --macs");
    if (o.model.empty() && !(o.params && o.macs))
        throw UsageError(o.params || o.macs
                             ? "--params and --macs go together"
                             : "needs a model: MODEL.onnx, a built-in NAME, or --params P --macs M");
    if (!o.batch) throw UsageError("needs --batch B (the batch size the job trains and infers with)");
    if (o.epochs && !o.samples_per_epoch) throw UsageError("--epochs needs --samples-per-epoch");
    if (o.samples_per_epoch && !o.epochs) o.epochs = 1;
    return o;
}

// ---- Model characteristics -------------------------------------------------------------------------------

struct ModelInfo {
    std::string name;
    std::string source;  // given | onnx | builtin
    double params = 0;
    double macs = 0;
    double activations = 0;  // per sample; 0 when unknown
    double mac_layers = 0;   // 0 when unknown
    std::string detail;      // e.g. "input 3x32x32, 10 classes"
};

Result<ModelInfo> model_info(const Options& o) {
    ModelInfo m;
    if (o.params && o.macs) {
        m.name = "(given)";
        m.source = "given";
        m.params = *o.params;
        m.macs = *o.macs;
        m.activations = o.activations.value_or(0);
        m.mac_layers = o.mac_layers.value_or(0);
        return m;
    }
    m.name = o.model;
    if (model::names_file(o.model)) {
        auto stats = model::inspect_onnx(o.model, std::int64_t{1});
        if (!stats) return Error{stats.error()};
        m.source = "onnx";
        m.params = static_cast<double>(stats->params);
        m.macs = static_cast<double>(stats->macs);
        m.activations = static_cast<double>(stats->activations);
        m.mac_layers = static_cast<double>(stats->mac_layers);
        m.detail = "input " + stats->input_shape;
    } else {
        auto zoo = model::find_zoo();
        if (!zoo)
            return Error{"'" + o.model +
                         "' is not a file, and built-in models need joulecast-zoo (built where libtorch is "
                         "installed): give MODEL.onnx or --params P --macs M"};
        auto out = capture_output({*zoo, "inspect", o.model, "--json"});
        if (!out)
            return Error{"unknown model '" + o.model + "' (joulecast-zoo inspect: " + out.error() +
                         "); `joulecast models` lists the built-in ones"};
        Json j = Json::parse(*out, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("params") || !j.contains("macs") ||
            !j["params"].is_number() || !j["macs"].is_number())
            return Error{"joulecast-zoo inspect " + o.model + " --json gave no params and macs"};
        m.source = "builtin";
        m.params = j["params"].get<double>();
        m.macs = j["macs"].get<double>();
        for (auto [key, field] : {std::pair{"activations", &ModelInfo::activations},
                                  std::pair{"mac_layers", &ModelInfo::mac_layers}}) {
            if (j.contains(key) && j[key].is_number()) m.*field = j[key].get<double>();
        }
        if (j.contains("input") && j["input"].is_string())
            m.detail = "input " + j["input"].get<std::string>() +
                       (j.contains("classes") ? ", " + j["classes"].dump() + " classes" : "");
    }
    if (!(m.params > 0) || !(m.macs > 0))
        return Error{"model '" + o.model + "' has " + format_significant(m.params) + " parameters and " +
                     format_significant(m.macs) + " MACs per sample: the estimator needs both above zero"};
    return m;
}

// ---- Device and calibration ------------------------------------------------------------------------------

std::string this_device(std::string& how) {
    const SensorConfig config = SensorConfig::from_environment();
    SensorSet sensors = make_sensor_set(config);
    const auto gpus = sensors.gpus();
    if (!gpus.empty() && !gpus[0].name.empty()) {
        how =
            "this machine's GPU (NVML)" +
            (gpus.size() > 1 ? std::string(", the first of ") + std::to_string(gpus.size()) : std::string());
        return gpus[0].name;
    }
    const HostInfo host = read_host_info(config.proc_root);
    how = "this machine's CPU (no GPU seen by NVML)";
    return host.cpu_model.empty() ? "unknown CPU" : host.cpu_model;
}

StoreCalibrations load_store(const std::string& path, std::vector<std::string>& warnings) {
    const auto store = open_store_to_read(path);
    if (!store) return {};  // an absent store is an empty one
    StoreCalibrations s = calibrations_from_store(*store);
    for (const auto& skipped : s.skipped) warnings.push_back("stored run not used: " + skipped);
    return s;
}

// ---- Output
// ------------------------------------------------------------------------------------------------

std::string interval(const std::string& low, const std::string& high) {
    return "[" + low + ", " + high + "]";
}

}  // namespace

namespace estimate_detail {

Json source_json(const ChosenCalibration& c) {
    const auto& s = c.source;
    return {{"device", c.device},
            {"origin", origin_name(s.origin)},
            {"file", s.file},
            {"measured_on", s.measured_on},
            {"how", s.how},
            {"note", s.note},
            {"rows", s.calibration.rows.size()},
            {"architectures", s.architectures()},
            {"reason", c.reason},
            {"fallback", c.fallback ? Json(*c.fallback) : Json(nullptr)},
            {"reference_device", c.reference_device.empty() ? Json(nullptr) : Json(c.reference_device)},
            {"energy_scale", c.energy_scale}};
}

void print_source(std::ostream& out, const ChosenCalibration& c) {
    const auto& s = c.source;
    const std::string origin = s.origin == CalibrationOrigin::store     ? "stored runs in " + s.file
                               : s.origin == CalibrationOrigin::shipped ? "shipped " + s.file
                                                                        : "scaled from " + s.file;
    out << "calibration:  " << origin << ": " << s.calibration.rows.size() << " rows, "
        << s.architectures().size() << " architectures, measured " << s.measured_on << '\n';
    if (!s.how.empty()) out << "              how: " << s.how << '\n';
    if (!s.note.empty()) out << "              note: " << s.note << '\n';
    if (c.fallback) out << "FALLBACK:     " << *c.fallback << '\n';
}

}  // namespace estimate_detail

using namespace estimate_detail;

namespace {

struct TaskFigures {
    std::optional<EnergyModel> model;
    std::optional<EnergyEstimate> energy;
    std::string unavailable;  // why there is no estimate
    // Time per sample and total, seconds.
    std::optional<double> s_per_sample, s_low, s_high;
    std::optional<double> time_s, time_low_s, time_high_s;
};

// Time: a fitted seconds-per-sample model where the calibration has durations, else estimated energy divided
// by the calibration's mean power (labelled as rough), else nothing.
std::string estimate_time(const Calibration& calibration, const CalibrationSource& source, EnergyTask task,
                          const ModelCharacteristics& stats, std::optional<double> samples, double confidence,
                          TaskFigures& f) {
    EstimatorOptions options;
    options.per_sample = PerSample::time;
    options.memory_terms = stats.knows_memory();
    if (auto model = fit_energy_model(calibration, task, options)) {
        if (auto t = estimate_energy(*model, stats, samples, confidence)) {
            f.s_per_sample = t->energy_per_sample_j;
            f.s_low = t->low_j;
            f.s_high = t->high_j;
            f.time_s = t->total_energy_j;
            f.time_low_s = t->total_low_j;
            f.time_high_s = t->total_high_j;
            return "fitted to the calibration's measured seconds per sample (" + describe(*model) + ")";
        }
    }
    if (source.mean_power_w && f.energy) {
        const double p = *source.mean_power_w;
        f.s_per_sample = f.energy->energy_per_sample_j / p;
        f.s_low = f.energy->low_j / p;
        f.s_high = f.energy->high_j / p;
        if (f.energy->total_energy_j) {
            f.time_s = *f.energy->total_energy_j / p;
            f.time_low_s = *f.energy->total_low_j / p;
            f.time_high_s = *f.energy->total_high_j / p;
        }
        return "ROUGH: estimated energy / the calibration's mean power " + format_significant(p) +
               " W (the calibration has no measured time per sample)";
    }
    return "";
}

int run_estimate(const Options& o, const ModelInfo& m, const ChosenCalibration& chosen,
                 const CarbonSetting& carbon, const std::string& device_how,
                 std::vector<std::string> warnings) {
    const ModelCharacteristics stats{m.params, m.macs, *o.batch, m.activations, m.mac_layers};
    EstimatorOptions options;
    options.memory_terms = stats.knows_memory();  // a fit on activations cannot estimate a model without
    const std::optional<double> train_samples =
        o.samples_per_epoch ? std::optional<double>(*o.samples_per_epoch * *o.epochs) : std::nullopt;
    const Calibration& calibration = chosen.source.calibration;

    TaskFigures tasks[2];
    std::string time_method[2];
    for (int i = 0; i < 2; ++i) {
        const EnergyTask task = i == 0 ? EnergyTask::training : EnergyTask::inference;
        const std::optional<double> samples = i == 0 ? train_samples : o.inferences;
        auto model = fit_energy_model(calibration, task, options);
        if (!model) {
            tasks[i].unavailable = model.error();
            continue;
        }
        auto e = estimate_energy(*model, stats, samples, o.confidence);
        if (!e) {
            tasks[i].unavailable = e.error();
            continue;
        }
        tasks[i].model = *model;
        tasks[i].energy = *e;
        time_method[i] =
            estimate_time(calibration, chosen.source, task, stats, samples, o.confidence, tasks[i]);
        if (chosen.source.origin == CalibrationOrigin::scaled && !time_method[i].empty())
            time_method[i] += "; time of '" + chosen.reference_device + "', not scaled";
    }
    if (!tasks[0].energy && !tasks[1].energy) {
        std::cerr << "joulecast estimate: error: the calibration of '" << chosen.device
                  << "' gives no estimate: " << tasks[0].unavailable << '\n';
        return 1;
    }

    // CO2e of the totals asked for (training and inference together); the interval adds the bounds.
    double total = 0, total_low = 0, total_high = 0;
    bool any_total = false;
    for (const auto& t : tasks) {
        if (!t.energy || !t.energy->total_energy_j) continue;
        any_total = true;
        total += *t.energy->total_energy_j;
        total_low += *t.energy->total_low_j;
        total_high += *t.energy->total_high_j;
    }

    if (o.json) {
        Json out;
        out["schema"] = "joulecast.estimate/1";
        out["estimate"] = "model";
        out["note"] = "every figure is a MODEL estimate from the calibration, not a measurement";
        out["model"] = {{"name", m.name},
                        {"source", m.source},
                        {"detail", m.detail},
                        {"params", m.params},
                        {"macs", m.macs},
                        {"macs_per_param", m.macs / m.params},
                        {"activations", m.activations > 0 ? Json(m.activations) : Json(nullptr)},
                        {"mac_layers", m.mac_layers > 0 ? Json(m.mac_layers) : Json(nullptr)}};
        out["job"] = {{"batch_size", *o.batch},
                      {"samples_per_epoch", optional_json(o.samples_per_epoch)},
                      {"epochs", optional_json(o.epochs)},
                      {"train_samples", optional_json(train_samples)},
                      {"inferences", optional_json(o.inferences)}};
        out["device"] = chosen.device;
        out["device_from"] = device_how;
        out["confidence"] = o.confidence;
        out["calibration"] = source_json(chosen);
        for (int i = 0; i < 2; ++i) {
            const auto& t = tasks[i];
            const char* key = i == 0 ? "training" : "inference";
            if (!t.energy) {
                out[key] = {{"unavailable", t.unavailable}};
                continue;
            }
            const auto& e = *t.energy;
            out[key] = {{"energy_per_sample_j", e.energy_per_sample_j},
                        {"low_j", e.low_j},
                        {"high_j", e.high_j},
                        {"energy_j", optional_json(e.total_energy_j)},
                        {"warmup_j", e.warmup_j},
                        {"warmup_rows", t.model->warmup_rows},
                        {"energy_low_j", optional_json(e.total_low_j)},
                        {"energy_high_j", optional_json(e.total_high_j)},
                        {"seconds_per_sample", optional_json(t.s_per_sample)},
                        {"seconds_per_sample_low", optional_json(t.s_low)},
                        {"seconds_per_sample_high", optional_json(t.s_high)},
                        {"time_s", optional_json(t.time_s)},
                        {"time_low_s", optional_json(t.time_low_s)},
                        {"time_high_s", optional_json(t.time_high_s)},
                        {"time_method", time_method[i].empty() ? Json(nullptr) : Json(time_method[i])},
                        {"fit", describe(*t.model)},
                        {"cv_scheme", t.model->cv_scheme},
                        {"cv_rmse_log", t.model->cv_rmse_log},
                        {"interval_method", e.interval_method},
                        {"notes", e.notes}};
        }
        out["carbon"] = {{"intensity_g_per_kwh", carbon.intensity_g_per_kwh},
                         {"intensity_source", carbon.source},
                         {"pue", carbon.pue},
                         {"energy_j", any_total ? Json(total) : Json(nullptr)},
                         {"co2e_g", any_total ? Json(co2e_g(total, carbon)) : Json(nullptr)},
                         {"co2e_low_g", any_total ? Json(co2e_g(total_low, carbon)) : Json(nullptr)},
                         {"co2e_high_g", any_total ? Json(co2e_g(total_high, carbon)) : Json(nullptr)}};
        out["warnings"] = warnings;
        std::cout << out.dump(2) << '\n';
        if (chosen.fallback) std::cerr << "joulecast estimate: " << *chosen.fallback << '\n';
        return 0;
    }

    std::ostream& out = std::cout;
    const std::string level = format_significant(o.confidence * 100) + "%";
    out << "MODEL ESTIMATE (not a measurement) for " << m.name << " on " << chosen.device << '\n';
    out << "model:        "
        << (m.source == "given"  ? "given"
            : m.source == "onnx" ? "ONNX file"
                                 : "built-in")
        << (m.detail.empty() ? "" : " (" + m.detail + ")") << ": " << format_count(m.params) << " params, "
        << format_count(m.macs) << " MACs per sample, " << format_significant(m.macs / m.params)
        << " MACs per param";
    if (stats.knows_memory())
        out << ", " << format_count(m.activations) << " activations per sample, "
            << format_significant(m.mac_layers) << " MAC layers";
    out << '\n';
    out << "job:          batch " << format_significant(*o.batch);
    if (train_samples)
        out << "; training " << format_count(*o.samples_per_epoch) << " samples x "
            << format_significant(*o.epochs) << " epochs = " << format_count(*train_samples) << " samples";
    if (o.inferences) out << "; " << format_count(*o.inferences) << " inferences";
    out << '\n';
    out << "device:       " << chosen.device << " (" << device_how << ")\n";
    print_source(out, chosen);
    for (int i = 0; i < 2; ++i) {
        const auto& t = tasks[i];
        const char* label = i == 0 ? "training:     " : "inference:    ";
        if (!t.energy) {
            out << label << "no estimate: " << t.unavailable << '\n';
            continue;
        }
        const auto& e = *t.energy;
        out << label << format_energy(e.energy_per_sample_j) << "/sample "
            << interval(format_energy(e.low_j), format_energy(e.high_j));
        if (e.total_energy_j)
            out << (i == 0 ? "; E_tr " : "; E_in ") << format_energy(*e.total_energy_j) << ' '
                << interval(format_energy(*e.total_low_j), format_energy(*e.total_high_j));
        out << '\n'
            << "              fit: " << describe(*t.model) << "; " << t.model->cv_scheme << ", CV RMSE "
            << format_significant(t.model->cv_rmse_log) << " (log)\n";
        if (t.model->warmup_rows > 0)
            out << "              warm-up: " << format_energy(t.model->warmup_j)
                << " per run (model: median first-epoch excess of " << t.model->warmup_rows
                << " calibration runs; not in the per-sample figure" << (e.total_energy_j ? ", in E_tr" : "")
                << ")\n";
        if (t.s_per_sample) {
            out << "              time: " << format_duration(*t.s_per_sample) << "/sample "
                << interval(format_duration(*t.s_low), format_duration(*t.s_high));
            if (t.time_s)
                out << "; total " << format_duration(*t.time_s) << ' '
                    << interval(format_duration(*t.time_low_s), format_duration(*t.time_high_s));
            out << " (" << time_method[i] << ")\n";
        } else {
            out << "              time: not estimated (the calibration has neither durations nor a mean "
                   "power)\n";
        }
        for (const auto& note : e.notes) out << "              note: " << note << '\n';
    }
    if (any_total) {
        const auto g = [](double v) { return format_significant(v) + " g"; };
        out << "CO2e:         " << g(co2e_g(total, carbon)) << ' '
            << interval(g(co2e_g(total_low, carbon)), g(co2e_g(total_high, carbon))) << " for "
            << format_energy(total) << " at " << format_significant(carbon.intensity_g_per_kwh)
            << " gCO2e/kWh (" << carbon.source << "), PUE " << format_significant(carbon.pue) << '\n';
    } else {
        out << "CO2e:         give --samples-per-epoch and/or --inferences for totals and CO2e\n";
    }
    out << "intervals:    " << level << ", from the calibration's cross-validated residuals\n";
    for (const auto& w : warnings) out << "warning: " << w << '\n';
    return 0;
}

}  // namespace

int estimate_command(const std::vector<std::string>& arguments) {
    const Options o = parse(arguments);
    // Carbon options are checked before anything slow, as `run` does.
    const CarbonSetting carbon = resolve_carbon(o.carbon, std::getenv("JOULECAST_COUNTRY"));

    std::optional<ModelInfo> model;
    const bool whole_calibration = o.validate || !o.save_calibration.empty();
    if (!whole_calibration) {
        auto m = model_info(o);
        if (!m) {
            std::cerr << "joulecast estimate: error: " << m.error() << '\n';
            return 1;
        }
        model = *m;
    }

    std::string device_how = "--device";
    const std::string device = to_lower(trim(o.device)) == "this" ? this_device(device_how) : o.device;

    std::vector<std::string> warnings;
    auto shipped = shipped_calibrations();
    if (!shipped) {
        warnings.push_back(shipped.error());
        shipped = std::vector<CalibrationSource>{};
    }
    const std::string path = store_path(o.db);
    const StoreCalibrations stored = load_store(path, warnings);
    if (!o.save_calibration.empty()) return save_calibration(o.save_calibration, device, stored, warnings);
    auto chosen = choose_calibration(device, stored, *shipped);
    if (!chosen) {
        std::cerr << "joulecast estimate: error: " << chosen.error() << '\n';
        return 1;
    }
    if (chosen->fallback && !o.json) std::cerr << "joulecast estimate: " << *chosen->fallback << '\n';
    if (o.validate) return run_validate(o.json, *chosen, device_how, warnings);
    return run_estimate(o, *model, *chosen, carbon, device_how, warnings);
}

}  // namespace joulecast::cli
