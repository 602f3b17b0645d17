#pragma once
// Prometheus text exposition (format 0.0.4) of what the sensor layer reads: monotone energy counters, power
// gauges, sensor state and the agent's own figures. No HTTP and no library here: the agent (joulecast-agent)
// serves the text, and the unit tests check it byte for byte.
//
// Threading: EnergyExport is not thread-safe; the agent guards it with its own mutex.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "meter/sampler.hpp"
#include "meter/trace.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::exporter {

/// The Content-Type of the text exposition format 0.0.4.
inline constexpr const char* text_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// The Content-Type of OpenMetrics 1.0.0, for scrapers that ask for it.
inline constexpr const char* openmetrics_content_type =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether an HTTP Accept header asks for OpenMetrics (as Prometheus does by default).
bool accepts_openmetrics(std::string_view accept);

/// The text format 0.0.4 (as render_text and render_run_metrics write it) as OpenMetrics 1.0.0: a counter's
/// family is named without "_total" in its HELP and TYPE lines (its samples keep it), and "# EOF" ends it.
std::string to_openmetrics(std::string_view text);

/// A counter value that never decreases although its source may: a source that wraps at `wrap_range`
/// (joules; 0 when it does not wrap) has the wrap undone, and a source that falls back otherwise (a GPU
/// reset, a sensor re-probed) is taken to have restarted from zero, so that its new value is added on.
class MonotoneCounter {
public:
    explicit MonotoneCounter(double wrap_range = 0) : m_wrap_range(wrap_range) {}

    /// Takes the source's next raw value (joules) and returns the total since the first one.
    double update(double raw);
    double total() const { return m_total; }
    /// Source values that fell back (wraps and resets).
    std::uint64_t fallbacks() const { return m_fallbacks; }

private:
    double m_wrap_range;
    double m_total = 0;
    double m_last = 0;
    bool m_started = false;
    std::uint64_t m_fallbacks = 0;
};

struct ExportedEnergy {
    std::string domain;  ///< "gpu", "cpu", "dram", ...
    std::string device;  ///< "gpu0", "package-0", ...
    sensors::Method method = sensors::Method::counter;
    double joules = 0;  ///< since the agent started, never decreasing
    std::string uuid;   ///< the GPU's UUID where the sensor knows it (label uuid), else empty (no label)
};

struct ExportedPower {
    std::string domain;
    std::string device;
    double watts = 0;  ///< the last reading
    std::string uuid;  ///< as in ExportedEnergy
};

struct SensorState {
    std::string sensor;  ///< "nvml", "rapl", ...
    bool up = false;
    std::string reason;  ///< why it is down (empty when up)
};

/// The agent's own figures.
struct SelfMetrics {
    std::uint64_t readings = 0;     ///< sensor readings taken
    std::uint64_t read_errors = 0;  ///< transient read failures
    double scrape_duration_s = 0;   ///< time the previous /metrics answer took to build
    double cpu_s = 0;               ///< the agent's CPU time (user + system)
};

struct Snapshot {
    std::vector<ExportedEnergy> energy;
    std::vector<ExportedPower> power;
    std::vector<SensorState> sensors;
    SelfMetrics self;
};

/// The sensors' states as probed, with a sensor that was up but whose every channel has stopped since (its
/// devices lost, or no longer offering the values: ChannelStats lost / unsupported) marked down with the
/// reason. `channels` and `stats` are the sampler's, index for index.
std::vector<SensorState> sensor_states_now(std::vector<SensorState> probed,
                                           const std::vector<meter::TraceChannel>& channels,
                                           const std::vector<meter::ChannelStats>& stats);

/// A label value escaped as the text format asks: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

/// A sample value: the shortest text that reads back as the same double; NaN and infinities as Prometheus
/// spells them.
std::string format_value(double value);

/// Label names and values of one sample, in the order written.
using Labels = std::vector<std::pair<const char*, std::string>>;
/// Appends a family's "# HELP" and "# TYPE" lines.
void family(std::string& out, const char* name, const char* type, const char* help);
/// Appends one sample line, label values escaped.
void sample(std::string& out, const char* name, const Labels& labels, double value);

/// The whole exposition, families in a fixed order, series sorted by their labels.
std::string render_text(const Snapshot& snapshot);

/// Turns a trace's readings into the exported series. Energy comes from the hardware counter of a device
/// where it has one (method "counter"), otherwise from its measured power integrated over time
/// ("integrated"); a channel whose values come from a model gives method "modelled". Only accounted channels
/// count toward the energy series, so that summing them over a node does not count a contained zone twice.
class EnergyExport {
public:
    explicit EnergyExport(std::vector<meter::TraceChannel> channels);

    /// Adds readings in time order per channel (as Trace::readings returns them).
    void ingest(const std::vector<meter::Reading>& readings);

    /// The UUIDs of devices, by device name ("gpu0" -> "GPU-..."), given to their series as label uuid.
    void set_uuids(std::map<std::string, std::string> device_uuids) { m_uuids = std::move(device_uuids); }

    std::vector<ExportedEnergy> energy() const;
    std::vector<ExportedPower> power() const;

private:
    using Key = std::tuple<std::string, std::string, sensors::Method>;  // domain, device, method
    struct ChannelState {
        enum class Role { ignore, counter, integrate, gauge_only } role = Role::ignore;
        Key key;
        MonotoneCounter counter;
        double integrated_j = 0;
        double last_w = 0;
        std::int64_t last_t_ns = 0;
        bool has_last = false;
    };

    std::vector<meter::TraceChannel> m_channels;
    std::vector<ChannelState> m_state;
    std::map<std::string, std::string> m_uuids;
    std::string uuid_of(const std::string& device) const;
};

}  // namespace joulecast::exporter
