#pragma once
// Which GPUs a run measures. By default, those the job can use: CUDA_VISIBLE_DEVICES (indices, or GPU-UUIDs
// and unique prefixes of them, as CUDA takes them), else the GPU-UUIDs of NVIDIA_VISIBLE_DEVICES, else every
// GPU. Inside a container NVML already sees only the GPUs NVIDIA_VISIBLE_DEVICES maps in, with new indices,
// so its index form selects nothing more. `--gpus all|visible|LIST` overrides the default.

#include <string>
#include <vector>

#include "core/result.hpp"

namespace joulecast::sensors {

struct GpuSelection {
    bool all = true;  ///< every GPU the library sees
    std::vector<std::string>
        items;  ///< when !all: indices ("0") or UUIDs/prefixes ("GPU-8932f937", "MIG-...")
    std::string origin = "every GPU";  ///< what chose it, for notes: "CUDA_VISIBLE_DEVICES=0,2", "--gpus 1"
    /// `--gpus used`: the GPUs above are measured, and a run's totals keep only those where a process of
    /// the job held a compute context (NVML's running-process list, read while it runs).
    bool used_only = false;

    /// Whether the GPU at `index` with `uuid` is measured.
    bool selects(unsigned index, const std::string& uuid) const;
    /// Items that name no GPU among `gpus` (index, uuid); MIG instances are reported apart by the sensor.
    std::vector<std::string> unmatched(const std::vector<std::pair<unsigned, std::string>>& gpus) const;
};

/// The default selection from the two variables' values (nullptr: unset). CUDA's rule applies: its list
/// ends at the first entry that is neither an index nor a UUID; an empty CUDA_VISIBLE_DEVICES hides every
/// GPU.
GpuSelection gpu_selection_from_environment(const char* cuda_visible_devices,
                                            const char* nvidia_visible_devices);

/// `--gpus all|visible|used|LIST`: "visible" is `visible` (the environment's); "used" is `visible` with
/// used_only set; LIST is comma-separated indices or
/// UUIDs. An empty or malformed list is an error.
core::Result<GpuSelection> parse_gpus_option(const std::string& text, const GpuSelection& visible);

}  // namespace joulecast::sensors
