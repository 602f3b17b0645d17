#include "sensors/rocm/rocm_smi_api.hpp"

#include <dlfcn.h>

#include <cstdio>

#include "core/stderr_capture.hpp"

namespace joulecast::sensors::rocm {

using core::Error;
using core::Result;
using core::StderrCapture;

namespace {

template <typename F>
struct NotFound;

template <typename... Args>
struct NotFound<rsmi_status_t (*)(Args...)> {
    static rsmi_status_t call(Args...) { return JOULECAST_RSMI_FUNCTION_NOT_FOUND; }
};

/// Several lines of a library's complaint as one, separated by "; ".
std::string one_line(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\n')
            out += "; ";
        else if (c != '\r')
            out += c;
    }
    return out;
}

std::string dl_error() {
    const char* text = dlerror();
    return text ? text : "unknown dynamic loader error";
}

}  // namespace

RsmiLibrary::~RsmiLibrary() {
    // Nothing useful can be done with a failing shutdown while tearing down.
    if (m_initialised) static_cast<void>(m_api.shut_down());
    if (m_handle) dlclose(m_handle);
}

Result<std::unique_ptr<RsmiLibrary>> RsmiLibrary::open(const std::string& path) {
    dlerror();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return Error{"cannot load " + path + ": " + dl_error() +
                     " (no ROCm here? JOULECAST_ROCM_SMI_LIBRARY can name librocm_smi64.so's path)"};
    std::unique_ptr<RsmiLibrary> library(new RsmiLibrary(path, handle));
#define JOULECAST_RSMI_RESOLVE(member, type, symbol)             \
    if (void* address = dlsym(handle, symbol)) {                 \
        library->m_api.member = reinterpret_cast<type>(address); \
    } else {                                                     \
        library->m_api.member = &NotFound<type>::call;           \
        library->m_missing.emplace_back(symbol);                 \
    }
    JOULECAST_RSMI_ENTRY_POINTS(JOULECAST_RSMI_RESOLVE)
#undef JOULECAST_RSMI_RESOLVE

    std::string lacking;
    for (const char* core : {"rsmi_init", "rsmi_num_monitor_devices"})
        if (!library->has(core)) lacking += (lacking.empty() ? "" : ", ") + std::string(core);
    if (!lacking.empty()) return Error{path + " lacks " + lacking + " (not a ROCm SMI library?)"};

    // The real library prints its own complaints to stderr (e.g. "Failed to open drm root directory" where
    // there is no AMD GPU); they belong in this probe's reason, not on the user's terminal.
    StderrCapture capture;
    const rsmi_status_t status = library->m_api.init(0);
    const std::string said = capture.release();
    if (status != RSMI_STATUS_SUCCESS)
        return Error{"rsmi_init failed: " + library->error_string(status) +
                     (said.empty() ? "" : " (the library said: " + one_line(said) + ")") +
                     " (is the amdgpu driver loaded? check rocm-smi)"};
    if (!said.empty()) std::fprintf(stderr, "%s\n", said.c_str());
    library->m_initialised = true;
    return library;
}

bool RsmiLibrary::has(std::string_view symbol) const {
    for (const auto& name : m_missing)
        if (name == symbol) return false;
    return true;
}

std::string RsmiLibrary::error_string(rsmi_status_t status) const {
    if (status == JOULECAST_RSMI_FUNCTION_NOT_FOUND) return "function not found in " + m_path;
    const char* text = nullptr;
    if (m_api.status_string && m_api.status_string(status, &text) == RSMI_STATUS_SUCCESS && text && *text)
        return text;
    return "ROCm SMI error " + std::to_string(status);
}

std::string unique_id_text(const RsmiFunctions& api, std::uint32_t index) {
    std::uint64_t unique_id = 0;
    if (api.dev_unique_id_get(index, &unique_id) != RSMI_STATUS_SUCCESS) return {};
    char text[32];
    std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(unique_id));
    return text;
}

}  // namespace joulecast::sensors::rocm
