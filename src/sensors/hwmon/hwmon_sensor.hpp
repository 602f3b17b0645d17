#pragma once
// The power meters Linux already exposes through hwmon: <sysfs_root>/class/hwmon/hwmon*/ with
//   energyN_input   µJ, a monotone counter kept by the driver (64-bit; a decrease is a driver reset)
//   powerN_input    µW, a gauge (instantaneous); powerN_average µW, a gauge (the driver's average), used
//                   where powerN_input is missing
//   inN_input × currN_input   mV × mA = µW, for ina3221 rails that expose no power file
// Each hwmon device is classified by its driver `name` (and each input by its `label`); every channel's
// behaviour is that of its file, and energy from power gauges is integrated by the meter ("integrated").
//
//   driver               domain  device           counted in totals
//   amdgpu               gpu     amdgpu<k>        yes, unless ROCm SMI measures AMD GPUs (then not read)
//   i915, xe             gpu     intel-gpu<k>     the card counter (label "card" or none, else the first);
//                                                 other energy inputs (xe "pkg") no: contained in the card
//   amd_energy           cpu     amd-socket<n>    Esocket<n> counters, unless RAPL measures the CPU (then
//                                                 not read); Ecore counters are never read (inside sockets)
//   ina3221, ina2xx      board   <rail label>     yes; a rail whose label names the board's input (VDD_IN,
//                                                 *_IN, VIN*) is domain node and not counted
//   power_meter (ACPI)   node    node<k>          never: the whole node, reported beside its components
//   anything else        other   <name><k>        never: listed as available, not counted
//
// Unreadable inputs (amd_energy is root-only) are skipped with a note naming the file; the other devices
// stay usable.

#include <string>
#include <vector>

#include "core/pread_file.hpp"
#include "sensors/rapl/wrap_counter.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors {

/// What other sensors already measure, so that hwmon never counts a device twice.
struct HwmonOptions {
    bool amd_gpus_elsewhere = false;  ///< ROCm SMI is available: amdgpu hwmon devices are not read
    bool cpu_elsewhere = false;       ///< RAPL measures the CPU packages: amd_energy is not read
};

class HwmonSensor : public Sensor {
public:
    /// sysfs_root: normally "/sys" (JOULECAST_SYSFS_ROOT); tests point it at a fake tree.
    explicit HwmonSensor(std::string sysfs_root, HwmonOptions options = {});

    std::string_view name() const override { return "hwmon"; }
    /// Unavailable when <root>/class/hwmon is missing or no device has a readable energy or power input.
    Availability probe() override;
    const std::vector<Channel>& channels() const override { return m_channels; }
    /// One pread(2) per file: energy in joules since probe(), power in watts.
    ReadStatus read(std::size_t channel, double& value) override;
    /// One line per hwmon device: its driver, what it became, and what is not read or not counted and why.
    std::vector<std::string> notes() const override { return m_notes; }

    /// The input files that make up one channel. Public for the implementation's helpers only.
    struct Input {
        enum class Kind { energy_uj, power_uw, volt_amp } kind = Kind::power_uw;
        core::PreadFile file;     ///< energyN_input, powerN_input/_average, or inN_input
        core::PreadFile current;  ///< currN_input for volt_amp
        WrapCounter counter{0};
    };

private:
    std::string m_root;
    HwmonOptions m_options;
    std::vector<Channel> m_channels;
    std::vector<Input> m_inputs;  ///< parallel to m_channels
    std::vector<std::string> m_notes;
};

}  // namespace joulecast::sensors
