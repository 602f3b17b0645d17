#pragma once
// Modelled CPU power where no RAPL counter exists (virtual machines, the GPU machines we use):
//
//   power_w = idle_w + (tdp_w − idle_w) × utilisation,   idle_w = cpu_idle_share × tdp_w
//
// with utilisation the busy share of all logical CPUs between two reads of <proc_root>/stat. Every figure it
// yields is labelled "modelled"; notes() states the TDP and idle figures used and where they came from.
//
// TDP for the whole machine, in order of preference:
//  1. --cpu-tdp (tdp_override_w), taken as is;
//  2. the table match for <proc_root>/cpuinfo's "model name" (see cpu_tdp.hpp): per package, times the
//     packages seen ("physical id"); when the table knows the part's core count and this machine sees fewer
//     logical CPUs than the packages' cores (a VM on a slice of a large part), tdp × logical CPUs / cores,
//     i.e. each logical CPU is charged one core's share (on the high side where a vCPU is one SMT thread);
//  3. cpu_default_watts_per_cpu (the median TDP per core in cpu_tdp_cores.csv) × logical CPUs.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sensors/model/cpu_tdp.hpp"
#include "sensors/proc_stat.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors {

/// Idle power as a share of TDP. Cloud Carbon Footprint's per-vCPU coefficients, derived from
/// SPECpower_ssj2008 results, put a server's minimum (idle) power at 0.74 of 3.5 W (AWS average, 21%), 0.71
/// of 4.26 W (GCP median, 17%) and 0.78 of 3.76 W (Azure average, 21%) of its maximum; 20% is the round
/// figure between them. Source: https://www.cloudcarbonfootprint.org/docs/methodology/ (Compute).
inline constexpr double cpu_idle_share = 0.20;

/// Watts per logical CPU when the model name is not in the tables: the median TDP per core over the 3,735
/// rows of data/cpu_tdp_cores.csv (40 W over 3 cores), as CpuTdpTables::builtin().median_watts_per_core()
/// computes it; a unit test recomputes it from the table, so a table update that moves it is noticed. Kept
/// as a constant so that probing never parses the whole table.
inline constexpr double cpu_default_watts_per_cpu = 40.0 / 3.0;

/// Number of "cpuN" lines in /proc/stat text: the logical CPUs online.
unsigned count_stat_cpus(std::string_view stat_text);

/// Busy share 0..1 between two snapshots; nullopt when no tick passed or a counter went backwards.
std::optional<double> utilisation_between(const CpuTimes& before, const CpuTimes& after);

/// The model: idle_share × tdp_w + (1 − idle_share) × tdp_w × utilisation, in watts; utilisation (0..1) is
/// clamped to 0..1.
double modelled_cpu_power_w(double tdp_w, double idle_share, double utilisation);

/// What /proc/cpuinfo says about the processor.
struct CpuInfo {
    std::string model_name;   ///< first "model name" value; empty when absent (e.g. most ARM kernels)
    unsigned packages = 1;    ///< distinct "physical id" values; 1 when there are none
    unsigned processors = 0;  ///< "processor" entries
};
CpuInfo parse_cpuinfo(std::string_view cpuinfo_text);

/// The machine's TDP and a sentence saying where it came from.
struct CpuTdpChoice {
    double tdp_w = 0;
    std::string source;
};

/// Applies the rule in the header comment. logical_cpus >= 1; default_watts_per_cpu > 0.
CpuTdpChoice choose_cpu_tdp(std::optional<double> override_w, const std::optional<CpuTdpMatch>& match,
                            unsigned logical_cpus, unsigned packages, double default_watts_per_cpu);

class CpuModelSensor : public Sensor {
public:
    /// proc_root: normally "/proc" (JOULECAST_PROC_ROOT). tdp_override_w: --cpu-tdp, whole machine, in watts.
    /// proc_stat: the <proc_root>/stat reader shared with the job-cpu sensor (a private one when null).
    CpuModelSensor(std::string proc_root, std::optional<double> tdp_override_w,
                   std::shared_ptr<ProcStatCpu> proc_stat = nullptr);

    std::string_view name() const override { return "cpu-model"; }
    /// Unavailable when <proc_root>/stat cannot be read or the override is not a positive number.
    Availability probe() override;
    /// Channel 0 "cpu.power" (W, modelled); channel 1 "cpu.utilisation" (%, measured).
    const std::vector<Channel>& channels() const override { return m_channels; }
    /// One pread(2) of <proc_root>/stat, shared by the two channels (and the job-cpu sensor) when read within
    /// 1 ms of each other (one tick; see ProcStatCpu); each channel keeps its own previous snapshot, so the
    /// order and number of channels read per tick does not matter. The first read compares with probe()'s
    /// snapshot. Both channels are read every 200 ms (see probe()).
    /// When no tick has passed since that channel's last read, the last value is returned again.
    ReadStatus read(std::size_t channel, double& value) override;
    std::vector<std::string> notes() const override { return m_notes; }

    /// The machine's TDP in watts chosen by probe().
    double tdp_w() const { return m_tdp_w; }

private:
    std::string m_proc_root;
    std::optional<double> m_override_w;
    std::shared_ptr<ProcStatCpu> m_proc_stat;
    std::size_t m_readers[2] = {};  ///< per channel, its reader id in m_proc_stat
    double m_tdp_w = 0;
    std::vector<Channel> m_channels;
    std::vector<CpuTimes> m_previous;        ///< per channel
    std::vector<double> m_last_utilisation;  ///< per channel, 0..1
    std::vector<std::string> m_notes;
};

}  // namespace joulecast::sensors
