#include "meter/trace.hpp"

namespace joulecast::meter {

using sensors::Quantity;

Trace::Trace(const Trace& other) : m_channels(other.m_channels), m_readings(other.readings()) {}

Trace& Trace::operator=(const Trace& other) {
    if (this != &other) {
        auto copy = other.readings();
        std::lock_guard lock(m_mutex);
        m_channels = other.m_channels;
        m_readings = std::move(copy);
    }
    return *this;
}

void Trace::append(const std::vector<Reading>& batch) {
    std::lock_guard lock(m_mutex);
    m_readings.insert(m_readings.end(), batch.begin(), batch.end());
}

void Trace::leave_out_of_totals(const std::string& domain, const std::vector<std::string>& devices) {
    for (auto& tc : m_channels)
        if (tc.channel.domain ==
            domain)  // every channel of the device: a GPU without a counter counts by power
            for (const auto& device : devices)
                if (tc.channel.device == device) tc.channel.accounted = false;
}

std::vector<Reading> Trace::readings(std::size_t first) const {
    std::lock_guard lock(m_mutex);
    if (first >= m_readings.size()) return {};
    return {m_readings.begin() + static_cast<std::ptrdiff_t>(first), m_readings.end()};
}

std::size_t Trace::size() const {
    std::lock_guard lock(m_mutex);
    return m_readings.size();
}

}  // namespace joulecast::meter
