#pragma once
// Turns the workload's control events (begin/end phase, epoch, meta, metric) into phases, epochs, meta and
// metric series of a run, with the energy of each window taken from the trace.
//
// Rules: `end NAME` closes the innermost open phase of that name; phases nest and may overlap; a phase still
// open when the run ends is closed there and marked closed=false. An `epoch` marker ends an epoch that began at
// the previous marker (or, for the first, at the start of the outermost phase open at that moment, else at the
// start of the run); phases named "epoch" are epochs too. E_tr is the energy of the union of phases named
// "train" (or "training"), E_in of those named "infer" (or "inference").
//
// Ranks: a connection that opened with `hello rank=R ...` speaks for rank R (several connections of one rank,
// e.g. forked data-loader workers, are one rank); one without a rank is rank-less, as with old clients. `end`
// closes a phase of the same rank only. When any rank spoke, the result describes the job: one phase per name
// and nesting (the k-th phase of a nesting path on each rank is one job phase), from the first rank's begin to
// the last rank's end, samples summed over ranks; one epoch per epoch number, spanning the ranks, samples
// summed; energy per sample = the node's energy in the window / all ranks' samples. Each rank's own view goes
// to RunResult::ranks. A rank that never ends a phase is reported (a warning, closed=false in its view) and the
// job's phase keeps the other ranks' ends.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "control/protocol.hpp"
#include "meter/energy.hpp"
#include "meter/run_result.hpp"

namespace joulecast {

class PhaseRecorder {
public:
    /// Records one event at CLOCK_MONOTONIC `t_ns`. Thread-safe. Events that make no sense (an `end` with no
    /// open phase of that name, a non-numeric metric) are counted in `ignored()` and otherwise dropped.
    /// `connection` is the ControlEvent's connection (0: no connection, e.g. replayed markers: rank-less).
    void record(std::int64_t t_ns, const ControlMessage& message, std::uint64_t connection = 0);

    /// Fills result.phases, epochs, ranks, E_tr, E_in, meta and metrics for a run over [start_ns, end_ns].
    void finish(RunResult& result, const Timeline& timeline, std::int64_t start_ns, std::int64_t end_ns) const;

    /// The epochs ended so far (markers, and closed phases named "epoch"), with times from `start_ns` and the
    /// energy of each from `timeline`, for a live forecast while the run goes on. Marks after `end_ns` are
    /// clamped to it.
    std::vector<EpochResult> epochs(const Timeline& timeline, std::int64_t start_ns,
                                    std::int64_t end_ns) const;

    std::uint64_t ignored() const;
    std::size_t open_phases() const;

private:
    static constexpr long long k_rankless = -1;
    struct Phase {
        long long rank = k_rankless;
        std::string name;
        std::int64_t start_ns = 0;
        std::optional<std::int64_t> end_ns;
        std::optional<long long> samples;
        std::map<std::string, std::string> fields;
    };
    struct EpochMark {
        long long rank = k_rankless;
        std::int64_t t_ns = 0;
        std::optional<long long> n;
        std::optional<long long> samples;
    };
    // An epoch or phase window in ns, before its energy is looked up.
    struct Span {
        std::int64_t start = 0, end = 0;
        std::optional<long long> n, samples;
    };
    // The epochs of one rank (k_rankless included), numbered.
    std::vector<Span> epoch_spans(long long rank, std::int64_t start_ns, std::int64_t end_ns,
                                  bool include_open) const;
    // The job's epochs: every rank's, merged by epoch number (with no ranks, the rank-less ones as they are).
    std::vector<EpochResult> epochs_locked(const Timeline& timeline, std::int64_t start_ns,
                                           std::int64_t end_ns, bool include_open) const;
    std::vector<long long> keys_locked() const;
    bool ranked_locked() const { return !m_ranks.empty(); }

    mutable std::mutex m_mutex;
    std::vector<Phase> m_phases;
    std::vector<EpochMark> m_epochs;
    std::map<std::string, std::string> m_meta;
    std::map<std::string, std::vector<std::pair<std::int64_t, double>>> m_metrics;
    std::uint64_t m_ignored = 0;
    std::map<std::uint64_t, long long> m_connection_rank;  // connections that said hello with a rank
    std::map<long long, ClientIdentity> m_ranks;           // each rank's first hello
};

/// How a window's boundaries were measured: counter when every accounted energy counter was read within
/// `tolerance_ns` of both ends, interpolated when a counter had to be interpolated along the power timeline,
/// integrated or modelled when there is no counter at all.
PhaseBoundary boundary_method(const Timeline& timeline, std::int64_t start_ns, std::int64_t end_ns,
                              std::int64_t tolerance_ns);

}  // namespace joulecast
