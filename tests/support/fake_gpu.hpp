#pragma once
// The environment of an end-to-end test whose energy comes from the fake NVML alone: the joulecast binary is
// isolated from this machine (isolated_env), loads the fake library with a power script, and sees no /proc,
// so that the CPU and DRAM models stay out. Header-only: FAKE_NVML_LIBRARY is defined for the joulecast_tests
// target.

#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::test {

inline ProcessOptions fake_gpu_options(const TempDir& dir, const std::string& script) {
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    options.env["JOULECAST_NVML_LIBRARY"] = FAKE_NVML_LIBRARY;
    options.env["FAKE_NVML_SCRIPT"] = script;
    options.env["JOULECAST_PROC_ROOT"] = dir.str() + "/no-proc";
    return options;
}

}  // namespace joulecast::test
