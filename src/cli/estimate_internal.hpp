#pragma once
// Internal to `joulecast estimate` (estimate_command.cpp: parsing and estimating; estimate_validation.cpp:
// --validate and --save-calibration): the calibration's description and the whole-calibration subcommands.

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "forecast/calibration_sources.hpp"

namespace joulecast::cli::estimate_detail {

/// The chosen calibration's provenance as JSON, and as the text report's "calibration:" lines.
nlohmann::ordered_json source_json(const forecast::ChosenCalibration& c);
void print_source(std::ostream& out, const forecast::ChosenCalibration& c);

/// `--validate`: leave-one-architecture-out validation of the chosen calibration, as text or JSON.
int run_validate(bool json, const forecast::ChosenCalibration& chosen, const std::string& device_how,
                 const std::vector<std::string>& warnings);

/// `--save-calibration FILE`: writes the store's calibration of `device` in the shipped form.
int save_calibration(const std::string& file, const std::string& device,
                     const forecast::StoreCalibrations& stored, const std::vector<std::string>& warnings);

}  // namespace joulecast::cli::estimate_detail
