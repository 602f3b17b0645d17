#pragma once
// The job's share of the machine's busy CPU time, read as a sensor: a gauge (percent) of the CPU time of the
// command's process tree over all busy CPU time, interval by interval. meter/attribution.hpp turns it into
// the job's attributed CPU and DRAM energy.
//
// At each reading: the CPU ticks of the job's process tree (utime + stime + cutime + cstime of the command
// and every live descendant in <proc_root>/PID/stat, so children that exited and were waited for count
// through their parent's cutime/cstime) and the machine's busy ticks (user, nice, system, irq, softirq, steal
// of <proc_root>/stat).
//
// Processes outside the command's tree that speak for the job (add_job_root: a joined run's ranks) add their
// own trees' ticks, from the first reading after they joined; one inside a tree already counted adds nothing.
//
// Not counted: descendants that were re-parented outside the tree (daemonised) and reaped there, and the CPU
// time of the command's last interval when the command has already been reaped at the final reading (for a
// joined process, of its last interval before it exited).

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/pread_file.hpp"
#include "sensors/proc_stat.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors {

/// utime + stime + cutime + cstime (clock ticks) of `root` and its live descendants under proc_root; nullopt
/// when root's stat cannot be read (not started, or gone).
std::optional<std::uint64_t> process_tree_ticks(const std::string& proc_root, int root);
/// Whether `pid` is `root` or one of its descendants: follows the ppid fields of <proc_root>/PID/stat up to
/// root (or to pid 1 or a process that cannot be read: false). Cheap for the few pids a GPU lists.
bool in_process_tree(const std::string& proc_root, int root, int pid);
/// Busy ticks of all CPUs from <proc_root>/stat: user + nice + system + irq + softirq + steal.
std::optional<std::uint64_t> busy_cpu_ticks(const std::string& proc_root);

class JobCpuSensor : public Sensor {
public:
    static constexpr const char* share_channel = "job.cpu_share";

    /// proc_stat: the <proc_root>/stat reader shared with the CPU model (a private one when null).
    explicit JobCpuSensor(std::string proc_root, std::shared_ptr<ProcStatCpu> proc_stat = nullptr);

    std::string_view name() const override { return "job-cpu"; }
    /// Unavailable when <proc_root>/stat cannot be read.
    Availability probe() override;
    const std::vector<Channel>& channels() const override { return m_channels; }
    /// The job's share of busy CPU time since the previous reading, percent 0..100 (0 before a root is set).
    ReadStatus read(std::size_t channel, double& value) override;

    /// The job's root process (the command); safe to call from any thread while sampling.
    void set_root_pid(int pid) { m_root.store(pid); }
    /// A process outside the command's tree that speaks for the job: its tree's CPU time is the job's from
    /// the next reading on. Safe from any thread.
    void add_job_root(int pid);

private:
    /// The ticks the joined trees (add_job_root) used since the previous reading; adopts the roots added
    /// since, and forgets those gone.
    std::uint64_t more_roots_delta(int root);

    /// Busy ticks from the first line of <proc_root>/stat, through the shared reader.
    std::optional<std::uint64_t> read_busy_ticks();
    /// process_tree_ticks(proc_root, root), reading the root's own files through descriptors kept open.
    std::optional<std::uint64_t> read_job_ticks(int root);

    std::string m_proc_root;
    std::shared_ptr<ProcStatCpu> m_proc_stat;
    std::size_t m_reader = 0;         ///< this sensor's reader id in m_proc_stat
    core::PreadFile m_root_stat;      ///< <proc_root>/ROOT/stat
    core::PreadFile m_root_children;  ///< <proc_root>/ROOT/task/ROOT/children
    int m_open_root = 0;              ///< the root those two were opened for
    std::string m_buffer;             ///< reused by the reads of the root's descendants
    std::vector<Channel> m_channels;
    std::atomic<int> m_root{0};
    int m_root_seen = 0;             ///< the root the reference below belongs to
    std::uint64_t m_job_ticks = 0;   ///< job ticks at the previous reading
    std::uint64_t m_busy_ticks = 0;  ///< busy ticks at the previous reading
    bool m_started = false;
    std::mutex m_pending_mutex;
    std::vector<int> m_pending_roots;  ///< added by add_job_root, not yet adopted by a reading
    std::map<int, std::uint64_t>
        m_more_roots;  ///< adopted joined roots: their tree's ticks at the last reading
};

}  // namespace joulecast::sensors
