#pragma once
// The explicit list of sensors and the rules that pick fallbacks. No self-registration: make_sensor_set() is
// the one place that knows every sensor.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sensors/gpu_selection.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors {

struct SensorConfig {
    std::string sysfs_root = "/sys";                    ///< JOULECAST_SYSFS_ROOT
    std::string proc_root = "/proc";                    ///< JOULECAST_PROC_ROOT
    std::string nvml_library = "libnvidia-ml.so.1";     ///< JOULECAST_NVML_LIBRARY
    std::string rocm_smi_library = "librocm_smi64.so";  ///< JOULECAST_ROCM_SMI_LIBRARY
    std::optional<double> cpu_tdp_w;                    ///< --cpu-tdp: overrides the TDP table
    std::string replay_path;  ///< --replay: when set, the replay sensor is the only sensor
    /// The GPUs measured: CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES, or --gpus.
    GpuSelection gpus;

    /// Defaults with the documented environment variables applied.
    static SensorConfig from_environment();
};

struct ProbedSensor {
    std::unique_ptr<Sensor> sensor;
    Availability availability;
    bool used = false;  ///< available and chosen (a model is not used where a measurement exists)
    std::string role;   ///< why it is or is not used, e.g. "fallback for CPU: RAPL unavailable (...)"
};

struct SensorSet {
    std::vector<ProbedSensor> sensors;
    /// Loud notes about fallbacks that a user must see (printed on stderr by `run`, listed by `sensors`).
    std::vector<std::string> fallbacks;

    std::vector<Sensor*> used() const;
    std::vector<GpuInfo> gpus() const;
};

/// Probes every sensor in the list and decides which are used.
SensorSet make_sensor_set(const SensorConfig& config);

}  // namespace joulecast::sensors
