#include "sensors/registry.hpp"

#include <cstdlib>
#include <filesystem>

#include "sensors/hwmon/hwmon_sensor.hpp"
#include "sensors/job/job_amdgpu_sensor.hpp"
#include "sensors/job/job_cpu_sensor.hpp"
#include "sensors/job/job_gpu_sensor.hpp"
#include "sensors/model/cpu_model.hpp"
#include "sensors/model/dram_model.hpp"
#include "sensors/nvml/nvml_sensor.hpp"
#include "sensors/rapl/rapl_sensor.hpp"
#include "sensors/replay/replay_sensor.hpp"
#include "sensors/rocm/rocm_sensor.hpp"

namespace joulecast::sensors {

namespace {

std::string env_or(const char* name, std::string fallback) {
    const char* value = std::getenv(name);
    return value && *value ? std::string(value) : fallback;
}

bool measures_domain(const Sensor& sensor, std::string_view domain) {
    for (const auto& channel : sensor.channels())
        if (channel.domain == domain && channel.quantity == Quantity::energy && channel.accounted)
            return true;
    return false;
}

ProbedSensor probe(std::unique_ptr<Sensor> sensor) {
    ProbedSensor probed;
    probed.availability = sensor->probe();
    probed.used = probed.availability.available;
    probed.sensor = std::move(sensor);
    return probed;
}

}  // namespace

SensorConfig SensorConfig::from_environment() {
    SensorConfig config;
    config.sysfs_root = env_or("JOULECAST_SYSFS_ROOT", config.sysfs_root);
    config.proc_root = env_or("JOULECAST_PROC_ROOT", config.proc_root);
    config.nvml_library = env_or("JOULECAST_NVML_LIBRARY", config.nvml_library);
    config.rocm_smi_library = env_or("JOULECAST_ROCM_SMI_LIBRARY", config.rocm_smi_library);
    config.gpus = gpu_selection_from_environment(std::getenv("CUDA_VISIBLE_DEVICES"),
                                                 std::getenv("NVIDIA_VISIBLE_DEVICES"));
    return config;
}

std::vector<Sensor*> SensorSet::used() const {
    std::vector<Sensor*> out;
    for (const auto& probed : sensors)
        if (probed.used) out.push_back(probed.sensor.get());
    return out;
}

std::vector<GpuInfo> SensorSet::gpus() const {
    std::vector<GpuInfo> out;
    for (const auto& probed : sensors)
        if (probed.used)
            for (auto& gpu : probed.sensor->gpus()) out.push_back(gpu);
    return out;
}

SensorSet make_sensor_set(const SensorConfig& config) {
    SensorSet set;
    if (!config.replay_path.empty()) {
        set.sensors.push_back(probe(std::make_unique<ReplaySensor>(config.replay_path)));
        set.sensors.back().role = "replaying " + config.replay_path + " (no hardware sensor is read)";
        return set;
    }

    auto nvml_sensor = std::make_unique<NvmlSensor>(config.nvml_library, config.gpus);
    NvmlSensor& nvml = *nvml_sensor;
    set.sensors.push_back(probe(std::move(nvml_sensor)));
    set.sensors.back().role = "GPU energy and power";
    const bool nvml_gpus = set.sensors.back().used;
    const bool default_rocm = config.rocm_smi_library == SensorConfig{}.rocm_smi_library;
    if (default_rocm && !std::filesystem::exists("/sys/class/drm")) {
        // ROCm SMI reads the real /sys/class/drm and its rsmi_init fails without it; loading the library only
        // to see that cost ~5 ms of every run's start (on a machine with the library and no GPU driver).
        ProbedSensor skipped;
        skipped.sensor = std::make_unique<RocmSensor>(config.rocm_smi_library);
        skipped.availability =
            Availability::no("no /sys/class/drm (no GPU driver loaded), so ROCm SMI can see no GPU: " +
                             config.rocm_smi_library + " not loaded");
        set.sensors.push_back(std::move(skipped));
    } else {
        set.sensors.push_back(probe(std::make_unique<RocmSensor>(config.rocm_smi_library)));
    }
    set.sensors.back().role = "AMD GPU energy and power";
    const bool rocm_gpus = set.sensors.back().used;
    const auto* rocm = dynamic_cast<const RocmSensor*>(set.sensors.back().sensor.get());
    auto rocm_library = rocm_gpus && rocm ? rocm->library() : nullptr;
    set.sensors.push_back(probe(std::make_unique<RaplSensor>(config.sysfs_root)));
    set.sensors.back().role = "CPU and DRAM energy counters";
    const ProbedSensor& rapl = set.sensors.back();
    const bool rapl_cpu = rapl.used && measures_domain(*rapl.sensor, "cpu");
    const bool rapl_dram = rapl.used && measures_domain(*rapl.sensor, "dram");
    const std::string rapl_why =
        rapl.used ? "RAPL has no such zone" : "RAPL unavailable: " + rapl.availability.reason;

    HwmonOptions hwmon_options;
    hwmon_options.cpu_elsewhere = rapl_cpu;
    hwmon_options.amd_gpus_elsewhere = rocm_gpus;
    set.sensors.push_back(probe(std::make_unique<HwmonSensor>(config.sysfs_root, hwmon_options)));
    set.sensors.back().role = "hwmon power meters: AMD/Intel GPUs, AMD CPU sockets, board rails, node meter";
    const ProbedSensor& hwmon = set.sensors.back();
    const bool hwmon_cpu = hwmon.used && measures_domain(*hwmon.sensor, "cpu");

    // One read of /proc/stat per tick serves the CPU model and the job-cpu sensor.
    auto proc_stat = std::make_shared<ProcStatCpu>(config.proc_root);
    auto cpu = probe(std::make_unique<CpuModelSensor>(config.proc_root, config.cpu_tdp_w, proc_stat));
    if (rapl_cpu) {
        cpu.used = false;
        cpu.role = "not used: RAPL measures the CPU";
    } else if (hwmon_cpu) {
        cpu.used = false;
        cpu.role = "not used: hwmon (amd_energy) measures the CPU";
    } else {
        cpu.role = "fallback for CPU energy (" + rapl_why + ")";
        if (cpu.used) set.fallbacks.push_back("CPU energy is MODELLED, not measured: " + rapl_why);
    }
    set.sensors.push_back(std::move(cpu));

    auto dram = probe(std::make_unique<DramModelSensor>(config.proc_root));
    if (rapl_dram) {
        dram.used = false;
        dram.role = "not used: RAPL measures DRAM";
    } else {
        dram.role = "fallback for DRAM energy (" + rapl_why + ")";
        if (dram.used) set.fallbacks.push_back("DRAM energy is MODELLED, not measured: " + rapl_why);
    }
    set.sensors.push_back(std::move(dram));

    set.sensors.push_back(probe(std::make_unique<JobCpuSensor>(config.proc_root, proc_stat)));
    set.sensors.back().role = "the job's share of busy CPU time, for its attributed CPU and DRAM energy";
    if (nvml_gpus) {
        set.sensors.push_back(
            probe(std::make_unique<JobGpuSensor>(config.nvml_library, config.gpus, config.proc_root,
                                                 nvml.library())));  // one NVML session for both
        set.sensors.back().role = "the job's processes on the GPUs and its share of their SM utilisation";
    }
    if (rocm_gpus) {
        set.sensors.push_back(probe(std::make_unique<JobAmdGpuSensor>(rocm_library, config.proc_root)));
        set.sensors.back().role =
            "the job's processes on the AMD GPUs and its share of their compute-unit occupancy";
    }
    return set;
}

}  // namespace joulecast::sensors
