#pragma once
// ROCm SMI (librocm_smi64.so) loaded at run time, as NVML is: one list of entry points filled by
// dlopen/dlsym, so that joulecast neither links against ROCm nor needs it installed. A symbol the library
// lacks is reported by name (missing()) and left as a stub returning JOULECAST_RSMI_FUNCTION_NOT_FOUND.

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/result.hpp"
#include "sensors/rocm/rocm_smi_types.hpp"

namespace joulecast::sensors::rocm {

// X(member, pointer type, symbol). Vendor units as ROCm SMI gives them: µW, counter ticks of
// `resolution` µJ, percent, bytes.
#define JOULECAST_RSMI_ENTRY_POINTS(X)                                                                     \
    X(init, rsmi_status_t (*)(std::uint64_t), "rsmi_init")                                                 \
    X(shut_down, rsmi_status_t (*)(), "rsmi_shut_down")                                                    \
    X(status_string, rsmi_status_t (*)(rsmi_status_t, const char**), "rsmi_status_string")                 \
    X(num_monitor_devices, rsmi_status_t (*)(std::uint32_t*), "rsmi_num_monitor_devices")                  \
    X(dev_name_get, rsmi_status_t (*)(std::uint32_t, char*, std::size_t), "rsmi_dev_name_get")             \
    X(dev_unique_id_get, rsmi_status_t (*)(std::uint32_t, std::uint64_t*), "rsmi_dev_unique_id_get")       \
    X(dev_energy_count_get, rsmi_status_t (*)(std::uint32_t, std::uint64_t*, float*, std::uint64_t*),      \
      "rsmi_dev_energy_count_get")                                                                         \
    X(dev_power_ave_get_uw, rsmi_status_t (*)(std::uint32_t, std::uint32_t, std::uint64_t*),               \
      "rsmi_dev_power_ave_get")                                                                            \
    X(dev_current_socket_power_get_uw, rsmi_status_t (*)(std::uint32_t, std::uint64_t*),                   \
      "rsmi_dev_current_socket_power_get")                                                                 \
    X(dev_busy_percent_get, rsmi_status_t (*)(std::uint32_t, std::uint32_t*), "rsmi_dev_busy_percent_get") \
    X(dev_memory_usage_get, rsmi_status_t (*)(std::uint32_t, rsmi_memory_type_t, std::uint64_t*),          \
      "rsmi_dev_memory_usage_get")                                                                         \
    X(dev_power_cap_get_uw, rsmi_status_t (*)(std::uint32_t, std::uint32_t, std::uint64_t*),               \
      "rsmi_dev_power_cap_get")                                                                            \
    X(dev_power_cap_range_get_uw,                                                                          \
      rsmi_status_t (*)(std::uint32_t, std::uint32_t, std::uint64_t*, std::uint64_t*),                     \
      "rsmi_dev_power_cap_range_get")                                                                      \
    X(dev_power_cap_set_uw, rsmi_status_t (*)(std::uint32_t, std::uint32_t, std::uint64_t),                \
      "rsmi_dev_power_cap_set")                                                                            \
    X(compute_process_info_get, rsmi_status_t (*)(rsmi_process_info_t*, std::uint32_t*),                   \
      "rsmi_compute_process_info_get")                                                                     \
    X(compute_process_gpus_get, rsmi_status_t (*)(std::uint32_t, std::uint32_t*, std::uint32_t*),          \
      "rsmi_compute_process_gpus_get")

struct RsmiFunctions {
#define JOULECAST_RSMI_MEMBER(member, type, symbol) std::type_identity_t<type> member = nullptr;
    JOULECAST_RSMI_ENTRY_POINTS(JOULECAST_RSMI_MEMBER)
#undef JOULECAST_RSMI_MEMBER
};

/// An open ROCm SMI library: owns the dlopen handle and, once init() succeeded, the session (rsmi_shut_down
/// on destruction).
class RsmiLibrary {
public:
    /// dlopen(path) and dlsym of every entry point; then checks that rsmi_init and rsmi_num_monitor_devices
    /// exist and calls rsmi_init(0). The error names the path, the missing functions or the failing call.
    static core::Result<std::unique_ptr<RsmiLibrary>> open(const std::string& path);

    ~RsmiLibrary();
    RsmiLibrary(const RsmiLibrary&) = delete;
    RsmiLibrary& operator=(const RsmiLibrary&) = delete;

    const RsmiFunctions& api() const { return m_api; }
    const std::string& path() const { return m_path; }
    /// Symbols the library lacks, in list order (e.g. "rsmi_dev_energy_count_get" before ROCm 4.0).
    const std::vector<std::string>& missing() const { return m_missing; }
    bool has(std::string_view symbol) const;
    /// ROCm SMI's text for a status; "function not found" for a missing symbol; "ROCm SMI error <n>".
    std::string error_string(rsmi_status_t status) const;

private:
    RsmiLibrary(std::string path, void* handle) : m_path(std::move(path)), m_handle(handle) {}

    std::string m_path;
    void* m_handle = nullptr;
    bool m_initialised = false;
    RsmiFunctions m_api;
    std::vector<std::string> m_missing;
};

/// Device `index`'s unique ID as the GPU's UUID text ("0x" and 16 hex digits); empty when ROCm SMI gives
/// none.
std::string unique_id_text(const RsmiFunctions& api, std::uint32_t index);

}  // namespace joulecast::sensors::rocm
