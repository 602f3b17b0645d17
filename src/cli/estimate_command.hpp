#pragma once
// joulecast estimate: a job's training and inference energy, time and CO2e from the model alone (parameters,
// MACs, batch size) through a per-device calibration (forecast/calibration_sources.hpp); every figure is a
// MODEL estimate with an interval. `--validate` prints the calibration's leave-one-architecture-out error.

#include <string>
#include <vector>

namespace joulecast::cli {

/// Exit status: 0 estimated / validated; 1 no usable calibration for the device, a model that cannot be read,
/// or a store that cannot be used; 2 bad options (UsageError).
int estimate_command(const std::vector<std::string>& args);

extern const char* const estimate_usage;

}  // namespace joulecast::cli
