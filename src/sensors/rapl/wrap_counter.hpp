#pragma once
// Turns raw readings of a wrapping hardware energy counter (RAPL energy_uj, in microjoules) into cumulative
// joules. A pure type with no I/O so that its arithmetic can be tested on its own.
//
// The counter runs from 0 up to max_energy_range_uj and then starts again at 0. A reading below the previous
// one is taken as exactly one wrap: the caller must read more often than the counter's wrap period (for a
// 262 kJ range at 200 W that is about 22 minutes; the sampler reads many times a second).

#include <cstdint>

namespace joulecast::sensors {

class WrapCounter {
public:
    /// max_range_uj: the zone's max_energy_range_uj; 0 when unknown or unreadable, in which case a decrease
    /// cannot be undone and is reported as an error instead.
    explicit WrapCounter(std::uint64_t max_range_uj) : m_max_range_uj(max_range_uj) {}

    /// Feeds one raw reading in microjoules. The first reading is the origin (cumulative 0).
    /// Returns false when the reading cannot be trusted: it went down while the range is unknown, or it lies
    /// above a known range. The cumulative total is then left unchanged (never negative) and the reading
    /// becomes the new reference, so that one bad interval is lost rather than every later one.
    bool update(std::uint64_t raw_uj);

    /// Energy since the first reading, in microjoules (exact) and in joules.
    std::uint64_t total_uj() const { return m_total_uj; }
    double joules() const { return static_cast<double>(m_total_uj) * 1e-6; }

    bool started() const { return m_started; }
    std::uint64_t wraps() const { return m_wraps; }    ///< wrap-arounds undone so far
    std::uint64_t errors() const { return m_errors; }  ///< readings rejected by update()
    std::uint64_t max_range_uj() const { return m_max_range_uj; }

private:
    std::uint64_t m_max_range_uj;
    std::uint64_t m_previous_uj = 0;
    std::uint64_t m_total_uj = 0;
    std::uint64_t m_wraps = 0;
    std::uint64_t m_errors = 0;
    bool m_started = false;
};

}  // namespace joulecast::sensors
