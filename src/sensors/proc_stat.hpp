#pragma once
// The aggregate "cpu" line of <proc_root>/stat, shared by the sensors that need it in the same tick: the CPU
// model (both its channels) and the job-cpu sensor. Reading /proc/stat is most of a tick's cost: the kernel
// formats every CPU's and every interrupt's counts on each read, 33-35 µs as the first thing a thread does
// after sleeping on this project's VM (docs/overhead.md). One read serves every sensor of a tick.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/pread_file.hpp"

namespace joulecast::sensors {

/// Jiffies (USER_HZ ticks) from the aggregate "cpu" line of /proc/stat.
struct CpuTimes {
    /// user + nice + system + idle + iowait + irq + softirq + steal. guest and guest_nice are left out: the
    /// kernel already counts them in user and nice.
    std::uint64_t total = 0;
    std::uint64_t idle = 0;  ///< idle + iowait: time no task ran
    /// user + nice + system + irq + softirq + steal: time some task or interrupt ran.
    std::uint64_t busy() const { return total - idle; }
};

/// Parses the first "cpu " line of /proc/stat text; nullopt when absent or malformed (fewer than 4 fields).
std::optional<CpuTimes> parse_proc_stat_cpu(std::string_view stat_text);

/// <proc_root>/stat kept open and re-read with pread(2). Each sensor (or channel) that reads it is a reader
/// (add_reader()). A reader gets the snapshot another reader took less than 1 ms ago (a tenth of a jiffy: the
/// same tick), unless it has used that snapshot already: so a reader read alone, or twice in a row,
/// always sees the file afresh, and the order and number of readers per tick do not matter.
/// Not thread-safe: probes run before sampling starts, reads on the sampler thread.
class ProcStatCpu {
public:
    /// share_for: how long a snapshot serves other readers (1 ms in use; tests set it longer).
    explicit ProcStatCpu(std::string proc_root,
                         std::chrono::nanoseconds share_for = std::chrono::milliseconds(1));

    /// Opens <proc_root>/stat unless already open; 0 or the errno value.
    int open();
    const std::string& path() const { return m_path; }

    /// A new reader's id, for read().
    std::size_t add_reader();
    /// The aggregate line now (see the class comment); nullopt when the read fails or the line is missing.
    std::optional<CpuTimes> read(std::size_t reader);

private:
    std::optional<CpuTimes> read_file() const;

    std::string m_path;
    std::int64_t m_share_for_ns;
    core::PreadFile m_file;
    std::optional<CpuTimes> m_shared;  ///< the last snapshot taken
    std::int64_t m_shared_ns = 0;      ///< when (CLOCK_MONOTONIC)
    std::vector<bool> m_used;          ///< per reader: has it used m_shared already
};

/// The instance the sensors share, or a private one when none is given (a sensor built on its own).
inline std::shared_ptr<ProcStatCpu> shared_or_own(std::shared_ptr<ProcStatCpu> shared,
                                                  const std::string& proc_root) {
    return shared ? std::move(shared) : std::make_shared<ProcStatCpu>(proc_root);
}

}  // namespace joulecast::sensors
