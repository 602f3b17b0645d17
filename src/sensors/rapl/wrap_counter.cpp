#include "sensors/rapl/wrap_counter.hpp"

namespace joulecast::sensors {

bool WrapCounter::update(std::uint64_t raw_uj) {
    if (m_max_range_uj != 0 && raw_uj > m_max_range_uj) {
        // Not a value this counter can hold: keep the previous reference.
        ++m_errors;
        return false;
    }
    if (!m_started) {
        m_started = true;
        m_previous_uj = raw_uj;
        return true;
    }
    if (raw_uj >= m_previous_uj) {
        m_total_uj += raw_uj - m_previous_uj;
    } else if (m_max_range_uj != 0) {
        m_total_uj += m_max_range_uj - m_previous_uj + raw_uj;
        ++m_wraps;
    } else {
        // A decrease with no known range: the interval's energy is unknown. Re-base rather than go negative.
        m_previous_uj = raw_uj;
        ++m_errors;
        return false;
    }
    m_previous_uj = raw_uj;
    return true;
}

}  // namespace joulecast::sensors
