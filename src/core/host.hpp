#pragma once
// A description of the machine a run happened on, for results and for calibration lookups.

#include <cstdint>
#include <string>

namespace joulecast::core {

struct HostInfo {
    std::string hostname;
    std::string cpu_model;           ///< "model name" from cpuinfo, or "" when unknown
    unsigned cores = 0;              ///< logical CPUs online
    std::uint64_t memory_bytes = 0;  ///< MemTotal
};

/// Reads the host description from `proc_root` (normally "/proc").
HostInfo read_host_info(const std::string& proc_root);

}  // namespace joulecast::core
