#pragma once
// Modelled DRAM power where RAPL has no dram zone: a constant, installed memory × dram_watts_per_gib.
// It does not follow memory activity; every figure it yields is labelled "modelled".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sensors/sensor.hpp"

namespace joulecast::sensors {

/// 3 W per 8 GB: the RAM figure CodeCarbon documents ("3 Watts for 8 GB ratio", CodeCarbon v2 methodology),
/// which takes it from Crucial's rule of thumb for DDR3/DDR4
/// (https://www.crucial.com/support/articles-faq-memory/how-much-power-does-memory-use). CodeCarbon applies
/// it to total memory in GiB, as this model does. A rough figure: memory power follows the number of modules
/// more than their size.
inline constexpr double dram_watts_per_gib = 3.0 / 8.0;

/// MemTotal of /proc/meminfo text, in bytes (the file gives kB = KiB); nullopt when absent or malformed.
std::optional<std::uint64_t> parse_meminfo_total_bytes(std::string_view meminfo_text);

/// memory_bytes / 2^30 × dram_watts_per_gib, in watts.
double modelled_dram_power_w(std::uint64_t memory_bytes);

class DramModelSensor : public Sensor {
public:
    /// proc_root: normally "/proc" (JOULECAST_PROC_ROOT).
    explicit DramModelSensor(std::string proc_root);

    std::string_view name() const override { return "dram-model"; }
    /// Reads MemTotal from <proc_root>/meminfo once; unavailable with the reason when it cannot.
    Availability probe() override;
    /// Channel 0 "dram.power": W, gauge, modelled.
    const std::vector<Channel>& channels() const override { return m_channels; }
    ReadStatus read(std::size_t channel, double& value) override;
    std::vector<std::string> notes() const override { return m_notes; }

    double power_w() const { return m_power_w; }

private:
    std::string m_proc_root;
    double m_power_w = 0;
    std::vector<Channel> m_channels;
    std::vector<std::string> m_notes;
};

}  // namespace joulecast::sensors
