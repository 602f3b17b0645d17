#pragma once
// The few ROCm SMI types joulecast uses, declared here (as nvml_types.hpp does for NVML) so that the build
// needs no ROCm headers; values and signatures follow rocm_smi.h (Debian's librocm-smi-dev, ROCm 5.x/6.x).

#include <cstddef>
#include <cstdint>

namespace joulecast::sensors::rocm {

// rsmi_status_t: the values joulecast tells apart; the rest are "other".
using rsmi_status_t = unsigned int;  // a C enum holding 0xFFFFFFFF: unsigned int
inline constexpr rsmi_status_t RSMI_STATUS_SUCCESS = 0;
inline constexpr rsmi_status_t RSMI_STATUS_INVALID_ARGS = 1;
inline constexpr rsmi_status_t RSMI_STATUS_NOT_SUPPORTED = 2;
inline constexpr rsmi_status_t RSMI_STATUS_FILE_ERROR = 3;
inline constexpr rsmi_status_t RSMI_STATUS_PERMISSION = 4;
inline constexpr rsmi_status_t RSMI_STATUS_INIT_ERROR = 8;
inline constexpr rsmi_status_t RSMI_STATUS_NOT_YET_IMPLEMENTED = 9;
inline constexpr rsmi_status_t RSMI_STATUS_NOT_FOUND = 10;
inline constexpr rsmi_status_t RSMI_STATUS_INSUFFICIENT_SIZE = 11;
/// Not a ROCm SMI value: what the stub of a symbol the library lacks returns.
inline constexpr rsmi_status_t JOULECAST_RSMI_FUNCTION_NOT_FOUND = 0xFFFF0000u;

/// A process using a GPU (rsmi_compute_process_info_get), as rocm_smi.h lays it out.
struct rsmi_process_info_t {
    std::uint32_t process_id;
    std::uint32_t pasid;
    std::uint64_t vram_usage;    ///< bytes
    std::uint64_t sdma_usage;    ///< microseconds
    std::uint32_t cu_occupancy;  ///< compute units in use, percent
};

// rsmi_memory_type_t
using rsmi_memory_type_t = int;
inline constexpr rsmi_memory_type_t RSMI_MEM_TYPE_VRAM = 0;

}  // namespace joulecast::sensors::rocm
