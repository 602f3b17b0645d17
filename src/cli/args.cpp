#include "cli/args.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/text.hpp"

namespace joulecast::cli {

using core::Args;
using core::duration_option;
using core::number_option;
using core::parse_double;
using core::trim;
using core::UsageError;

using sensors::parse_gpus_option;

using meter::MonitorOptions;

using carbon::CarbonOptions;

double inferences_option(const std::string& text) {
    std::string number(trim(text));
    double scale = 1;
    if (!number.empty()) {
        const char last = number.back();
        if (last == 'k' || last == 'K') scale = 1e3;
        if (last == 'M') scale = 1e6;
        if (last == 'G' || last == 'B') scale = 1e9;
        if (scale != 1) number.pop_back();
    }
    auto value = parse_double(number);
    if (!value || *value < 0 || !std::isfinite(*value * scale))
        throw UsageError("--inferences: expected a number of inferences >= 0 (e.g. 1e6, 250k, 2M), got '" +
                         text + "'");
    return *value * scale;
}

bool carbon_option(Args& args, CarbonOptions& carbon) {
    std::string text;
    if (args.value("--country", text)) {
        carbon.country = text;
    } else if (args.value("--region", text)) {
        carbon.region = text;
    } else if (args.value("--intensity", text)) {
        carbon.intensity_g_per_kwh = number_option("--intensity", text);
    } else if (args.value("--pue", text)) {
        carbon.pue = number_option("--pue", text);
    } else {
        return false;
    }
    return true;
}

double cpu_tdp_option(const std::string& text) {
    const double watts = number_option("--cpu-tdp", text);
    if (!(watts > 0 && watts <= 2000))
        throw UsageError("--cpu-tdp: expected watts above 0 and at most 2000, got '" + text + "'");
    return watts;
}

bool measuring_option(Args& args, MonitorOptions& monitor) {
    using namespace std::chrono_literals;
    std::string text;
    if (args.value("--interval", text)) {
        const auto interval = duration_option("--interval", text);
        if (interval < 10ms || interval > 10s) throw UsageError("--interval must be between 10ms and 10s");
        monitor.sampler.interval = interval;
    } else if (args.value("--cpu-tdp", text)) {
        monitor.sensors.cpu_tdp_w = cpu_tdp_option(text);
    } else if (args.value("--gpus", text)) {
        auto selection = parse_gpus_option(text, monitor.sensors.gpus);
        if (!selection) throw UsageError(selection.error());
        monitor.sensors.gpus = std::move(selection).value();
    } else {
        return false;
    }
    return true;
}

}  // namespace joulecast::cli
