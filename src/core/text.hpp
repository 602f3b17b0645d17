#pragma once
// Small text and file helpers shared by parsers, sensors and the CLI.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace joulecast::core {

std::string_view trim(std::string_view text);
std::vector<std::string> split(std::string_view text, char separator);
std::string to_lower(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view text);
/// `text` with every ill-formed UTF-8 sequence (a stray byte, a truncated or overlong character, a surrogate)
/// replaced by U+FFFD, one per maximal ill-formed subpart as Unicode recommends. Valid text is returned as
/// is.
std::string repair_utf8(std::string_view text);

/// Parses a duration such as "5s", "100ms", "2.5s", "1m", "10us" or a bare number of seconds.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// Parses a whole string as a finite double / a signed 64-bit integer; nothing else may follow.
std::optional<double> parse_double(std::string_view text);
std::optional<long long> parse_int(std::string_view text);

/// Reads a whole file; the error names the path and the system's reason.
Result<std::string> read_text_file(const std::string& path);

/// Creates `path` and every missing folder above it with mode 0700 (existing ones are left as they are).
/// Returns "" on success, else the system's reason.
std::string create_private_directories(const std::string& path);

/// One parsed CSV table: a header row and data rows. Handles double-quoted fields with embedded commas
/// and doubled quotes; CR/LF line ends. Rows shorter than the header are padded with empty fields.
struct CsvTable {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    /// Index of a header column, or -1.
    int column(std::string_view name) const;
};
CsvTable parse_csv(std::string_view text);

/// Quotes a field for CSV output when it needs it.
std::string csv_field(std::string_view value);

}  // namespace joulecast::core
