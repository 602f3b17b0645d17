#include "core/process_liveness.hpp"

#include <signal.h>

#include <cerrno>
#include <string_view>
#include <vector>

#include "core/text.hpp"

namespace joulecast::core {

std::optional<ProcessStat> process_stat(pid_t pid, const std::string& proc_root) {
    auto text = read_text_file(proc_root + "/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    auto close = text->rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::vector<std::string> fields;
    for (const auto& f : split(std::string_view(*text).substr(close + 1), ' '))
        if (!f.empty()) fields.push_back(f);
    // fields[0] is field 3 (state); start time is field 22.
    if (fields.size() < 20) return std::nullopt;
    ProcessStat stat;
    stat.state = fields[0].empty() ? '?' : fields[0][0];
    stat.start_ticks = parse_int(fields[19]).value_or(0);
    return stat;
}

bool process_alive(pid_t pid, std::int64_t start_ticks, const std::string& proc_root) {
    if (pid <= 0) return false;
    if (kill(pid, 0) != 0 && errno == ESRCH) return false;
    auto stat = process_stat(pid, proc_root);
    if (!stat) return true;  // no /proc to say more: kill() says it exists
    if (stat->state == 'Z' || stat->state == 'X') return false;
    return start_ticks == 0 || stat->start_ticks == start_ticks;
}

std::string this_boot_id(const std::string& proc_root) {
    auto text = read_text_file(proc_root + "/sys/kernel/random/boot_id");
    return text ? std::string(trim(*text)) : std::string();
}

}  // namespace joulecast::core
