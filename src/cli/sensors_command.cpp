// joulecast sensors [--json]: every sensor, available or not and why, with its channels.

#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "core/text.hpp"
#include "sensors/registry.hpp"

namespace joulecast::cli {

using core::Args;
using core::UsageError;

using sensors::make_sensor_set;
using sensors::SensorConfig;
using sensors::SensorSet;
using sensors::unit_of;

const char* const sensors_usage = R"(usage: joulecast sensors [--json] [--cpu-tdp W] [--replay FILE.csv]

Lists every sensor joulecast knows, whether it is available here (and if not, why), whether it is used,
and its channels with unit and behaviour (counter or gauge).
)";

int sensors_command(const std::vector<std::string>& raw) {
    Args args(raw);
    bool json = false;
    SensorConfig config = SensorConfig::from_environment();
    std::string text;
    while (!args.done()) {
        if (args.flag("--json"))
            json = true;
        else if (args.value("--cpu-tdp", text))
            config.cpu_tdp_w = cpu_tdp_option(text);
        else if (args.value("--replay", config.replay_path))
            continue;
        else
            throw UsageError("unknown argument '" + args.peek() + "'");
    }
    SensorSet set = make_sensor_set(config);

    if (json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& probed : set.sensors) {
            nlohmann::ordered_json channels = nlohmann::ordered_json::array();
            if (probed.availability.available) {
                for (const auto& c : probed.sensor->channels())
                    channels.push_back({{"name", c.name},
                                        {"domain", c.domain},
                                        {"device", c.device},
                                        {"quantity", to_string(c.quantity)},
                                        {"unit", unit_of(c.quantity)},
                                        {"behaviour", to_string(c.behaviour)},
                                        {"modelled", c.modelled},
                                        {"accounted", c.accounted},
                                        {"min_period_ms", c.min_period.count()}});
            }
            out.push_back({{"name", std::string(probed.sensor->name())},
                           {"available", probed.availability.available},
                           {"used", probed.used},
                           {"reason", probed.availability.reason},
                           {"role", probed.role},
                           {"notes", probed.availability.available ? probed.sensor->notes()
                                                                   : std::vector<std::string>{}},
                           {"channels", channels}});
        }
        std::cout << nlohmann::ordered_json{{"sensors", out}, {"fallbacks", set.fallbacks}}.dump(2) << '\n';
        return 0;
    }

    for (const auto& probed : set.sensors) {
        std::string state = !probed.availability.available ? "unavailable"
                            : probed.used                  ? "used"
                                                           : "available, not used";
        std::cout << probed.sensor->name() << ": " << state;
        if (!probed.availability.available) std::cout << ": " << probed.availability.reason;
        std::cout << "\n  role: " << probed.role << '\n';
        if (!probed.availability.available) continue;
        for (const auto& note : probed.sensor->notes()) std::cout << "  " << note << '\n';
        for (const auto& c : probed.sensor->channels()) {
            std::cout << "    " << c.name << "  [" << unit_of(c.quantity) << ", " << to_string(c.behaviour)
                      << (c.modelled ? ", modelled" : "") << (c.accounted ? "" : ", not in totals");
            if (c.min_period.count() > 0) std::cout << ", every " << c.min_period.count() << " ms";
            std::cout << "]\n";
        }
    }
    for (const auto& f : set.fallbacks) std::cout << "note: " << f << '\n';
    return 0;
}

}  // namespace joulecast::cli
