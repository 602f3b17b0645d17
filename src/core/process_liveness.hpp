#pragma once
// Whether a process still runs, read from a /proc tree: the run store uses it to tell a live run from one
// whose joulecast was killed. The proc root is a parameter so that tests can point it at a fake tree.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace joulecast::core {

/// State letter (R, S, Z, ...) and start time (clock ticks after boot) of a process, from PROC/PID/stat.
struct ProcessStat {
    char state = '?';
    std::int64_t start_ticks = 0;
};

/// PROC/PID/stat parsed, where PROC is `proc_root`; nullopt when it cannot be read or has too few fields.
std::optional<ProcessStat> process_stat(pid_t pid, const std::string& proc_root = "/proc");

/// Whether process `pid`, started at `start_ticks` (0: unknown), still runs on this machine: kill(pid, 0)
/// does not say it is gone, and PROC/PID/stat (when readable) shows neither a zombie nor another start time
/// (a reused pid). False for pid <= 0.
bool process_alive(pid_t pid, std::int64_t start_ticks, const std::string& proc_root = "/proc");

/// This boot's id (PROC/sys/kernel/random/boot_id, trimmed); empty when it cannot be read.
std::string this_boot_id(const std::string& proc_root = "/proc");

}  // namespace joulecast::core
