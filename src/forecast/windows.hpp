#pragma once
// Observations for the forecaster from fixed time windows of a trace: for jobs that mark no epochs, such as
// inference services, or for a profile given in seconds.

#include <chrono>
#include <cstdint>
#include <vector>

#include "forecast/forecaster.hpp"
#include "meter/energy.hpp"

namespace joulecast {

/// Consecutive whole windows of length `window` from `start_ns` (CLOCK_MONOTONIC ns, as the trace): window k
/// covers [start_ns + k·window, start_ns + (k+1)·window], and only windows that end at or before `end_ns`
/// count (a trailing partial window is dropped). Each observation's energy is timeline.energy(...).total_j
/// (every accounted domain, joules), its duration_s the window length in seconds, its samples unset. Empty
/// when `window` is not positive or [start_ns, end_ns] holds no whole window.
std::vector<Observation> observations_from_windows(const Timeline& timeline, std::int64_t start_ns,
                                                   std::int64_t end_ns, std::chrono::nanoseconds window);

}  // namespace joulecast
