#include "carbon/run_carbon.hpp"

namespace joulecast::carbon {

using meter::CarbonResult;
using meter::RunResult;

void apply_carbon(RunResult& result, const CarbonSetting& setting) {
    CarbonResult carbon;
    carbon.intensity_g_per_kwh = setting.intensity_g_per_kwh;
    carbon.intensity_source = setting.source;
    carbon.pue = setting.pue;
    carbon.co2e_g = co2e_g(result.energy.total_j, setting);
    result.carbon = carbon;
    for (auto& phase : result.phases) phase.co2e_g = co2e_g(phase.energy_j, setting);
}

}  // namespace joulecast::carbon
