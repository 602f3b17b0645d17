// A fake libnvidia-ml for tests. It exports the NVML entry points joulecast uses (extern "C") and answers
// from a script in the environment variable FAKE_NVML_SCRIPT, read at every first nvmlInit_v2 (when no
// earlier init is still open), so one test process can run several scripts one after another.
//
// Script grammar
//   script  := item { ';' item }           items are trimmed; empty items are ignored; a later item wins
//   item    := key '=' value
//   Global keys:
//     gpus=N              number of GPUs, 0..64 (default 1)
//     update_ms=M         power and energy change only at multiples of M ms after the origin, like real
//                         NVML's ~100 ms updates (default 0: continuous)
//     init=CODE           nvmlInit_v2 fails with CODE
//     count=CODE          nvmlDeviceGetCount_v2 fails with CODE
//   Per-GPU keys: gpu<i>.<prop>=value, or gpu*.<prop>=value for every GPU:
//     power=SERIES        board power in W (default 70)
//     utilisation=SERIES  GPU busy in % (default 0)
//     memory_used=SERIES  bytes (default 1073741824); memory_total=BYTES (default 85899345920)
//     sm_clock=SERIES     MHz (default 1980)
//     temperature=SERIES  degrees C (default 40)
//     name=TEXT           (default "Fake GPU <i>");  uuid=TEXT (default "GPU-fake-<i>")
//     energy_offset_mj=N  energy counter value at t=0 (default 123456789000 + i * 1000000000)
//     lost_after=S        every call on this GPU returns NVML_ERROR_GPU_IS_LOST from S seconds on
//     fail_after=S        every call on this GPU (but nvmlDeviceGetHandleByIndex_v2) returns fail_code from
//                         S seconds on; fail_code=CODE (default unknown). For read-time failures.
//     fail_until=S        ... and answers again from S seconds on (default: never), for a transient failure
//     power_limit=W       current power limit at init (default: default_limit)
//     default_limit=W     (default 700);  min_limit=W (default 200);  max_limit=W (default 700)
//     procs=ENTRY{,ENTRY}  processes holding a compute context (nvmlDeviceGetComputeRunningProcesses_v3),
//                         ENTRY := PIDS [':' SM [':' GI]]; PIDS := a pid, or '@' a file whose whitespace-
//                         separated pids are read at every call (for pids known only once a job runs); SM:
//                         the process's SM utilisation in % (nvmlDeviceGetProcessUtilization, default 0);
//                         GI: its MIG GPU instance id (default: none).
//     mig=N               MIG mode on, with N GPU instances (ids 1..N; 0: off). On a MIG board, per-process
//                         utilisation is NOT_SUPPORTED, as on real hardware.
//     mig_util=U{,U}      each instance's utilisation in % (nvmlDeviceGetUtilizationRates on the MIG device
//                         handle); without it that call is NOT_SUPPORTED (real NVML's answer).
//   Failures: <what>=CODE makes a call on that GPU fail with CODE instead of answering, where <what> is
//     energy       nvmlDeviceGetTotalEnergyConsumption
//     power        both power sources (nvmlDeviceGetPowerUsage and the instantaneous field)
//     power_usage  nvmlDeviceGetPowerUsage only
//     instant      field NVML_FI_DEV_POWER_INSTANT: the call succeeds, the field's own nvmlReturn is CODE
//     fields       the whole nvmlDeviceGetFieldValues call
//     utilisation, memory_used, sm_clock, temperature, name, uuid, handle (nvmlDeviceGetHandleByIndex_v2),
//     power_limit  (nvmlDeviceGetEnforcedPowerLimit and nvmlDeviceGetPowerManagementLimit),
//     set_limit    (nvmlDeviceSetPowerManagementLimit), processes (nvmlDeviceGetComputeRunningProcesses_v3),
//     process_util (nvmlDeviceGetProcessUtilization), mig_mode (nvmlDeviceGetMigMode)
//   CODE    := unsupported | no_permission | invalid_argument | driver_not_loaded | unknown | lost
//              | uninitialized | timeout | function_not_found   (init= and count= also take a number)
//   SERIES  := number | number '@' start_s { ',' number '@' start_s }
//              piecewise constant in time; before the first start the first value holds.
//              e.g. "gpu1.power=100@0,400@1.5": 100 W until 1.5 s after the origin, then 400 W.
//
// Time: t = CLOCK_MONOTONIC - origin, in seconds. The origin is FAKE_NVML_T0_NS (CLOCK_MONOTONIC ns) when
// set, else the moment of the first nvmlInit_v2 (again at each re-init after a full shutdown).
//
// What the readings are (P(t) = min(power series, current power limit), the limit's changes included):
//   nvmlDeviceGetTotalEnergyConsumption  offset + floor(1000 * integral of P from 0 to t) mJ: the exact
//   integral field NVML_FI_DEV_POWER_INSTANT       P(t) in mW (unsigned int) nvmlDeviceGetPowerUsage the
//   trailing 1 s average of P over [t-1, t] in mW, as on an H100
// (t is rounded down to a multiple of update_ms for these three when update_ms is set.)
//
// Power limit: nvmlDeviceSetPowerManagementLimit outside [min_limit, max_limit] ->
// NVML_ERROR_INVALID_ARGUMENT. When FAKE_NVML_STATE names a file, every set writes
// "gpu<i>.power_limit_mw=<n>" lines for all GPUs to it, and init reads it back (overriding power_limit=), so
// a limit outlives the process that set it.
//
// Extra export for tests: fake_nvml_call_count() counts every NVML call made since the library was loaded.

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "sensors/nvml/nvml_types.hpp"

using namespace joulecast::sensors::nvml;

// The fake completes NVML's opaque handle type: one per possible GPU.
struct joulecast::sensors::nvml::nvmlDevice_st {
    unsigned index;
    unsigned instance;  // MIG device handles: the GPU instance id (1..); 0 for a whole GPU
};

namespace {

constexpr unsigned max_gpus = 64;
constexpr double infinity = std::numeric_limits<double>::infinity();

struct Step {
    double start_s;
    double value;
};

// A piecewise constant function of time; before the first step the first value holds.
struct Series {
    std::vector<Step> steps;

    double at(double t) const {
        double value = steps.front().value;
        for (const auto& step : steps)
            if (step.start_s <= t) value = step.value;
        return value;
    }
};

constexpr unsigned max_mig = 7;

struct Process {
    unsigned pid = 0;      // 0 with a pid file
    std::string pid_file;  // '@' form: the pids in this file
    unsigned sm_util = 0;  // %
    unsigned instance = 0xFFFFFFFFu;
};

struct Gpu {
    std::vector<Process> processes;
    unsigned mig = 0;
    std::vector<unsigned> mig_util;
    std::string name;
    std::string uuid;
    Series power{{{0, 70}}};
    Series utilisation{{{0, 0}}};
    Series memory_used{{{0, 1073741824.0}}};
    Series sm_clock{{{0, 1980}}};
    Series temperature{{{0, 40}}};
    unsigned long long memory_total = 85899345920ULL;
    unsigned long long energy_offset_mj = 0;
    double lost_after_s = infinity;
    double fail_after_s = infinity;
    double fail_until_s = infinity;
    nvmlReturn_t fail_code = NVML_ERROR_UNKNOWN;
    double default_limit_w = 700;
    double min_limit_w = 200;
    double max_limit_w = 700;
    double initial_limit_w = -1;  // < 0: the default limit
    Series limit;                 // the current limit over time: one step per change
    std::map<std::string, nvmlReturn_t> failures;

    nvmlReturn_t failure(const std::string& what) const {
        auto found = failures.find(what);
        return found == failures.end() ? NVML_SUCCESS : found->second;
    }
    double power_at(double t) const { return std::min(power.at(t), limit.at(t)); }

    // Integral of power_at over [a, b] in joules (negative when b < a).
    double energy_between(double a, double b) const {
        if (b < a) return -energy_between(b, a);
        std::vector<double> cuts{a, b};
        for (const auto& step : power.steps)
            if (step.start_s > a && step.start_s < b) cuts.push_back(step.start_s);
        for (const auto& step : limit.steps)
            if (step.start_s > a && step.start_s < b) cuts.push_back(step.start_s);
        std::sort(cuts.begin(), cuts.end());
        double joules = 0;
        for (std::size_t i = 1; i < cuts.size(); ++i)
            joules += power_at(0.5 * (cuts[i - 1] + cuts[i])) * (cuts[i] - cuts[i - 1]);
        return joules;
    }
};

struct State {
    std::mutex mutex;
    int init_count = 0;
    unsigned long long calls = 0;
    long long origin_ns = 0;
    double update_s = 0;
    nvmlReturn_t init_failure = NVML_SUCCESS;
    nvmlReturn_t count_failure = NVML_SUCCESS;
    std::string script_error;  // returned by nvmlErrorString(NVML_ERROR_UNKNOWN) after a bad script
    std::vector<Gpu> gpus;
    nvmlDevice_st handles[max_gpus];
    nvmlDevice_st mig_handles[max_gpus][max_mig];
};

State g_state;

long long monotonic_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

double now_s() {
    return static_cast<double>(monotonic_ns() - g_state.origin_ns) * 1e-9;
}

double quantised(double t) {
    return g_state.update_s > 0 ? std::floor(t / g_state.update_s) * g_state.update_s : t;
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) parts.push_back(part);
    if (!text.empty() && text.back() == separator) parts.emplace_back();
    return parts;
}

bool parse_number(const std::string& text, double& out) {
    const std::string clean = trim(text);
    if (clean.empty()) return false;
    char* end = nullptr;
    out = std::strtod(clean.c_str(), &end);
    return end && *end == '\0' && std::isfinite(out);
}

bool parse_code(const std::string& text, bool allow_number, nvmlReturn_t& out) {
    const std::pair<const char*, nvmlReturn_t> names[] = {
        {"unsupported", NVML_ERROR_NOT_SUPPORTED},
        {"not_supported", NVML_ERROR_NOT_SUPPORTED},
        {"no_permission", NVML_ERROR_NO_PERMISSION},
        {"invalid_argument", NVML_ERROR_INVALID_ARGUMENT},
        {"driver_not_loaded", NVML_ERROR_DRIVER_NOT_LOADED},
        {"unknown", NVML_ERROR_UNKNOWN},
        {"lost", NVML_ERROR_GPU_IS_LOST},
        {"uninitialized", NVML_ERROR_UNINITIALIZED},
        {"timeout", NVML_ERROR_TIMEOUT},
        {"function_not_found", NVML_ERROR_FUNCTION_NOT_FOUND},
    };
    for (const auto& [name, code] : names)
        if (text == name) {
            out = code;
            return true;
        }
    double number = 0;
    if (allow_number && parse_number(text, number)) {
        out = static_cast<nvmlReturn_t>(static_cast<int>(number));
        return true;
    }
    return false;
}

bool parse_series(const std::string& text, Series& out) {
    Series series;
    for (const auto& part : split(text, ',')) {
        const auto at = part.find('@');
        Step step{0, 0};
        if (!parse_number(part.substr(0, at), step.value)) return false;
        if (at != std::string::npos && !parse_number(part.substr(at + 1), step.start_s)) return false;
        if (at == std::string::npos && !series.steps.empty()) return false;
        if (!series.steps.empty() && step.start_s <= series.steps.back().start_s) return false;
        series.steps.push_back(step);
    }
    if (series.steps.empty()) return false;
    out = std::move(series);
    return true;
}

// Applies one per-GPU property; returns an error text, empty on success.
std::string apply_gpu_property(Gpu& gpu, const std::string& property, const std::string& value) {
    static const char* const failable[] = {
        "energy",      "power",     "power_usage", "instant",      "fields",  "utilisation",
        "memory_used", "sm_clock",  "temperature", "name",         "uuid",    "handle",
        "power_limit", "set_limit", "processes",   "process_util", "mig_mode"};
    for (const char* what : failable) {
        nvmlReturn_t code = NVML_SUCCESS;
        if (property == what && parse_code(value, false, code)) {
            gpu.failures[property] = code;
            return "";
        }
    }
    if (property == "procs") {
        gpu.processes.clear();
        for (const auto& entry : split(value, ',')) {
            const auto fields = split(trim(entry), ':');
            if (fields.empty() || fields.size() > 3 || trim(fields[0]).empty()) return "bad procs entry";
            Process process;
            double number = 0;
            if (trim(fields[0])[0] == '@')
                process.pid_file = trim(fields[0]).substr(1);
            else if (parse_number(fields[0], number) && number > 0)
                process.pid = static_cast<unsigned>(number);
            else
                return "bad pid";
            if (fields.size() > 1) {
                if (!parse_number(fields[1], number) || number < 0 || number > 100) return "bad SM %";
                process.sm_util = static_cast<unsigned>(number);
            }
            if (fields.size() > 2) {
                if (!parse_number(fields[2], number) || number < 1 || number > max_mig) return "bad instance";
                process.instance = static_cast<unsigned>(number);
            }
            gpu.processes.push_back(process);
        }
        return "";
    }
    if (property == "mig") {
        double number = 0;
        if (!parse_number(value, number) || number < 0 || number > max_mig) return "bad mig";
        gpu.mig = static_cast<unsigned>(number);
        return "";
    }
    if (property == "mig_util") {
        gpu.mig_util.clear();
        for (const auto& part : split(value, ',')) {
            double number = 0;
            if (!parse_number(part, number) || number < 0 || number > 100) return "bad mig_util";
            gpu.mig_util.push_back(static_cast<unsigned>(number));
        }
        return "";
    }
    if (property == "name") {
        gpu.name = value;
        return "";
    }
    if (property == "uuid") {
        gpu.uuid = value;
        return "";
    }
    const std::pair<const char*, Series*> series[] = {
        {"power", &gpu.power},       {"utilisation", &gpu.utilisation}, {"memory_used", &gpu.memory_used},
        {"sm_clock", &gpu.sm_clock}, {"temperature", &gpu.temperature},
    };
    for (const auto& [name, target] : series)
        if (property == name) return parse_series(value, *target) ? "" : "bad series";
    const std::pair<const char*, double*> numbers[] = {
        {"lost_after", &gpu.lost_after_s},       {"fail_after", &gpu.fail_after_s},
        {"fail_until", &gpu.fail_until_s},       {"power_limit", &gpu.initial_limit_w},
        {"default_limit", &gpu.default_limit_w}, {"min_limit", &gpu.min_limit_w},
        {"max_limit", &gpu.max_limit_w},
    };
    for (const auto& [name, target] : numbers)
        if (property == name) return parse_number(value, *target) ? "" : "bad number";
    if (property == "fail_code") return parse_code(value, false, gpu.fail_code) ? "" : "bad code";
    double number = 0;
    if (property == "memory_total" || property == "energy_offset_mj") {
        if (!parse_number(value, number) || number < 0) return "bad number";
        (property == "memory_total" ? gpu.memory_total : gpu.energy_offset_mj) =
            static_cast<unsigned long long>(number);
        return "";
    }
    return "unknown property";
}

// Parses the script into g_state; returns an error text, empty on success.
std::string load_script(const std::string& script) {
    std::vector<std::pair<std::string, std::string>> items;
    for (const auto& raw : split(script, ';')) {
        const std::string item = trim(raw);
        if (item.empty()) continue;
        const auto equals = item.find('=');
        if (equals == std::string::npos) return "item '" + item + "' has no '='";
        items.emplace_back(trim(item.substr(0, equals)), trim(item.substr(equals + 1)));
    }

    // Globals first, so that "gpus=" may come after per-GPU items.
    unsigned count = 1;
    g_state.update_s = 0;
    g_state.init_failure = NVML_SUCCESS;
    g_state.count_failure = NVML_SUCCESS;
    for (const auto& [key, value] : items) {
        double number = 0;
        if (key == "gpus") {
            if (!parse_number(value, number) || number < 0 || number > max_gpus) return "bad gpus=" + value;
            count = static_cast<unsigned>(number);
        } else if (key == "update_ms") {
            if (!parse_number(value, number) || number < 0) return "bad update_ms=" + value;
            g_state.update_s = number * 1e-3;
        } else if (key == "init") {
            if (!parse_code(value, true, g_state.init_failure)) return "bad init=" + value;
        } else if (key == "count") {
            if (!parse_code(value, true, g_state.count_failure)) return "bad count=" + value;
        } else if (key.rfind("gpu", 0) != 0 || key.find('.') == std::string::npos) {
            return "unknown key '" + key + "'";
        }
    }

    g_state.gpus.assign(count, Gpu{});
    for (unsigned i = 0; i < count; ++i) {
        g_state.gpus[i].name = "Fake GPU " + std::to_string(i);
        g_state.gpus[i].uuid = "GPU-fake-" + std::to_string(i);
        g_state.gpus[i].energy_offset_mj = 123456789000ULL + i * 1000000000ULL;
        g_state.handles[i].index = i;
        g_state.handles[i].instance = 0;
        for (unsigned k = 0; k < max_mig; ++k) g_state.mig_handles[i][k] = {i, k + 1};
    }
    for (const auto& [key, value] : items) {
        if (key.rfind("gpu", 0) != 0 || key == "gpus") continue;
        const auto dot = key.find('.');
        const std::string selector = key.substr(3, dot - 3);
        const std::string property = key.substr(dot + 1);
        std::vector<unsigned> targets;
        if (selector == "*") {
            for (unsigned i = 0; i < count; ++i) targets.push_back(i);
        } else {
            double index = -1;
            if (!parse_number(selector, index) || index < 0 || index >= count || index != std::floor(index))
                return "'" + key + "' names a GPU outside gpus=" + std::to_string(count);
            targets.push_back(static_cast<unsigned>(index));
        }
        for (unsigned target : targets) {
            const std::string error = apply_gpu_property(g_state.gpus[target], property, value);
            if (!error.empty()) return error + " in '" + key + "=" + value + "'";
        }
    }
    for (auto& gpu : g_state.gpus) {
        const double initial = gpu.initial_limit_w >= 0 ? gpu.initial_limit_w : gpu.default_limit_w;
        gpu.limit.steps = {{-infinity, initial}};
    }
    return "";
}

void load_state_file() {
    const char* path = std::getenv("FAKE_NVML_STATE");
    if (!path || !*path) return;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        unsigned index = 0;
        unsigned long long milliwatts = 0;
        if (std::sscanf(line.c_str(), "gpu%u.power_limit_mw=%llu", &index, &milliwatts) == 2 &&
            index < g_state.gpus.size())
            g_state.gpus[index].limit.steps = {{-infinity, static_cast<double>(milliwatts) * 1e-3}};
    }
}

void save_state_file(double t) {
    const char* path = std::getenv("FAKE_NVML_STATE");
    if (!path || !*path) return;
    std::ofstream out(path, std::ios::trunc);
    for (std::size_t i = 0; i < g_state.gpus.size(); ++i)
        out << "gpu" << i << ".power_limit_mw=" << std::llround(g_state.gpus[i].limit.at(t) * 1e3) << "\n";
}

// Common entry checks for a device call: initialised, a valid handle, not lost. Sets `gpu` on success.
nvmlReturn_t enter(nvmlDevice_t device, Gpu*& gpu) {
    ++g_state.calls;
    if (g_state.init_count == 0) return NVML_ERROR_UNINITIALIZED;
    const auto address = reinterpret_cast<std::uintptr_t>(device);
    const auto first = reinterpret_cast<std::uintptr_t>(&g_state.handles[0]);
    if (address < first || address >= first + g_state.gpus.size() * sizeof(nvmlDevice_st) ||
        (address - first) % sizeof(nvmlDevice_st) != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    gpu = &g_state.gpus[device->index];
    const double t = now_s();
    if (t >= gpu->lost_after_s) return NVML_ERROR_GPU_IS_LOST;
    if (t >= gpu->fail_after_s && t < gpu->fail_until_s) return gpu->fail_code;
    return NVML_SUCCESS;
}

// A MIG device handle's GPU and instance; nullptr when `device` is not one.
const nvmlDevice_st* mig_handle(nvmlDevice_t device) {
    const auto address = reinterpret_cast<std::uintptr_t>(device);
    const auto first = reinterpret_cast<std::uintptr_t>(&g_state.mig_handles[0][0]);
    const auto end = first + sizeof g_state.mig_handles;
    if (address < first || address >= end || (address - first) % sizeof(nvmlDevice_st) != 0) return nullptr;
    if (device->index >= g_state.gpus.size() || device->instance > g_state.gpus[device->index].mig)
        return nullptr;
    return device;
}

// The pids of one scripted process entry: its pid, or those in its pid file now.
std::vector<unsigned> pids_of(const Process& process) {
    if (process.pid_file.empty()) return {process.pid};
    std::vector<unsigned> pids;
    std::ifstream in(process.pid_file);
    long long pid = 0;
    while (in >> pid)
        if (pid > 0) pids.push_back(static_cast<unsigned>(pid));
    return pids;
}

unsigned int to_mw(double watts) {
    return static_cast<unsigned int>(std::llround(std::max(0.0, watts) * 1e3));
}

// The checks every device query shares, under the lock: initialised, a valid handle, not lost, no failure
// scripted for `what`, a non-null output; then `read` fills the output from the GPU.
template <class Out, class Read>
nvmlReturn_t query(nvmlDevice_t device, const char* what, Out* out, Read read) {
    std::lock_guard lock(g_state.mutex);
    Gpu* gpu = nullptr;
    nvmlReturn_t status = enter(device, gpu);
    if (status == NVML_SUCCESS) status = gpu->failure(what);
    if (status != NVML_SUCCESS) return status;
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    return read(*gpu, *out);
}

nvmlReturn_t copy_text(const std::string& text, char* out, unsigned int length) {
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    if (text.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    std::memcpy(out, text.c_str(), text.size() + 1);
    return NVML_SUCCESS;
}

}  // namespace

extern "C" {

unsigned long long fake_nvml_call_count() {
    std::lock_guard lock(g_state.mutex);
    return g_state.calls;
}

nvmlReturn_t nvmlInit_v2() {
    std::lock_guard lock(g_state.mutex);
    ++g_state.calls;
    if (g_state.init_count > 0) {
        ++g_state.init_count;
        return NVML_SUCCESS;
    }
    const char* script = std::getenv("FAKE_NVML_SCRIPT");
    g_state.script_error = load_script(script ? script : "");
    if (!g_state.script_error.empty()) {
        g_state.script_error = "fake_nvml: bad FAKE_NVML_SCRIPT: " + g_state.script_error;
        std::fprintf(stderr, "%s\n", g_state.script_error.c_str());
        return NVML_ERROR_UNKNOWN;
    }
    if (g_state.init_failure != NVML_SUCCESS) return g_state.init_failure;
    load_state_file();
    const char* origin = std::getenv("FAKE_NVML_T0_NS");
    g_state.origin_ns = origin && *origin ? std::atoll(origin) : monotonic_ns();
    g_state.init_count = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown() {
    std::lock_guard lock(g_state.mutex);
    ++g_state.calls;
    if (g_state.init_count == 0) return NVML_ERROR_UNINITIALIZED;
    --g_state.init_count;
    return NVML_SUCCESS;
}

const char* nvmlErrorString(nvmlReturn_t status) {
    switch (status) {
        case NVML_SUCCESS:
            return "Success";
        case NVML_ERROR_UNINITIALIZED:
            return "Uninitialized";
        case NVML_ERROR_INVALID_ARGUMENT:
            return "Invalid Argument";
        case NVML_ERROR_NOT_SUPPORTED:
            return "Not Supported";
        case NVML_ERROR_NO_PERMISSION:
            return "Insufficient Permissions";
        case NVML_ERROR_INSUFFICIENT_SIZE:
            return "Insufficient Size";
        case NVML_ERROR_DRIVER_NOT_LOADED:
            return "Driver Not Loaded";
        case NVML_ERROR_TIMEOUT:
            return "Timeout";
        case NVML_ERROR_FUNCTION_NOT_FOUND:
            return "Function Not Found";
        case NVML_ERROR_GPU_IS_LOST:
            return "GPU is lost";
        case NVML_ERROR_UNKNOWN: {
            std::lock_guard lock(g_state.mutex);
            return g_state.script_error.empty() ? "Unknown Error" : g_state.script_error.c_str();
        }
        default:
            return "Fake NVML Error";
    }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
    std::lock_guard lock(g_state.mutex);
    ++g_state.calls;
    if (g_state.init_count == 0) return NVML_ERROR_UNINITIALIZED;
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    if (g_state.count_failure != NVML_SUCCESS) return g_state.count_failure;
    *count = static_cast<unsigned int>(g_state.gpus.size());
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
    std::lock_guard lock(g_state.mutex);
    ++g_state.calls;
    if (g_state.init_count == 0) return NVML_ERROR_UNINITIALIZED;
    if (!device || index >= g_state.gpus.size()) return NVML_ERROR_INVALID_ARGUMENT;
    const Gpu& gpu = g_state.gpus[index];
    if (now_s() >= gpu.lost_after_s) return NVML_ERROR_GPU_IS_LOST;
    if (gpu.failure("handle") != NVML_SUCCESS) return gpu.failure("handle");
    *device = &g_state.handles[index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
    std::lock_guard lock(g_state.mutex);
    Gpu* gpu = nullptr;
    nvmlReturn_t status = enter(device, gpu);
    if (status == NVML_SUCCESS) status = gpu->failure("name");
    return status == NVML_SUCCESS ? copy_text(gpu->name, name, length) : status;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
    std::lock_guard lock(g_state.mutex);
    Gpu* gpu = nullptr;
    nvmlReturn_t status = enter(device, gpu);
    if (status == NVML_SUCCESS) status = gpu->failure("uuid");
    return status == NVML_SUCCESS ? copy_text(gpu->uuid, uuid, length) : status;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long* energy_mj) {
    return query(device, "energy", energy_mj, [](Gpu& gpu, unsigned long long& out) {
        const double joules = gpu.energy_between(0, quantised(now_s()));
        // Signed until the end: before the origin (FAKE_NVML_T0_NS in the future) the integral is negative.
        const long long counter_mj =
            static_cast<long long>(gpu.energy_offset_mj) + std::llround(std::floor(joules * 1e3));
        out = static_cast<unsigned long long>(std::max(0LL, counter_mj));
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* power_mw) {
    return query(device, "power", power_mw, [](Gpu& gpu, unsigned int& out) {
        if (gpu.failure("power_usage") != NVML_SUCCESS) return gpu.failure("power_usage");
        const double t = quantised(now_s());
        out = to_mw(gpu.energy_between(t - 1.0, t));
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int count, nvmlFieldValue_t* values) {
    std::lock_guard lock(g_state.mutex);
    Gpu* gpu = nullptr;
    nvmlReturn_t status = enter(device, gpu);
    if (status == NVML_SUCCESS) status = gpu->failure("fields");
    if (status != NVML_SUCCESS) return status;
    if (count < 0 || (count > 0 && !values)) return NVML_ERROR_INVALID_ARGUMENT;
    timespec wall{};
    clock_gettime(CLOCK_REALTIME, &wall);
    const double t = quantised(now_s());
    for (int i = 0; i < count; ++i) {
        nvmlFieldValue_t& field = values[i];
        field.timestamp = static_cast<long long>(wall.tv_sec) * 1000000LL + wall.tv_nsec / 1000;
        field.latencyUsec = 0;
        if (field.fieldId != NVML_FI_DEV_POWER_INSTANT) {
            field.nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
            continue;
        }
        field.nvmlReturn = gpu->failure("power");
        if (field.nvmlReturn == NVML_SUCCESS) field.nvmlReturn = gpu->failure("instant");
        if (field.nvmlReturn != NVML_SUCCESS) continue;
        field.valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
        field.value.uiVal = to_mw(gpu->power_at(t));
    }
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* rates) {
    {
        std::lock_guard lock(g_state.mutex);
        if (const nvmlDevice_st* mig = mig_handle(device)) {
            ++g_state.calls;
            const Gpu& gpu = g_state.gpus[mig->index];
            if (gpu.mig_util.size() < mig->instance) return NVML_ERROR_NOT_SUPPORTED;
            if (!rates) return NVML_ERROR_INVALID_ARGUMENT;
            rates->gpu = gpu.mig_util[mig->instance - 1];
            rates->memory = rates->gpu / 2;
            return NVML_SUCCESS;
        }
    }
    return query(device, "utilisation", rates, [](Gpu& gpu, nvmlUtilization_t& out) {
        out.gpu = static_cast<unsigned int>(gpu.utilisation.at(now_s()));
        out.memory = out.gpu / 2;
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
    return query(device, "memory_used", memory, [](Gpu& gpu, nvmlMemory_t& out) {
        out.total = gpu.memory_total;
        out.used = std::min(out.total, static_cast<unsigned long long>(gpu.memory_used.at(now_s())));
        out.free = out.total - out.used;
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int* mhz) {
    return query(device, "sm_clock", mhz, [type](Gpu& gpu, unsigned int& out) {
        if (type != NVML_CLOCK_SM && type != NVML_CLOCK_GRAPHICS) return NVML_ERROR_NOT_SUPPORTED;
        out = static_cast<unsigned int>(gpu.sm_clock.at(now_s()));
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensor, unsigned int* c) {
    return query(device, "temperature", c, [sensor](Gpu& gpu, unsigned int& out) {
        if (sensor != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
        out = static_cast<unsigned int>(gpu.temperature.at(now_s()));
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int* limit_mw) {
    return query(device, "power_limit", limit_mw, [](Gpu& gpu, unsigned int& out) {
        out = to_mw(gpu.limit.at(now_s()));
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int* limit_mw) {
    return nvmlDeviceGetEnforcedPowerLimit(device, limit_mw);
}

nvmlReturn_t nvmlDeviceGetPowerManagementDefaultLimit(nvmlDevice_t device, unsigned int* limit_mw) {
    return query(device, "power_limit", limit_mw, [](Gpu& gpu, unsigned int& out) {
        out = to_mw(gpu.default_limit_w);
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t device, unsigned int* min_mw,
                                                          unsigned int* max_mw) {
    std::lock_guard lock(g_state.mutex);
    Gpu* gpu = nullptr;
    nvmlReturn_t status = enter(device, gpu);
    if (status == NVML_SUCCESS) status = gpu->failure("power_limit");
    if (status != NVML_SUCCESS) return status;
    if (!min_mw || !max_mw) return NVML_ERROR_INVALID_ARGUMENT;
    *min_mw = to_mw(gpu->min_limit_w);
    *max_mw = to_mw(gpu->max_limit_w);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceSetPowerManagementLimit(nvmlDevice_t device, unsigned int limit_mw) {
    std::lock_guard lock(g_state.mutex);
    Gpu* gpu = nullptr;
    nvmlReturn_t status = enter(device, gpu);
    if (status == NVML_SUCCESS) status = gpu->failure("set_limit");
    if (status != NVML_SUCCESS) return status;
    const double watts = static_cast<double>(limit_mw) * 1e-3;
    if (watts < gpu->min_limit_w || watts > gpu->max_limit_w) return NVML_ERROR_INVALID_ARGUMENT;
    const double t = now_s();
    // A new step in the limit series; a change at the same instant replaces the previous one.
    if (gpu->limit.steps.back().start_s >= t) gpu->limit.steps.pop_back();
    gpu->limit.steps.push_back({t, watts});
    save_state_file(t);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                     nvmlProcessInfo_t* infos) {
    return query(device, "processes", count, [infos](Gpu& gpu, unsigned int& out) {
        std::vector<nvmlProcessInfo_t> list;
        for (const Process& process : gpu.processes)
            for (unsigned pid : pids_of(process))
                list.push_back({pid, 1ULL << 30, gpu.mig ? process.instance : NVML_NO_INSTANCE_ID,
                                gpu.mig ? 0u : NVML_NO_INSTANCE_ID});
        const unsigned capacity = out;
        out = static_cast<unsigned>(list.size());
        if (capacity < list.size()) return NVML_ERROR_INSUFFICIENT_SIZE;
        if (!list.empty() && !infos) return NVML_ERROR_INVALID_ARGUMENT;
        std::copy(list.begin(), list.end(), infos);
        return NVML_SUCCESS;
    });
}

// One sample per scripted process, stamped now; NOT_FOUND when none is newer than last_seen (as NVML).
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t* samples,
                                             unsigned int* count, unsigned long long last_seen_us) {
    return query(device, "process_util", count, [samples, last_seen_us](Gpu& gpu, unsigned int& out) {
        if (gpu.mig) return NVML_ERROR_NOT_SUPPORTED;
        timespec wall{};
        clock_gettime(CLOCK_REALTIME, &wall);
        const unsigned long long now_us =
            static_cast<unsigned long long>(wall.tv_sec) * 1000000ULL + wall.tv_nsec / 1000;
        std::vector<nvmlProcessUtilizationSample_t> list;
        if (now_us > last_seen_us)
            for (const Process& process : gpu.processes)
                for (unsigned pid : pids_of(process)) list.push_back({pid, now_us, process.sm_util, 0, 0, 0});
        if (list.empty()) return NVML_ERROR_NOT_FOUND;
        const unsigned capacity = out;
        out = static_cast<unsigned>(list.size());
        if (!samples || capacity < list.size()) return NVML_ERROR_INSUFFICIENT_SIZE;
        std::copy(list.begin(), list.end(), samples);
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current, unsigned int* pending) {
    return query(device, "mig_mode", current, [pending](Gpu& gpu, unsigned int& out) {
        out = gpu.mig ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
        if (pending) *pending = out;
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int* count) {
    return query(device, "mig_mode", count, [](Gpu& gpu, unsigned int& out) {
        out = gpu.mig;
        return NVML_SUCCESS;
    });
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, nvmlDevice_t* mig) {
    std::lock_guard lock(g_state.mutex);
    Gpu* gpu = nullptr;
    nvmlReturn_t status = enter(device, gpu);
    if (status != NVML_SUCCESS) return status;
    if (!gpu->mig) return NVML_ERROR_INVALID_ARGUMENT;
    if (!mig) return NVML_ERROR_INVALID_ARGUMENT;
    if (index >= gpu->mig) return NVML_ERROR_NOT_FOUND;
    *mig = &g_state.mig_handles[device->index][index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int* id) {
    std::lock_guard lock(g_state.mutex);
    ++g_state.calls;
    const nvmlDevice_st* mig = mig_handle(device);
    if (!mig) return NVML_ERROR_NOT_SUPPORTED;  // a whole GPU has no instance id
    if (!id) return NVML_ERROR_INVALID_ARGUMENT;
    *id = mig->instance;
    return NVML_SUCCESS;
}

}  // extern "C"
