#pragma once
// Settings the benchmarks take from the environment (e.g. JOULECAST_BENCH_SECONDS).

#include <cstdlib>

namespace joulecast::bench {

/// A positive number of seconds from environment variable `name`, or `fallback` when unset or not one.
inline double env_seconds(const char* name, double fallback) {
    const char* text = std::getenv(name);
    if (!text || !*text) return fallback;
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    return end && *end == '\0' && value > 0 ? value : fallback;
}

}  // namespace joulecast::bench
