#include "sensors/sensor.hpp"

namespace joulecast::sensors {

const char* unit_of(Quantity quantity) {
    switch (quantity) {
        case Quantity::energy:
            return "J";
        case Quantity::power:
            return "W";
        case Quantity::utilisation:
            return "%";
        case Quantity::memory:
            return "B";
        case Quantity::clock:
            return "MHz";
        case Quantity::temperature:
            return "C";
        case Quantity::power_limit:
            return "W";
    }
    return "?";
}

const char* to_string(Quantity quantity) {
    switch (quantity) {
        case Quantity::energy:
            return "energy";
        case Quantity::power:
            return "power";
        case Quantity::utilisation:
            return "utilisation";
        case Quantity::memory:
            return "memory";
        case Quantity::clock:
            return "clock";
        case Quantity::temperature:
            return "temperature";
        case Quantity::power_limit:
            return "power_limit";
    }
    return "?";
}

const char* to_string(Behaviour behaviour) {
    return behaviour == Behaviour::counter ? "counter" : "gauge";
}

const char* to_string(Method method) {
    switch (method) {
        case Method::counter:
            return "counter";
        case Method::integrated:
            return "integrated";
        case Method::modelled:
            return "modelled";
    }
    return "?";
}

}  // namespace joulecast::sensors
