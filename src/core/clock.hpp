#pragma once
// Time in joulecast: CLOCK_MONOTONIC nanoseconds for every reading, so that control-channel clients in other
// processes can stamp their messages on the same clock.

#include <chrono>
#include <cstdint>
#include <string>

namespace joulecast::core {

/// CLOCK_MONOTONIC in nanoseconds.
std::int64_t monotonic_ns();

/// CPU time used by the calling thread, in seconds (CLOCK_THREAD_CPUTIME_ID).
double thread_cpu_seconds();

/// CPU time used by this process (user + system, all threads, children excluded), in seconds.
double process_cpu_seconds();

/// Wall-clock time now as ISO 8601 UTC with milliseconds, e.g. "2026-11-26T13:51:59.123Z".
std::string iso8601_utc_now();

inline double ns_to_s(std::int64_t ns) {
    return static_cast<double>(ns) * 1e-9;
}
inline std::int64_t s_to_ns(double s) {
    return static_cast<std::int64_t>(s * 1e9);
}

}  // namespace joulecast::core
