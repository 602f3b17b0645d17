#pragma once
// Observations for the forecaster from fixed time windows of a trace: for jobs that mark no epochs, such as
// inference services, or for a profile given in seconds.

#include <chrono>
#include <cstdint>
#include <vector>

#include "forecast/forecaster.hpp"
#include "meter/energy.hpp"

namespace joulecast::forecast {

/// Consecutive whole windows of length `window` from `start_ns` (CLOCK_MONOTONIC ns, as the trace): window k
/// covers [start_ns + k·window, start_ns + (k+1)·window], and only windows that end at or before `end_ns`
/// count (a trailing partial window is dropped). Each observation's energy is timeline.energy(...).total_j
/// (every accounted domain, joules), its duration_s the window length in seconds, its samples unset. Empty
/// when `window` is not positive or [start_ns, end_ns] holds no whole window.
std::vector<Observation> observations_from_windows(const meter::Timeline& timeline, std::int64_t start_ns,
                                                   std::int64_t end_ns, std::chrono::nanoseconds window);

/// The first epoch [epoch_start_ns, epoch_end_ns] cut into `count` equal windows (whole nanoseconds; the
/// rounding remainder at its end is dropped), for forecast_total's sub-epoch warm-up test. Empty when the
/// epoch is shorter than `count` ns.
std::vector<Observation> first_epoch_windows(const meter::Timeline& timeline, std::int64_t epoch_start_ns,
                                             std::int64_t epoch_end_ns, std::size_t count = 20);

/// The same windows for a trace that grows (a live forecast): each update() computes only the windows that
/// ended since the last one, plus the last `settling` windows again, since a reading that arrives late (a
/// counter read about once a second) can still move the energy just before it. Older windows are kept: every
/// channel has read past them. observations() equals observations_from_windows(timeline, start_ns, end_ns,
/// window) as long as no channel's readings lag by more than `settling` windows.
class GrowingWindows {
public:
    GrowingWindows(std::int64_t start_ns, std::chrono::nanoseconds window, std::size_t settling = 2)
        : m_start_ns(start_ns), m_window(window), m_settling(settling) {}

    /// The windows that end by `end_ns`, from `timeline` (the trace so far).
    const std::vector<Observation>& update(const meter::Timeline& timeline, std::int64_t end_ns);
    const std::vector<Observation>& observations() const { return m_observations; }

private:
    std::int64_t m_start_ns;
    std::chrono::nanoseconds m_window;
    std::size_t m_settling;
    std::vector<Observation> m_observations;
};

}  // namespace joulecast::forecast
