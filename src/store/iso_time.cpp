#include "store/iso_time.hpp"

#include <time.h>

#include <cctype>
#include <cmath>
#include <cstdio>

namespace joulecast::store {

namespace {

/// Reads exactly `digits` decimal digits at `pos`.
bool read_number(std::string_view text, std::size_t& pos, int digits, int& out) {
    if (pos + static_cast<std::size_t>(digits) > text.size()) return false;
    out = 0;
    for (int i = 0; i < digits; ++i) {
        char c = text[pos + static_cast<std::size_t>(i)];
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        out = out * 10 + (c - '0');
    }
    pos += static_cast<std::size_t>(digits);
    return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
}

}  // namespace

std::optional<double> parse_iso8601(std::string_view text, bool local_without_zone) {
    std::size_t pos = 0;
    int year, month, day, hour = 0, minute = 0, second = 0;
    if (!read_number(text, pos, 4, year) || !expect(text, pos, '-') || !read_number(text, pos, 2, month) ||
        !expect(text, pos, '-') || !read_number(text, pos, 2, day))
        return std::nullopt;
    double fraction = 0;
    if (pos < text.size() && (text[pos] == 'T' || text[pos] == 't' || text[pos] == ' ')) {
        ++pos;
        if (!read_number(text, pos, 2, hour) || !expect(text, pos, ':') || !read_number(text, pos, 2, minute))
            return std::nullopt;
        if (pos < text.size() && text[pos] == ':') {
            ++pos;
            if (!read_number(text, pos, 2, second)) return std::nullopt;
            if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
                ++pos;
                double scale = 0.1;
                std::size_t start = pos;
                while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
                    fraction += (text[pos] - '0') * scale;
                    scale /= 10;
                    ++pos;
                }
                if (pos == start) return std::nullopt;
            }
        }
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;

    std::optional<int> offset_s;
    if (pos < text.size()) {
        char zone = text[pos++];
        if (zone == 'Z' || zone == 'z') {
            offset_s = 0;
        } else if (zone == '+' || zone == '-') {
            int zone_hours, zone_minutes = 0;
            if (!read_number(text, pos, 2, zone_hours)) return std::nullopt;
            if (pos < text.size()) {
                expect(text, pos, ':');
                if (!read_number(text, pos, 2, zone_minutes)) return std::nullopt;
            }
            offset_s = (zone == '+' ? 1 : -1) * (zone_hours * 3600 + zone_minutes * 60);
        } else {
            return std::nullopt;
        }
        if (pos != text.size()) return std::nullopt;
    }

    tm parts{};
    parts.tm_year = year - 1900;
    parts.tm_mon = month - 1;
    parts.tm_mday = day;
    parts.tm_hour = hour;
    parts.tm_min = minute;
    parts.tm_sec = second;
    time_t seconds;
    if (offset_s) {
        seconds = timegm(&parts) - *offset_s;
    } else if (local_without_zone) {
        parts.tm_isdst = -1;
        seconds = mktime(&parts);
    } else {
        seconds = timegm(&parts);
    }
    return static_cast<double>(seconds) + fraction;
}

double unix_now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string format_local_time(double unix_s, bool seconds) {
    time_t whole = static_cast<time_t>(std::floor(unix_s));
    tm parts{};
    localtime_r(&whole, &parts);
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d %02d:%02d:%02d", parts.tm_year + 1900,
                  parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
    std::string text = buffer;
    if (!seconds) text.resize(16);
    return text;
}

}  // namespace joulecast::store
