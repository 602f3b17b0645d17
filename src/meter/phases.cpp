#include "meter/phases.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "core/clock.hpp"

namespace joulecast::meter {

using core::ns_to_s;

using sensors::Channel;
using sensors::Quantity;

namespace {

/// A sample count, or nothing when it is negative (no count).
std::optional<long long> counted(std::optional<long long> samples) {
    if (samples && *samples >= 0) return samples;
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

PhaseRecorder::PhaseRecorder(std::function<void()> on_boundary) : m_on_boundary(std::move(on_boundary)) {}

long long PhaseRecorder::rank_locked(std::uint64_t connection) const {
    if (connection == 0) return k_rankless;
    auto it = m_connection_rank.find(connection);
    return it == m_connection_rank.end() ? k_rankless : it->second;
}

void PhaseRecorder::begin(std::int64_t t_ns, const std::string& name, std::optional<long long> samples,
                          const std::map<std::string, std::string>& fields, std::uint64_t connection) {
    {
        std::lock_guard lock(m_mutex);
        Phase phase;
        phase.rank = rank_locked(connection);
        phase.name = name;
        phase.start_ns = t_ns;
        phase.samples = counted(samples);
        phase.fields = fields;
        m_phases.push_back(std::move(phase));
    }
    if (m_on_boundary) m_on_boundary();
}

void PhaseRecorder::end(std::int64_t t_ns, const std::string& name, std::optional<long long> samples,
                        std::uint64_t connection) {
    {
        std::lock_guard lock(m_mutex);
        const long long rank = rank_locked(connection);
        auto open = std::find_if(m_phases.rbegin(), m_phases.rend(), [&](const Phase& p) {
            return p.rank == rank && p.name == name && !p.end_ns;
        });
        if (open == m_phases.rend()) {
            ++m_ignored;
        } else {
            open->end_ns = std::max(t_ns, open->start_ns);
            if (auto n = counted(samples)) open->samples = n;
        }
    }
    if (m_on_boundary) m_on_boundary();
}

void PhaseRecorder::epoch(std::int64_t t_ns, std::optional<long long> n, std::optional<long long> samples,
                          std::uint64_t connection) {
    {
        std::lock_guard lock(m_mutex);
        m_epochs.push_back({rank_locked(connection), t_ns, n, counted(samples)});
    }
    if (m_on_boundary) m_on_boundary();
}

void PhaseRecorder::meta(const std::string& key, const std::string& value) {
    std::lock_guard lock(m_mutex);
    m_meta[key] = value;
}

void PhaseRecorder::metric(std::int64_t t_ns, const std::string& key, double value) {
    std::lock_guard lock(m_mutex);
    if (std::isfinite(value))
        m_metrics[key].emplace_back(t_ns, value);
    else
        ++m_ignored;
}

void PhaseRecorder::hello(std::uint64_t connection, const RankIdentity& identity) {
    if (connection == 0) return;
    std::lock_guard lock(m_mutex);
    m_connection_rank[connection] = identity.rank;
    m_ranks.emplace(identity.rank, identity);  // the first hello of a rank names it (its main pid)
}

void PhaseRecorder::ignore() {
    std::lock_guard lock(m_mutex);
    ++m_ignored;
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

std::vector<long long> PhaseRecorder::keys_locked() const {
    std::set<long long> keys;
    for (const Phase& phase : m_phases) keys.insert(phase.rank);
    for (const EpochMark& mark : m_epochs) keys.insert(mark.rank);
    for (const auto& [rank, identity] : m_ranks) keys.insert(rank);
    return {keys.begin(), keys.end()};
}

std::vector<PhaseRecorder::Span> PhaseRecorder::epoch_spans(long long rank, std::int64_t start_ns,
                                                            std::int64_t end_ns, bool include_open) const {
    auto clamp = [&](std::int64_t t) { return std::clamp(t, start_ns, end_ns); };
    // Epochs from markers, then from phases named "epoch".
    std::vector<Span> spans;
    std::vector<EpochMark> marks;
    for (const EpochMark& mark : m_epochs)
        if (mark.rank == rank) marks.push_back(mark);
    std::stable_sort(marks.begin(), marks.end(),
                     [](const auto& a, const auto& b) { return a.t_ns < b.t_ns; });
    std::optional<std::int64_t> previous;
    for (const EpochMark& mark : marks) {
        std::int64_t begin = start_ns;
        if (previous) {
            begin = *previous;
        } else {
            for (const Phase& phase : m_phases)
                if (phase.rank == rank && phase.start_ns <= mark.t_ns &&
                    phase.end_ns.value_or(end_ns) >= mark.t_ns)
                    begin = std::max(start_ns,
                                     std::min(begin == start_ns ? phase.start_ns : begin, phase.start_ns));
        }
        spans.push_back({clamp(begin), clamp(mark.t_ns), mark.n, mark.samples});
        previous = mark.t_ns;
    }
    for (const Phase& phase : m_phases)
        if (phase.rank == rank && phase.name == "epoch" && (include_open || phase.end_ns))
            spans.push_back(
                {clamp(phase.start_ns), clamp(phase.end_ns.value_or(end_ns)), std::nullopt, phase.samples});
    std::stable_sort(spans.begin(), spans.end(),
                     [](const auto& a, const auto& b) { return a.start < b.start; });
    long long counter = 0;
    for (Span& span : spans) {
        if (!span.n)
            span.n = ++counter;
        else
            counter = *span.n;
    }
    return spans;
}

namespace {

EpochResult epoch_result(const Timeline& timeline, std::int64_t origin_ns, long long n, std::int64_t start,
                         std::int64_t end, std::optional<long long> samples, bool per_sample) {
    EpochResult epoch;
    epoch.n = n;
    epoch.start_s = ns_to_s(start - origin_ns);
    epoch.end_s = ns_to_s(end - origin_ns);
    const WindowEnergy window = timeline.energy(start, end);
    epoch.energy_j = window.total_j;
    epoch.domain_j = window.domain_j;
    epoch.measured_j = window.measured_j;
    epoch.modelled_j = window.modelled_j;
    epoch.samples = samples;
    if (per_sample && samples && *samples > 0) epoch.energy_per_sample_j = epoch.energy_j / *samples;
    return epoch;
}

std::optional<long long> add_samples(std::optional<long long> total, std::optional<long long> more) {
    if (!more) return total;
    // Saturates: the run's sum then passes 2^63 - 1 too, and run_samples reports it unknown with a warning.
    long long sum = 0;
    if (__builtin_add_overflow(total.value_or(0), *more, &sum)) return std::numeric_limits<long long>::max();
    return sum;
}

}  // namespace

std::vector<EpochResult> PhaseRecorder::epochs_locked(const Timeline& timeline, std::int64_t start_ns,
                                                      std::int64_t end_ns, bool include_open) const {
    std::vector<EpochResult> epochs;
    if (!ranked_locked()) {
        for (const Span& span : epoch_spans(k_rankless, start_ns, end_ns, include_open))
            epochs.push_back(
                epoch_result(timeline, start_ns, *span.n, span.start, span.end, span.samples, true));
        return epochs;
    }
    // One epoch per number across the ranks: the first rank's start to the last rank's end, samples summed.
    std::map<long long, Span> merged;
    for (long long rank : keys_locked())
        for (const Span& span : epoch_spans(rank, start_ns, end_ns, include_open)) {
            auto [it, fresh] = merged.try_emplace(*span.n, span);
            if (fresh) continue;
            it->second.start = std::min(it->second.start, span.start);
            it->second.end = std::max(it->second.end, span.end);
            it->second.samples = add_samples(it->second.samples, span.samples);
        }
    for (const auto& [n, span] : merged)
        epochs.push_back(epoch_result(timeline, start_ns, n, span.start, span.end, span.samples, true));
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
    // Counters are read at phase boundaries on request; a reading within 25 ms of the boundary counts (the
    // rest is split along the measured power timeline).
    constexpr std::int64_t tolerance_ns = 25'000'000;

    // A window with the node's energy; `per_sample` divides it by `samples` (the job's views only: a rank's
    // samples are a share of the work the node's energy paid for).
    auto make_phase = [&](const Phase& phase, std::int64_t s, std::int64_t e, bool closed, bool per_sample) {
        WindowEnergy window = timeline.energy(s, e);
        PhaseResult out;
        out.name = phase.name;
        out.start_s = seconds(s);
        out.end_s = seconds(e);
        out.energy_j = window.total_j;
        out.domain_j = window.domain_j;
        out.samples = phase.samples;
        if (per_sample && phase.samples && *phase.samples > 0)
            out.energy_per_sample_j = window.total_j / *phase.samples;
        out.boundary = boundary_method(timeline, s, e, tolerance_ns);
        out.measured_j = window.measured_j;
        out.modelled_j = window.modelled_j;
        out.fields = phase.fields;
        out.closed = closed;
        return out;
    };

    // The job's phases. Without ranks each recorded phase is one; with ranks the k-th phase of one nesting
    // path (the names of the phases of the same rank open around it, then its own) on each rank is one job
    // phase.
    struct JobPhase {
        Phase phase;                         // name, fields, summed samples, earliest start
        std::optional<std::int64_t> end_ns;  // the last end of a rank that ended it
    };
    std::vector<JobPhase> job;
    std::map<std::pair<std::string, std::size_t>, std::size_t> job_index;  // (path, occurrence) -> job
    const bool ranked = ranked_locked();
    for (long long rank : keys_locked()) {
        std::map<std::string, std::size_t> occurrences;
        std::vector<const Phase*> seen;
        for (const Phase& phase : m_phases) {
            if (phase.rank != rank) continue;
            std::string path;
            for (const Phase* outer : seen)
                if (outer->start_ns <= phase.start_ns && outer->end_ns.value_or(end_ns + 1) > phase.start_ns)
                    path += outer->name + '/';
            path += phase.name;
            seen.push_back(&phase);
            const std::size_t k = occurrences[path]++;
            auto [it, fresh] = job_index.try_emplace({path, ranked ? k : job.size()}, job.size());
            if (fresh) {
                job.push_back({phase, phase.end_ns});
                continue;
            }
            JobPhase& merged = job[it->second];
            merged.phase.start_ns = std::min(merged.phase.start_ns, phase.start_ns);
            if (phase.end_ns) merged.end_ns = std::max(merged.end_ns.value_or(*phase.end_ns), *phase.end_ns);
            merged.phase.samples = add_samples(merged.phase.samples, phase.samples);
            for (const auto& [key, value] : phase.fields) merged.phase.fields.try_emplace(key, value);
        }
    }
    if (ranked)  // ranks interleave in the record; without ranks the record's order stays
        std::stable_sort(job.begin(), job.end(), [](const JobPhase& a, const JobPhase& b) {
            return a.phase.start_ns < b.phase.start_ns;
        });

    result.phases.clear();
    std::vector<std::pair<std::int64_t, std::int64_t>> training, inference;
    for (const JobPhase& merged : job) {
        const std::int64_t s = clamp(merged.phase.start_ns), e = clamp(merged.end_ns.value_or(end_ns));
        result.phases.push_back(make_phase(merged.phase, s, e, merged.end_ns.has_value(), true));
        if (phase_role(merged.phase.name) == PhaseRole::training) training.emplace_back(s, e);
        if (phase_role(merged.phase.name) == PhaseRole::inference) inference.emplace_back(s, e);
    }
    result.training_energy_j =
        training.empty() ? std::nullopt : std::optional(union_energy(timeline, training));
    result.inference_energy_j =
        inference.empty() ? std::nullopt : std::optional(union_energy(timeline, inference));

    result.epochs = epochs_locked(timeline, start_ns, end_ns, true);

    // Each rank's own view.
    result.ranks.clear();
    for (const auto& [rank, identity] : m_ranks) {
        RankResult view;
        view.rank = rank;
        view.local_rank = identity.local_rank;
        view.world_size = identity.world_size;
        view.node_rank = identity.node_rank;
        view.pid = identity.pid;
        view.launcher = identity.launcher;
        for (const Phase& phase : m_phases) {
            if (phase.rank != rank) continue;
            const std::int64_t s = clamp(phase.start_ns), e = clamp(phase.end_ns.value_or(end_ns));
            view.phases.push_back(make_phase(phase, s, e, phase.end_ns.has_value(), false));
            if (!phase.end_ns)
                result.warnings.push_back(
                    "rank " + std::to_string(rank) + " never ended its phase '" + phase.name +
                    "' (closed at the end of the run in its view; the job's phase keeps the "
                    "other ranks' data)");
        }
        for (const Span& span : epoch_spans(rank, start_ns, end_ns, true))
            view.epochs.push_back(
                epoch_result(timeline, start_ns, *span.n, span.start, span.end, span.samples, false));
        result.ranks.push_back(std::move(view));
    }

    result.meta = m_meta;
    result.metrics.clear();
    for (const auto& [name, points] : m_metrics)
        for (const auto& [t, value] : points) result.metrics[name].points.emplace_back(seconds(t), value);
}

}  // namespace joulecast::meter
