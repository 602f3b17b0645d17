#include "forecast/calibration_sources.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "analysis/analysis.hpp"
#include "core/data_tables.hpp"
#include "core/format.hpp"
#include "core/text.hpp"
#include "sensors/model/cpu_tdp.hpp"
#include "store/run_store.hpp"

namespace joulecast::forecast {

using core::CsvTable;
using core::Error;
using core::format_watts;
using core::parse_csv;
using core::parse_double;
using core::Result;
using core::to_lower;
using core::trim;

using sensors::CpuTdpTables;

using meter::RunResult;
using meter::RunStatus;

using store::RunFilter;
using store::RunStore;

namespace {

using Json = nlohmann::ordered_json;

std::string text_of(const Json& object, const char* key) {
    if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return {};
    return object[key].get<std::string>();
}

std::optional<double> positive(const Json& object, const char* key) {
    if (!object.is_object() || !object.contains(key)) return std::nullopt;
    const Json& v = object[key];
    std::optional<double> value;
    if (v.is_number()) value = v.get<double>();
    if (v.is_string()) value = parse_double(trim(v.get<std::string>()));
    if (!value || !std::isfinite(*value) || *value <= 0) return std::nullopt;
    return value;
}

/// A positive number given in a run's meta ("11173962").
std::optional<double> positive(const std::map<std::string, std::string>& meta, const char* key) {
    auto it = meta.find(key);
    if (it == meta.end()) return std::nullopt;
    auto value = parse_double(trim(it->second));
    if (!value || !std::isfinite(*value) || *value <= 0) return std::nullopt;
    return value;
}

std::optional<double> ratio(std::optional<double> a, std::optional<double> b) {
    if (!a || !b || !(*a > 0) || !(*b > 0)) return std::nullopt;
    return *a / *b;
}

std::string date_of(const std::string& iso) {
    return iso.size() >= 10 ? iso.substr(0, 10) : iso;
}

// The calibrated devices a name can match: those with a calibration usable on its own.
struct Candidate {
    const CalibrationSource* source;
    bool usable;  // store: enough architectures; shipped: always
};

}  // namespace

std::string_view origin_name(CalibrationOrigin origin) {
    switch (origin) {
        case CalibrationOrigin::store:
            return "store";
        case CalibrationOrigin::shipped:
            return "shipped";
        case CalibrationOrigin::scaled:
            return "scaled";
    }
    return "?";
}

std::vector<std::string> CalibrationSource::architectures() const {
    std::vector<std::string> out;
    for (const auto& r : calibration.rows)
        if (std::find(out.begin(), out.end(), r.model) == out.end()) out.push_back(r.model);
    return out;
}

Result<CalibrationSource> parse_shipped_calibration(std::string_view file, std::string_view text) {
    const std::string where = "data/calibration/" + std::string(file);
    Json json = Json::parse(text, nullptr, false);
    if (json.is_discarded()) return Error{where + ": not valid JSON"};
    auto calibration = calibration_from_json(json);
    if (!calibration) return Error{where + ": " + calibration.error()};
    CalibrationSource s;
    s.calibration = std::move(*calibration);
    s.origin = CalibrationOrigin::shipped;
    s.file = where;
    s.measured_on = text_of(json, "measured_on");
    s.note = text_of(json, "note");
    s.mean_power_w = positive(json, "mean_power_w");
    s.mean_power_how = text_of(json, "mean_power_how");
    // The rows' `how` is normally one statement for the whole set.
    std::vector<std::string> hows;
    for (const auto& r : s.calibration.rows)
        if (!r.how.empty() && std::find(hows.begin(), hows.end(), r.how) == hows.end()) hows.push_back(r.how);
    for (const auto& h : hows) s.how += (s.how.empty() ? "" : "; ") + h;
    if (s.measured_on.empty() && !s.calibration.rows.empty())
        s.measured_on = date_of(s.calibration.rows.front().measured_at);
    return s;
}

Result<std::vector<CalibrationSource>> shipped_calibrations() {
    std::vector<CalibrationSource> out;
    for (const auto& f : data::calibration_files()) {
        auto source = parse_shipped_calibration(f.name, f.text);
        if (!source) return Error{"a shipped calibration does not load: " + source.error()};
        out.push_back(std::move(*source));
    }
    return out;
}

std::string run_device(const RunResult& result) {
    const double gpu = result.energy.domain("gpu");
    if (std::isfinite(gpu) && gpu > 0 && !result.gpus.empty()) {
        // The same naming as `joulecast analyze`.
        return analysis::derive_row(result).device;
    }
    return result.host.cpu_model.empty() ? "unknown" : result.host.cpu_model;
}

StoreCalibrations calibrations_from_results(const std::vector<RunResult>& results,
                                            const std::string& store_path) {
    StoreCalibrations out;
    std::map<std::string, std::size_t> index;  // device -> position in out.devices
    std::map<std::string, std::pair<std::string, std::string>> dates;
    for (const auto& result : results) {
        if (result.status != RunStatus::completed) continue;
        const auto& meta = result.meta;
        auto model = meta.find("model");
        if (model == meta.end()) continue;  // not a model-training workload: nothing to say
        const std::string label = result.id + " (" + result.name + ")";
        std::vector<std::string> missing;
        for (const char* key : {"params", "macs", "batch_size"})
            if (!positive(meta, key)) missing.push_back(key);
        if (!missing.empty()) {
            std::string list;
            for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
            out.skipped.push_back(label + ": meta lacks a positive " + list);
            continue;
        }
        const analysis::RunRow row = analysis::derive_row(result);
        CalibrationRow r;
        r.model = model->second.empty() ? "\"\"" : model->second;
        r.params = *positive(meta, "params");
        r.macs = *positive(meta, "macs");
        r.batch_size = *positive(meta, "batch_size");
        // Recorded by the built-in zoo and examples/pytorch/train.py; older runs lack them (0: unknown).
        r.activations = positive(meta, "activations").value_or(0);
        r.mac_layers = positive(meta, "mac_layers").value_or(0);
        r.train_energy_per_sample_j = ratio(row.training_energy_j, row.training_samples);
        if (r.train_energy_per_sample_j) {
            r.train_samples = row.training_samples;
            r.train_energy_j = row.training_energy_j;
            r.train_seconds_per_sample = ratio(row.training_time_s, row.training_samples);
            // The epochs' energies: the fit takes the first epoch's excess as warm-up, not per-sample cost.
            for (const auto& epoch : result.epochs) r.epoch_energy_j.push_back(epoch.energy_j);
            // A separate "warmup" phase (train.py --windows): its excess over the steady cost is the warm-up.
            for (const auto& phase : result.phases) {
                if (to_lower(phase.name) != "warmup" || !phase.closed || !phase.samples ||
                    *phase.samples <= 0 || !(std::isfinite(phase.energy_j) && phase.energy_j >= 0))
                    continue;
                const double excess =
                    phase.energy_j - *r.train_energy_per_sample_j * static_cast<double>(*phase.samples);
                r.warmup_j = r.warmup_j.value_or(0) + std::max(0.0, excess);
            }
        }
        r.infer_energy_per_sample_j = ratio(row.inference_energy_j, row.inference_samples);
        if (r.infer_energy_per_sample_j) {
            r.infer_samples = row.inference_samples;
            r.infer_energy_j = row.inference_energy_j;
            r.infer_seconds_per_sample = ratio(row.inference_time_s, row.inference_samples);
        }
        if (!r.train_energy_per_sample_j && !r.infer_energy_per_sample_j) {
            out.skipped.push_back(label + ": no train or infer phase with samples and energy");
            continue;
        }
        r.measured_at = result.started_at;
        r.how = "joulecast run " + result.id + ", every accounted domain (" + row.method.label + ")";
        const std::string device = run_device(result);
        auto [it, added] = index.emplace(device, out.devices.size());
        if (added) {
            CalibrationSource s;
            s.origin = CalibrationOrigin::store;
            s.calibration.device = device;
            s.file = store_path;
            out.devices.push_back(std::move(s));
        }
        auto& range = dates[device];
        const std::string day = date_of(r.measured_at);
        if (range.first.empty() || day < range.first) range.first = day;
        if (range.second.empty() || day > range.second) range.second = day;
        out.devices[it->second].calibration.rows.push_back(std::move(r));
        ++out.runs_used;
    }
    for (auto& s : out.devices) {
        const auto& range = dates[s.calibration.device];
        s.measured_on = range.first == range.second ? range.first : range.first + " .. " + range.second;
        s.how = std::to_string(s.calibration.rows.size()) + " stored runs in " + store_path +
                " (joulecast run; E_tr and E_in over every accounted domain, time from the phases)";
    }
    return out;
}

StoreCalibrations calibrations_from_store(RunStore& store) {
    RunFilter filter;
    filter.status = RunStatus::completed;
    std::vector<RunResult> results;
    for (const auto& summary : store.list(filter)) {
        if (!summary.finished) continue;
        results.push_back(store.get(summary.id));
    }
    // list() is newest first; rows read better oldest first.
    std::reverse(results.begin(), results.end());
    return calibrations_from_results(results, store.path());
}

std::optional<DeviceTdp> device_tdp(std::string_view device) {
    const CsvTable gpus = parse_csv(core::data::gpu_specs);
    const int name = gpus.column("name"), tdp = gpus.column("tdp_w");
    if (name >= 0 && tdp >= 0) {
        for (const auto& row : gpus.rows) {
            if (to_lower(trim(row[static_cast<std::size_t>(name)])) != to_lower(trim(device))) continue;
            if (auto w = parse_double(trim(row[static_cast<std::size_t>(tdp)])); w && *w > 0)
                return DeviceTdp{*w, true};
        }
    }
    if (auto cpu = CpuTdpTables::builtin().find(device)) return DeviceTdp{cpu->tdp_w, false};
    return std::nullopt;
}

Result<ChosenCalibration> choose_calibration(const std::string& requested, const StoreCalibrations& store,
                                             const std::vector<CalibrationSource>& shipped) {
    std::vector<Candidate> candidates;
    for (const auto& s : store.devices)
        candidates.push_back({&s, s.architectures().size() >= min_store_architectures});
    for (const auto& s : shipped) candidates.push_back({&s, true});

    // Resolve the name: exact (any case) first, else a part of exactly one calibrated device's name.
    const std::string wanted = to_lower(trim(requested));
    std::string device = std::string(trim(requested));
    bool exact = false;
    for (const auto& c : candidates)
        if (to_lower(c.source->calibration.device) == wanted) {
            device = c.source->calibration.device;
            exact = true;
        }
    if (!exact && !wanted.empty()) {
        std::vector<std::string> matches;
        for (const auto& c : candidates) {
            const std::string& name = c.source->calibration.device;
            if (to_lower(name).find(wanted) != std::string::npos &&
                std::find(matches.begin(), matches.end(), name) == matches.end())
                matches.push_back(name);
        }
        if (matches.size() == 1) device = matches[0];
    }

    ChosenCalibration chosen;
    chosen.device = device;
    const CalibrationSource* own_store = nullptr;
    const CalibrationSource* own_shipped = nullptr;
    for (const auto& s : store.devices)
        if (s.calibration.device == device) own_store = &s;
    for (const auto& s : shipped)
        if (s.calibration.device == device && !own_shipped) own_shipped = &s;

    const std::size_t store_archs = own_store ? own_store->architectures().size() : 0;
    if (own_store && store_archs >= min_store_architectures) {
        chosen.source = *own_store;
        chosen.reason = "stored runs cover " + std::to_string(store_archs) + " architectures on this device";
        return chosen;
    }
    const std::string store_note = own_store ? "its " + std::to_string(own_store->calibration.rows.size()) +
                                                   " stored runs cover only " + std::to_string(store_archs) +
                                                   " architecture(s), fewer than " +
                                                   std::to_string(min_store_architectures)
                                             : "no stored runs with model meta on this device";
    if (own_shipped) {
        chosen.source = *own_shipped;
        chosen.reason = "shipped calibration (" + store_note + ")";
        return chosen;
    }

    std::string calibrated;
    for (const auto& c : candidates)
        if (c.usable && calibrated.find("'" + c.source->calibration.device + "'") == std::string::npos)
            calibrated += (calibrated.empty() ? "" : ", ") + ("'" + c.source->calibration.device + "'");
    const std::string advice = "use --device with a calibrated device (" +
                               (calibrated.empty() ? std::string("none") : calibrated) +
                               "), or run `joulecast study` on this device first";

    // Fallback: the nearest calibrated device of the same kind by TDP, energies scaled by the TDP ratio.
    const auto target = device_tdp(device);
    if (!target) {
        return Error{"no calibration for '" + device + "' (" + store_note +
                     "), and its TDP is not in data/gpu_specs.csv or the CPU TDP tables, so no other "
                     "device's calibration can be scaled to it: " +
                     advice};
    }
    const CalibrationSource* reference = nullptr;
    double reference_tdp = 0, best = std::numeric_limits<double>::infinity();
    for (const auto& c : candidates) {
        if (!c.usable) continue;
        const auto tdp = device_tdp(c.source->calibration.device);
        if (!tdp || tdp->is_gpu != target->is_gpu) continue;
        const double distance = std::abs(std::log(target->tdp_w / tdp->tdp_w));
        if (distance < best) {
            best = distance;
            reference = c.source;
            reference_tdp = tdp->tdp_w;
        }
    }
    const char* kind = target->is_gpu ? "GPU" : "CPU";
    if (!reference) {
        return Error{"no calibration for '" + device + "' (" + store_note + "), and no calibrated " + kind +
                     " to scale from: " + advice};
    }
    chosen.energy_scale = target->tdp_w / reference_tdp;
    chosen.reference_device = reference->calibration.device;
    chosen.source = *reference;
    chosen.source.origin = CalibrationOrigin::scaled;
    chosen.source.calibration.device = device;
    for (auto& r : chosen.source.calibration.rows) {
        for (auto* v : {&r.train_energy_per_sample_j, &r.infer_energy_per_sample_j, &r.train_energy_j,
                        &r.infer_energy_j})
            if (*v) **v *= chosen.energy_scale;
    }
    if (chosen.source.mean_power_w) *chosen.source.mean_power_w *= chosen.energy_scale;
    char scale[32];
    std::snprintf(scale, sizeof scale, "%.3g", chosen.energy_scale);
    chosen.fallback =
        "no calibration for '" + device + "' (" + store_note + "): falling back to the " +
        std::string(origin_name(reference->origin)) + " calibration of '" + reference->calibration.device +
        "' (" + format_watts(reference_tdp, 0) + " TDP), energies scaled by the TDP ratio " +
        format_watts(target->tdp_w, 0) + " / " + format_watts(reference_tdp, 0) + " = " + scale +
        ", which assumes the same speed and power in proportion to TDP: a crude guess; " + advice;
    chosen.reason = "fallback: nearest calibrated " + std::string(kind) + " by TDP, scaled";
    return chosen;
}

}  // namespace joulecast::forecast
