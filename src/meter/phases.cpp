#include "meter/phases.hpp"

#include <algorithm>

#include "core/clock.hpp"
#include "core/text.hpp"

namespace joulecast {

namespace {


std::optional<long long> samples_of(const ControlMessage& message) {
    if (auto samples = message.int_field("samples"); samples && *samples >= 0) return *samples;
    return std::nullopt;
}

/// Energy of the union of windows (overlapping windows counted once).
double union_energy(const Timeline& timeline, std::vector<std::pair<std::int64_t, std::int64_t>> windows) {
    std::sort(windows.begin(), windows.end());
    double joules = 0;
    std::optional<std::pair<std::int64_t, std::int64_t>> current;
    for (const auto& w : windows) {
        if (current && w.first <= current->second) {
            current->second = std::max(current->second, w.second);
            continue;
        }
        if (current) joules += timeline.energy(current->first, current->second).total_j;
        current = w;
    }
    if (current) joules += timeline.energy(current->first, current->second).total_j;
    return joules;
}

}  // namespace

void PhaseRecorder::record(std::int64_t t_ns, const ControlMessage& message) {
    std::lock_guard lock(m_mutex);
    switch (message.verb) {
        case ControlMessage::Verb::begin: {
            Phase phase;
            phase.name = message.name;
            phase.start_ns = t_ns;
            phase.samples = samples_of(message);
            for (const auto& [key, value] : message.fields)
                if (key != "samples") phase.fields[key] = value;
            m_phases.push_back(std::move(phase));
            break;
        }
        case ControlMessage::Verb::end: {
            auto open = std::find_if(m_phases.rbegin(), m_phases.rend(),
                                     [&](const Phase& p) { return p.name == message.name && !p.end_ns; });
            if (open == m_phases.rend()) {
                ++m_ignored;
                break;
            }
            open->end_ns = std::max(t_ns, open->start_ns);
            if (auto samples = samples_of(message)) open->samples = samples;
            break;
        }
        case ControlMessage::Verb::epoch:
            m_epochs.push_back({t_ns, message.int_field("n"), samples_of(message)});
            break;
        case ControlMessage::Verb::meta:
            for (const auto& [key, value] : message.fields) m_meta[key] = value;
            break;
        case ControlMessage::Verb::metric:
            for (const auto& [key, value] : message.fields) {
                if (auto number = parse_double(value)) m_metrics[key].emplace_back(t_ns, *number);
                else ++m_ignored;
            }
            break;
        case ControlMessage::Verb::hello:  // who is talking: not used yet
            break;
    }
}

std::uint64_t PhaseRecorder::ignored() const {
    std::lock_guard lock(m_mutex);
    return m_ignored;
}

std::size_t PhaseRecorder::open_phases() const {
    std::lock_guard lock(m_mutex);
    return static_cast<std::size_t>(
        std::count_if(m_phases.begin(), m_phases.end(), [](const Phase& p) { return !p.end_ns; }));
}

PhaseBoundary boundary_method(const Timeline& timeline, std::int64_t start_ns, std::int64_t end_ns,
                              std::int64_t tolerance_ns) {
    bool any_counter = false, all_read = true, any_measured = false;
    for (std::size_t c = 0; c < timeline.channels().size(); ++c) {
        const Channel& channel = timeline.channels()[c].channel;
        if (!channel.accounted || timeline.samples(c, timeline.first_ns(), timeline.last_ns()) == 0) continue;
        if (channel.quantity == Quantity::energy) {
            any_counter = true;
            all_read = all_read && timeline.read_near(c, start_ns, tolerance_ns) &&
                       timeline.read_near(c, end_ns, tolerance_ns);
        }
        if (channel.quantity == Quantity::power && !channel.modelled) any_measured = true;
    }
    if (any_counter) return all_read ? PhaseBoundary::counter : PhaseBoundary::interpolated;
    return any_measured ? PhaseBoundary::integrated : PhaseBoundary::modelled;
}

std::vector<EpochResult> PhaseRecorder::epochs_locked(const Timeline& timeline, std::int64_t start_ns,
                                                     std::int64_t end_ns, bool include_open) const {
    auto clamp = [&](std::int64_t t) { return std::clamp(t, start_ns, end_ns); };
    auto seconds = [&](std::int64_t t) { return ns_to_s(t - start_ns); };
    // Epochs from markers, then from phases named "epoch".
    struct Span {
        std::int64_t start, end;
        std::optional<long long> n, samples;
    };
    std::vector<Span> spans;
    std::vector<EpochMark> marks = m_epochs;
    std::stable_sort(marks.begin(), marks.end(), [](const auto& a, const auto& b) { return a.t_ns < b.t_ns; });
    std::optional<std::int64_t> previous;
    for (const EpochMark& mark : marks) {
        std::int64_t begin = start_ns;
        if (previous) {
            begin = *previous;
        } else {
            for (const Phase& phase : m_phases)
                if (phase.start_ns <= mark.t_ns && phase.end_ns.value_or(end_ns) >= mark.t_ns)
                    begin = std::max(start_ns, std::min(begin == start_ns ? phase.start_ns : begin, phase.start_ns));
        }
        spans.push_back({clamp(begin), clamp(mark.t_ns), mark.n, mark.samples});
        previous = mark.t_ns;
    }
    for (const Phase& phase : m_phases)
        if (phase.name == "epoch" && (include_open || phase.end_ns))
            spans.push_back({clamp(phase.start_ns), clamp(phase.end_ns.value_or(end_ns)),
                             std::nullopt, phase.samples});
    std::stable_sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    std::vector<EpochResult> epochs;
    long long counter = 0;
    for (const Span& span : spans) {
        EpochResult epoch;
        epoch.n = span.n.value_or(++counter);
        if (span.n) counter = *span.n;
        epoch.start_s = seconds(span.start);
        epoch.end_s = seconds(span.end);
        const WindowEnergy window = timeline.energy(span.start, span.end);
        epoch.energy_j = window.total_j;
        epoch.domain_j = window.domain_j;
        epoch.measured_j = window.measured_j;
        epoch.modelled_j = window.modelled_j;
        epoch.samples = span.samples;
        if (span.samples && *span.samples > 0) epoch.energy_per_sample_j = epoch.energy_j / *span.samples;
        epochs.push_back(epoch);
    }
    return epochs;
}

std::vector<EpochResult> PhaseRecorder::epochs(const Timeline& timeline, std::int64_t start_ns,
                                               std::int64_t end_ns) const {
    std::lock_guard lock(m_mutex);
    return epochs_locked(timeline, start_ns, end_ns, false);
}

void PhaseRecorder::finish(RunResult& result, const Timeline& timeline, std::int64_t start_ns,
                           std::int64_t end_ns) const {
    std::lock_guard lock(m_mutex);
    auto clamp = [&](std::int64_t t) { return std::clamp(t, start_ns, end_ns); };
    auto seconds = [&](std::int64_t t) { return ns_to_s(t - start_ns); };
    // Counters are read at phase boundaries on request; a reading within 25 ms of the boundary counts (the rest
    // is split along the measured power timeline).
    constexpr std::int64_t tolerance_ns = 25'000'000;

    result.phases.clear();
    std::vector<std::pair<std::int64_t, std::int64_t>> training, inference;
    for (const Phase& phase : m_phases) {
        const std::int64_t s = clamp(phase.start_ns), e = clamp(phase.end_ns.value_or(end_ns));
        WindowEnergy window = timeline.energy(s, e);
        PhaseResult out;
        out.name = phase.name;
        out.start_s = seconds(s);
        out.end_s = seconds(e);
        out.energy_j = window.total_j;
        out.domain_j = window.domain_j;
        out.samples = phase.samples;
        if (phase.samples && *phase.samples > 0) out.energy_per_sample_j = window.total_j / *phase.samples;
        out.boundary = boundary_method(timeline, s, e, tolerance_ns);
        out.measured_j = window.measured_j;
        out.modelled_j = window.modelled_j;
        out.fields = phase.fields;
        out.closed = phase.end_ns.has_value();
        result.phases.push_back(std::move(out));
        if (phase_role(phase.name) == PhaseRole::training) training.emplace_back(s, e);
        if (phase_role(phase.name) == PhaseRole::inference) inference.emplace_back(s, e);
    }
    result.training_energy_j = training.empty() ? std::nullopt : std::optional(union_energy(timeline, training));
    result.inference_energy_j =
        inference.empty() ? std::nullopt : std::optional(union_energy(timeline, inference));

    result.epochs = epochs_locked(timeline, start_ns, end_ns, true);

    result.meta = m_meta;
    result.metrics.clear();
    for (const auto& [name, points] : m_metrics)
        for (const auto& [t, value] : points) result.metrics[name].points.emplace_back(seconds(t), value);
}

}  // namespace joulecast
