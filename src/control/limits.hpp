#pragma once
// Bounds on what a workload can make joulecast hold through the control channel. Without them 150k open
// phases took 679 MB, and 100k distinct metric names took 99 s to report. Markers beyond a limit are dropped
// and counted; the run reports the counts in `control` and a warning.
//
// - At most k_max_open_phases phases open at once: a `begin` beyond it is dropped, and so is the `end` that
//   closes that dropped phase (so that it cannot close another phase of the same name).
// - At most k_max_metric_names distinct metric names: a value for a new name beyond it is dropped.
// - At most k_max_metric_points metric values in all (500k values took 285 MB): later values are dropped.

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "control/protocol.hpp"

namespace joulecast::control {

class ControlLimits {
public:
    static constexpr std::size_t k_max_open_phases = 1000;
    static constexpr std::size_t k_max_metric_names = 1000;
    static constexpr std::uint64_t k_max_metric_points = 100000;

    /// Decides on one message, in arrival order: false when it is dropped whole; a metric message may lose
    /// some of its fields. Not thread-safe: call it from the control thread only.
    bool admit(ControlMessage& message);

    std::uint64_t dropped_phases() const { return m_dropped_phases; }  ///< `begin`s dropped
    std::uint64_t dropped_metric_points() const { return m_dropped_metric_points; }

private:
    std::size_t m_open = 0;
    /// Per phase name, the open phases in order, true for those admitted (false: dropped).
    std::map<std::string, std::vector<bool>> m_open_by_name;
    std::set<std::string> m_metric_names;
    std::uint64_t m_dropped_phases = 0;
    std::uint64_t m_dropped_metric_points = 0;
    std::uint64_t m_metric_points = 0;  ///< values admitted
};

}  // namespace joulecast::control
