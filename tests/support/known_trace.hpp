#pragma once
// A known power trace for phase and rank tests: one GPU at 100 W for 10 s, its energy counter and its power
// gauge read every 100 ms, so that any window [a, b] holds exactly 100 W x (b - a) s.

#include <cstdint>
#include <vector>

#include "meter/energy.hpp"

namespace joulecast::test {

inline constexpr std::int64_t s = 1'000'000'000;

inline meter::Timeline hundred_watts() {
    sensors::Channel energy{
        "gpu0.energy", "gpu", "gpu0", sensors::Quantity::energy, sensors::Behaviour::counter,
        false,         {},    true};
    sensors::Channel power{"gpu0.power", "gpu", "gpu0", sensors::Quantity::power, sensors::Behaviour::gauge,
                           false,        {},    true};
    std::vector<meter::Reading> readings;
    for (int i = 0; i <= 100; ++i) {
        readings.push_back({i * s / 10, 0, 10.0 * i});
        readings.push_back({i * s / 10, 1, 100.0});
    }
    return meter::Timeline({{"nvml", energy}, {"nvml", power}}, readings);
}

}  // namespace joulecast::test
