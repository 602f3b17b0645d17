#pragma once
// GPU power limits for a study's power_limits_w axis (`--allow-power-limit` only). The guard remembers every
// GPU's limit from before the study and puts it back when destroyed: at the end, on an error that unwinds,
// and after SIGINT (the study catches the signal, stops after the current run and unwinds normally).
// NVIDIA GPUs go through NVML; where NVML is missing or sees no GPU, AMD GPUs go through ROCm SMI's power cap
// (rsmi_dev_power_cap_get/_set), with the same checks and restore. Changing a limit needs root on real
// hardware; tests use the fakes (tests/fakes/fake_nvml.cpp, tests/fakes/fake_rocm_smi.cpp).

#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "sensors/nvml/nvml_api.hpp"
#include "sensors/rocm/rocm_smi_api.hpp"

namespace joulecast::study {

class PowerLimitGuard {
public:
    /// Opens NVML at `library_path` (JOULECAST_NVML_LIBRARY or libnvidia-ml.so.1), reads every GPU's limits,
    /// checks every watts value of `planned_w` against every GPU's settable range, and writes each GPU's
    /// current limit back once, so that a missing permission shows now rather than after the first run.
    /// Throws UsageError (NVML missing, no GPU, a value out of range, no permission), naming the GPU.
    /// Where NVML cannot be opened or sees no GPU, the same through ROCm SMI at `rocm_library_path` (when
    /// given). The error then names both libraries' reasons.
    PowerLimitGuard(const std::string& library_path, const std::vector<double>& planned_w,
                    const std::string& rocm_library_path = "");
    /// Restores the limits (see restore()); problems are lost here, so call restore() first to see them.
    ~PowerLimitGuard();
    PowerLimitGuard(const PowerLimitGuard&) = delete;
    PowerLimitGuard& operator=(const PowerLimitGuard&) = delete;

    /// Sets every GPU's limit to `watts`; returns the limits read back, or the first error (GPUs already set
    /// stay set until restore()).
    core::Result<std::vector<sensors::nvml::PowerLimits>> apply(double watts);

    /// Sets every GPU whose limit this guard changed back to its limit from before; returns one line per GPU
    /// restored ("gpu0: power limit restored to 700 W") and per failure ("gpu0: cannot restore ...: ...").
    /// Later calls do nothing until apply() changes a limit again.
    std::vector<std::string> restore();

    /// Every GPU's limits as they were when the guard was made, by NVML (or ROCm SMI) index.
    const std::vector<sensors::nvml::PowerLimits>& original() const { return m_original; }
    /// "NVML" or "ROCm SMI": the library that sets the limits.
    const char* library() const { return m_nvml ? "NVML" : "ROCm SMI"; }

private:
    core::Result<sensors::nvml::PowerLimits> get(unsigned gpu) const;
    core::Result<sensors::nvml::PowerLimits> set(unsigned gpu, double watts);
    /// GPU `gpu`'s device name as its library's sensor names it ("gpu0", "amdgpu0").
    std::string device_name(unsigned gpu) const;

    std::unique_ptr<sensors::nvml::NvmlLibrary> m_nvml;
    std::unique_ptr<sensors::rocm::RsmiLibrary> m_rocm;  ///< used only where NVML is not
    std::vector<sensors::nvml::PowerLimits> m_original;
    std::vector<bool> m_changed;
};

}  // namespace joulecast::study
