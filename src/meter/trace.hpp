#pragma once
// Every reading the sampler takes, in time order per channel: the raw material of all energy accounting.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "sensors/sensor.hpp"

namespace joulecast::meter {

/// A channel of one sensor, as the trace knows it.
struct TraceChannel {
    std::string sensor;  ///< the sensor's name(), e.g. "nvml"
    sensors::Channel channel;
};

struct Reading {
    std::int64_t t_ns;      ///< CLOCK_MONOTONIC at the middle of the read
    std::uint32_t channel;  ///< index into Trace::channels()
    double value;           ///< SI units (see Quantity); energy counters cumulative since probe
};

/// Append-only and thread-safe: the sampler appends, readers take copies.
class Trace {
public:
    Trace() = default;
    explicit Trace(std::vector<TraceChannel> channels) : m_channels(std::move(channels)) {}
    Trace(std::vector<TraceChannel> channels, std::vector<Reading> readings)
        : m_channels(std::move(channels)), m_readings(std::move(readings)) {}
    Trace(const Trace& other);
    Trace& operator=(const Trace& other);

    const std::vector<TraceChannel>& channels() const { return m_channels; }

    void append(const std::vector<Reading>& batch);
    /// Leaves the energy channels of `domain` whose device is in `devices` out of every total (`--gpus
    /// used`). Only while nothing reads or samples the trace: after the sampler has stopped.
    void leave_out_of_totals(const std::string& domain, const std::vector<std::string>& devices);
    /// Copies of the readings from `first` on (all of them by default).
    std::vector<Reading> readings(std::size_t first = 0) const;
    std::size_t size() const;

private:
    std::vector<TraceChannel> m_channels;
    mutable std::mutex m_mutex;
    std::vector<Reading> m_readings;
};

}  // namespace joulecast::meter
