#include "sensors/model/cpu_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/format.hpp"
#include "core/text.hpp"

namespace joulecast::sensors {

using core::format_fixed;
using core::read_text_file;
using core::split;
using core::starts_with;
using core::trim;

namespace {

/// "280", "8.75", "13.33": watts for notes, to the hundredth.
std::string watts_text(double watts) {
    std::string text = format_fixed(watts, 2);
    while (!text.empty() && text.back() == '0') text.pop_back();
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
}

}  // namespace

unsigned count_stat_cpus(std::string_view stat_text) {
    unsigned count = 0;
    for (const auto& line : split(stat_text, '\n'))
        if (line.size() > 3 && starts_with(line, "cpu") && std::isdigit(static_cast<unsigned char>(line[3])))
            ++count;
    return count;
}

std::optional<double> utilisation_between(const CpuTimes& before, const CpuTimes& after) {
    if (after.total <= before.total) return std::nullopt;
    const std::uint64_t total = after.total - before.total;
    // iowait may decrease (proc(5)); treat a shrinking idle count as no idle time, never as negative.
    const std::uint64_t idle = std::min(total, after.idle >= before.idle ? after.idle - before.idle : 0);
    return static_cast<double>(total - idle) / static_cast<double>(total);
}

double modelled_cpu_power_w(double tdp_w, double idle_share, double utilisation) {
    const double u = std::clamp(utilisation, 0.0, 1.0);
    const double idle_w = idle_share * tdp_w;
    return idle_w + (tdp_w - idle_w) * u;
}

CpuInfo parse_cpuinfo(std::string_view cpuinfo_text) {
    CpuInfo info;
    std::set<std::string> packages;
    for (const auto& line : split(cpuinfo_text, '\n')) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const auto key = trim(std::string_view(line).substr(0, colon));
        const auto value = trim(std::string_view(line).substr(colon + 1));
        if (key == "model name" && info.model_name.empty())
            info.model_name = std::string(value);
        else if (key == "physical id")
            packages.insert(std::string(value));
        else if (key == "processor")
            ++info.processors;
    }
    info.packages = packages.empty() ? 1 : static_cast<unsigned>(packages.size());
    return info;
}

CpuTdpChoice choose_cpu_tdp(std::optional<double> override_w, const std::optional<CpuTdpMatch>& match,
                            unsigned logical_cpus, unsigned packages, double default_watts_per_cpu) {
    logical_cpus = std::max(logical_cpus, 1u);
    packages = std::max(packages, 1u);
    if (override_w) return {*override_w, "--cpu-tdp " + watts_text(*override_w) + " W (given by the user)"};

    if (match) {
        std::string source =
            "\"" + match->name + "\" in " + match->table + ": " + watts_text(match->tdp_w) + " W per package";
        if (match->cores && logical_cpus < *match->cores * packages) {
            const double tdp = match->tdp_w * logical_cpus / *match->cores;
            source += ", " + std::to_string(*match->cores) + " cores; this machine sees " +
                      std::to_string(logical_cpus) +
                      " logical CPUs, each charged one core's share: " + watts_text(match->tdp_w) + " x " +
                      std::to_string(logical_cpus) + " / " + std::to_string(*match->cores) + " = " +
                      watts_text(tdp) + " W";
            return {tdp, source};
        }
        const double tdp = match->tdp_w * packages;
        source += (match->cores ? ", " + std::to_string(*match->cores) + " cores"
                                : std::string(", cores unknown")) +
                  "; x " + std::to_string(packages) + " package(s) = " + watts_text(tdp) + " W";
        return {tdp, source};
    }

    const double tdp = default_watts_per_cpu * logical_cpus;
    return {tdp, "no table entry: default " + watts_text(default_watts_per_cpu) +
                     " W per logical CPU (the median TDP per core in cpu_tdp_cores.csv) x " +
                     std::to_string(logical_cpus) + " logical CPUs = " + watts_text(tdp) + " W"};
}

CpuModelSensor::CpuModelSensor(std::string proc_root, std::optional<double> tdp_override_w,
                               std::shared_ptr<ProcStatCpu> proc_stat)
    : m_proc_root(std::move(proc_root)),
      m_override_w(tdp_override_w),
      m_proc_stat(shared_or_own(std::move(proc_stat), m_proc_root)) {
    for (auto& reader : m_readers) reader = m_proc_stat->add_reader();
}

Availability CpuModelSensor::probe() {
    m_channels.clear();
    m_previous.clear();
    m_last_utilisation.clear();
    m_notes.clear();

    if (m_override_w && !(std::isfinite(*m_override_w) && *m_override_w > 0))
        return Availability::no("--cpu-tdp must be a positive number of watts, not " +
                                watts_text(*m_override_w));

    const std::string stat_path = m_proc_root + "/stat";
    auto stat_text = read_text_file(stat_path);
    if (!stat_text) return Availability::no("cannot model CPU power: " + stat_text.error());
    if (int error = m_proc_stat->open(); error != 0)
        return Availability::no("cannot model CPU power: cannot open " + stat_path + ": " +
                                std::strerror(error));
    auto first = m_proc_stat->read(m_readers[0]);
    if (!first) return Availability::no("cannot model CPU power: no aggregate \"cpu\" line in " + stat_path);

    const std::string cpuinfo_path = m_proc_root + "/cpuinfo";
    auto cpuinfo_text = read_text_file(cpuinfo_path);
    CpuInfo info;
    if (cpuinfo_text) info = parse_cpuinfo(*cpuinfo_text);
    unsigned logical = count_stat_cpus(*stat_text);
    if (logical == 0) logical = std::max(info.processors, 1u);

    std::optional<CpuTdpMatch> match;
    if (!m_override_w && !info.model_name.empty()) match = CpuTdpTables::builtin().find(info.model_name);
    const CpuTdpChoice choice =
        choose_cpu_tdp(m_override_w, match, logical, info.packages, cpu_default_watts_per_cpu);
    m_tdp_w = choice.tdp_w;

    Channel power;
    power.name = "cpu.power";
    power.domain = "cpu";
    power.device = "cpu";
    power.quantity = Quantity::power;
    power.behaviour = Behaviour::gauge;
    power.modelled = true;
    // Jiffies tick at 100 Hz: a 200 ms interval holds 20 per CPU, so utilisation moves in steps of 5% or less
    // on a single CPU. Every 200 ms, as the job-cpu sensor, so that both use one read of /proc/stat (the
    // costly part of a tick, see ProcStatCpu). The model is linear in utilisation, so its energy over a
    // window does not depend on the interval: idle x time + (TDP - idle) x busy jiffies / jiffies per second.
    power.min_period = std::chrono::milliseconds(200);
    Channel utilisation = power;
    utilisation.name = "cpu.utilisation";
    utilisation.quantity = Quantity::utilisation;
    utilisation.modelled = false;
    m_channels = {power, utilisation};
    // Until a tick passes, report the average utilisation since boot rather than nothing.
    const double since_boot = utilisation_between(CpuTimes{}, *first).value_or(0.0);
    m_previous.assign(m_channels.size(), *first);
    m_last_utilisation.assign(m_channels.size(), since_boot);

    const double idle_w = cpu_idle_share * m_tdp_w;
    m_notes.push_back("CPU power is MODELLED, not measured: power = idle + (TDP - idle) x utilisation");
    if (!cpuinfo_text)
        m_notes.push_back("CPU model unknown: " + cpuinfo_text.error());
    else if (info.model_name.empty())
        m_notes.push_back("CPU model unknown: no \"model name\" in " + cpuinfo_path);
    else
        m_notes.push_back("CPU model \"" + info.model_name + "\"");
    m_notes.push_back(std::to_string(logical) + " logical CPUs, " + std::to_string(info.packages) +
                      " package(s)");
    m_notes.push_back("TDP " + watts_text(m_tdp_w) + " W: " + choice.source);
    m_notes.push_back(
        "idle " + watts_text(idle_w) + " W = 20% of TDP (Cloud Carbon Footprint's " +
        "SPECpower-derived min/max watts per vCPU: AWS 0.74/3.5, GCP 0.71/4.26, Azure 0.78/3.76, " +
        "i.e. 17-21% at idle)");
    m_notes.push_back("utilisation: busy share of all logical CPUs from " + stat_path +
                      " (busy = total - idle - iowait)");
    return Availability::yes();
}

ReadStatus CpuModelSensor::read(std::size_t channel, double& value) {
    if (channel >= m_channels.size()) return ReadStatus::error;
    auto now = m_proc_stat->read(m_readers[channel]);
    if (!now) return ReadStatus::error;
    CpuTimes& previous = m_previous[channel];
    if (now->total < previous.total) {
        // Counters went backwards (CPU hot-unplug): restart from here.
        previous = *now;
        return ReadStatus::error;
    }
    if (auto utilisation = utilisation_between(previous, *now)) {
        previous = *now;
        m_last_utilisation[channel] = *utilisation;
    }
    const double utilisation = m_last_utilisation[channel];
    value = channel == 0 ? modelled_cpu_power_w(m_tdp_w, cpu_idle_share, utilisation) : utilisation * 100.0;
    return ReadStatus::ok;
}

}  // namespace joulecast::sensors
