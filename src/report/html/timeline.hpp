#pragma once
// Power over time of one stored run, per energy domain, reduced to at most a few thousand points for a chart.
//
// Per device of a domain the timeline uses its power gauge (measured, or modelled for model sensors); a
// device with only an energy counter (RAPL) gets its power from the counter's differences. Readings are
// averaged into equal time bins (a gauge: mean of its readings in the bin; a counter: the energy that falls
// into the bin, spread evenly between two readings, over the time covered); a bin without a reading holds the
// device's previous value. A domain's power is the sum over its devices.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "store/run_store.hpp"

namespace joulecast::report {

/// The power of one domain over time.
struct PowerSeries {
    std::string domain;  ///< "gpu", "cpu", "dram", ...
    /// How the values were obtained: "measured" (power gauges of a sensor), "counter" (differences of an
    /// energy counter), "modelled" (a model's power); devices obtained differently join with '+'.
    std::string method;
    std::vector<std::string> channels;  ///< "sensor:channel" of every channel used, e.g. "nvml:gpu0.power"
    std::vector<std::optional<double>>
        power_w;  ///< per bin, watts; nullopt before any device's first reading
};

struct PowerTimeline {
    double start_s = 0;  ///< seconds from the run's origin (its command's start)
    double bin_s = 0;    ///< width of every bin, seconds; bin i is centred at start_s + (i + 0.5) × bin_s
    std::size_t bins = 0;
    std::vector<PowerSeries> series;  ///< gpu, cpu, dram first, then other domains by name
    std::vector<std::string> notes;   ///< e.g. why the timeline is empty

    double bin_centre_s(std::size_t i) const { return start_s + (static_cast<double>(i) + 0.5) * bin_s; }
};

/// The power timeline of `trace` over [0, duration_s] (over the readings' own span when duration_s is not
/// given), in at most `max_bins` bins (fewer when the densest channel has fewer readings). Channels not
/// accounted in the totals (RAPL core/uncore inside their package) are left out. Never throws; an empty
/// trace gives an empty timeline with a note.
PowerTimeline power_timeline(const store::StoredTrace& trace, std::optional<double> duration_s,
                             std::size_t max_bins = 1200);

}  // namespace joulecast::report
