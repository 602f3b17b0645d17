#pragma once
// Carbon of a measured run: its total and every phase and epoch, at one grid intensity and PUE.

#include "carbon/carbon.hpp"
#include "meter/run_result.hpp"

namespace joulecast::carbon {

/// Sets result.carbon and each phase's co2e_g from the run's gross energy (the whole electricity bill,
/// modelled parts included and labelled as such in energy_j).
void apply_carbon(meter::RunResult& result, const CarbonSetting& setting);

}  // namespace joulecast::carbon
