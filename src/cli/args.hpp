#pragma once
// The options that several joulecast commands share (carbon, measuring, inferences), on top of the generic
// reader in core/args.hpp.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "carbon/carbon.hpp"
#include "core/args.hpp"
#include "core/result.hpp"
#include "meter/monitor.hpp"

namespace joulecast::cli {

/// A count of inferences >= 0 for --inferences, with an optional k, M, G (or B) suffix: 1e6, 250k, 2M.
double inferences_option(const std::string& text);

/// If the next argument is one of the carbon options (--country, --region, --intensity, --pue), consumes it.
bool carbon_option(core::Args& args, carbon::CarbonOptions& carbon);
/// The value of --cpu-tdp: watts above 0 and at most 2000, else UsageError.
double cpu_tdp_option(const std::string& text);
/// If the next argument is a measuring option that `run` and `study` share (--interval 10ms..10s, --cpu-tdp
/// W), consumes it; a bad value throws UsageError.
bool measuring_option(core::Args& args, meter::MonitorOptions& monitor);

}  // namespace joulecast::cli
