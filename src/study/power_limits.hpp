#pragma once
// GPU power limits for a study's power_limits_w axis (`--allow-power-limit` only). The guard remembers every
// GPU's limit from before the study and puts it back when destroyed: at the end, on an error that unwinds,
// and after SIGINT (the study catches the signal, stops after the current run and unwinds normally).
// Changing a limit needs root on real hardware; tests use the fake NVML (tests/fakes/fake_nvml.cpp).

#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "sensors/nvml/nvml_api.hpp"

namespace joulecast::study {

class PowerLimitGuard {
public:
    /// Opens NVML at `library_path` (JOULECAST_NVML_LIBRARY or libnvidia-ml.so.1), reads every GPU's limits,
    /// checks every watts value of `planned_w` against every GPU's settable range, and writes each GPU's
    /// current limit back once, so that a missing permission shows now rather than after the first run.
    /// Throws UsageError (NVML missing, no GPU, a value out of range, no permission), naming the GPU.
    PowerLimitGuard(const std::string& library_path, const std::vector<double>& planned_w);
    /// Restores the limits (see restore()); problems are lost here, so call restore() first to see them.
    ~PowerLimitGuard();
    PowerLimitGuard(const PowerLimitGuard&) = delete;
    PowerLimitGuard& operator=(const PowerLimitGuard&) = delete;

    /// Sets every GPU's limit to `watts`; returns the limits read back, or the first error (GPUs already set
    /// stay set until restore()).
    Result<std::vector<nvml::PowerLimits>> apply(double watts);

    /// Sets every GPU whose limit this guard changed back to its limit from before; returns one line per GPU
    /// restored ("gpu0: power limit restored to 700 W") and per failure ("gpu0: cannot restore ...: ...").
    /// Later calls do nothing until apply() changes a limit again.
    std::vector<std::string> restore();

    /// Every GPU's limits as they were when the guard was made, by NVML index.
    const std::vector<nvml::PowerLimits>& original() const { return m_original; }

private:
    std::unique_ptr<nvml::NvmlLibrary> m_nvml;
    std::vector<nvml::PowerLimits> m_original;
    std::vector<bool> m_changed;
};

}  // namespace joulecast::study
