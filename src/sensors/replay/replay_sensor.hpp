#pragma once
// Plays back a recorded trace (the CSV that `joulecast run --trace` writes) as a live sensor: for tests,
// demos and forecasting work on recorded runs. Time starts at probe(); values between two recorded readings
// are interpolated linearly; after the last reading the last value holds.

#include <cstdint>
#include <string>
#include <vector>

#include "sensors/sensor.hpp"

namespace joulecast::sensors {

/// Columns of the trace CSV, in order. Shared by the writer (report/trace_csv) and the replay sensor.
inline constexpr const char* trace_csv_header =
    "t_s,sensor,channel,domain,device,quantity,behaviour,modelled,unit,value";

class ReplaySensor : public Sensor {
public:
    explicit ReplaySensor(std::string path);

    std::string_view name() const override { return "replay"; }
    Availability probe() override;
    const std::vector<Channel>& channels() const override { return m_channels; }
    ReadStatus read(std::size_t channel, double& value) override;
    std::vector<std::string> notes() const override;
    /// A run longer than the recording: its last readings are held for the rest, which is said.
    std::vector<std::string> run_warnings(double ran_s) const override;

    /// Value of a channel `elapsed_s` seconds into the recording (what read() returns at that moment).
    double value_at(std::size_t channel, double elapsed_s) const;
    /// Length of the recording in seconds.
    double duration_s() const { return m_duration_s; }

private:
    struct Series {
        std::vector<double> t_s;
        std::vector<double> values;
    };
    std::string m_path;
    std::vector<Channel> m_channels;
    std::vector<Series> m_series;
    double m_duration_s = 0;
    std::int64_t m_start_ns = 0;
};

}  // namespace joulecast::sensors
