// Derived metrics per run: one run (and optionally its stored trace) reduced to a RunRow.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "analysis/analysis.hpp"
#include "analysis/common.hpp"
#include "core/format.hpp"
#include "core/text.hpp"

namespace joulecast::analysis {

using core::format_significant;
using core::parse_double;
using core::trim;

using sensors::Channel;
using sensors::Quantity;

using meter::epoch_samples;
using meter::outermost_phases;
using meter::PhaseResult;
using meter::PhaseRole;
using meter::RunResult;
using meter::WindowEnergy;

using store::StoredTrace;

namespace {

/// A number given in meta or a tag ("11173962"): parsed, finite, else none.
std::optional<double> number_in(const std::map<std::string, std::string>& values, const std::string& key) {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return finite_or_null(parse_double(trim(it->second)));
}

/// The first of meta[key], tags[key] (or the other order) that is a number.
std::optional<double> meta_or_tag(const RunResult& result, const std::string& key, bool tag_first = false) {
    auto a = number_in(tag_first ? result.tags : result.meta, key);
    return a ? a : number_in(tag_first ? result.meta : result.tags, key);
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
EnergyMethod phases_method(const std::vector<const PhaseResult*>& phases, const RunResult& result,
                           const EnergyMethod& run) {
    if (phases.empty()) return {};
    const auto& methods = result.energy.domain_method;
    double measured = 0, total = 0;
    for (const PhaseResult* phase : phases) {
        if (phase->domain_j.empty() || methods.empty()) return run;
        for (const auto& [domain, joules] : phase->domain_j) {
            if (!std::isfinite(joules)) continue;
            auto it = methods.find(domain);
            const std::string method = it == methods.end() ? "" : it->second;
            const bool modelled = method.find("modelled") != std::string::npos;
            if (method.empty() || (modelled && method != "modelled")) return run;
            total += joules;
            if (!modelled) measured += joules;
        }
    }
    return total > 0 ? method_from_share(measured / total) : run;
}

std::string device_of(const RunResult& result) {
    if (!result.gpus.empty()) {
        std::vector<std::string> names;
        for (const auto& g : result.gpus) names.push_back(g.name.empty() ? "GPU" : g.name);
        if (std::all_of(names.begin(), names.end(), [&](const std::string& n) { return n == names[0]; }))
            return names.size() == 1 ? names[0] : std::to_string(names.size()) + "x " + names[0];
        std::string joined;
        for (const auto& n : names) joined += (joined.empty() ? "" : " + ") + n;
        return joined;
    }
    return result.host.cpu_model.empty() ? "unknown" : result.host.cpu_model;
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

/// Sum of the phases' samples when every phase has them.
std::optional<double> all_samples(const std::vector<const PhaseResult*>& phases) {
    if (phases.empty()) return std::nullopt;
    double sum = 0;
    for (const PhaseResult* p : phases) {
        if (!p->samples) return std::nullopt;
        sum += static_cast<double>(*p->samples);
    }
    return sum;
}

std::optional<double> samples_of_epochs(const RunResult& result) {
    auto samples = epoch_samples(result);
    return samples ? std::optional<double>(static_cast<double>(*samples)) : std::nullopt;
}

std::optional<double> ratio(std::optional<double> a, std::optional<double> b) {
    if (!a || !b || *b <= 0) return std::nullopt;
    return finite_or_null(*a / *b);
}

std::optional<double> energy_of(const std::vector<const PhaseResult*>& phases, std::optional<double> stated) {
    if (stated) return finite_or_null(stated);
    if (phases.empty()) return std::nullopt;
    double sum = 0;
    for (const PhaseResult* p : phases) sum += p->energy_j;
    return finite_or_null(sum);
}

double time_of(const std::vector<const PhaseResult*>& phases) {
    double time = 0;
    for (const PhaseResult* p : phases) time += std::max(0.0, p->end_s - p->start_s);
    return time;
}

}  // namespace

RunRow derive_row(const RunResult& result, const StoredTrace* trace) {
    RunRow row;
    row.id = result.id;
    row.name = result.name;
    row.status = result.status;
    row.started_at = result.started_at;
    if (result.partial)
        row.notes.push_back("partial result: the run did not finish; figures come from its stored readings");
    row.tags = result.tags;

    auto model = result.meta.find("model");
    row.model = model == result.meta.end() ? "" : model->second;
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
    if (auto dataset = result.meta.find("dataset"); dataset != result.meta.end())
        row.dataset = dataset->second;

    row.batch_size = meta_or_tag(result, "batch_size");
    row.learning_rate = meta_or_tag(result, "learning_rate");
    row.epochs = meta_or_tag(result, "epochs");
    if (!row.epochs && !result.epochs.empty()) row.epochs = static_cast<double>(result.epochs.size());
    row.threads = meta_or_tag(result, "threads", true);
    row.power_limit_w = meta_or_tag(result, "power_limit_w", true);
    if (!row.power_limit_w && !result.gpus.empty() && result.gpus[0].power_limit_w > 0)
        row.power_limit_w = finite_or_null(result.gpus[0].power_limit_w);
    row.params = meta_or_tag(result, "params");
    row.macs = meta_or_tag(result, "macs");
    row.macs_per_param = meta_or_tag(result, "macs_per_param");
    if (!row.macs_per_param) row.macs_per_param = ratio(row.macs, row.params);
    if (!row.params) row.notes.push_back("no params in meta");
    if (!row.macs) row.notes.push_back("no macs in meta");

    // Energy and its method: the measured share, where the run split its total into measured and modelled.
    const WindowEnergy& energy = result.energy;
    row.total_energy_j = finite_or_null(energy.total_j);
    if (row.total_energy_j && *row.total_energy_j > 0 && energy.measured_j + energy.modelled_j > 0)
        row.method = method_from_share(std::clamp(energy.measured_j / *row.total_energy_j, 0.0, 1.0));
    if (!row.total_energy_j) row.notes.push_back("no total energy");
    row.duration_s = finite_or_null(result.duration_s);
    row.mean_power_w = finite_or_null(result.mean_power_w);
    row.peak_power_w = finite_or_null(result.peak_power_w);

    // Phases: training and inference.
    const auto train = outermost_phases(result, PhaseRole::training);
    const auto infer = outermost_phases(result, PhaseRole::inference);
    row.training_energy_j = energy_of(train, result.training_energy_j);
    row.inference_energy_j = energy_of(infer, result.inference_energy_j);
    if (!train.empty()) {
        row.training_samples = all_samples(train);
        if (!row.training_samples) {
            row.training_samples = samples_of_epochs(result);
            row.notes.push_back(row.training_samples
                                    ? "training samples taken from the epochs (train phases lack samples)"
                                    : "train phases without samples: no training energy per sample");
        }
        row.training_time_s = time_of(train);
    }
    if (!infer.empty()) {
        row.inference_samples = all_samples(infer);
        if (!row.inference_samples)
            row.notes.push_back("infer phases without samples: no inference energy per sample");
        row.inference_time_s = time_of(infer);
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
        } else if ((samples = samples_of_epochs(result))) {
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
    for (const char* name : {"accuracy", "acc", "test_accuracy", "val_accuracy"}) {
        auto m = result.metrics.find(name);
        if (m == result.metrics.end() || m->second.points.empty()) continue;
        row.accuracy = finite_or_null(m->second.last());
        if (row.accuracy) {
            if (std::string(name) != "accuracy")
                row.notes.push_back(std::string("accuracy from metric '") + name + "'");
            break;
        }
    }
    if (auto loss = result.metrics.find("loss"); loss != result.metrics.end() && !loss->second.points.empty())
        row.loss = finite_or_null(loss->second.last());
    if (!row.accuracy) row.notes.push_back("no accuracy metric");
    row.classes = meta_or_tag(result, "classes");
    row.at_chance = at_chance_accuracy(row.accuracy, row.classes, row.inference_samples);
    if (row.at_chance)
        row.notes.push_back("accuracy " + format_significant(*row.accuracy) + " is at chance for " +
                            format_significant(*row.classes) + " classes (at most " +
                            format_significant(chance_accuracy_limit(*row.classes, row.inference_samples)) +
                            "): never recommended");

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
