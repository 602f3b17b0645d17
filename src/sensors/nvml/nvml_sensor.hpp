#pragma once
// NVIDIA GPUs through NVML (loaded at run time from a path, so a fake library can stand in for tests).
//
// Channels per GPU i (domain "gpu", device "gpu<i>"), each present only when NVML supports it at probe():
//   gpu<i>.energy       J since probe, counter; from nvmlDeviceGetTotalEnergyConsumption (Volta and later).
//                       min_period 1 s: one read costs ~3.8 ms on an H100. Without it the meter integrates
//                       power.
//   gpu<i>.power        W, gauge; the instantaneous field NVML_FI_DEV_POWER_INSTANT where supported, else
//                       nvmlDeviceGetPowerUsage (a 1 s moving average on H100; notes() say which).
//   gpu<i>.utilisation  %, gauge (GPU busy).
//   gpu<i>.memory       bytes used, gauge.
//   gpu<i>.sm_clock     MHz, gauge.
//   gpu<i>.temperature  degrees C, gauge (GPU die).
//   gpu<i>.power_limit  W, gauge: the enforced power limit (read only).
// A GPU in MIG mode (nvmlDeviceGetMigMode) keeps these whole-board channels: GpuInfo::mig and notes() say so.
// read(): NVML_ERROR_GPU_IS_LOST -> ReadStatus::lost, and every later read of that GPU returns lost without
// calling NVML; NVML_ERROR_NOT_SUPPORTED -> unsupported; other failures -> error.

#include <memory>
#include <string>
#include <vector>

#include "sensors/gpu_channels.hpp"
#include "sensors/gpu_selection.hpp"
#include "sensors/nvml/nvml_api.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors {

class NvmlSensor : public Sensor {
public:
    /// `library_path`: what to dlopen, normally "libnvidia-ml.so.1" (JOULECAST_NVML_LIBRARY overrides it).
    /// `selection`: the GPUs to measure (sensors/gpu_selection.hpp); the others are named in notes().
    explicit NvmlSensor(std::string library_path, GpuSelection selection = {});
    ~NvmlSensor() override;

    std::string_view name() const override { return "nvml"; }
    /// Loads the library, calls nvmlInit_v2 and enumerates every GPU. Unavailable (with a reason naming the
    /// library path or NVML's error and what to check) when the library is missing or incomplete, when init
    /// fails, or when NVML sees no GPU. May be called again; it starts afresh.
    Availability probe() override;
    const std::vector<Channel>& channels() const override { return m_table.channels(); }
    ReadStatus read(std::size_t channel, double& value) override;
    /// One line per GPU, e.g. "gpu0 NVIDIA H100 80GB HBM3: energy counter yes, power from instantaneous
    /// field", plus lines for GPUs that could not be opened.
    std::vector<std::string> notes() const override { return m_notes; }
    std::vector<GpuInfo> gpus() const override;
    /// The NVML session probe() opened (null when NVML is unavailable), for other readers of the same GPUs.
    std::shared_ptr<nvml::NvmlLibrary> library() const { return m_nvml; }
    /// One warning per GPU that gives neither an energy counter nor power: its energy is not measured (the
    /// result's GPU figure leaves it out; it is no 0 J reading).
    std::vector<std::string> run_warnings(double ran_s) const override;

private:
    enum class Source {
        energy_counter,
        power_instant,
        power_average,
        utilisation,
        memory_used,
        sm_clock,
        temperature,
        enforced_power_limit,
    };
    struct Gpu {
        nvml::nvmlDevice_t device = nullptr;
        GpuInfo info;
        bool lost = false;
        unsigned long long energy_at_probe_mj = 0;
        unsigned long long energy_last_mj = 0;
    };

    void clear();
    ReadStatus read_source(Gpu& gpu, Source source, double& value);

    std::string m_library_path;
    GpuSelection m_selection;
    std::shared_ptr<nvml::NvmlLibrary> m_nvml;
    GpuChannels<Gpu, Source> m_table;
    std::vector<std::string> m_notes;
};

}  // namespace joulecast::sensors
