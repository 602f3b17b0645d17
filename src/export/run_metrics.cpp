#include "export/run_metrics.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>

#include "export/exposition.hpp"

namespace joulecast::exporter {

using meter::AttributedPart;
using meter::PhaseResult;
using meter::RunResult;

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

/// The job's own share beside the gross energy: per domain (and per GPU) whose share was measured, the
/// attributed energy and the gross energy it was taken of; and an info series per domain and GPU saying how
/// it was measured or why it could not be. The energy series say how the gross energy was obtained
/// (gross_method: counter, integrated or modelled, the domain's method in the run's result).
void attributed_energy(std::string& out, const Labels& base, const RunResult& result) {
    const std::vector<AttributedPart> parts = attributed_parts(result.attributed);
    if (parts.empty()) return;
    auto labels_of = [&](const AttributedPart& part) {
        Labels labels = base;
        labels.emplace_back("domain", part.domain);
        if (!part.device.empty()) labels.emplace_back("device", part.device);
        return labels;
    };
    auto energy_labels_of = [&](const AttributedPart& part) {
        Labels labels = labels_of(part);
        const auto method = result.energy.domain_method.find(part.domain);
        if (method != result.energy.domain_method.end() && !method->second.empty())
            labels.emplace_back("gross_method", method->second);
        return labels;
    };
    family(
        out, "joulecast_run_attributed_energy_joules_total", "counter",
        "The job's own share of the energy in joules (attributed): CPU package and DRAM energy split by the "
        "job's process-tree CPU time over busy CPU time, each GPU's (device) by the job's share of its SM "
        "utilisation, per sampling interval. Only where the share was measured: "
        "joulecast_run_attribution_info says how, or why not.");
    for (const AttributedPart& part : parts)
        if (part.attributed_j)
            sample(out, "joulecast_run_attributed_energy_joules_total", energy_labels_of(part),
                   *part.attributed_j);
    family(
        out, "joulecast_run_attributed_gross_energy_joules_total", "counter",
        "The whole device's energy in joules that each joulecast_run_attributed_energy_joules_total series "
        "is a share of (same labels, same window): divide the two for the job's share.");
    for (const AttributedPart& part : parts)
        if (part.attributed_j)
            sample(out, "joulecast_run_attributed_gross_energy_joules_total", energy_labels_of(part),
                   part.gross_j);
    family(out, "joulecast_run_attribution_info", "gauge",
           "How the job's share of a domain (or GPU) was measured (share_method), or why it could not be "
           "(reason); "
           "always 1.");
    for (const AttributedPart& part : parts) {
        Labels labels = labels_of(part);
        labels.emplace_back("measured", part.attributed_j ? "true" : "false");
        if (part.attributed_j)
            labels.emplace_back("share_method", part.method);
        else
            labels.emplace_back("reason", part.reason);
        sample(out, "joulecast_run_attribution_info", labels, 1);
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

    attributed_energy(out, base, result);

    family(out, "joulecast_run_duration_seconds", "gauge", "Time the run has measured so far, in seconds.");
    sample(out, "joulecast_run_duration_seconds", base, result.duration_s);

    family(out, "joulecast_run_epochs_total", "counter", "Epochs the run has ended.");
    sample(out, "joulecast_run_epochs_total", base, static_cast<double>(result.epochs.size()));
    family(out, "joulecast_run_epoch", "gauge",
           "Number of the last epoch the run ended (0 before the first).");
    sample(out, "joulecast_run_epoch", base,
           result.epochs.empty() ? 0.0 : static_cast<double>(result.epochs.back().n));
    family(out, "joulecast_run_last_epoch_energy_joules", "gauge",
           "Energy of the last epoch ended, in joules.");
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

namespace {

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

/// The metric name a sample line starts with, when the line is name[{labels}] value: labels are checked
/// for balanced quotes with escapes, the value for characters a number can have.
std::optional<std::string> sample_name(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i])) ++i;
    if (i == 0) return std::nullopt;
    std::string name(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
        bool quoted = false;
        for (++i; i < line.size(); ++i) {
            const char c = line[i];
            if (quoted && c == '\\') {
                ++i;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && c == '}') {
                break;
            }
        }
        if (i >= line.size()) return std::nullopt;
        ++i;
    }
    if (i >= line.size() || line[i] != ' ' || i + 1 >= line.size()) return std::nullopt;
    for (char c : line.substr(i + 1))
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == ' '))
            return std::nullopt;
    return name;
}

}  // namespace

std::string merge_run_texts(const std::vector<std::string>& texts, std::size_t* dropped) {
    struct Family {
        std::string help, type;
        std::string samples;
    };
    std::vector<std::string> order;
    std::map<std::string, Family> families;
    std::size_t bad = 0;
    auto family_of = [&](const std::string& name) -> Family& {
        auto [it, added] = families.try_emplace(name);
        if (added) order.push_back(name);
        return it->second;
    };
    constexpr std::string_view prefix = "joulecast_run_";
    for (const auto& text : texts) {
        std::size_t start = 0;
        while (start < text.size()) {
            std::size_t end = text.find('\n', start);
            const bool complete = end != std::string::npos;
            if (!complete) end = text.size();
            std::string_view line(text.data() + start, end - start);
            start = end + 1;
            if (line.empty()) continue;
            if (!complete) {  // a file cut short
                ++bad;
                continue;
            }
            if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
                const std::string_view rest = line.substr(7);
                const std::string name(rest.substr(0, rest.find(' ')));
                if (name.rfind(prefix, 0) != 0 || name.size() == rest.size()) {
                    ++bad;
                    continue;
                }
                Family& family = family_of(name);
                std::string& slot = line[2] == 'H' ? family.help : family.type;
                if (slot.empty()) slot = std::string(line) + "\n";
                continue;
            }
            const auto name = sample_name(line);
            if (!name || name->rfind(prefix, 0) != 0) {
                ++bad;
                continue;
            }
            family_of(*name).samples.append(line).append("\n");
        }
    }
    std::string out;
    for (const auto& name : order) {
        const Family& family = families[name];
        if (family.samples.empty()) continue;
        out += family.help;
        out += family.type;
        out += family.samples;
    }
    if (dropped) *dropped = bad;
    return out;
}

std::string default_runs_dir() {
    const char* dir = std::getenv("JOULECAST_RUNS_DIR");
    if (dir && *dir) return dir;
    std::error_code error;
    if (std::filesystem::is_directory("/run/joulecast", error)) return "/run/joulecast";
    return "/tmp/joulecast-runs";
}

std::string base64url(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(bytes[i]) << 16 |
                           static_cast<unsigned char>(bytes[i + 1]) << 8 |
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
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
                plain = false;
        std::string out = "/";
        out += label;
        if (plain) return out + "/" + std::string(value);
        // An empty value is "=" in base64, as the Pushgateway documents.
        return out + "@base64/" + (value.empty() ? std::string("=") : base64url(value));
    };
    return "/metrics" + segment("job", job) + segment("instance", instance) + segment("run_id", run_id);
}

}  // namespace joulecast::exporter
