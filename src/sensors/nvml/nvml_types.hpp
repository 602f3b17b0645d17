#pragma once
// The few NVML types and constants joulecast uses, declared here because no nvml.h is installed. Names and
// values follow NVIDIA's public nvml.h so that they can be checked against its documentation; layouts must
// match the C ABI exactly (the fake libnvidia-ml in tests/fakes includes this header too).

#include <cstdint>

namespace joulecast::sensors::nvml {

/// nvmlReturn_t: status of every NVML call (a C enum, int-sized).
enum nvmlReturn_t : int {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_UNKNOWN = 999,
};

/// nvmlDevice_t: an opaque handle owned by the library.
struct nvmlDevice_st;
using nvmlDevice_t = nvmlDevice_st*;

/// nvmlUtilization_t: percent of the last sample period the GPU / memory was busy.
struct nvmlUtilization_t {
    unsigned int gpu;
    unsigned int memory;
};

/// nvmlMemory_t (version 1): frame-buffer memory in bytes.
struct nvmlMemory_t {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
};

enum nvmlClockType_t : int {
    NVML_CLOCK_GRAPHICS = 0,
    NVML_CLOCK_SM = 1,
    NVML_CLOCK_MEM = 2,
    NVML_CLOCK_VIDEO = 3,
};

enum nvmlTemperatureSensors_t : int {
    NVML_TEMPERATURE_GPU = 0,
};

enum nvmlValueType_t : int {
    NVML_VALUE_TYPE_DOUBLE = 0,
    NVML_VALUE_TYPE_UNSIGNED_INT = 1,
    NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
    NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
    NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
    NVML_VALUE_TYPE_SIGNED_INT = 5,
    NVML_VALUE_TYPE_UNSIGNED_SHORT = 6,
};

union nvmlValue_t {
    double dVal;
    int siVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    signed long long sllVal;
    unsigned short usVal;
};

/// nvmlFieldValue_t: one request/answer of nvmlDeviceGetFieldValues. The caller sets fieldId (and scopeId);
/// NVML fills the rest. nvmlReturn is the field's own status: value is undefined unless it is NVML_SUCCESS.
struct nvmlFieldValue_t {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;    ///< CPU time of the value, microseconds since 1970
    long long latencyUsec;  ///< how long the value took to update inside NVML
    nvmlValueType_t valueType;
    nvmlReturn_t nvmlReturn;
    nvmlValue_t value;
};
static_assert(sizeof(nvmlFieldValue_t) == 40, "nvmlFieldValue_t must match NVML's C layout");

/// nvmlProcessInfo_t (= nvmlProcessInfo_v2_t): one process holding a context on a GPU, as
/// nvmlDeviceGetComputeRunningProcesses_v3 lists them. gpuInstanceId / computeInstanceId name its MIG
/// instance; both are 0xFFFFFFFF when MIG is off.
struct nvmlProcessInfo_t {
    unsigned int pid;
    unsigned long long usedGpuMemory;  ///< bytes; NVML_VALUE_NOT_AVAILABLE where not allowed to see it
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
};
static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t must match NVML's C layout");

/// nvmlProcessUtilizationSample_t: one process's utilisation over one of NVML's sample periods.
struct nvmlProcessUtilizationSample_t {
    unsigned int pid;
    unsigned long long timeStamp;  ///< CPU time of the sample, microseconds since 1970
    unsigned int smUtil;           ///< percent of the period the process's kernels used the SMs
    unsigned int memUtil;
    unsigned int encUtil;
    unsigned int decUtil;
};
static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32,
              "nvmlProcessUtilizationSample_t must match NVML's C layout");

/// nvmlDeviceGetMigMode's modes.
inline constexpr unsigned int NVML_DEVICE_MIG_DISABLE = 0;
inline constexpr unsigned int NVML_DEVICE_MIG_ENABLE = 1;
/// gpuInstanceId / computeInstanceId of a process when MIG is off.
inline constexpr unsigned int NVML_NO_INSTANCE_ID = 0xFFFFFFFFu;

/// Instantaneous board power in mW (not the 1 s average of nvmlDeviceGetPowerUsage).
inline constexpr unsigned int NVML_FI_DEV_POWER_INSTANT = 186;

/// Buffer sizes NVML guarantees to be large enough (the _V2 sizes).
inline constexpr unsigned int NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96;
inline constexpr unsigned int NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96;

}  // namespace joulecast::sensors::nvml
