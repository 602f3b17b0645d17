#pragma once
// NVML loaded at run time: a function table filled by dlopen/dlsym from one list of entry points, so that the
// joulecast binary runs (and reports why) on machines without an NVIDIA driver. A symbol the library lacks
// leaves a stub that returns NVML_ERROR_FUNCTION_NOT_FOUND, never a null pointer.

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/result.hpp"
#include "sensors/nvml/nvml_types.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::sensors::nvml {

// The one list of entry points: X(member, pointer type, preferred symbol, fallback symbol or nullptr).
// Vendor units stay as NVML gives them: mW, mJ, MHz, bytes.
#define JOULECAST_NVML_ENTRY_POINTS(X)                                                                     \
    X(init, nvmlReturn_t (*)(), "nvmlInit_v2", "nvmlInit")                                                 \
    X(shutdown, nvmlReturn_t (*)(), "nvmlShutdown", nullptr)                                               \
    X(error_string, const char* (*)(nvmlReturn_t), "nvmlErrorString", nullptr)                             \
    X(device_get_count, nvmlReturn_t (*)(unsigned int*), "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount")    \
    X(device_get_handle_by_index, nvmlReturn_t (*)(unsigned int, nvmlDevice_t*),                           \
      "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex")                                       \
    X(device_get_name, nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int), "nvmlDeviceGetName", nullptr)  \
    X(device_get_uuid, nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int), "nvmlDeviceGetUUID", nullptr)  \
    X(device_get_total_energy_consumption_mj, nvmlReturn_t (*)(nvmlDevice_t, unsigned long long*),         \
      "nvmlDeviceGetTotalEnergyConsumption", nullptr)                                                      \
    X(device_get_power_usage_mw, nvmlReturn_t (*)(nvmlDevice_t, unsigned int*), "nvmlDeviceGetPowerUsage", \
      nullptr)                                                                                             \
    X(device_get_field_values, nvmlReturn_t (*)(nvmlDevice_t, int, nvmlFieldValue_t*),                     \
      "nvmlDeviceGetFieldValues", nullptr)                                                                 \
    X(device_get_utilization_rates, nvmlReturn_t (*)(nvmlDevice_t, nvmlUtilization_t*),                    \
      "nvmlDeviceGetUtilizationRates", nullptr)                                                            \
    X(device_get_memory_info, nvmlReturn_t (*)(nvmlDevice_t, nvmlMemory_t*), "nvmlDeviceGetMemoryInfo",    \
      nullptr)                                                                                             \
    X(device_get_clock_info_mhz, nvmlReturn_t (*)(nvmlDevice_t, nvmlClockType_t, unsigned int*),           \
      "nvmlDeviceGetClockInfo", nullptr)                                                                   \
    X(device_get_temperature_c, nvmlReturn_t (*)(nvmlDevice_t, nvmlTemperatureSensors_t, unsigned int*),   \
      "nvmlDeviceGetTemperature", nullptr)                                                                 \
    X(device_get_enforced_power_limit_mw, nvmlReturn_t (*)(nvmlDevice_t, unsigned int*),                   \
      "nvmlDeviceGetEnforcedPowerLimit", nullptr)                                                          \
    X(device_get_power_management_limit_mw, nvmlReturn_t (*)(nvmlDevice_t, unsigned int*),                 \
      "nvmlDeviceGetPowerManagementLimit", nullptr)                                                        \
    X(device_get_power_management_default_limit_mw, nvmlReturn_t (*)(nvmlDevice_t, unsigned int*),         \
      "nvmlDeviceGetPowerManagementDefaultLimit", nullptr)                                                 \
    X(device_get_power_management_limit_constraints_mw,                                                    \
      nvmlReturn_t (*)(nvmlDevice_t, unsigned int*, unsigned int*),                                        \
      "nvmlDeviceGetPowerManagementLimitConstraints", nullptr)                                             \
    X(device_set_power_management_limit_mw, nvmlReturn_t (*)(nvmlDevice_t, unsigned int),                  \
      "nvmlDeviceSetPowerManagementLimit", nullptr)                                                        \
    X(device_get_compute_running_processes,                                                                \
      nvmlReturn_t (*)(nvmlDevice_t, unsigned int*, nvmlProcessInfo_t*),                                   \
      "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2")                \
    X(device_get_process_utilization,                                                                      \
      nvmlReturn_t (*)(nvmlDevice_t, nvmlProcessUtilizationSample_t*, unsigned int*, unsigned long long),  \
      "nvmlDeviceGetProcessUtilization", nullptr)                                                          \
    X(device_get_mig_mode, nvmlReturn_t (*)(nvmlDevice_t, unsigned int*, unsigned int*),                   \
      "nvmlDeviceGetMigMode", nullptr)                                                                     \
    X(device_get_max_mig_device_count, nvmlReturn_t (*)(nvmlDevice_t, unsigned int*),                      \
      "nvmlDeviceGetMaxMigDeviceCount", nullptr)                                                           \
    X(device_get_mig_device_handle_by_index, nvmlReturn_t (*)(nvmlDevice_t, unsigned int, nvmlDevice_t*),  \
      "nvmlDeviceGetMigDeviceHandleByIndex", nullptr)                                                      \
    X(device_get_gpu_instance_id, nvmlReturn_t (*)(nvmlDevice_t, unsigned int*),                           \
      "nvmlDeviceGetGpuInstanceId", nullptr)

/// The function table. Every pointer is callable once NvmlLibrary::load has returned: a symbol the library
/// lacks points at a stub returning NVML_ERROR_FUNCTION_NOT_FOUND (error_string's stub returns nullptr).
struct NvmlFunctions {
#define JOULECAST_NVML_MEMBER(member, type, symbol, fallback) std::type_identity_t<type> member = nullptr;
    JOULECAST_NVML_ENTRY_POINTS(JOULECAST_NVML_MEMBER)
#undef JOULECAST_NVML_MEMBER
};

/// An open NVML library. Owns the dlopen handle (dlclose on destruction) and, once init() succeeded, the
/// NVML session (nvmlShutdown on destruction; NVML counts init/shutdown pairs, so several instances may
/// coexist in one process).
class NvmlLibrary {
public:
    /// dlopen(path, RTLD_NOW | RTLD_LOCAL) and dlsym of every entry point; does not call nvmlInit.
    /// Error: "cannot load <path>: <dlerror>".
    static core::Result<std::unique_ptr<NvmlLibrary>> load(const std::string& path);

    /// load(), a check that the core entry points (init, device count, handle by index) exist, and init().
    /// The error names the path and the missing functions or the failing nvmlInit_v2, with a hint.
    static core::Result<std::unique_ptr<NvmlLibrary>> open(const std::string& path);

    ~NvmlLibrary();
    NvmlLibrary(const NvmlLibrary&) = delete;
    NvmlLibrary& operator=(const NvmlLibrary&) = delete;

    /// Calls nvmlInit_v2 once; later calls return NVML_SUCCESS without calling it again.
    nvmlReturn_t init();

    const NvmlFunctions& api() const { return m_api; }
    const std::string& path() const { return m_path; }

    /// Preferred names of the entry points the library lacks (neither name nor fallback found), in list
    /// order.
    const std::vector<std::string>& missing() const { return m_missing; }
    bool has(std::string_view preferred_symbol) const;

    /// NVML's text for a status, e.g. "Not Supported"; "NVML error <n>" when the library gives none.
    std::string error_string(nvmlReturn_t status) const;

    /// The handle of GPU `index` (NVML's enumeration order); the error names the index and NVML's reason.
    core::Result<nvmlDevice_t> device(unsigned index) const;

private:
    NvmlLibrary(std::string path, void* handle);

    std::string m_path;
    void* m_handle = nullptr;
    bool m_initialised = false;
    NvmlFunctions m_api;
    std::vector<std::string> m_missing;
};

// ---- Power limits, for `--allow-power-limit` (changing the limit needs root on real hardware). ----

/// A GPU's power-management limits in watts.
struct PowerLimits {
    double current_w = 0;  ///< the limit set now (nvmlDeviceGetPowerManagementLimit)
    double default_w = 0;  ///< the board's default limit; 0 when NVML does not say
    double min_w = 0;      ///< lowest settable limit
    double max_w = 0;      ///< highest settable limit
};

/// Reads the limits of GPU `gpu_index` from an open (initialised) library.
core::Result<PowerLimits> get_power_limits(const NvmlLibrary& nvml, unsigned gpu_index);

/// Sets GPU `gpu_index`'s power limit to `watts` (rounded to whole mW) and returns the limits read back.
/// A value outside [min_w, max_w] is refused before NVML is called; the errors say what to do (e.g. run as
/// root for NVML_ERROR_NO_PERMISSION). The limit stays until changed again or the driver reloads: the caller
/// restores the previous current_w when done.
core::Result<PowerLimits> set_power_limit(const NvmlLibrary& nvml, unsigned gpu_index, double watts);

/// What an NVML status means to a sensor read: ok, lost (the GPU fell off the bus), unsupported (the device
/// or the library lacks the value: the channel is dropped), or a transient error.
inline ReadStatus read_status_of(nvmlReturn_t status) {
    switch (status) {
        case NVML_SUCCESS:
            return ReadStatus::ok;
        case NVML_ERROR_GPU_IS_LOST:
            return ReadStatus::lost;
        case NVML_ERROR_NOT_SUPPORTED:
        case NVML_ERROR_FUNCTION_NOT_FOUND:
            return ReadStatus::unsupported;
        default:
            return ReadStatus::error;
    }
}

}  // namespace joulecast::sensors::nvml
