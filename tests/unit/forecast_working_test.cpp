// The forecaster's working (meter/forecast_working.hpp) is one field list: every field reaches
// `joulecast forecast --json` (forecast_to_json), a run's `forecast` (to_json), the reader (run_from_json)
// and make_run_forecast, each with its own value, in the documented order.

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "forecast/forecaster.hpp"
#include "meter/run_json.hpp"
#include "runner/live_forecast.hpp"

namespace joulecast::forecast {

using meter::ForecastBasis;
using meter::ForecastWorking;
using meter::run_from_json;
using meter::RunResult;
using meter::to_json;

using carbon::CarbonSetting;

namespace {

/// Every field set to a value of its own: doubles 1.25, 2.25, ..., counts 1, 2, ..., notes one per field.
ForecastWorking distinct_working() {
    ForecastWorking w;
    int k = 0;
    ForecastWorking::for_each_field(w, [&k](const char*, auto& field) {
        ++k;
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_same_v<T, double>)
            field = k + 0.25;
        else if constexpr (std::is_same_v<T, std::size_t>)
            field = static_cast<std::size_t>(k);
        else
            field = std::vector<std::string>(static_cast<std::size_t>(k), "note");
    });
    return w;
}

nlohmann::ordered_json working_json(const ForecastWorking& w) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    ForecastWorking::for_each_field(w, [&j](const char* key, const auto& field) { j[key] = field; });
    return j;
}

std::vector<std::string> keys(const nlohmann::ordered_json& j) {
    std::vector<std::string> out;
    for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
    return out;
}

TEST(ForecastWorking, EveryFieldReachesBothWritersTheReaderAndTheRunForecast) {
    const ForecastWorking working = distinct_working();
    const nlohmann::ordered_json expected = working_json(working);
    ASSERT_EQ(expected.size(), 16u);

    Forecast f;
    static_cast<ForecastWorking&>(f) = working;
    f.method = "steady-trend";
    f.total_energy_j = 900;
    f.low_energy_j = 850;
    f.high_energy_j = 950;
    f.total_duration_s = 120;
    f.converged = true;

    // joulecast forecast --json: the working in place, with the total duration and `converged` among it.
    const auto cli = forecast_to_json(f);
    for (auto it = expected.begin(); it != expected.end(); ++it)
        EXPECT_EQ(cli.at(it.key()), it.value()) << it.key();
    const std::vector<std::string> cli_order = {"method",
                                                "total_energy_j",
                                                "low_energy_j",
                                                "high_energy_j",
                                                "confidence",
                                                "measured_energy_j",
                                                "predicted_energy_j",
                                                "total_duration_s",
                                                "measured_duration_s",
                                                "observations",
                                                "warmup_excluded",
                                                "warmup_windows",
                                                "warmup_energy_j",
                                                "first_used",
                                                "observations_used",
                                                "remaining_observations",
                                                "level_j",
                                                "trend_j",
                                                "raw_trend_j",
                                                "noise_j",
                                                "autocorrelation",
                                                "converged",
                                                "notes"};
    EXPECT_EQ(keys(cli), cli_order);
    EXPECT_EQ(cli.at("total_duration_s"), 120.0);
    EXPECT_EQ(cli.at("converged"), true);

    // The run's forecast: make_run_forecast copies all of it, to_json writes it after `converged`, and
    // run_from_json reads every field back.
    RunResult run;
    run.id = "forecast-working";
    run.forecast =
        runner::make_run_forecast(f, ForecastTarget::epochs(10), ForecastBasis::epochs, 0.0, CarbonSetting{});
    EXPECT_EQ(working_json(*run.forecast), expected);
    const auto document = to_json(run);
    const auto& written = document.at("forecast");
    std::vector<std::string> tail = keys(written);
    ASSERT_GE(tail.size(), expected.size());
    tail.erase(tail.begin(), tail.end() - static_cast<std::ptrdiff_t>(expected.size()));
    EXPECT_EQ(tail, keys(expected));
    EXPECT_EQ(keys(written).at(keys(written).size() - expected.size() - 1), "converged");
    auto read = run_from_json(document);
    ASSERT_TRUE(read.ok()) << read.error();
    ASSERT_TRUE(read->forecast.has_value());
    EXPECT_EQ(working_json(*read->forecast), expected);
    EXPECT_EQ(read->forecast->method, "steady-trend");
}

}  // namespace
}  // namespace joulecast::forecast
