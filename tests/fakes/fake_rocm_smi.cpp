// A fake librocm_smi64 for tests. It exports the ROCm SMI entry points joulecast uses (extern "C") and
// answers from a script in FAKE_ROCM_SMI_SCRIPT, read at rsmi_init. Built twice: as is, and with
// FAKE_ROCM_NO_ENERGY defined, which leaves out rsmi_dev_energy_count_get (as libraries before ROCm 4.0 do).
//
// Script: items "key=value" separated by ';'
//   gpus=N                 number of GPUs (default 1, at most 8)
//   init_fails=1           rsmi_init prints two lines to stderr, as the real library does without an AMD GPU,
//                          and fails with RSMI_STATUS_INIT_ERROR
//   resolution=UJ          energy counter resolution in µJ per tick (default 15.3)
//   gpu<i>.power=W         constant power (default 100)
//   gpu<i>.start_ticks=N   counter value at t=0 (default 1000000)
//   gpu<i>.width=32        the counter is a 32-bit accumulator that wraps (default 64)
//   gpu<i>.lost_after=S    every call on this GPU returns RSMI_STATUS_NOT_FOUND from S seconds on
//   gpu<i>.no_power=1      both power calls return RSMI_STATUS_NOT_SUPPORTED
//   gpu<i>.power_cap=W     power cap at init (default 1000); the cap's range is 100..1000 W. Power and the
//                          energy counter follow min(power, cap). rsmi_dev_power_cap_set changes it; with
//                          FAKE_ROCM_SMI_STATE=FILE each change writes "gpu<i>.power_cap_uw=<n>" lines for
//                          all GPUs to FILE, and init reads them back, so a cap outlives its session.
//   gpu<i>.busy=P          busy percent (default 50);  gpu<i>.memory=BYTES VRAM used (default 2^30)
//   gpu<i>.procs=ENTRY{,ENTRY}  processes using the GPU (rsmi_compute_process_info_get and
//                          rsmi_compute_process_gpus_get), ENTRY := PIDS [':' CU]; PIDS := a pid, or '@' a
//                          file whose whitespace-separated pids are read at every call; CU: the process's
//                          cu_occupancy in % (default 0; a process on several GPUs reports the sum, as ROCm
//                          SMI does)
//   no_procs=1             rsmi_compute_process_info_get answers RSMI_STATUS_NOT_SUPPORTED
// Time t in seconds: what the test last passed to fake_rocm_smi_set_time(), or, if it never did, the
// CLOCK_MONOTONIC time since rsmi_init. The counter is start + floor(P × t / resolution) ticks (mod 2^32 for
// width 32); both power calls return P in µW.

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "sensors/rocm/rocm_smi_types.hpp"

using namespace joulecast::sensors::rocm;

namespace {

constexpr unsigned max_gpus = 8;

struct Gpu {
    double power_w = 100;
    std::uint64_t start_ticks = 1000000;
    bool wraps32 = false;
    double lost_after_s = 1e300;
    bool no_power = false;
    double cap_w = 1000;
    double energy_base_j = 0;  ///< energy up to base_t_s (the last cap change)
    double base_t_s = 0;
    double drawn_w() const { return std::min(power_w, cap_w); }
    double energy_j(double t) const { return energy_base_j + drawn_w() * (t - base_t_s); }
    std::uint32_t busy = 50;
    std::uint64_t memory = 1ULL << 30;
    struct Process {
        std::string pids;  ///< a pid, or '@' and a file of pids
        std::uint32_t cu = 0;
    };
    std::vector<Process> procs;
};

struct State {
    unsigned gpus = 1;
    double resolution_uj = 15.3;
    Gpu gpu[max_gpus];
    double manual_t = -1;
    double origin_s = 0;
    bool init_fails = false;
    bool no_procs = false;
} g_state;

double monotonic_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double now_s() {
    return g_state.manual_t >= 0 ? g_state.manual_t : monotonic_s() - g_state.origin_s;
}

void parse_script(const char* script) {
    std::string text = script ? script : "";
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(';', start);
        if (end == std::string::npos) end = text.size();
        std::string item = text.substr(start, end - start);
        start = end + 1;
        std::size_t eq = item.find('=');
        if (eq == std::string::npos) continue;
        std::string key = item.substr(0, eq);
        const char* value = item.c_str() + eq + 1;
        if (key == "gpus")
            g_state.gpus = std::min<unsigned>(max_gpus, std::strtoul(value, nullptr, 10));
        else if (key == "init_fails")
            g_state.init_fails = std::strcmp(value, "1") == 0;
        else if (key == "no_procs")
            g_state.no_procs = std::strcmp(value, "1") == 0;
        else if (key == "resolution")
            g_state.resolution_uj = std::strtod(value, nullptr);
        else if (key.rfind("gpu", 0) == 0 && key.find('.') != std::string::npos) {
            unsigned i = std::strtoul(key.c_str() + 3, nullptr, 10);
            if (i >= max_gpus) continue;
            std::string prop = key.substr(key.find('.') + 1);
            Gpu& gpu = g_state.gpu[i];
            if (prop == "power")
                gpu.power_w = std::strtod(value, nullptr);
            else if (prop == "start_ticks")
                gpu.start_ticks = std::strtoull(value, nullptr, 10);
            else if (prop == "width")
                gpu.wraps32 = std::strtoul(value, nullptr, 10) == 32;
            else if (prop == "lost_after")
                gpu.lost_after_s = std::strtod(value, nullptr);
            else if (prop == "no_power")
                gpu.no_power = std::strtod(value, nullptr) != 0;
            else if (prop == "power_cap")
                gpu.cap_w = std::strtod(value, nullptr);
            else if (prop == "busy")
                gpu.busy = static_cast<std::uint32_t>(std::strtoul(value, nullptr, 10));
            else if (prop == "memory")
                gpu.memory = std::strtoull(value, nullptr, 10);
            else if (prop == "procs")
                for (std::string entries = value; !entries.empty();) {
                    const std::size_t comma = entries.find(',');
                    const std::string entry = entries.substr(0, comma);
                    entries = comma == std::string::npos ? "" : entries.substr(comma + 1);
                    const std::size_t colon = entry.find(':');
                    Gpu::Process process;
                    process.pids = entry.substr(0, colon);
                    if (colon != std::string::npos)
                        process.cu =
                            static_cast<std::uint32_t>(std::strtoul(entry.c_str() + colon + 1, nullptr, 10));
                    gpu.procs.push_back(process);
                }
        }
    }
}

/// The GPU for a call, or nullptr with the status to return.
const Gpu* device(std::uint32_t index, rsmi_status_t& status) {
    if (index >= g_state.gpus) {
        status = RSMI_STATUS_INVALID_ARGS;
        return nullptr;
    }
    const Gpu& gpu = g_state.gpu[index];
    if (now_s() >= gpu.lost_after_s) {
        status = RSMI_STATUS_NOT_FOUND;
        return nullptr;
    }
    status = RSMI_STATUS_SUCCESS;
    return &gpu;
}

/// The pids of one process entry (a file's are read now).
std::vector<std::uint32_t> pids_of(const Gpu::Process& process) {
    std::vector<std::uint32_t> out;
    if (process.pids.empty() || process.pids[0] != '@') {
        out.push_back(static_cast<std::uint32_t>(std::strtoul(process.pids.c_str(), nullptr, 10)));
        return out;
    }
    std::ifstream in(process.pids.substr(1));
    for (unsigned long pid = 0; in >> pid;) out.push_back(static_cast<std::uint32_t>(pid));
    return out;
}

/// Every process on a GPU that answers, with its occupancy summed over its GPUs, and its GPUs.
std::map<std::uint32_t, std::pair<std::uint32_t, std::vector<std::uint32_t>>> processes() {
    std::map<std::uint32_t, std::pair<std::uint32_t, std::vector<std::uint32_t>>> out;
    for (std::uint32_t i = 0; i < g_state.gpus; ++i) {
        if (now_s() >= g_state.gpu[i].lost_after_s) continue;
        for (const auto& process : g_state.gpu[i].procs)
            for (std::uint32_t pid : pids_of(process)) {
                auto& [cu, gpus] = out[pid];
                cu += process.cu;
                if (std::find(gpus.begin(), gpus.end(), i) == gpus.end()) gpus.push_back(i);
            }
    }
    return out;
}

void load_caps() {
    const char* path = std::getenv("FAKE_ROCM_SMI_STATE");
    if (!path || !*path) return;
    std::FILE* file = std::fopen(path, "r");
    if (!file) return;
    unsigned index = 0;
    unsigned long long uw = 0;
    while (std::fscanf(file, " gpu%u.power_cap_uw=%llu", &index, &uw) == 2)
        if (index < max_gpus) g_state.gpu[index].cap_w = static_cast<double>(uw) * 1e-6;
    std::fclose(file);
}

void save_caps() {
    const char* path = std::getenv("FAKE_ROCM_SMI_STATE");
    if (!path || !*path) return;
    std::FILE* file = std::fopen(path, "w");
    if (!file) return;
    for (unsigned i = 0; i < g_state.gpus; ++i)
        std::fprintf(file, "gpu%u.power_cap_uw=%llu\n", i,
                     static_cast<unsigned long long>(std::llround(g_state.gpu[i].cap_w * 1e6)));
    std::fclose(file);
}

}  // namespace

extern "C" {

rsmi_status_t rsmi_dev_power_cap_get(std::uint32_t index, std::uint32_t, std::uint64_t* microwatts) {
    rsmi_status_t status;
    const Gpu* gpu = device(index, status);
    if (!gpu) return status;
    *microwatts = static_cast<std::uint64_t>(std::llround(gpu->cap_w * 1e6));
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_power_cap_range_get(std::uint32_t index, std::uint32_t, std::uint64_t* max_uw,
                                           std::uint64_t* min_uw) {
    rsmi_status_t status;
    if (!device(index, status)) return status;
    *max_uw = 1000000000ULL;
    *min_uw = 100000000ULL;
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_power_cap_set(std::uint32_t index, std::uint32_t, std::uint64_t microwatts) {
    rsmi_status_t status;
    if (!device(index, status)) return status;
    if (microwatts < 100000000ULL || microwatts > 1000000000ULL) return RSMI_STATUS_INVALID_ARGS;
    Gpu& gpu = g_state.gpu[index];
    const double t = now_s();
    gpu.energy_base_j = gpu.energy_j(t);
    gpu.base_t_s = t;
    gpu.cap_w = static_cast<double>(microwatts) * 1e-6;
    save_caps();
    return RSMI_STATUS_SUCCESS;
}

void fake_rocm_smi_set_time(double t_s) {
    g_state.manual_t = t_s;
}

rsmi_status_t rsmi_init(std::uint64_t) {
    const double manual_t = g_state.manual_t;  // a test's clock outlives re-initialisation
    g_state = State{};
    g_state.manual_t = manual_t;
    parse_script(std::getenv("FAKE_ROCM_SMI_SCRIPT"));
    load_caps();
    if (g_state.init_fails) {
        std::fprintf(stderr,
                     "Failed to open drm root directory /sys/class/drm.: No such file or directory\n");
        std::fprintf(stderr, "Exception caught: rsmi_init.\n");
        return RSMI_STATUS_INIT_ERROR;
    }
    g_state.origin_s = monotonic_s();
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_shut_down() {
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_status_string(rsmi_status_t status, const char** text) {
    *text = status == RSMI_STATUS_NOT_FOUND ? "RSMI_STATUS_NOT_FOUND: an item was searched for but not found"
                                            : "RSMI_STATUS (fake)";
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_num_monitor_devices(std::uint32_t* count) {
    *count = g_state.gpus;
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_name_get(std::uint32_t index, char* name, std::size_t length) {
    rsmi_status_t status;
    if (!device(index, status)) return status;
    std::snprintf(name, length, "Fake AMD Instinct %u", index);
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_unique_id_get(std::uint32_t index, std::uint64_t* id) {
    rsmi_status_t status;
    if (!device(index, status)) return status;
    *id = 0xabcdef0000000000ULL + index;
    return RSMI_STATUS_SUCCESS;
}

#ifndef FAKE_ROCM_NO_ENERGY
rsmi_status_t rsmi_dev_energy_count_get(std::uint32_t index, std::uint64_t* ticks, float* resolution,
                                        std::uint64_t* timestamp) {
    rsmi_status_t status;
    const Gpu* gpu = device(index, status);
    if (!gpu) return status;
    const double t = now_s();
    std::uint64_t value = gpu->start_ticks + static_cast<std::uint64_t>(
                                                 std::floor(gpu->energy_j(t) * 1e6 / g_state.resolution_uj));
    if (gpu->wraps32) value &= 0xFFFFFFFFULL;
    *ticks = value;
    *resolution = static_cast<float>(g_state.resolution_uj);
    *timestamp = static_cast<std::uint64_t>(t * 1e9);
    return RSMI_STATUS_SUCCESS;
}
#endif

rsmi_status_t rsmi_dev_power_ave_get(std::uint32_t index, std::uint32_t, std::uint64_t* microwatts) {
    rsmi_status_t status;
    const Gpu* gpu = device(index, status);
    if (!gpu) return status;
    if (gpu->no_power) return RSMI_STATUS_NOT_SUPPORTED;
    *microwatts = static_cast<std::uint64_t>(std::llround(gpu->drawn_w() * 1e6));
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_current_socket_power_get(std::uint32_t index, std::uint64_t* microwatts) {
    return rsmi_dev_power_ave_get(index, 0, microwatts);
}

rsmi_status_t rsmi_dev_busy_percent_get(std::uint32_t index, std::uint32_t* busy) {
    rsmi_status_t status;
    const Gpu* gpu = device(index, status);
    if (!gpu) return status;
    *busy = gpu->busy;
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_compute_process_info_get(rsmi_process_info_t* procs, std::uint32_t* num_items) {
    if (!num_items) return RSMI_STATUS_INVALID_ARGS;
    if (g_state.no_procs) return RSMI_STATUS_NOT_SUPPORTED;
    const auto all = processes();
    if (!procs) {
        *num_items = static_cast<std::uint32_t>(all.size());
        return RSMI_STATUS_SUCCESS;
    }
    std::uint32_t written = 0;
    for (const auto& [pid, info] : all) {
        if (written == *num_items) return RSMI_STATUS_INSUFFICIENT_SIZE;
        procs[written++] = rsmi_process_info_t{pid, 0, 0, 0, info.first};
    }
    *num_items = written;
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_compute_process_gpus_get(std::uint32_t pid, std::uint32_t* dv_indices,
                                            std::uint32_t* num_devices) {
    if (!num_devices) return RSMI_STATUS_INVALID_ARGS;
    const auto all = processes();
    const auto found = all.find(pid);
    if (found == all.end()) return RSMI_STATUS_NOT_FOUND;
    const auto& gpus = found->second.second;
    if (!dv_indices) {
        *num_devices = static_cast<std::uint32_t>(gpus.size());
        return RSMI_STATUS_SUCCESS;
    }
    std::uint32_t written = 0;
    for (std::uint32_t index : gpus) {
        if (written == *num_devices) return RSMI_STATUS_INSUFFICIENT_SIZE;
        dv_indices[written++] = index;
    }
    *num_devices = written;
    return RSMI_STATUS_SUCCESS;
}

rsmi_status_t rsmi_dev_memory_usage_get(std::uint32_t index, rsmi_memory_type_t, std::uint64_t* used) {
    rsmi_status_t status;
    const Gpu* gpu = device(index, status);
    if (!gpu) return status;
    *used = gpu->memory;
    return RSMI_STATUS_SUCCESS;
}

}  // extern "C"
