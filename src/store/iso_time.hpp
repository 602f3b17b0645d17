#pragma once
// ISO 8601 time stamps for the store and the `runs` command: parsing user input and stored values, and
// showing them in local time.

#include <optional>
#include <string>
#include <string_view>

namespace joulecast::store {

/// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS[.fff]" ('T' or a space between date and
/// time), with an optional zone "Z", "+HH:MM", "-HH:MM" or "+HHMM". Returns Unix seconds. A time without zone
/// is local time when `local_without_zone`, UTC otherwise. nullopt when the text is not such a time.
std::optional<double> parse_iso8601(std::string_view text, bool local_without_zone = false);

/// Unix seconds now (CLOCK_REALTIME).
double unix_now();

/// "YYYY-MM-DD HH:MM" (or with ":SS") in the local time zone.
std::string format_local_time(double unix_s, bool seconds = false);

}  // namespace joulecast::store
