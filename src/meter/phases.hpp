#pragma once
// Turns the workload's marks (begin/end phase, epoch, meta, metric, and who speaks on a connection) into
// phases, epochs, meta and metric series of a run, with the energy of each window taken from the trace. The
// marks come as typed calls: control/dispatch.hpp translates the control protocol's messages into them,
// Monitor's helpers call them directly.
//
// Rules: `end NAME` closes the innermost open phase of that name; phases nest and may overlap; a phase still
// open when the run ends is closed there and marked closed=false. An `epoch` marker ends an epoch that began
// at the previous marker (or, for the first, at the start of the outermost phase open at that moment, else at
// the start of the run); phases named "epoch" are epochs too. E_tr is the energy of the union of phases named
// "train" (or "training"), E_in of those named "infer" (or "inference").
//
// Ranks: a connection that opened with `hello rank=R ...` (hello()) speaks for rank R (several connections of
// one rank, e.g. forked data-loader workers, are one rank); one without a rank is rank-less, as with old
// clients. `end` closes a phase of the same rank only. When any rank spoke, the result describes the job: one
// phase per name and nesting (the k-th phase of a nesting path on each rank is one job phase), from the first
// rank's begin to the last rank's end, samples summed over ranks; one epoch per epoch number, spanning the
// ranks, samples summed; energy per sample = the node's energy in the window / all ranks' samples. Each
// rank's own view goes to RunResult::ranks. A rank that never ends a phase is reported (a warning,
// closed=false in its view) and the job's phase keeps the other ranks' ends.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "meter/energy.hpp"
#include "meter/run_result.hpp"

namespace joulecast::meter {

/// Who speaks on a control connection: the rank the launcher gave the process, and where it runs.
struct RankIdentity {
    long long rank = 0;
    std::optional<long long> local_rank, world_size, node_rank, pid;
    std::string launcher;  ///< "torchrun", "slurm", "openmpi", "mpich", or empty

    bool operator==(const RankIdentity&) const = default;
};

class PhaseRecorder {
public:
    /// `on_boundary`, when given, is called after each begin, end and epoch (outside the recorder's lock): a
    /// Monitor asks its sampler for fresh counter readings there.
    explicit PhaseRecorder(std::function<void()> on_boundary = {});

    // Each mark happened at CLOCK_MONOTONIC `t_ns`. Thread-safe. `connection` is the control connection the
    // mark came on (0: none, e.g. the in-process API or replayed markers: rank-less).

    /// Opens a phase. `samples`: the samples it processes, when known at its start; `fields`: the rest of the
    /// begin's k=v fields, kept with the phase.
    void begin(std::int64_t t_ns, const std::string& name, std::optional<long long> samples = std::nullopt,
               const std::map<std::string, std::string>& fields = {}, std::uint64_t connection = 0);
    /// Closes the innermost open phase `name` of the same rank; `samples`, when given, replaces its samples.
    /// With no such phase open the mark is counted in ignored() and dropped.
    void end(std::int64_t t_ns, const std::string& name, std::optional<long long> samples = std::nullopt,
             std::uint64_t connection = 0);
    /// Ends an epoch; `n` numbers it (else the epochs are counted), `samples` are those it processed.
    void epoch(std::int64_t t_ns, std::optional<long long> n = std::nullopt,
               std::optional<long long> samples = std::nullopt, std::uint64_t connection = 0);
    /// Sets a meta key; the last value wins.
    void meta(const std::string& key, const std::string& value);
    /// Appends a point to the metric's series; a value that is not finite is counted in ignored() instead.
    void metric(std::int64_t t_ns, const std::string& key, double value);
    /// The connection speaks for `identity.rank` from now on; the first hello of a rank names it. Ignored for
    /// connection 0.
    void hello(std::uint64_t connection, const RankIdentity& identity);
    /// Counts a mark that made no sense to the caller (e.g. a metric value that is not a number).
    void ignore();

    /// Fills result.phases, epochs, ranks, E_tr, E_in, meta and metrics for a run over [start_ns, end_ns].
    void finish(RunResult& result, const Timeline& timeline, std::int64_t start_ns,
                std::int64_t end_ns) const;

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
    long long rank_locked(std::uint64_t connection) const;
    bool ranked_locked() const { return !m_ranks.empty(); }

    mutable std::mutex m_mutex;
    std::vector<Phase> m_phases;
    std::vector<EpochMark> m_epochs;
    std::map<std::string, std::string> m_meta;
    std::map<std::string, std::vector<std::pair<std::int64_t, double>>> m_metrics;
    std::uint64_t m_ignored = 0;
    std::map<std::uint64_t, long long> m_connection_rank;  // connections that said hello with a rank
    std::map<long long, RankIdentity> m_ranks;             // each rank's first hello
    std::function<void()> m_on_boundary;
};

/// How a window's boundaries were measured: counter when every accounted energy counter was read within
/// `tolerance_ns` of both ends, interpolated when a counter had to be interpolated along the power timeline,
/// integrated or modelled when there is no counter at all.
PhaseBoundary boundary_method(const Timeline& timeline, std::int64_t start_ns, std::int64_t end_ns,
                              std::int64_t tolerance_ns);

}  // namespace joulecast::meter
