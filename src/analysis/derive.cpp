// Derived metrics per run: one result document (and optionally its stored trace) reduced to a RunRow.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "analysis/analysis.hpp"
#include "analysis/common.hpp"
#include "core/text.hpp"

namespace joulecast::analysis {

namespace {

using Json = nlohmann::ordered_json;

std::optional<double> number(const Json& value) {
    if (value.is_number()) return finite_or_null(value.get<double>());
    if (value.is_string()) return parse_double(trim(value.get<std::string>()));
    return std::nullopt;
}

const Json* member(const Json& object, std::string_view key) {
    if (!object.is_object()) return nullptr;
    auto it = object.find(std::string(key));
    return it == object.end() ? nullptr : &*it;
}

std::optional<double> number_at(const Json& object, std::string_view key) {
    const Json* value = member(object, key);
    return value ? number(*value) : std::nullopt;
}

std::string text_at(const Json& object, std::string_view key) {
    const Json* value = member(object, key);
    if (!value) return {};
    if (value->is_string()) return value->get<std::string>();
    if (value->is_number()) return value->dump();
    return {};
}

/// The first of meta[key], tags[key] (or the other order) that is a number.
std::optional<double> meta_or_tag(const Json& result, std::string_view key, bool tag_first = false) {
    const Json empty = Json::object();
    const Json& meta = member(result, "meta") ? *member(result, "meta") : empty;
    const Json& tags = member(result, "tags") ? *member(result, "tags") : empty;
    auto a = number_at(tag_first ? tags : meta, key);
    return a ? a : number_at(tag_first ? meta : tags, key);
}

struct PhaseSpan {
    double start = 0, end = 0, energy = 0;
    std::optional<double> samples;
    const Json* json = nullptr;
};

/// Phases of one kind (train or infer), outermost only: a phase inside another of the same kind is already
/// counted in it.
std::vector<PhaseSpan> phases_of(const Json& result, const std::set<std::string>& names) {
    std::vector<PhaseSpan> all;
    const Json* phases = member(result, "phases");
    if (!phases || !phases->is_array()) return all;
    for (const auto& p : *phases) {
        if (!names.count(to_lower(text_at(p, "name")))) continue;
        PhaseSpan span;
        span.start = number_at(p, "start_s").value_or(0);
        span.end = number_at(p, "end_s").value_or(span.start);
        span.energy = number_at(p, "energy_j").value_or(0);
        span.samples = number_at(p, "samples");
        span.json = &p;
        all.push_back(span);
    }
    std::sort(all.begin(), all.end(), [](const PhaseSpan& a, const PhaseSpan& b) {
        return a.start != b.start ? a.start < b.start : a.end > b.end;
    });
    std::vector<PhaseSpan> outer;
    for (const auto& span : all)
        if (outer.empty() || span.start >= outer.back().end || span.end > outer.back().end)
            outer.push_back(span);
    return outer;
}

EnergyMethod method_from_share(std::optional<double> share) {
    EnergyMethod m;
    m.measured_share = share;
    if (!share) return m;
    m.label = *share >= 0.999 ? "measured" : *share <= 0.001 ? "modelled" : "mixed";
    return m;
}

/// The measured share of a set of phases from their per-domain energy and the run's per-domain methods;
/// the run's own share where a domain's method is unknown or mixed.
EnergyMethod phases_method(const std::vector<PhaseSpan>& spans, const Json& result, const EnergyMethod& run) {
    if (spans.empty()) return {};
    const Json* methods = member(result, "energy_method");
    double measured = 0, total = 0;
    for (const auto& span : spans) {
        const Json* domains = member(*span.json, "domain_j");
        if (!domains || !domains->is_object() || !methods) return run;
        for (auto it = domains->begin(); it != domains->end(); ++it) {
            auto joules = number(it.value());
            if (!joules) continue;
            const std::string method = text_at(*methods, it.key());
            const bool modelled = method.find("modelled") != std::string::npos;
            if (method.empty() || (modelled && method != "modelled")) return run;
            total += *joules;
            if (!modelled) measured += *joules;
        }
    }
    return total > 0 ? method_from_share(measured / total) : run;
}

std::string device_of(const Json& result) {
    const Json* host = member(result, "host");
    if (!host) return "unknown";
    const Json* gpus = member(*host, "gpus");
    if (gpus && gpus->is_array() && !gpus->empty()) {
        std::vector<std::string> names;
        for (const auto& g : *gpus) names.push_back(text_at(g, "name").empty() ? "GPU" : text_at(g, "name"));
        if (std::all_of(names.begin(), names.end(), [&](const std::string& n) { return n == names[0]; }))
            return names.size() == 1 ? names[0] : std::to_string(names.size()) + "x " + names[0];
        std::string joined;
        for (const auto& n : names) joined += (joined.empty() ? "" : " + ") + n;
        return joined;
    }
    std::string cpu = text_at(*host, "cpu_model");
    return cpu.empty() ? "unknown" : cpu;
}

/// Mean of the utilisation gauges of one domain over the command ([0, duration]); each channel's readings
/// averaged first, then the channels (so that one GPU read more often does not weigh more).
std::optional<double> mean_utilisation(const StoredTrace& trace, const std::string& domain,
                                       std::optional<double> duration_s) {
    const std::int64_t end_ns =
        duration_s ? static_cast<std::int64_t>(*duration_s * 1e9) : std::numeric_limits<std::int64_t>::max();
    std::vector<double> sums(trace.channels.size(), 0.0);
    std::vector<std::size_t> counts(trace.channels.size(), 0);
    for (const auto& r : trace.readings) {
        if (r.channel >= trace.channels.size() || r.t_ns < 0 || r.t_ns > end_ns || !std::isfinite(r.value))
            continue;
        const Channel& c = trace.channels[r.channel].channel;
        if (c.quantity != Quantity::utilisation || c.domain != domain) continue;
        sums[r.channel] += r.value;
        ++counts[r.channel];
    }
    double total = 0;
    std::size_t channels = 0;
    for (std::size_t i = 0; i < sums.size(); ++i)
        if (counts[i] > 0) {
            total += sums[i] / static_cast<double>(counts[i]);
            ++channels;
        }
    if (channels == 0) return std::nullopt;
    return total / static_cast<double>(channels);
}

/// Sum of the spans' samples when every span has them.
std::optional<double> all_samples(const std::vector<PhaseSpan>& spans) {
    if (spans.empty()) return std::nullopt;
    double sum = 0;
    for (const auto& s : spans) {
        if (!s.samples) return std::nullopt;
        sum += *s.samples;
    }
    return sum;
}

std::optional<double> epoch_samples(const Json& result) {
    const Json* epochs = member(result, "epochs");
    if (!epochs || !epochs->is_array() || epochs->empty()) return std::nullopt;
    double sum = 0;
    for (const auto& e : *epochs) {
        auto s = number_at(e, "samples");
        if (!s) return std::nullopt;
        sum += *s;
    }
    return sum;
}

std::optional<double> ratio(std::optional<double> a, std::optional<double> b) {
    if (!a || !b || *b <= 0) return std::nullopt;
    return finite_or_null(*a / *b);
}

}  // namespace

RunRow derive_row(const nlohmann::json& result, const StoredTrace* trace) {
    return derive_row(nlohmann::ordered_json(result), trace);
}

RunRow derive_row(const nlohmann::ordered_json& result, const StoredTrace* trace) {
    RunRow row;
    if (!result.is_object()) {
        row.notes.push_back("the result document is not a JSON object");
        row.model = "unknown";
        row.device = "unknown";
        return row;
    }
    const Json empty = Json::object();
    const Json& meta = member(result, "meta") ? *member(result, "meta") : empty;
    row.id = text_at(result, "id");
    row.name = text_at(result, "name");
    row.status = text_at(result, "status");
    row.started_at = text_at(result, "started_at");
    if (const Json* partial = member(result, "partial");
        partial && partial->is_boolean() && partial->get<bool>())
        row.notes.push_back("partial result: the run did not finish; figures come from its stored readings");
    if (const Json* tags = member(result, "tags"); tags && tags->is_object())
        for (auto it = tags->begin(); it != tags->end(); ++it)
            row.tags[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();

    row.model = text_at(meta, "model");
    row.model_source = "meta";
    if (row.model.empty() && row.tags.count("model")) {
        row.model = row.tags["model"];
        row.model_source = "tag";
    }
    if (row.model.empty()) {
        row.model = row.name.empty() ? (row.id.empty() ? "unknown" : row.id) : row.name;
        row.model_source = "name";
        row.notes.push_back("no model in meta or tags: the run's name stands for the model");
    }
    row.device = device_of(result);
    row.dataset = text_at(meta, "dataset");

    row.batch_size = meta_or_tag(result, "batch_size");
    row.learning_rate = meta_or_tag(result, "learning_rate");
    row.epochs = meta_or_tag(result, "epochs");
    if (!row.epochs)
        if (const Json* epochs = member(result, "epochs"); epochs && epochs->is_array() && !epochs->empty())
            row.epochs = static_cast<double>(epochs->size());
    row.threads = meta_or_tag(result, "threads", true);
    row.power_limit_w = meta_or_tag(result, "power_limit_w", true);
    if (!row.power_limit_w)
        if (const Json* host = member(result, "host"))
            if (const Json* gpus = member(*host, "gpus"); gpus && gpus->is_array() && !gpus->empty())
                if (auto limit = number_at((*gpus)[0], "power_limit_w"); limit && *limit > 0)
                    row.power_limit_w = limit;
    row.params = meta_or_tag(result, "params");
    row.macs = meta_or_tag(result, "macs");
    row.macs_per_param = meta_or_tag(result, "macs_per_param");
    if (!row.macs_per_param) row.macs_per_param = ratio(row.macs, row.params);
    if (!row.params) row.notes.push_back("no params in meta");
    if (!row.macs) row.notes.push_back("no macs in meta");

    // Energy and its method.
    const Json* energy = member(result, "energy_j");
    if (energy) {
        row.total_energy_j = number_at(*energy, "total");
        auto measured = number_at(*energy, "measured");
        auto modelled = number_at(*energy, "modelled");
        if (row.total_energy_j && *row.total_energy_j > 0 && (measured || modelled))
            row.method = method_from_share(
                std::clamp(measured ? *measured / *row.total_energy_j : 1.0 - *modelled / *row.total_energy_j,
                           0.0, 1.0));
    }
    if (!row.total_energy_j) row.notes.push_back("no total energy");
    row.duration_s = number_at(result, "duration_s");
    if (const Json* power = member(result, "power_w")) {
        row.mean_power_w = number_at(*power, "mean");
        row.peak_power_w = number_at(*power, "peak");
    }

    // Phases: training and inference.
    const auto train = phases_of(result, {"train", "training"});
    const auto infer = phases_of(result, {"infer", "inference"});
    row.training_energy_j = number_at(result, "training_energy_j");
    if (!row.training_energy_j && !train.empty()) {
        double sum = 0;
        for (const auto& s : train) sum += s.energy;
        row.training_energy_j = sum;
    }
    row.inference_energy_j = number_at(result, "inference_energy_j");
    if (!row.inference_energy_j && !infer.empty()) {
        double sum = 0;
        for (const auto& s : infer) sum += s.energy;
        row.inference_energy_j = sum;
    }
    if (!train.empty()) {
        row.training_samples = all_samples(train);
        if (!row.training_samples) {
            row.training_samples = epoch_samples(result);
            row.notes.push_back(row.training_samples
                                    ? "training samples taken from the epochs (train phases lack samples)"
                                    : "train phases without samples: no training energy per sample");
        }
        double time = 0;
        for (const auto& s : train) time += std::max(0.0, s.end - s.start);
        row.training_time_s = time;
    }
    if (!infer.empty()) {
        row.inference_samples = all_samples(infer);
        if (!row.inference_samples)
            row.notes.push_back("infer phases without samples: no inference energy per sample");
        double time = 0;
        for (const auto& s : infer) time += std::max(0.0, s.end - s.start);
        row.inference_time_s = time;
    }
    row.training_energy_per_sample_j = ratio(row.training_energy_j, row.training_samples);
    row.inference_energy_per_sample_j = ratio(row.inference_energy_j, row.inference_samples);
    row.training_method = phases_method(train, result, row.method);
    row.inference_method = phases_method(infer, result, row.method);

    if (row.training_energy_per_sample_j) {
        row.energy_per_sample_j = row.training_energy_per_sample_j;
        row.basis = "training";
    } else if (row.inference_energy_per_sample_j) {
        row.energy_per_sample_j = row.inference_energy_per_sample_j;
        row.basis = "inference";
    } else {
        // No phase gives a per-sample figure: the whole run's energy over whatever samples were reported.
        std::optional<double> samples;
        const char* from = "";
        if (row.training_samples || row.inference_samples) {
            samples = row.training_samples.value_or(0) + row.inference_samples.value_or(0);
            from = "train/infer phases";
        } else if ((samples = epoch_samples(result))) {
            from = "epochs";
        } else if ((samples = meta_or_tag(result, "samples"))) {
            from = "meta.samples";
        }
        row.energy_per_sample_j = ratio(row.total_energy_j, samples);
        if (row.energy_per_sample_j) {
            row.basis = "total";
            row.notes.push_back(std::string("energy per sample = total energy / samples from ") + from +
                                " (no train or infer phase with samples)");
        } else {
            row.notes.push_back("no samples reported: no energy per sample");
        }
    }
    if (row.energy_per_sample_j && *row.energy_per_sample_j > 0)
        row.samples_per_j = 1.0 / *row.energy_per_sample_j;
    if (row.params && row.training_samples && row.training_time_s && *row.training_time_s > 0)
        row.work_params_per_s = finite_or_null(*row.params * *row.training_samples / *row.training_time_s);

    // Quality metrics.
    if (const Json* metrics = member(result, "metrics"); metrics && metrics->is_object()) {
        for (const char* name : {"accuracy", "acc", "test_accuracy", "val_accuracy"}) {
            if (const Json* m = member(*metrics, name)) {
                row.accuracy = m->is_object() ? number_at(*m, "last") : number(*m);
                if (row.accuracy) {
                    if (std::string(name) != "accuracy")
                        row.notes.push_back(std::string("accuracy from metric '") + name + "'");
                    break;
                }
            }
        }
        if (const Json* m = member(*metrics, "loss"))
            row.loss = m->is_object() ? number_at(*m, "last") : number(*m);
    }
    if (!row.accuracy) row.notes.push_back("no accuracy metric");

    if (trace) {
        row.gpu_utilisation_pct = mean_utilisation(*trace, "gpu", row.duration_s);
        row.cpu_utilisation_pct = mean_utilisation(*trace, "cpu", row.duration_s);
    }
    return row;
}

const std::vector<VariableInfo>& numeric_variables() {
    using R = RunRow;
    static const std::vector<VariableInfo> variables = {
        {"energy_per_sample_j", "J/sample", "energy", "energy per sample", "E/sample",
         &R::energy_per_sample_j},
        {"training_energy_per_sample_j", "J/sample", "energy", "training energy per sample", "E_tr/sample",
         &R::training_energy_per_sample_j},
        {"inference_energy_per_sample_j", "J/sample", "energy", "inference energy per sample", "E_in/sample",
         &R::inference_energy_per_sample_j},
        {"training_energy_j", "J", "energy", "training energy", "E_tr", &R::training_energy_j},
        {"inference_energy_j", "J", "energy", "inference energy", "E_in", &R::inference_energy_j},
        {"total_energy_j", "J", "energy", "total energy", "E_total", &R::total_energy_j},
        {"samples_per_j", "samples/J", "energy", "samples per joule", "samples/J", &R::samples_per_j},
        {"batch_size", "samples", "setting", "batch size", "batch", &R::batch_size},
        {"learning_rate", "", "setting", "learning rate", "lr", &R::learning_rate},
        {"epochs", "", "setting", "epochs", "epochs", &R::epochs},
        {"threads", "", "setting", "threads", "threads", &R::threads},
        {"power_limit_w", "W", "setting", "power limit", "limit", &R::power_limit_w},
        {"params", "", "model", "parameters", "params", &R::params},
        {"macs", "MAC/sample", "model", "MACs", "MACs", &R::macs},
        {"macs_per_param", "", "model", "MACs per parameter", "MACs/param", &R::macs_per_param},
        {"work_params_per_s", "params·samples/s", "hardware", "work (parameters x samples/s)", "work",
         &R::work_params_per_s},
        {"mean_power_w", "W", "hardware", "mean power", "P mean", &R::mean_power_w},
        {"peak_power_w", "W", "hardware", "peak power", "P peak", &R::peak_power_w},
        {"gpu_utilisation_pct", "%", "hardware", "GPU utilisation", "GPU%", &R::gpu_utilisation_pct},
        {"cpu_utilisation_pct", "%", "hardware", "CPU utilisation", "CPU%", &R::cpu_utilisation_pct},
        {"accuracy", "", "quality", "accuracy", "accuracy", &R::accuracy},
        {"loss", "", "quality", "loss", "loss", &R::loss},
        {"duration_s", "s", "run", "duration", "duration", &R::duration_s},
    };
    return variables;
}

const VariableInfo* find_variable(std::string_view name) {
    for (const auto& v : numeric_variables())
        if (v.name == name) return &v;
    return nullptr;
}

namespace {

using Field = std::pair<std::string_view, std::optional<double> RunRow::*>;

/// The numbers of a row that are not variables.
const Field other_fields[] = {
    {"training_samples", &RunRow::training_samples},
    {"inference_samples", &RunRow::inference_samples},
    {"training_time_s", &RunRow::training_time_s},
    {"inference_time_s", &RunRow::inference_time_s},
};

}  // namespace

std::optional<double> variable_value(const RunRow& row, std::string_view name) {
    if (const VariableInfo* v = find_variable(name)) return finite_or_null(row.*(v->field));
    for (const auto& [field, pointer] : other_fields)
        if (field == name) return finite_or_null(row.*pointer);
    return std::nullopt;
}

void drop_non_finite(RunRow& row) {
    for (const auto& v : numeric_variables()) row.*(v.field) = finite_or_null(row.*(v.field));
    for (const auto& field : other_fields) row.*(field.second) = finite_or_null(row.*(field.second));
    for (EnergyMethod* m : {&row.method, &row.training_method, &row.inference_method})
        m->measured_share = finite_or_null(m->measured_share);
}

}  // namespace joulecast::analysis
