#include "export/run_metrics.hpp"

#include <cctype>
#include <map>

#include "export/exposition.hpp"

namespace joulecast::exporter {

namespace {

/// The phases of one name, with those inside an earlier phase of the same name left out (so that a nested
/// "train" in "train" is not counted twice).
std::map<std::string, std::vector<const PhaseResult*>> by_name(const std::vector<PhaseResult>& phases) {
    std::map<std::string, std::vector<const PhaseResult*>> out;
    for (const auto& phase : phases) {
        auto& list = out[phase.name];
        bool inside = false;
        for (const PhaseResult* other : list)
            if (phase.start_s >= other->start_s && phase.end_s <= other->end_s) inside = true;
        if (!inside) list.push_back(&phase);
    }
    return out;
}

/// Labels of the run's series: run_id, and name when the run has one (an empty label is no label).
Labels run_labels(const RunResult& result) {
    Labels labels = {{"run_id", result.id}};
    if (!result.name.empty()) labels.emplace_back("name", result.name);
    return labels;
}

void phase_energy(std::string& out, const Labels& base, const std::vector<PhaseResult>& phases) {
    for (const auto& [name, list] : by_name(phases)) {
        std::map<std::string, double> domain_j;
        for (const PhaseResult* phase : list)
            for (const auto& [domain, joules] : phase->domain_j) domain_j[domain] += joules;
        for (const auto& [domain, joules] : domain_j) {
            Labels labels = base;
            labels.emplace_back("phase", name);
            labels.emplace_back("domain", domain);
            sample(out, "joulecast_run_energy_joules_total", labels, joules);
        }
    }
}

}  // namespace

std::string render_run_metrics(const RunResult& result) {
    std::string out;
    const Labels base = run_labels(result);

    family(out, "joulecast_run_info", "gauge",
           "A run measured by joulecast run; always 1. status is running until the run ends.");
    Labels info = base;
    info.emplace_back("host", result.host.hostname);
    info.emplace_back("status", to_string(result.status));
    sample(out, "joulecast_run_info", info, 1);

    family(out, "joulecast_run_energy_joules_total", "counter",
           "Energy of a run in joules, by domain: the whole run (no phase label), the phases of each name "
           "(phase), and each rank's view of them (phase, rank: the node's energy over that rank's window).");
    for (const auto& [domain, joules] : result.energy.domain_j) {
        Labels labels = base;
        labels.emplace_back("domain", domain);
        sample(out, "joulecast_run_energy_joules_total", labels, joules);
    }
    phase_energy(out, base, result.phases);
    for (const auto& rank : result.ranks) {
        Labels labels = base;
        labels.emplace_back("rank", std::to_string(rank.rank));
        phase_energy(out, labels, rank.phases);
    }

    family(out, "joulecast_run_duration_seconds", "gauge", "Time the run has measured so far, in seconds.");
    sample(out, "joulecast_run_duration_seconds", base, result.duration_s);

    family(out, "joulecast_run_epochs_total", "counter", "Epochs the run has ended.");
    sample(out, "joulecast_run_epochs_total", base, static_cast<double>(result.epochs.size()));
    family(out, "joulecast_run_epoch", "gauge", "Number of the last epoch the run ended (0 before the first).");
    sample(out, "joulecast_run_epoch", base,
           result.epochs.empty() ? 0.0 : static_cast<double>(result.epochs.back().n));
    family(out, "joulecast_run_last_epoch_energy_joules", "gauge", "Energy of the last epoch ended, in joules.");
    if (!result.epochs.empty())
        sample(out, "joulecast_run_last_epoch_energy_joules", base, result.epochs.back().energy_j);

    family(out, "joulecast_run_samples_total", "counter",
           "Samples the run's phases of each name processed, as the workload reported them.");
    for (const auto& [name, list] : by_name(result.phases)) {
        long long samples = 0;
        bool any = false;
        for (const PhaseResult* phase : list)
            if (phase->samples) {
                samples += *phase->samples;
                any = true;
            }
        if (!any) continue;
        Labels labels = base;
        labels.emplace_back("phase", name);
        sample(out, "joulecast_run_samples_total", labels, static_cast<double>(samples));
    }
    return out;
}

std::string base64url(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                           static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += alphabet[v & 63];
    }
    if (i < bytes.size()) {
        unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += i + 1 < bytes.size() ? alphabet[v >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::string pushgateway_path(std::string_view job, std::string_view instance, std::string_view run_id) {
    auto segment = [](std::string_view label, std::string_view value) {
        bool plain = !value.empty();
        for (char c : value)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) plain = false;
        std::string out = "/";
        out += label;
        if (plain) return out + "/" + std::string(value);
        // An empty value is "=" in base64, as the Pushgateway documents.
        return out + "@base64/" + (value.empty() ? std::string("=") : base64url(value));
    };
    return "/metrics" + segment("job", job) + segment("instance", instance) + segment("run_id", run_id);
}

}  // namespace joulecast::exporter
