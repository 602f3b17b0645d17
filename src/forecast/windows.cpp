#include "forecast/windows.hpp"

namespace joulecast::forecast {

using meter::Timeline;

std::vector<Observation> observations_from_windows(const Timeline& timeline, std::int64_t start_ns,
                                                   std::int64_t end_ns, std::chrono::nanoseconds window) {
    std::vector<Observation> observations;
    const std::int64_t step = window.count();
    if (step <= 0 || end_ns <= start_ns) return observations;
    const std::int64_t count = (end_ns - start_ns) / step;
    observations.reserve(static_cast<std::size_t>(count));
    const double duration_s = static_cast<double>(step) * 1e-9;
    for (std::int64_t k = 0; k < count; ++k) {
        const std::int64_t from = start_ns + k * step;  // from the start each time: no accumulated rounding
        Observation o;
        o.energy_j = timeline.energy(from, from + step).total_j;
        o.duration_s = duration_s;
        observations.push_back(o);
    }
    return observations;
}

std::vector<Observation> first_epoch_windows(const Timeline& timeline, std::int64_t epoch_start_ns,
                                             std::int64_t epoch_end_ns, std::size_t count) {
    if (count == 0 || epoch_end_ns <= epoch_start_ns) return {};
    const std::int64_t step = (epoch_end_ns - epoch_start_ns) / static_cast<std::int64_t>(count);
    if (step <= 0) return {};
    return observations_from_windows(timeline, epoch_start_ns,
                                     epoch_start_ns + step * static_cast<std::int64_t>(count),
                                     std::chrono::nanoseconds(step));
}

const std::vector<Observation>& GrowingWindows::update(const Timeline& timeline, std::int64_t end_ns) {
    const std::size_t keep = m_observations.size() > m_settling ? m_observations.size() - m_settling : 0;
    m_observations.resize(keep);
    const std::int64_t from = m_start_ns + static_cast<std::int64_t>(keep) * m_window.count();
    for (const Observation& o : observations_from_windows(timeline, from, end_ns, m_window))
        m_observations.push_back(o);
    return m_observations;
}

}  // namespace joulecast::forecast
