#pragma once
// Energy accounting over any window of a trace: counter deltas where a counter exists, trapezoidal
// integration of power otherwise, a model where nothing is measured, and always the method that produced each
// number.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "meter/trace.hpp"

namespace joulecast::meter {

/// Energy of one device by one method over a window.
struct SourceEnergy {
    std::string sensor;   ///< e.g. "nvml"
    std::string channel;  ///< the channel the figure comes from, e.g. "gpu0.energy"
    std::string domain;   ///< "gpu", "cpu", "dram", ...
    std::string device;   ///< "gpu0", "package-0", ...
    sensors::Method method = sensors::Method::counter;
    double energy_j = 0;
    std::uint64_t samples = 0;  ///< readings of that channel inside the window
    bool accounted = true;      ///< part of the totals (false for contained zones and for secondary methods)
};

/// Where a device has both a counter and measured power: both totals and how far apart they are.
struct Disagreement {
    std::string device;
    double counter_j = 0;
    double integrated_j = 0;
    double relative() const { return counter_j != 0 ? (integrated_j - counter_j) / counter_j : 0.0; }
};

struct WindowEnergy {
    std::int64_t start_ns = 0;
    std::int64_t end_ns = 0;
    std::vector<SourceEnergy> sources;       ///< every source, primary (accounted) and secondary
    std::map<std::string, double> domain_j;  ///< accounted energy per domain
    /// Methods behind each domain's figure, e.g. {"gpu": "counter", "cpu": "modelled"}; "counter+integrated"
    /// when devices of one domain differ.
    std::map<std::string, std::string> domain_method;
    double total_j = 0;     ///< every accounted domain
    double measured_j = 0;  ///< the part of total_j from counters and integrated measured power
    double modelled_j = 0;  ///< the part of total_j from models
    std::vector<Disagreement> disagreements;

    double duration_s() const { return static_cast<double>(end_ns - start_ns) * 1e-9; }
    double mean_power_w() const { return duration_s() > 0 ? total_j / duration_s() : 0.0; }
    double domain(const std::string& name) const {
        auto it = domain_j.find(name);
        return it == domain_j.end() ? 0.0 : it->second;
    }
};

/// The (sensor, device) pairs none of whose sources counts toward `energy`'s totals: devices left out after
/// they were measured (`--gpus used`, Trace::leave_out_of_totals) and zones contained in others (RAPL core,
/// psys), whose channels are unaccounted from the start.
std::vector<std::pair<std::string, std::string>> left_out_devices(const WindowEnergy& energy);

/// The energy of GPU `device` ("gpu0", "amdgpu1") that counts toward `energy`'s totals; none when no
/// accounted source measured it.
std::optional<double> gpu_energy(const WindowEnergy& energy, const std::string& device);

/// Per-channel series built once from a trace, answering energy questions for any window in O(log n).
class Timeline {
public:
    explicit Timeline(const Trace& trace);
    Timeline(std::vector<TraceChannel> channels, const std::vector<Reading>& readings);

    /// Adds readings that came after those it holds (a live trace's new ones), at a cost in proportion to
    /// them: per channel a stamp older than its newest is skipped, as in construction.
    void extend(const std::vector<Reading>& readings);

    /// Energy of every device over [start_ns, end_ns].
    WindowEnergy energy(std::int64_t start_ns, std::int64_t end_ns) const;

    /// Accounted power summed over devices, in bins of `step_ns` over the window: {bin start ns, watts}.
    std::vector<std::pair<std::int64_t, double>> power(std::int64_t start_ns, std::int64_t end_ns,
                                                       std::int64_t step_ns) const;
    /// Highest binned total power in the window (bins of step_ns).
    double peak_power_w(std::int64_t start_ns, std::int64_t end_ns, std::int64_t step_ns) const;

    /// Energy of one channel over a window: a counter's delta (interpolated between its readings along the
    /// device's measured power where there is any) or the integral of a power gauge.
    double channel_energy(std::size_t channel, std::int64_t start_ns, std::int64_t end_ns) const;
    /// Times an energy counter went down between two readings (a reset): each is counted as no energy across
    /// the reset, and the counter's energy continues from its new value.
    std::uint64_t counter_resets(std::size_t channel) const;
    /// Readings of a channel inside a window.
    std::uint64_t samples(std::size_t channel, std::int64_t start_ns, std::int64_t end_ns) const;
    /// Whether the channel was read within `tolerance_ns` of `t_ns`.
    bool read_near(std::size_t channel, std::int64_t t_ns, std::int64_t tolerance_ns) const;

    const std::vector<TraceChannel>& channels() const { return m_channels; }
    std::int64_t first_ns() const { return m_first_ns; }
    std::int64_t last_ns() const { return m_last_ns; }

private:
    struct Series {
        std::vector<std::int64_t> t;
        std::vector<double> v;
        std::vector<double> integral;  ///< for gauges: trapezoid integral from t[0] to t[k] (value × seconds)
        double raw_last = 0;           ///< for counters: the last reading as read (v holds it without resets)
        std::uint64_t resets = 0;      ///< for counters: readings lower than the one before
    };
    double gauge_integral(const Series& s, std::int64_t t) const;  ///< integral from t[0] to t, flat outside
    double counter_value(std::size_t channel, std::int64_t t) const;
    void link_counters_to_power();

    std::vector<TraceChannel> m_channels;
    std::vector<Series> m_series;
    std::vector<std::optional<std::size_t>> m_power_of;  ///< for counters: the device's measured power gauge
    std::int64_t m_first_ns = 0;
    std::int64_t m_last_ns = 0;
    bool m_empty = true;  ///< no reading yet: m_first_ns and m_last_ns mean nothing
};

}  // namespace joulecast::meter
