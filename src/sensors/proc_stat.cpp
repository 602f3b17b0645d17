#include "sensors/proc_stat.hpp"

#include <algorithm>

#include "core/clock.hpp"
#include "core/text.hpp"

namespace joulecast::sensors {

using core::monotonic_ns;
using core::parse_int;
using core::starts_with;

std::optional<CpuTimes> parse_proc_stat_cpu(std::string_view stat_text) {
    // Called at every tick: words are taken as views, nothing is allocated.
    while (!stat_text.empty()) {
        const std::size_t newline = stat_text.find('\n');
        std::string_view line = stat_text.substr(0, newline);
        stat_text = newline == std::string_view::npos ? std::string_view{} : stat_text.substr(newline + 1);
        if (!starts_with(line, "cpu ")) continue;
        line = line.substr(4);
        std::uint64_t fields[8] = {};
        std::size_t count = 0;
        while (!line.empty()) {
            const std::size_t space = line.find(' ');
            const std::string_view word = line.substr(0, space);
            line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
            if (word.empty()) continue;
            auto value = parse_int(word);
            if (!value || *value < 0) return std::nullopt;
            if (count < 8) fields[count] = static_cast<std::uint64_t>(*value);
            ++count;
        }
        if (count < 4) return std::nullopt;
        CpuTimes times;
        for (std::size_t i = 0; i < std::min<std::size_t>(count, 8); ++i) times.total += fields[i];
        times.idle = fields[3] + (count > 4 ? fields[4] : 0);
        return times;
    }
    return std::nullopt;
}

ProcStatCpu::ProcStatCpu(std::string proc_root, std::chrono::nanoseconds share_for)
    : m_path(std::move(proc_root) + "/stat"), m_share_for_ns(share_for.count()) {}

int ProcStatCpu::open() {
    return m_file.is_open() ? 0 : m_file.open(m_path);
}

std::size_t ProcStatCpu::add_reader() {
    m_used.push_back(true);
    return m_used.size() - 1;
}

std::optional<CpuTimes> ProcStatCpu::read_file() const {
    // The aggregate line comes first and is well under 512 bytes; the rest of /proc/stat is not needed.
    char buffer[512];
    const long n = m_file.read_from_start(buffer, sizeof buffer);
    if (n <= 0) return std::nullopt;
    std::string_view text(buffer, static_cast<std::size_t>(n));
    const auto newline = text.find('\n');
    if (newline == std::string_view::npos && static_cast<std::size_t>(n) == sizeof buffer)
        return std::nullopt;
    return parse_proc_stat_cpu(text.substr(0, newline));
}

std::optional<CpuTimes> ProcStatCpu::read(std::size_t reader) {
    if (reader >= m_used.size()) return std::nullopt;
    const std::int64_t now_ns = monotonic_ns();
    if (!m_shared || m_used[reader] || now_ns - m_shared_ns > m_share_for_ns) {
        m_shared = read_file();
        m_shared_ns = now_ns;
        std::fill(m_used.begin(), m_used.end(), false);
    }
    m_used[reader] = true;
    return m_shared;
}

}  // namespace joulecast::sensors
