#pragma once
// AMD GPUs through ROCm SMI (librocm_smi64.so loaded at run time; JOULECAST_ROCM_SMI_LIBRARY names its path,
// so a fake library can stand in for tests).
//
// Channels per GPU i (domain "gpu", device "amdgpu<i>"), each present only when ROCm SMI answers at probe():
//   amdgpu<i>.energy       J since probe, counter: rsmi_dev_energy_count_get × its counter resolution (µJ).
//                          A decrease between readings that both fit in 32 bits is one wrap of a 32-bit
//                          accumulator; any other decrease is a reset (a read error, never negative energy).
//                          Without it (older libraries lack the call) the meter integrates power, and the
//                          run's warnings say so.
//   amdgpu<i>.power        W, gauge: rsmi_dev_current_socket_power_get (instantaneous) where the library has
//                          it, else rsmi_dev_power_ave_get (the SMU's average); notes() say which.
//   amdgpu<i>.utilisation  %, gauge: rsmi_dev_busy_percent_get.
//   amdgpu<i>.memory       bytes of VRAM used, gauge: rsmi_dev_memory_usage_get.
// read(): RSMI_STATUS_NOT_FOUND or INVALID_ARGS (the device index no longer exists) -> lost, and every later
// read of that GPU returns lost; NOT_SUPPORTED or a missing symbol -> unsupported; others -> error.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sensors/gpu_channels.hpp"
#include "sensors/rocm/rocm_smi_api.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors {

/// Ticks between two readings of ROCm SMI's energy accumulator: one 32-bit wrap undone; nullopt for a
/// decrease that is not one (a reset).
std::optional<std::uint64_t> rsmi_counter_delta(std::uint64_t previous, std::uint64_t now);

class RocmSensor : public Sensor {
public:
    /// `library_path`: what to dlopen, normally "librocm_smi64.so" (JOULECAST_ROCM_SMI_LIBRARY).
    explicit RocmSensor(std::string library_path);
    ~RocmSensor() override;

    std::string_view name() const override { return "rocm-smi"; }
    /// Loads the library, calls rsmi_init and enumerates every GPU. Unavailable (with the reason) when the
    /// library is missing or lacks its core functions, when init fails, or when it sees no GPU.
    Availability probe() override;
    const std::vector<Channel>& channels() const override { return m_table.channels(); }
    ReadStatus read(std::size_t channel, double& value) override;
    /// One line per GPU (energy counter or not, which power), and the library's missing functions.
    std::vector<std::string> notes() const override { return m_notes; }
    std::vector<GpuInfo> gpus() const override;
    /// The ROCm SMI session of the last successful probe (null before), for the job-amdgpu sensor: one
    /// rsmi_init per process.
    std::shared_ptr<rocm::RsmiLibrary> library() const { return m_rsmi; }
    /// Which GPUs' energy was integrated from power for lack of a counter, and which were lost.
    std::vector<std::string> run_warnings(double ran_s) const override;

private:
    enum class Source { energy_counter, power_current, power_average, utilisation, memory_used };
    struct Gpu {
        std::uint32_t index = 0;
        GpuInfo info;
        bool lost = false;
        bool integrated = false;  ///< no energy counter: the meter integrates power
        float resolution_uj = 1;
        std::uint64_t last_ticks = 0;
        double joules = 0;
    };

    void clear();
    ReadStatus read_source(Gpu& gpu, Source source, double& value);

    std::string m_library_path;
    std::shared_ptr<rocm::RsmiLibrary> m_rsmi;
    GpuChannels<Gpu, Source> m_table;
    std::vector<std::string> m_notes;
};

}  // namespace joulecast::sensors
