#include "meter/run_result.hpp"

#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/clock.hpp"
#include "core/text.hpp"
#include "core/units.hpp"

namespace joulecast::meter {

using core::co2e_grams;
using core::monotonic_ns;
using core::ns_to_s;
using core::to_lower;

using sensors::SensorSet;

void append_counter_reset_warnings(RunResult& result, const Timeline& timeline) {
    const auto& channels = timeline.channels();
    for (std::size_t c = 0; c < channels.size(); ++c) {
        const std::uint64_t resets = timeline.counter_resets(c);
        if (resets == 0) continue;
        result.warnings.push_back(
            "energy counter " + channels[c].sensor + "/" + channels[c].channel.name + " went down " +
            std::to_string(resets) + (resets == 1 ? " time" : " times") +
            " (a reset): no energy was counted across a reset, only from the new value on");
    }
}

void account_run(RunResult& result, const Sampler& sampler, const SensorSet& sensors, std::int64_t start_ns,
                 std::int64_t end_ns, std::optional<std::int64_t> idle_start_ns) {
    Timeline timeline(sampler.trace());
    result.duration_s = ns_to_s(end_ns - start_ns);
    result.origin_monotonic_ns = start_ns;
    result.energy = timeline.energy(start_ns, end_ns);
    result.mean_power_w = result.energy.mean_power_w();
    // NVML updates power about every 100 ms: finer bins would only show noise.
    const std::int64_t bin = std::max<std::int64_t>(sampler.interval().count(), 100'000'000);
    result.peak_power_w = timeline.peak_power_w(start_ns, end_ns, bin);
    append_counter_reset_warnings(result, timeline);

    if (idle_start_ns && *idle_start_ns < start_ns) {
        WindowEnergy idle = timeline.energy(*idle_start_ns, start_ns);
        IdleBaseline baseline;
        baseline.duration_s = idle.duration_s();
        baseline.power_w = idle.mean_power_w();
        for (const auto& [domain, joules] : idle.domain_j)
            baseline.domain_power_w[domain] = joules / idle.duration_s();
        result.net_energy_j = result.energy.total_j - baseline.power_w * result.duration_s;
        result.idle = baseline;
    }

    result.gpus = sensors.gpus();
    result.fallbacks = sensors.fallbacks;
    result.sensors.clear();
    for (const auto& probed : sensors.sensors) {
        SensorReport report{std::string(probed.sensor->name()),
                            probed.availability.available,
                            probed.used,
                            probed.availability.reason,
                            probed.role,
                            {}};
        if (probed.availability.available) report.notes = probed.sensor->notes();
        result.sensors.push_back(std::move(report));
    }
    result.problems.clear();
    const auto stats = sampler.stats();
    const auto& channels = sampler.trace().channels();
    for (std::size_t i = 0; i < stats.size() && i < channels.size(); ++i) {
        if (stats[i].errors == 0 && !stats[i].lost && !stats[i].unsupported) continue;
        result.problems.push_back({channels[i].sensor, channels[i].channel.name, stats[i].errors,
                                   stats[i].unsupported, stats[i].lost});
    }
    result.overhead.readings = sampler.readings();
    result.overhead.sampler_cpu_s = sampler.thread_cpu_s();
    result.overhead.interval_s = ns_to_s(sampler.interval().count());
}

PhaseRole phase_role(std::string_view name) {
    const std::string lower = to_lower(name);
    if (lower == "train" || lower == "training") return PhaseRole::training;
    if (lower == "infer" || lower == "inference") return PhaseRole::inference;
    return PhaseRole::other;
}

std::vector<const PhaseResult*> outermost_phases(const RunResult& result, PhaseRole role) {
    std::vector<const PhaseResult*> all;
    for (const auto& p : result.phases)
        if (phase_role(p.name) == role) all.push_back(&p);
    std::stable_sort(all.begin(), all.end(), [](const PhaseResult* a, const PhaseResult* b) {
        return a->start_s != b->start_s ? a->start_s < b->start_s : a->end_s > b->end_s;
    });
    std::vector<const PhaseResult*> outer;
    for (const PhaseResult* p : all)
        if (outer.empty() || p->start_s >= outer.back()->end_s || p->end_s > outer.back()->end_s)
            outer.push_back(p);
    return outer;
}

namespace {

/// A sum of sample counts: none when one count is missing; `overflow` when it passes 2^63 - 1.
struct SampleSum {
    std::optional<long long> total;
    bool overflow = false;
};

bool add_checked(long long& total, long long more) {
    return !__builtin_add_overflow(total, more, &total);
}

SampleSum epoch_sample_sum(const RunResult& result) {
    if (result.epochs.empty()) return {};
    long long total = 0;
    bool overflow = false;
    for (const auto& e : result.epochs) {
        if (!e.samples) return {};
        if (!add_checked(total, *e.samples)) overflow = true;
    }
    return overflow ? SampleSum{std::nullopt, true} : SampleSum{total, false};
}

SampleSum phase_sample_sum(const RunResult& result) {
    // Outermost phases only: a "train" phase holding "epoch" phases must not count its samples twice.
    const auto& phases = result.phases;
    long long total = 0;
    bool any = false;
    bool overflow = false;
    for (std::size_t i = 0; i < phases.size(); ++i) {
        bool inside = false;
        for (std::size_t k = 0; k < phases.size() && !inside; ++k) {
            if (k == i) continue;
            const bool contains =
                phases[k].start_s <= phases[i].start_s && phases[k].end_s >= phases[i].end_s;
            const bool same = phases[k].start_s == phases[i].start_s && phases[k].end_s == phases[i].end_s;
            inside = contains && (!same || k < i);
        }
        if (inside) continue;
        if (!phases[i].samples) return {};
        if (!add_checked(total, *phases[i].samples)) overflow = true;
        any = true;
    }
    if (overflow) return {std::nullopt, true};
    return any ? SampleSum{total, false} : SampleSum{};
}

}  // namespace

std::optional<long long> epoch_samples(const RunResult& result) {
    return epoch_sample_sum(result).total;
}

std::optional<long long> run_samples(const RunResult& result) {
    const SampleSum epochs = epoch_sample_sum(result);
    if (epochs.total || epochs.overflow) return epochs.total;
    return phase_sample_sum(result).total;
}

bool samples_overflow(const RunResult& result) {
    const SampleSum epochs = epoch_sample_sum(result);
    if (epochs.total || epochs.overflow) return epochs.overflow;
    return phase_sample_sum(result).overflow;
}

std::optional<double> co2e_of(const RunResult& result, double energy_j) {
    if (!result.carbon) return std::nullopt;
    return co2e_grams(energy_j, result.carbon->intensity_g_per_kwh, result.carbon->pue);
}

std::optional<double> co2e_per_sample_g(const RunResult& result, double energy_j,
                                        std::optional<long long> samples) {
    if (!samples || *samples <= 0) return std::nullopt;
    auto grams = co2e_of(result, energy_j);
    if (!grams) return std::nullopt;
    return *grams / static_cast<double>(*samples);
}

std::string new_run_id() {
    unsigned char bytes[8] = {};
    if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
        auto now = static_cast<unsigned long long>(monotonic_ns());
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(now >> (8 * i));
    }
    char text[17];
    for (int i = 0; i < 8; ++i) std::snprintf(text + 2 * i, 3, "%02x", bytes[i]);
    return text;
}

}  // namespace joulecast::meter
