#pragma once
// The job's own share of a shared machine's CPU energy: CPU package and DRAM energy split by the CPU time of
// the job's process tree over all busy CPU time, interval by interval.
//
// JobCpuSensor reads, at each of its readings, the CPU ticks of the job's process tree (utime + stime +
// cutime + cstime of the command and every live descendant in <proc_root>/PID/stat, so children that exited
// and were waited for count through their parent's cutime/cstime) and the machine's busy ticks (user, nice,
// system, irq, softirq, steal of <proc_root>/stat), and gives the share of the interval since its previous
// reading as a gauge (percent). attribute_cpu_energy() multiplies each interval's share by the CPU and DRAM
// energy of that interval.
//
// Not counted: descendants that were re-parented outside the tree (daemonised) and reaped there, and the CPU
// time of the command's last interval when the command has already been reaped at the final reading.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "meter/energy.hpp"
#include "meter/trace.hpp"
#include "sensors/sensor.hpp"

namespace joulecast {

/// utime + stime + cutime + cstime (clock ticks) of `root` and its live descendants under proc_root; nullopt
/// when root's stat cannot be read (not started, or gone).
std::optional<std::uint64_t> process_tree_ticks(const std::string& proc_root, int root);
/// Busy ticks of all CPUs from <proc_root>/stat: user + nice + system + irq + softirq + steal.
std::optional<std::uint64_t> busy_cpu_ticks(const std::string& proc_root);

class JobCpuSensor : public Sensor {
public:
    static constexpr const char* share_channel = "job.cpu_share";

    explicit JobCpuSensor(std::string proc_root);

    std::string_view name() const override { return "job-cpu"; }
    /// Unavailable when <proc_root>/stat cannot be read.
    Availability probe() override;
    const std::vector<Channel>& channels() const override { return m_channels; }
    /// The job's share of busy CPU time since the previous reading, percent 0..100 (0 before a root is set).
    ReadStatus read(std::size_t channel, double& value) override;

    /// The job's root process (the command); safe to call from any thread while sampling.
    void set_root_pid(int pid) { m_root.store(pid); }

private:
    std::string m_proc_root;
    std::vector<Channel> m_channels;
    std::atomic<int> m_root{0};
    int m_root_seen = 0;             ///< the root the reference below belongs to
    std::uint64_t m_job_ticks = 0;   ///< job ticks at the previous reading
    std::uint64_t m_busy_ticks = 0;  ///< busy ticks at the previous reading
    bool m_started = false;
};

/// Energy attributed to the job beside the gross figures.
struct AttributedEnergy {
    bool measurable = false;
    std::string method;  ///< how the share was measured
    std::string reason;  ///< why not, when not measurable
    double cpu_j = 0;    ///< attributed CPU package energy
    double dram_j = 0;   ///< attributed DRAM energy
    double gross_cpu_j = 0;
    double gross_dram_j = 0;
};

/// Splits the accounted CPU and DRAM energy of [start_ns, end_ns] by the job.cpu_share readings among
/// `readings` (those of `channels`; the same trace as `timeline`). Not measurable, with the reason, when there
/// is no share reading or no CPU/DRAM energy.
AttributedEnergy attribute_cpu_energy(const Timeline& timeline, const std::vector<TraceChannel>& channels,
                                      const std::vector<Reading>& readings, std::int64_t start_ns,
                                      std::int64_t end_ns);

}  // namespace joulecast
