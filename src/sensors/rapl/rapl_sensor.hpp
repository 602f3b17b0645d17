#pragma once
// CPU package, DRAM and platform energy from the Linux powercap interface (RAPL):
// <sysfs_root>/class/powercap/intel-rapl:N[:M]/{name,energy_uj,max_energy_range_uj}. AMD CPUs use the same
// intel-rapl names. Zones are matched by their `name` file, never by index:
//
//   name          channel                   domain  device      counted in totals
//   package-N     package-N.energy          cpu     package-N   yes
//   dram (sub)    package-N.dram.energy     dram    package-N   yes (DRAM is outside the package domain)
//   core (sub)    package-N.core.energy     core    package-N   no  (contained in the package)
//   uncore (sub)  package-N.uncore.energy   uncore  package-N   no  (contained in the package)
//   psys          psys.energy               psys    psys        only when no package zone exists
//
// intel-rapl-mmio:N zones are used only when no intel-rapl zone has the same name (they measure the same
// package through MMIO). Every channel is an energy counter in joules since probe(), wrap-arounds undone.

#include <string>
#include <vector>

#include "core/pread_file.hpp"
#include "sensors/rapl/wrap_counter.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors {

class RaplSensor : public Sensor {
public:
    /// sysfs_root: normally "/sys" (JOULECAST_SYSFS_ROOT); tests point it at a fake tree.
    explicit RaplSensor(std::string sysfs_root);

    std::string_view name() const override { return "rapl"; }
    /// Unavailable when <root>/class/powercap is missing or has no usable zone, or when any zone's energy_uj
    /// is not readable for lack of permission (root-only since Linux 5.10): the reason names the file.
    Availability probe() override;
    const std::vector<Channel>& channels() const override { return m_channels; }
    /// One pread(2) of the zone's energy_uj; value in joules since probe().
    ReadStatus read(std::size_t channel, double& value) override;
    /// Which zones were found, which channels they became, and which are excluded from totals and why.
    std::vector<std::string> notes() const override { return m_notes; }

private:
    struct Zone {
        core::PreadFile energy;  ///< <zone>/energy_uj, kept open
        WrapCounter counter{0};
    };

    std::string m_root;
    std::vector<Channel> m_channels;
    std::vector<Zone> m_zones;  ///< parallel to m_channels
    std::vector<std::string> m_notes;
};

}  // namespace joulecast::sensors
