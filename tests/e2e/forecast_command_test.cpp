// End to end: `joulecast forecast` through the real binary, on runs that the real `joulecast run` measured
// under a fake GPU of constant power, whose child marks epochs through the Python client.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "meter/run_json.hpp"
#include "store/run_store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using sensors::Channel;
using sensors::Quantity;

using meter::Reading;
using meter::RunResult;
using meter::RunStatus;
using meter::to_json;

using store::RunStore;

namespace {

using test::isolated_env;
using test::ProcessOptions;
using test::ProcessResult;
using test::run_process;
using test::TempDir;

constexpr double power_w = 200.0;  // the fake GPU's constant power, the only energy source
constexpr int epochs = 8;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// Marks `count` epochs at fixed moments of the workload's own clock: the first ends `first_s` after it
/// begins its "train" phase, the others 0.2 s apart. Each mark carries the moment it stands for (the control
/// protocol's t=), so a late wake-up or a slow start on a loaded machine lengthens no epoch: steady runs give
/// epochs of the same energy, and a forecast from three of them is exact.
const char* const timed_epochs = R"(
import sys, time, joulecast
count, first = int(sys.argv[1]), float(sys.argv[2])
client = joulecast.default_client()
now = lambda: time.clock_gettime_ns(time.CLOCK_MONOTONIC)
start = now()
client.send_line(joulecast.format_line("begin", "train", {}, start))
for k in range(count):
    t = start + int((first + 0.2 * k) * 1e9)
    while now() < t:
        time.sleep(0.001)
    client.send_line(joulecast.format_line("epoch", None, {"samples": 100}, t))
client.send_line(joulecast.format_line("end", "train", {}, t))
)";

class ForecastCli : public ::testing::Test {
protected:
    /// Measures five runs at once (they only sleep): two steady runs of 8 epochs, one whose first epoch is
    /// three times as long (a warm-up), one that marks no epoch (1.6 s), and one of a single epoch; then adds
    /// two hand-made runs with neither epochs nor readings whose ids share a prefix.
    static void SetUpTestSuite() {
        s_dir = std::make_unique<TempDir>();
        s_results = std::make_unique<std::map<std::string, nlohmann::json>>();
        const std::string epochs_py = s_dir->write("epochs.py", timed_epochs).string();
        const std::string marks = "python3 " + epochs_py + " ";
        const std::vector<std::pair<std::string, std::string>> runs = {
            {"steady-a", marks + std::to_string(epochs) + " 0.2"},
            {"steady-b", marks + std::to_string(epochs) + " 0.2"},
            {"warmup", marks + std::to_string(epochs) + " 0.6"},
            {"service", "sleep 1.6"},
            {"single", marks + "1 0.2"},
        };
        std::string driver;
        for (const auto& [name, command] : runs) {
            // The run without epochs samples every 20 ms: its 0.2 s windows are 10 sampling intervals.
            const std::string interval = name == "service" ? " --interval 20ms" : "";
            driver += std::string(JOULECAST_BINARY) + " run --quiet" + interval + " --name " + name +
                      " --db " + db() + " --json " + s_dir->str() + "/" + name + ".json -- " + command +
                      " & ";
        }
        driver += "wait";
        auto r = run_process({"/bin/sh", "-c", driver}, options());
        ASSERT_EQ(r.exit_code, 0) << r.err;
        for (const auto& [name, command] : runs) {
            std::ifstream in(s_dir->str() + "/" + name + ".json");
            ASSERT_TRUE(in) << name;
            (*s_results)[name] = nlohmann::json::parse(in);
        }

        RunStore store(db());
        for (const char* id : {"abc0000000000001", "abc0000000000002"}) {
            RunResult empty;
            empty.id = id;
            empty.name = "empty";
            empty.started_at = "2026-11-20T08:00:00Z";
            empty.duration_s = 10;
            store.finish_run(empty, to_json(empty));
        }

        // A failed run (not backtested) without epochs whose result records no sampling interval: 100 W read
        // every 250 ms for 5 s. Its interval is the median spacing of its readings.
        Channel c;
        c.name = "gpu0.power";
        c.domain = "gpu";
        c.device = "gpu0";
        c.quantity = Quantity::power;
        RunResult sparse;
        sparse.id = "dd00000000000001";
        sparse.name = "sparse";
        sparse.command = {"sleep", "5"};
        sparse.started_at = "2026-11-21T08:00:00Z";
        store.begin_run(sparse, {{"scripted", c}}, 0, getpid());
        std::vector<Reading> readings;
        for (int i = 0; i <= 20; ++i) readings.push_back({i * 250'000'000LL, 0, 100.0});
        store.append_readings(sparse.id, readings, 0);
        sparse.status = RunStatus::failed;
        sparse.exit_code = 1;
        sparse.duration_s = 5;
        store.finish_run(sparse, to_json(sparse));
    }
    static void TearDownTestSuite() {
        s_results.reset();
        s_dir.reset();
    }

    static std::string db() { return s_dir->str() + "/runs.db"; }
    static ProcessOptions options() {
        ProcessOptions o;
        o.env = isolated_env(s_dir->str());
        o.env["JOULECAST_NVML_LIBRARY"] = FAKE_NVML_LIBRARY;
        o.env["FAKE_NVML_SCRIPT"] = "gpus=1;gpu0.power=200";
        o.env["JOULECAST_PROC_ROOT"] = s_dir->str() + "/no-proc";  // no CPU model: the GPU is the only source
        o.env["JOULECAST_DB"] = "";                                // --db is the way in
        o.env["PYTHONPATH"] = std::string(PROJECT_SOURCE_DIR) + "/python";
        return o;
    }
    static const nlohmann::json& result(const std::string& name) { return s_results->at(name); }
    static std::string id(const std::string& name) { return result(name)["id"].get<std::string>(); }

    /// Sum of the run's epoch durations from `from` on (seconds).
    static double epoch_seconds(const std::string& name, std::size_t from = 0) {
        double s = 0;
        const auto& e = result(name)["epochs"];
        for (std::size_t i = from; i < e.size(); ++i)
            s += e[i]["end_s"].get<double>() - e[i]["start_s"].get<double>();
        return s;
    }

    ProcessResult forecast(std::vector<std::string> args, const std::string& store = "") {
        std::vector<std::string> argv = {JOULECAST_BINARY, "forecast", "--db", store.empty() ? db() : store};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(argv, options());
    }
    nlohmann::json forecast_json(std::vector<std::string> args) {
        args.push_back("--json");
        auto r = forecast(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
    }

    static std::unique_ptr<TempDir> s_dir;
    static std::unique_ptr<std::map<std::string, nlohmann::json>> s_results;
};

std::unique_ptr<TempDir> ForecastCli::s_dir;
std::unique_ptr<std::map<std::string, nlohmann::json>> ForecastCli::s_results;

TEST_F(ForecastCli, TheMeasuredEpochsHaveTheKnownPower) {
    for (const char* name : {"steady-a", "steady-b", "warmup"}) {
        ASSERT_EQ(result(name)["epochs"].size(), static_cast<std::size_t>(epochs)) << name;
        for (const auto& e : result(name)["epochs"]) {
            const double seconds = e["end_s"].get<double>() - e["start_s"].get<double>();
            EXPECT_NEAR(e["energy_j"]["total"].get<double>(), power_w * seconds, 0.01 * power_w * seconds)
                << name;
        }
    }
    // The warm-up run's first epoch is about three times as long as the others.
    const auto& w = result("warmup")["epochs"];
    EXPECT_GT(w[0]["energy_j"]["total"].get<double>(), 2.5 * w[1]["energy_j"]["total"].get<double>());
}

TEST_F(ForecastCli, EpochsTargetGivesTheKnownTotalWithJsonFields) {
    const std::string run = id("steady-a");
    auto j = forecast_json({run.substr(0, 6), "--epochs", "40"});  // a unique prefix, as `runs show` takes
    EXPECT_EQ(j["schema"], "joulecast.forecast/1");
    EXPECT_EQ(j["run_id"], run);
    EXPECT_EQ(j["run_name"], "steady-a");
    EXPECT_EQ(j["target"]["kind"], "epochs");
    EXPECT_EQ(j["target"]["amount"], 40.0);
    EXPECT_EQ(j["observations_from"], "epochs");
    const auto& f = j["forecast"];
    EXPECT_EQ(f["observations"], epochs);
    // Steady 200 W epochs: 40 epochs of the run's mean epoch length.
    const double expected = power_w * epoch_seconds("steady-a") / epochs * 40;
    EXPECT_NEAR(f["total_energy_j"].get<double>(), expected, 0.01 * expected);
    EXPECT_LE(f["low_energy_j"].get<double>(), f["total_energy_j"].get<double>());
    EXPECT_GE(f["high_energy_j"].get<double>(), f["total_energy_j"].get<double>());
    EXPECT_NEAR(f["measured_energy_j"].get<double>(), power_w * epoch_seconds("steady-a"), 0.01 * expected);
    EXPECT_EQ(f["confidence"], 0.9);
    EXPECT_TRUE(f.contains("method") && f.contains("converged") && f.contains("notes"));
    EXPECT_NEAR(j["naive"]["total_energy_j"].get<double>(), expected, 0.02 * expected);
    EXPECT_EQ(j["naive"]["method"], "naive-mean");
    // CO2e at the run's stored intensity (the world average here) and PUE 1.
    EXPECT_EQ(j["carbon"]["intensity_g_per_kwh"], result("steady-a")["carbon"]["intensity_g_per_kwh"]);
    EXPECT_EQ(j["carbon"]["pue"], 1.0);
    const double g_per_kwh = j["carbon"]["intensity_g_per_kwh"].get<double>();
    EXPECT_NEAR(j["carbon"]["co2e_g"].get<double>(), f["total_energy_j"].get<double>() / 3.6e6 * g_per_kwh,
                1e-9);

    // 4000 samples at 100 per epoch are the same 40 epochs; 20 s at 200 W is 4000 J.
    auto samples = forecast_json({run, "--samples", "4000"});
    EXPECT_NEAR(samples["forecast"]["total_energy_j"].get<double>(), f["total_energy_j"].get<double>(),
                1e-6 * expected);
    auto seconds = forecast_json({run, "--duration", "20s", "--confidence", "0.5"});
    EXPECT_NEAR(seconds["forecast"]["total_energy_j"].get<double>(), 4000.0, 40.0);
    EXPECT_NEAR(seconds["forecast"]["total_duration_s"].get<double>(), 20.0, 0.01);
    EXPECT_EQ(seconds["forecast"]["confidence"], 0.5);
}

TEST_F(ForecastCli, TextOutputLabelsEveryNumberAsAForecast) {
    auto r = forecast({id("steady-b"), "--epochs", "100"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "forecast from 8 epochs")) << r.out;
    for (const char* part : {"energy", "duration", "CO2e", "g/kWh", "PUE 1.00", "warm-up excluded",
                             "converged", "naive", "carbontracker-style", "90% interval"})
        EXPECT_TRUE(contains(r.out, part)) << part << "\n" << r.out;
}

TEST_F(ForecastCli, WarmUpEpochIsExcludedWhereTheNaiveFigureKeepsIt) {
    auto j = forecast_json({id("warmup"), "--epochs", "40"});
    const auto& f = j["forecast"];
    EXPECT_EQ(f["warmup_excluded"], 1);
    const auto& e = result("warmup")["epochs"];
    const double steady_epoch = power_w * epoch_seconds("warmup", 1) / (epochs - 1);
    const double expected = e[0]["energy_j"]["total"].get<double>() + steady_epoch * 39;
    EXPECT_NEAR(f["total_energy_j"].get<double>(), expected, 0.01 * expected);
    const double naive = power_w * epoch_seconds("warmup") / epochs * 40;
    EXPECT_NEAR(j["naive"]["total_energy_j"].get<double>(), naive, 0.01 * naive);
    EXPECT_GT(j["naive"]["total_energy_j"].get<double>(), 1.1 * f["total_energy_j"].get<double>());
}

TEST_F(ForecastCli, RunWithoutEpochsIsForecastFromWindowsOfItsReadings) {
    const std::string run = id("service");
    auto j = forecast_json({run, "--duration", "16s", "--window", "0.2s"});
    EXPECT_EQ(j["observations_from"], "windows");
    EXPECT_NEAR(j["window_s"].get<double>(), 0.2, 1e-12);
    const auto& f = j["forecast"];
    EXPECT_GE(f["observations"].get<int>(), 7);
    EXPECT_LE(f["observations"].get<int>(), 9);
    EXPECT_NEAR(f["total_energy_j"].get<double>(), power_w * 16, 0.01 * power_w * 16);
    // --epochs counts windows: 80 windows of 0.2 s.
    auto windows = forecast_json({run, "--epochs", "80", "--window", "200ms"});
    EXPECT_NEAR(windows["forecast"]["total_energy_j"].get<double>(), power_w * 16, 0.01 * power_w * 16);
    // The default window is 1/20 of the run.
    auto r = forecast({run, "--duration", "16s"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "windows of")) << r.out;
    EXPECT_TRUE(contains(r.out, "set --window")) << r.out;
    // The run sampled every 20 ms (stored with it): a window under 5 intervals (100 ms) is refused.
    EXPECT_NEAR(result("service")["overhead"]["interval_s"].get<double>(), 0.02, 1e-9);
    auto short_window = forecast({run, "--duration", "1h", "--window", "5ms"});
    EXPECT_EQ(short_window.exit_code, 2) << short_window.err;
    EXPECT_TRUE(contains(short_window.err, "shorter than 5 sampling intervals")) << short_window.err;
    EXPECT_TRUE(forecast({run, "--duration", "1h", "--window", "100ms"}).exit_code == 0);
    // Windows carry no samples.
    auto samples = forecast({run, "--samples", "1000", "--window", "0.2s"});
    EXPECT_EQ(samples.exit_code, 1);
    EXPECT_TRUE(contains(samples.err, "samples")) << samples.err;
}

TEST_F(ForecastCli, WithoutAStoredIntervalTheWindowIsCheckedAgainstTheSpacingOfTheReadings) {
    // Readings every 250 ms: 5 intervals are 1.25 s.
    auto r = forecast({"dd00000000000001", "--duration", "50s", "--window", "1s"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "shorter than 5 sampling intervals")) << r.err;
    EXPECT_TRUE(contains(r.err, "0.250 s")) << r.err;
    auto j = forecast_json({"dd00000000000001", "--duration", "50s", "--window", "1.25s"});
    EXPECT_EQ(j["observations_from"], "windows");
    EXPECT_NEAR(j["forecast"]["total_energy_j"].get<double>(), 100.0 * 50, 0.01 * 100.0 * 50);
}

TEST_F(ForecastCli, BacktestGivesNearZeroErrorForSteadyRunsAndTheBaselineErrorForWarmUp) {
    auto r = forecast({"--backtest", "--profile", "3", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["schema"], "joulecast.backtest/1");
    ASSERT_EQ(j["runs"].size(), 3u) << r.out;
    for (const auto& run : j["runs"]) {
        const std::string name = run["name"];
        const auto& e = result(name)["epochs"];
        double sum = 0;
        for (const auto& epoch : e) sum += epoch["energy_j"]["total"].get<double>();
        EXPECT_EQ(run["id"], id(name));
        EXPECT_EQ(run["epochs"], epochs);
        EXPECT_EQ(run["profile_epochs"], 3);
        EXPECT_NEAR(run["measured_j"].get<double>(), sum, 1e-6 * sum);  // the sum over the epochs
        // Near 0: the marks carry their moments, so every steady epoch is 40 J and the warm-up's later ones
        // too; what is left is the counter's millijoule steps.
        EXPECT_LT(std::fabs(run["forecast_error_pct"].get<double>()), 0.5) << name;
        // The baseline: the mean of the first 3 epochs x 8.
        const double naive =
            (e[0]["energy_j"]["total"].get<double>() + e[1]["energy_j"]["total"].get<double>() +
             e[2]["energy_j"]["total"].get<double>()) /
            3 * epochs;
        EXPECT_NEAR(run["naive_j"].get<double>(), naive, 1e-6 * naive) << name;
        EXPECT_NEAR(run["naive_error_pct"].get<double>(), (naive - sum) / sum * 100, 1e-6) << name;
        if (name == "warmup") {
            EXPECT_GT(run["naive_error_pct"].get<double>(), 15.0);
            EXPECT_EQ(run["warmup_excluded"], 1);
        } else {
            EXPECT_LT(std::fabs(run["naive_error_pct"].get<double>()), 0.5) << name;
        }
    }
    EXPECT_LT(j["forecast"]["median_ape_pct"].get<double>(), 0.5);
    EXPECT_LT(j["forecast"]["median_ape_pct"].get<double>(), j["naive"]["p90_ape_pct"].get<double>());
    EXPECT_EQ(j["targets"]["median_met"].get<bool>(), j["forecast"]["median_ape_pct"].get<double>() <= 3.0);
    // The marker-less, single-epoch and empty runs are skipped with a reason.
    ASSERT_EQ(j["skipped"].size(), 4u) << r.out;
    for (const auto& reason : j["skipped"]) EXPECT_TRUE(contains(reason, "at least 2 needed")) << reason;
    EXPECT_TRUE(contains(j["note"], "outside the epochs"));

    auto text = forecast({"--backtest", "--profile", "3", "--name", "steady"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    for (const char* part : {"backtest of 2 runs", "steady-a", "steady-b", "median", "p90", "naive baseline",
                             "coverage", "targets", "not part of the comparison"})
        EXPECT_TRUE(contains(text.out, part)) << part << "\n" << text.out;
    EXPECT_FALSE(contains(text.out, "warmup")) << text.out;
    EXPECT_TRUE(contains(text.out, "targets (for a 10% profile): median <= 3%")) << text.out;
    EXPECT_FALSE(contains(text.out, "issue")) << text.out;
    auto help = run_process({JOULECAST_BINARY, "forecast", "--help"}, options());
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_FALSE(contains(help.out, "issue")) << help.out;

    // The default profile, 10%, is one epoch of eight.
    auto fraction = forecast({"--backtest", "--json", "--name", "warmup"});
    ASSERT_EQ(fraction.exit_code, 0) << fraction.err;
    EXPECT_EQ(nlohmann::json::parse(fraction.out)["runs"][0]["profile_epochs"], 1);
}

TEST_F(ForecastCli, BadInputsGiveClearMessages) {
    auto expect = [&](std::vector<std::string> args, int code, const std::string& part,
                      const std::string& store = "") {
        auto r = forecast(args, store);
        EXPECT_EQ(r.exit_code, code) << args.front() << "\n" << r.err;
        EXPECT_TRUE(contains(r.err, part)) << part << "\n" << r.err;
    };
    expect({"ffffffff", "--epochs", "10"}, 1, "ffffffff");     // unknown run
    expect({"abc", "--epochs", "10"}, 1, "abc0000000000001");  // ambiguous prefix lists candidates
    expect({"abc0000000000001", "--epochs", "10"}, 1, "neither epochs nor stored readings");
    expect({id("service"), "--duration", "16s", "--window", "1h"}, 1, "shorter --window");
    expect({"--backtest", "--name", "single"}, 1, "no run left to backtest");
    expect({"--backtest", "--name", "no-such-run"}, 1, "nothing to backtest");
    // An empty store, and no store at all.
    const std::string empty = s_dir->str() + "/empty.db";
    { RunStore store(empty); }
    expect({"--backtest"}, 1, "nothing to backtest", empty);
    expect({"--backtest"}, 1, "no run store", s_dir->str() + "/absent.db");
    expect({id("steady-a"), "--epochs", "10"}, 1, "no run store", s_dir->str() + "/absent.db");
    // Usage errors.
    expect({id("steady-a")}, 2, "--epochs N");
    expect({id("steady-a"), "--epochs", "ten"}, 2, "--epochs: expected a positive whole number, got 'ten'");
    // Every invalid target is a usage error: not positive, not whole, not finite.
    expect({id("steady-a"), "--epochs", "0"}, 2, "positive whole number");
    expect({id("steady-a"), "--epochs", "-3"}, 2, "positive whole number");
    expect({id("steady-a"), "--epochs", "-5"}, 2, "positive whole number");
    expect({id("steady-a"), "--epochs", "1.5"}, 2, "positive whole number");
    expect({id("steady-a"), "--epochs", "nan"}, 2, "--epochs");
    expect({id("steady-a"), "--epochs", "inf"}, 2, "--epochs");
    expect({id("steady-a"), "--samples", "0"}, 2, "positive whole number");
    expect({id("steady-a"), "--samples", "2.5"}, 2, "positive whole number");
    expect({id("steady-a"), "--duration", "0s"}, 2, "must be positive");
    expect({id("steady-a"), "--duration", "-5s"}, 2, "must be positive");
    // --window is for runs without epochs only.
    expect({id("steady-a"), "--epochs", "10", "--window", "1s"}, 2,
           "--window applies only to runs without epochs");
    expect({id("steady-a"), "--epochs", "10", "--duration", "5s"}, 2, "one target");
    expect({id("steady-a"), "--epochs", "10", "--confidence", "1.5"}, 2, "--confidence");
    expect({"--epochs", "10"}, 2, "which run");
    expect({"--backtest", "--profile", "0"}, 2, "--profile");
    expect({"--backtest", "--profile", "150%"}, 2, "--profile");
    expect({"--backtest", "--status", "bogus"}, 2, "--status");
    expect({"--backtest", "--epochs", "10"}, 2, "does not apply");
}

}  // namespace
}  // namespace joulecast
