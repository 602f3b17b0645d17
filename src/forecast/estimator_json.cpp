#include "forecast/estimator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "core/json_fields.hpp"
#include "core/text.hpp"
#include "forecast/estimator_internal.hpp"

// The estimator's names (tasks, features, families) and its JSON: calibrations, fitted models and
// validation reports.

namespace joulecast::forecast {

using core::Error;
using core::optional_json;
using core::Result;

namespace {

constexpr std::string_view calibration_schema = "joulecast.calibration/1";
constexpr std::string_view model_schema = "joulecast.energy_model/1";

constexpr Feature all_features[] = {Feature::log_macs,
                                    Feature::log_params,
                                    Feature::log_macs_per_param,
                                    Feature::log_batch,
                                    Feature::log_batch_squared,
                                    Feature::log_macs_x_log_batch,
                                    Feature::log_macs_per_param_x_log_batch};

}  // namespace

using estimator_detail::positive_finite;

std::string_view task_name(EnergyTask task) {
    return task == EnergyTask::training ? "training" : "inference";
}

std::string_view per_sample_name(PerSample what) {
    return what == PerSample::time ? "time" : "energy";
}

std::string_view feature_name(Feature feature) {
    switch (feature) {
        case Feature::log_macs:
            return "log_macs";
        case Feature::log_params:
            return "log_params";
        case Feature::log_macs_per_param:
            return "log_macs_per_param";
        case Feature::log_batch:
            return "log_batch";
        case Feature::log_batch_squared:
            return "log_batch_squared";
        case Feature::log_macs_x_log_batch:
            return "log_macs_x_log_batch";
        case Feature::log_macs_per_param_x_log_batch:
            return "log_macs_per_param_x_log_batch";
    }
    return "?";
}

std::optional<Feature> feature_from_name(std::string_view name) {
    for (Feature f : all_features) {
        if (feature_name(f) == name) return f;
    }
    return std::nullopt;
}

std::vector<std::vector<Feature>> default_feature_sets() {
    using F = Feature;
    return {
        {F::log_macs, F::log_batch},
        {F::log_macs, F::log_macs_per_param, F::log_batch},
        {F::log_macs, F::log_batch, F::log_batch_squared},
        {F::log_macs, F::log_batch, F::log_macs_x_log_batch},
        {F::log_macs, F::log_macs_per_param, F::log_batch, F::log_batch_squared},
        {F::log_macs, F::log_macs_per_param, F::log_batch, F::log_macs_x_log_batch},
        {F::log_macs, F::log_macs_per_param, F::log_batch, F::log_batch_squared, F::log_macs_x_log_batch},
    };
}

std::string_view family_name(ModelFamily family) {
    return family == ModelFamily::additive ? "additive" : "log_linear";
}

std::optional<ModelFamily> family_from_name(std::string_view name) {
    if (name == "additive") return ModelFamily::additive;
    if (name == "log_linear") return ModelFamily::log_linear;
    return std::nullopt;
}

// ---- JSON ----

namespace {

// Reads fields of one JSON object and remembers the first problem.
class FieldReader {
public:
    FieldReader(const nlohmann::ordered_json& object, std::string where)
        : m_object(object), m_where(std::move(where)) {
        if (!object.is_object()) fail("is not a JSON object");
    }
    double number(const char* key) {
        auto value = optional_number(key);
        if (!value && !m_error) fail(std::string("lacks the number '") + key + "'");
        return value.value_or(0);
    }
    std::optional<double> optional_number(const char* key) {
        if (m_error || !m_object.contains(key) || m_object[key].is_null()) return std::nullopt;
        if (!m_object[key].is_number()) {
            fail(std::string("'") + key + "' is not a number");
            return std::nullopt;
        }
        return m_object[key].get<double>();
    }
    std::string text(const char* key, bool required) {
        if (m_error) return {};
        if (!m_object.contains(key) || m_object[key].is_null()) {
            if (required) fail(std::string("lacks the string '") + key + "'");
            return {};
        }
        if (!m_object[key].is_string()) {
            fail(std::string("'") + key + "' is not a string");
            return {};
        }
        return m_object[key].get<std::string>();
    }
    std::vector<double> numbers(const char* key) {
        std::vector<double> out;
        if (m_error) return out;
        if (!m_object.contains(key) || !m_object[key].is_array()) {
            fail(std::string("lacks the array '") + key + "'");
            return out;
        }
        for (const auto& v : m_object[key]) {
            if (!v.is_number()) {
                fail(std::string("'") + key + "' holds a value that is not a number");
                return {};
            }
            out.push_back(v.get<double>());
        }
        return out;
    }
    void fail(const std::string& what) {
        if (!m_error) m_error = Error{m_where + " " + what};
    }
    const std::optional<Error>& error() const { return m_error; }

private:
    const nlohmann::ordered_json& m_object;
    std::string m_where;
    std::optional<Error> m_error;
};

std::optional<Error> check_schema(const nlohmann::ordered_json& json, std::string_view expected) {
    if (!json.is_object())
        return Error{"expected a JSON object with \"schema\": \"" + std::string(expected) + "\""};
    if (json.contains("schema") &&
        (!json["schema"].is_string() || json["schema"].get<std::string>() != expected)) {
        return Error{"unsupported schema " + json["schema"].dump() + ": expected \"" + std::string(expected) +
                     "\""};
    }
    return std::nullopt;
}

nlohmann::ordered_json positive_or_null(double value) {
    return value > 0 ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json range_json(const FeatureRange& r) {
    return {{"min", r.min}, {"max", r.max}};
}

FeatureRange range_from(FieldReader& parent, const nlohmann::ordered_json& json, const char* key) {
    if (!json.contains(key)) {
        parent.fail(std::string("lacks '") + key + "'");
        return {};
    }
    FieldReader reader(json[key], std::string("'") + key + "'");
    FeatureRange r{reader.number("min"), reader.number("max")};
    if (reader.error()) parent.fail(reader.error()->message);
    return r;
}

}  // namespace

nlohmann::ordered_json calibration_to_json(const Calibration& calibration) {
    nlohmann::ordered_json j;
    j["schema"] = calibration_schema;
    j["device"] = calibration.device;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const auto& r : calibration.rows) {
        rows.push_back({{"model", r.model},
                        {"params", r.params},
                        {"macs", r.macs},
                        {"batch_size", r.batch_size},
                        {"activations", positive_or_null(r.activations)},
                        {"mac_layers", positive_or_null(r.mac_layers)},
                        {"train_energy_per_sample_j", optional_json(r.train_energy_per_sample_j)},
                        {"infer_energy_per_sample_j", optional_json(r.infer_energy_per_sample_j)},
                        {"train_samples", optional_json(r.train_samples)},
                        {"train_energy_j", optional_json(r.train_energy_j)},
                        {"infer_samples", optional_json(r.infer_samples)},
                        {"infer_energy_j", optional_json(r.infer_energy_j)},
                        {"train_seconds_per_sample", optional_json(r.train_seconds_per_sample)},
                        {"infer_seconds_per_sample", optional_json(r.infer_seconds_per_sample)},
                        {"epoch_energy_j", r.epoch_energy_j},
                        {"warmup_j", optional_json(r.warmup_j)},
                        {"measured_at", r.measured_at},
                        {"how", r.how}});
        if (r.epoch_energy_j.empty()) rows.back().erase("epoch_energy_j");
        if (!r.warmup_j) rows.back().erase("warmup_j");
    }
    j["rows"] = std::move(rows);
    return j;
}

Result<Calibration> calibration_from_json(const nlohmann::ordered_json& json) {
    if (auto error = check_schema(json, calibration_schema)) return *error;
    Calibration c;
    FieldReader top(json, "the calibration");
    c.device = top.text("device", true);
    if (top.error()) return *top.error();
    if (!json.contains("rows") || !json["rows"].is_array())
        return Error{"the calibration lacks the array 'rows'"};
    for (std::size_t i = 0; i < json["rows"].size(); ++i) {
        FieldReader f(json["rows"][i], "calibration row " + std::to_string(i + 1));
        CalibrationRow r;
        r.model = f.text("model", true);
        r.params = f.number("params");
        r.macs = f.number("macs");
        r.batch_size = f.number("batch_size");
        r.activations = f.optional_number("activations").value_or(0);  // absent in older calibrations
        r.mac_layers = f.optional_number("mac_layers").value_or(0);
        r.train_energy_per_sample_j = f.optional_number("train_energy_per_sample_j");
        r.infer_energy_per_sample_j = f.optional_number("infer_energy_per_sample_j");
        r.train_samples = f.optional_number("train_samples");
        r.train_energy_j = f.optional_number("train_energy_j");
        r.infer_samples = f.optional_number("infer_samples");
        r.infer_energy_j = f.optional_number("infer_energy_j");
        r.train_seconds_per_sample = f.optional_number("train_seconds_per_sample");
        r.infer_seconds_per_sample = f.optional_number("infer_seconds_per_sample");
        if (json["rows"][i].contains("epoch_energy_j")) r.epoch_energy_j = f.numbers("epoch_energy_j");
        r.warmup_j = f.optional_number("warmup_j");
        r.measured_at = f.text("measured_at", false);
        r.how = f.text("how", false);
        if (f.error()) return *f.error();
        c.rows.push_back(std::move(r));
    }
    return c;
}

nlohmann::ordered_json energy_model_to_json(const EnergyModel& m) {
    nlohmann::ordered_json j;
    j["schema"] = model_schema;
    j["device"] = m.device;
    j["task"] = task_name(m.task);
    j["per_sample"] = per_sample_name(m.per_sample);
    j["family"] = family_name(m.family);
    j["additive"] = {{"e_mac", m.additive.e_mac},
                     {"e_step", m.additive.e_step},
                     {"e_param", m.additive.e_param},
                     {"e_sample", m.additive.e_sample},
                     {"e_act", m.additive.e_act},
                     {"e_layer", m.additive.e_layer},
                     {"sample_term", m.additive.sample_term},
                     {"memory_terms", m.additive.memory_terms}};
    nlohmann::ordered_json features = nlohmann::ordered_json::array();
    for (Feature f : m.features) features.push_back(feature_name(f));
    j["features"] = std::move(features);
    j["ridge"] = m.ridge;
    j["feature_mean"] = m.feature_mean;
    j["feature_scale"] = m.feature_scale;
    j["coefficients"] = m.coefficients;
    j["intercept"] = m.intercept;
    nlohmann::ordered_json raw;
    for (const auto& [name, value] : raw_coefficients(m)) raw[name] = value;
    j["raw_coefficients"] = std::move(raw);  // for readers; not read back
    j["cv_residuals"] = m.cv_residuals;
    j["cv_rmse_log"] = m.cv_rmse_log;
    j["cv_scheme"] = m.cv_scheme;
    j["rows"] = m.rows;
    j["groups"] = m.groups;
    j["warmup_j"] = m.warmup_j;
    j["warmup_rows"] = m.warmup_rows;
    j["params_range"] = range_json(m.params_range);
    j["macs_range"] = range_json(m.macs_range);
    j["batch_range"] = range_json(m.batch_range);
    if (m.additive.memory_terms) {
        j["activations_range"] = range_json(m.activations_range);
        j["mac_layers_range"] = range_json(m.mac_layers_range);
    }
    return j;
}

Result<EnergyModel> energy_model_from_json(const nlohmann::ordered_json& json) {
    if (auto error = check_schema(json, model_schema)) return *error;
    FieldReader f(json, "the energy model");
    EnergyModel m;
    m.device = f.text("device", true);
    const std::string task = f.text("task", true);
    if (!f.error() && task != "training" && task != "inference") {
        f.fail("has task '" + task + "': expected training or inference");
    }
    m.task = task == "inference" ? EnergyTask::inference : EnergyTask::training;
    const std::string per_sample = f.text("per_sample", false);  // absent in models written before time
    if (!f.error() && !per_sample.empty() && per_sample != "energy" && per_sample != "time") {
        f.fail("has per_sample '" + per_sample + "': expected energy or time");
    }
    m.per_sample = per_sample == "time" ? PerSample::time : PerSample::energy;
    // "family" is absent in models written before the additive family: log-linear.
    const std::string family = f.text("family", false);
    if (!f.error() && !family.empty() && !family_from_name(family)) {
        f.fail("has family '" + family + "': expected log_linear or additive");
    }
    m.family = family_from_name(family).value_or(ModelFamily::log_linear);
    if (!f.error() && m.family == ModelFamily::additive) {
        if (!json.contains("additive")) {
            f.fail("lacks 'additive'");
        } else {
            FieldReader a(json["additive"], "'additive'");
            m.additive.e_mac = a.number("e_mac");
            m.additive.e_step = a.number("e_step");
            m.additive.e_param = a.number("e_param");
            m.additive.e_sample = a.number("e_sample");
            const auto& flag = json["additive"].is_object() && json["additive"].contains("sample_term")
                                   ? json["additive"]["sample_term"]
                                   : nlohmann::ordered_json(nullptr);
            m.additive.sample_term = flag.is_boolean() ? flag.get<bool>() : m.additive.e_sample > 0;
            // e_act, e_layer and memory_terms are absent in models written before the memory terms.
            m.additive.e_act = a.optional_number("e_act").value_or(0);
            m.additive.e_layer = a.optional_number("e_layer").value_or(0);
            const auto& memory = json["additive"].is_object() && json["additive"].contains("memory_terms")
                                     ? json["additive"]["memory_terms"]
                                     : nlohmann::ordered_json(nullptr);
            m.additive.memory_terms = memory.is_boolean() && memory.get<bool>();
            if (a.error()) f.fail(a.error()->message);
            for (double v : {m.additive.e_mac, m.additive.e_step, m.additive.e_param, m.additive.e_sample,
                             m.additive.e_act, m.additive.e_layer}) {
                if (!f.error() && !(std::isfinite(v) && v >= 0))
                    f.fail("has a negative additive coefficient");
            }
        }
    }
    if (!f.error() && (!json.contains("features") || !json["features"].is_array()))
        f.fail("lacks 'features'");
    if (!f.error()) {
        for (const auto& name : json["features"]) {
            const auto feature = name.is_string() ? feature_from_name(name.get<std::string>()) : std::nullopt;
            if (!feature) {
                f.fail("has an unknown feature " + name.dump());
                break;
            }
            m.features.push_back(*feature);
        }
    }
    m.ridge = f.number("ridge");
    m.feature_mean = f.numbers("feature_mean");
    m.feature_scale = f.numbers("feature_scale");
    m.coefficients = f.numbers("coefficients");
    m.intercept = f.number("intercept");
    m.cv_residuals = f.numbers("cv_residuals");
    m.cv_rmse_log = f.number("cv_rmse_log");
    m.cv_scheme = f.text("cv_scheme", false);
    m.rows = static_cast<std::size_t>(f.number("rows"));
    if (json.contains("warmup_j")) {  // absent in models written before warm-up was fitted
        m.warmup_j = f.number("warmup_j");
        m.warmup_rows = static_cast<std::size_t>(f.number("warmup_rows"));
    }
    m.params_range = range_from(f, json, "params_range");
    m.macs_range = range_from(f, json, "macs_range");
    m.batch_range = range_from(f, json, "batch_range");
    if (m.additive.memory_terms) {
        m.activations_range = range_from(f, json, "activations_range");
        m.mac_layers_range = range_from(f, json, "mac_layers_range");
    }
    if (!f.error() && json.contains("groups") && json["groups"].is_array()) {
        for (const auto& g : json["groups"]) {
            if (g.is_string()) m.groups.push_back(g.get<std::string>());
        }
    }
    if (f.error()) return *f.error();
    const std::size_t p = m.features.size();
    if (m.feature_mean.size() != p || m.feature_scale.size() != p || m.coefficients.size() != p) {
        return Error{"the energy model has " + std::to_string(p) +
                     " features but a different number of means, scales or coefficients"};
    }
    for (double s : m.feature_scale) {
        if (!positive_finite(s))
            return Error{"the energy model has a feature scale that is not a positive number"};
    }
    std::sort(m.cv_residuals.begin(), m.cv_residuals.end());
    return m;
}

nlohmann::ordered_json validation_to_json(const LogoValidation& v) {
    nlohmann::ordered_json j;
    j["device"] = v.device;
    j["task"] = task_name(v.task);
    j["per_sample"] = per_sample_name(v.per_sample);
    j["mape_energy_per_sample_pct"] = v.mape_energy_per_sample_pct;
    j["median_ape_pct"] = v.median_ape_pct;
    j["mape_total_energy_pct"] = optional_json(v.mape_total_energy_pct);
    j["coverage"] = v.coverage;
    nlohmann::ordered_json groups = nlohmann::ordered_json::array();
    for (const auto& g : v.groups) {
        groups.push_back({{"model", g.model},
                          {"rows", g.rows},
                          {"mape_energy_per_sample_pct", g.mape_energy_per_sample_pct},
                          {"mape_total_energy_pct", optional_json(g.mape_total_energy_pct)},
                          {"chosen", g.chosen}});
    }
    j["groups"] = std::move(groups);
    nlohmann::ordered_json predictions = nlohmann::ordered_json::array();
    for (const auto& p : v.predictions) {
        predictions.push_back({{"model", p.model},
                               {"batch_size", p.batch_size},
                               {"measured_j", p.measured_j},
                               {"predicted_j", p.predicted_j},
                               {"ape_pct", p.ape_pct},
                               {"inside_interval", p.inside_interval},
                               {"measured_total_j", optional_json(p.measured_total_j)},
                               {"predicted_total_j", optional_json(p.predicted_total_j)}});
    }
    j["predictions"] = std::move(predictions);
    j["skipped"] = v.skipped;
    return j;
}

}  // namespace joulecast::forecast
