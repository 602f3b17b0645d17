#pragma once
// Turns the workload's control events (begin/end phase, epoch, meta, metric) into phases, epochs, meta and
// metric series of a run, with the energy of each window taken from the trace.
//
// Rules: `end NAME` closes the innermost open phase of that name; phases nest and may overlap; a phase still
// open when the run ends is closed there and marked closed=false. An `epoch` marker ends an epoch that began at
// the previous marker (or, for the first, at the start of the outermost phase open at that moment, else at the
// start of the run); phases named "epoch" are epochs too. E_tr is the energy of the union of phases named
// "train" (or "training"), E_in of those named "infer" (or "inference").

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
    void record(std::int64_t t_ns, const ControlMessage& message);

    /// Fills result.phases, epochs, E_tr, E_in, meta and metrics for a run over [start_ns, end_ns].
    void finish(RunResult& result, const Timeline& timeline, std::int64_t start_ns, std::int64_t end_ns) const;

    /// The epochs ended so far (markers, and closed phases named "epoch"), with times from `start_ns` and the
    /// energy of each from `timeline`, for a live forecast while the run goes on. Marks after `end_ns` are
    /// clamped to it.
    std::vector<EpochResult> epochs(const Timeline& timeline, std::int64_t start_ns,
                                    std::int64_t end_ns) const;

    std::uint64_t ignored() const;
    std::size_t open_phases() const;

private:
    struct Phase {
        std::string name;
        std::int64_t start_ns = 0;
        std::optional<std::int64_t> end_ns;
        std::optional<long long> samples;
        std::map<std::string, std::string> fields;
    };
    struct EpochMark {
        std::int64_t t_ns = 0;
        std::optional<long long> n;
        std::optional<long long> samples;
    };
    std::vector<EpochResult> epochs_locked(const Timeline& timeline, std::int64_t start_ns,
                                           std::int64_t end_ns, bool include_open) const;

    mutable std::mutex m_mutex;
    std::vector<Phase> m_phases;
    std::vector<EpochMark> m_epochs;
    std::map<std::string, std::string> m_meta;
    std::map<std::string, std::vector<std::pair<std::int64_t, double>>> m_metrics;
    std::uint64_t m_ignored = 0;
};

/// How a window's boundaries were measured: counter when every accounted energy counter was read within
/// `tolerance_ns` of both ends, interpolated when a counter had to be interpolated along the power timeline,
/// integrated or modelled when there is no counter at all.
PhaseBoundary boundary_method(const Timeline& timeline, std::int64_t start_ns, std::int64_t end_ns,
                              std::int64_t tolerance_ns);

}  // namespace joulecast
