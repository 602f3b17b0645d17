#include "sensors/model/dram_model.hpp"

#include <cstdio>

#include "core/text.hpp"

namespace joulecast::sensors {

using core::parse_int;
using core::read_text_file;
using core::split;
using core::starts_with;
using core::trim;

std::optional<std::uint64_t> parse_meminfo_total_bytes(std::string_view meminfo_text) {
    for (const auto& line : split(meminfo_text, '\n')) {
        if (!starts_with(line, "MemTotal:")) continue;
        std::string_view rest = trim(std::string_view(line).substr(9));
        if (rest.size() < 2 || rest.substr(rest.size() - 2) != "kB") return std::nullopt;
        auto kib = parse_int(rest.substr(0, rest.size() - 2));
        if (!kib || *kib <= 0) return std::nullopt;
        return static_cast<std::uint64_t>(*kib) * 1024u;
    }
    return std::nullopt;
}

double modelled_dram_power_w(std::uint64_t memory_bytes) {
    return static_cast<double>(memory_bytes) / (1024.0 * 1024.0 * 1024.0) * dram_watts_per_gib;
}

DramModelSensor::DramModelSensor(std::string proc_root) : m_proc_root(std::move(proc_root)) {}

Availability DramModelSensor::probe() {
    m_channels.clear();
    m_notes.clear();
    const std::string path = m_proc_root + "/meminfo";
    auto text = read_text_file(path);
    if (!text) return Availability::no("cannot model DRAM power: " + text.error());
    auto bytes = parse_meminfo_total_bytes(*text);
    if (!bytes) return Availability::no("cannot model DRAM power: no MemTotal line in " + path);
    m_power_w = modelled_dram_power_w(*bytes);

    Channel power;
    power.name = "dram.power";
    power.domain = "dram";
    power.device = "dram";
    power.quantity = Quantity::power;
    power.behaviour = Behaviour::gauge;
    power.modelled = true;
    // A constant: its energy over any window is the same whether it is read every tick or every second
    // (the sampler reads every channel at the start and the end, and a slow one at a boundary when its last
    // reading is 200 ms old).
    power.min_period = std::chrono::milliseconds(1000);
    m_channels = {power};

    char line[256];
    std::snprintf(line, sizeof line,
                  "DRAM power is MODELLED, not measured: %.2f GiB (MemTotal) x %.3f W/GiB = %.2f W",
                  static_cast<double>(*bytes) / (1024.0 * 1024.0 * 1024.0), dram_watts_per_gib, m_power_w);
    m_notes.push_back(line);
    m_notes.push_back(
        "0.375 W/GiB is 3 W per 8 GB, the RAM figure CodeCarbon documents (Crucial's rule of thumb "
        "for DDR3/DDR4); constant, it does not follow memory activity");
    return Availability::yes();
}

ReadStatus DramModelSensor::read(std::size_t channel, double& value) {
    if (channel >= m_channels.size()) return ReadStatus::error;
    value = m_power_w;
    return ReadStatus::ok;
}

}  // namespace joulecast::sensors
