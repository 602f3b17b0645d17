#include "report/trace_csv.hpp"

#include <cstdio>

#include "core/text.hpp"
#include "sensors/replay/replay_sensor.hpp"

namespace joulecast::report {

using core::csv_field;

using sensors::trace_csv_header;
using sensors::unit_of;

using meter::Reading;
using meter::Trace;

void write_trace_csv(std::ostream& out, const Trace& trace, std::int64_t origin_ns) {
    out << trace_csv_header << '\n';
    const auto& channels = trace.channels();
    char number[64];
    for (const Reading& r : trace.readings()) {
        if (r.channel >= channels.size()) continue;
        const auto& tc = channels[r.channel];
        std::snprintf(number, sizeof number, "%.9f", static_cast<double>(r.t_ns - origin_ns) * 1e-9);
        out << number << ',' << csv_field(tc.sensor) << ',' << csv_field(tc.channel.name) << ','
            << csv_field(tc.channel.domain) << ',' << csv_field(tc.channel.device) << ','
            << to_string(tc.channel.quantity) << ',' << to_string(tc.channel.behaviour) << ','
            << (tc.channel.modelled ? 1 : 0) << ',' << unit_of(tc.channel.quantity) << ',';
        std::snprintf(number, sizeof number, "%.17g", r.value);
        out << number << '\n';
    }
}

}  // namespace joulecast::report
