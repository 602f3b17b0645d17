#include "sensors/nvml/nvml_api.hpp"
#include "core/format.hpp"

#include <dlfcn.h>

#include <cmath>
#include <cstdio>

namespace joulecast::sensors::nvml {

using core::Error;
using core::Result;

namespace {

// Stubs for missing symbols, one per function-pointer type in the entry-point list.
template <typename F>
struct NotFound;

template <typename... Args>
struct NotFound<nvmlReturn_t (*)(Args...)> {
    static nvmlReturn_t call(Args...) { return NVML_ERROR_FUNCTION_NOT_FOUND; }
};

template <typename... Args>
struct NotFound<const char* (*)(Args...)> {
    static const char* call(Args...) { return nullptr; }
};

std::string dl_error() {
    const char* text = dlerror();
    return text ? text : "unknown dynamic loader error";
}

std::string format_watts(double watts) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", watts);
    return text;
}

double mw_to_w(unsigned int milliwatts) {
    return static_cast<double>(milliwatts) * 1e-3;
}

}  // namespace

NvmlLibrary::NvmlLibrary(std::string path, void* handle) : m_path(std::move(path)), m_handle(handle) {}

NvmlLibrary::~NvmlLibrary() {
    // Nothing useful can be done with a failing shutdown while tearing down.
    if (m_initialised) static_cast<void>(m_api.shutdown());
    if (m_handle) dlclose(m_handle);
}

Result<std::unique_ptr<NvmlLibrary>> NvmlLibrary::load(const std::string& path) {
    dlerror();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return Error{"cannot load " + path + ": " + dl_error()};

    std::unique_ptr<NvmlLibrary> library(new NvmlLibrary(path, handle));
    auto resolve = [&](const char* symbol, const char* fallback) -> void* {
        void* address = dlsym(handle, symbol);
        if (!address && fallback) address = dlsym(handle, fallback);
        if (!address) library->m_missing.emplace_back(symbol);
        return address;
    };
#define JOULECAST_NVML_RESOLVE(member, type, symbol, fallback)   \
    if (void* address = resolve(symbol, fallback))               \
        library->m_api.member = reinterpret_cast<type>(address); \
    else                                                         \
        library->m_api.member = &NotFound<type>::call;
    JOULECAST_NVML_ENTRY_POINTS(JOULECAST_NVML_RESOLVE)
#undef JOULECAST_NVML_RESOLVE
    return library;
}

Result<std::unique_ptr<NvmlLibrary>> NvmlLibrary::open(const std::string& path) {
    auto loaded = load(path);
    if (!loaded)
        return Error{loaded.error() +
                     " (no NVIDIA driver here? JOULECAST_NVML_LIBRARY can name libnvidia-ml.so.1's path)"};
    std::unique_ptr<NvmlLibrary> library = std::move(loaded).value();

    std::string lacking;
    for (const char* core : {"nvmlInit_v2", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2"}) {
        if (library->has(core)) continue;
        lacking += lacking.empty() ? core : std::string(", ") + core;
    }
    if (!lacking.empty())
        return Error{path + " lacks " + lacking +
                     " (not an NVML library, or an NVIDIA driver too old for joulecast; check nvidia-smi)"};

    const nvmlReturn_t status = library->init();
    if (status != NVML_SUCCESS)
        return Error{"nvmlInit_v2 failed: " + library->error_string(status) +
                     " (is the NVIDIA driver loaded? check nvidia-smi)"};
    return library;
}

nvmlReturn_t NvmlLibrary::init() {
    if (m_initialised) return NVML_SUCCESS;
    const nvmlReturn_t status = m_api.init();
    m_initialised = status == NVML_SUCCESS;
    return status;
}

bool NvmlLibrary::has(std::string_view preferred_symbol) const {
    for (const auto& name : m_missing)
        if (name == preferred_symbol) return false;
    return true;
}

std::string NvmlLibrary::error_string(nvmlReturn_t status) const {
    const char* text = m_api.error_string ? m_api.error_string(status) : nullptr;
    if (text && *text) return text;
    if (status == NVML_ERROR_FUNCTION_NOT_FOUND) return "Function Not Found";
    return "NVML error " + std::to_string(static_cast<int>(status));
}

Result<nvmlDevice_t> NvmlLibrary::device(unsigned index) const {
    nvmlDevice_t handle = nullptr;
    const nvmlReturn_t status = m_api.device_get_handle_by_index(index, &handle);
    if (status != NVML_SUCCESS)
        return Error{"cannot open GPU " + std::to_string(index) + ": " + error_string(status)};
    return handle;
}

Result<PowerLimits> get_power_limits(const NvmlLibrary& nvml, unsigned gpu_index) {
    auto device = nvml.device(gpu_index);
    if (!device) return Error{device.error()};
    const auto& api = nvml.api();
    const std::string gpu = nvml_device_name(gpu_index);

    PowerLimits limits;
    unsigned int current_mw = 0;
    nvmlReturn_t status = api.device_get_power_management_limit_mw(*device, &current_mw);
    if (status != NVML_SUCCESS)
        return Error{"cannot read " + gpu + "'s power limit: " + nvml.error_string(status)};
    limits.current_w = mw_to_w(current_mw);

    unsigned int min_mw = 0;
    unsigned int max_mw = 0;
    status = api.device_get_power_management_limit_constraints_mw(*device, &min_mw, &max_mw);
    if (status != NVML_SUCCESS)
        return Error{"cannot read " + gpu + "'s power limit range: " + nvml.error_string(status)};
    limits.min_w = mw_to_w(min_mw);
    limits.max_w = mw_to_w(max_mw);

    // The default is informative only: older drivers lack it, so it stays 0 rather than failing.
    unsigned int default_mw = 0;
    if (api.device_get_power_management_default_limit_mw(*device, &default_mw) == NVML_SUCCESS)
        limits.default_w = mw_to_w(default_mw);
    return limits;
}

Result<PowerLimits> set_power_limit(const NvmlLibrary& nvml, unsigned gpu_index, double watts) {
    const std::string gpu = nvml_device_name(gpu_index);
    auto before = get_power_limits(nvml, gpu_index);
    if (!before) return Error{before.error()};
    if (!std::isfinite(watts) || watts < before->min_w || watts > before->max_w)
        return Error{"power limit " + format_watts(watts) + " W is outside " + gpu + "'s range " +
                     format_watts(before->min_w) + ".." + format_watts(before->max_w) + " W"};

    auto device = nvml.device(gpu_index);
    if (!device) return Error{device.error()};
    const auto milliwatts = static_cast<unsigned int>(std::lround(watts * 1e3));
    const nvmlReturn_t status = nvml.api().device_set_power_management_limit_mw(*device, milliwatts);
    if (status == NVML_ERROR_NO_PERMISSION)
        return Error{"setting " + gpu + "'s power limit needs root (NVML: " + nvml.error_string(status) +
                     ")"};
    if (status != NVML_SUCCESS)
        return Error{"cannot set " + gpu + "'s power limit to " + format_watts(watts) +
                     " W: " + nvml.error_string(status)};
    return get_power_limits(nvml, gpu_index);
}

}  // namespace joulecast::sensors::nvml
