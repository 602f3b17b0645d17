#pragma once
// The forecaster's working: how it got from the observations to its forecast (what it measured, what it left
// out as warm-up, what it fitted). Held by the forecaster's Forecast (forecast/forecaster.hpp) and by a run's
// RunForecast (meter/run_result.hpp); written to JSON and read back in one place each (meter/run_json.hpp),
// both through for_each_field, so a field added here reaches every copy, the result JSON and its reader.

#include <cstddef>
#include <string>
#include <vector>

namespace joulecast::meter {

struct ForecastWorking {
    double measured_energy_j = 0;     ///< sum over the observations seen (warm-up included), joules
    double predicted_energy_j = 0;    ///< the remainder only, joules
    double measured_duration_s = 0;   ///< seconds of the observations seen
    std::size_t observations = 0;     ///< observations (epochs or windows) seen
    std::size_t warmup_excluded = 0;  ///< leading observations excluded as warm-up
    std::size_t warmup_windows = 0;   ///< leading sub-epoch windows found to be a warm-up burst
    double warmup_energy_j = 0;       ///< that burst's energy above the steady level, joules (measured, once)
    std::size_t first_used = 0;       ///< index of the first observation the fit used (after a level shift)
    std::size_t observations_used = 0;  ///< observations the fit used
    double remaining_observations = 0;  ///< predicted further observations (may be fractional)
    double level_j = 0;              ///< steady-state energy per observation, fitted at the last one, joules
    double trend_j = 0;              ///< change of energy per observation, per observation (after shrinkage)
    double raw_trend_j = 0;          ///< the Theil–Sen slope before shrinkage, J per observation
    double noise_j = 0;              ///< residual standard deviation per observation, joules
    double autocorrelation = 0;      ///< lag-1 autocorrelation the interval used (estimated or assumed)
    std::vector<std::string> notes;  ///< plain-language remarks: what was excluded and why, fallbacks

    /// Calls visit(json_key, field) for every field, in the order of the JSON.
    template <typename Self, typename Visit>
    static void for_each_field(Self& self, Visit&& visit) {
        visit("measured_energy_j", self.measured_energy_j);
        visit("predicted_energy_j", self.predicted_energy_j);
        visit("measured_duration_s", self.measured_duration_s);
        visit("observations", self.observations);
        visit("warmup_excluded", self.warmup_excluded);
        visit("warmup_windows", self.warmup_windows);
        visit("warmup_energy_j", self.warmup_energy_j);
        visit("first_used", self.first_used);
        visit("observations_used", self.observations_used);
        visit("remaining_observations", self.remaining_observations);
        visit("level_j", self.level_j);
        visit("trend_j", self.trend_j);
        visit("raw_trend_j", self.raw_trend_j);
        visit("noise_j", self.noise_j);
        visit("autocorrelation", self.autocorrelation);
        visit("notes", self.notes);
    }
};

}  // namespace joulecast::meter
