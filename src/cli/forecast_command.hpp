#pragma once
// `joulecast forecast RUN (--epochs N | --samples N | --duration D)`: the short-profile forecast of a stored
// run (from its epochs, or from fixed windows of its readings when it marked none), beside the naive
// carbontracker-style figure; and `joulecast forecast --backtest [FILTERS]`: the forecaster against the
// measured totals of the stored runs. The logic is in forecast/forecaster.hpp and forecast/backtest.hpp.

#include <string>
#include <vector>

namespace joulecast::cli {

/// `args` are the words after "forecast". Exit status: 0 done (a backtest also when the targets are not
/// met: the output says so); 1 unknown or ambiguous run, a run with nothing to forecast from, an empty store,
/// no run left to backtest; 2 bad options (UsageError), a target that is not a positive whole number of
/// epochs or samples or a positive duration among them.
int forecast_command(const std::vector<std::string>& args);

extern const char* const forecast_usage;

}  // namespace joulecast::cli
