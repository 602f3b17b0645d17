// End to end: the real joulecast binary runs real child processes, with fake sensors of known power.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/text.hpp"
#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using core::parse_csv;
using core::read_text_file;

namespace {

using test::isolated_env;
using test::ProcessOptions;
using test::read_json;
using test::run_process;
using test::TempDir;

std::vector<std::string> joulecast_run(std::vector<std::string> options, std::vector<std::string> command) {
    std::vector<std::string> argv = {JOULECAST_BINARY, "run"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

const nlohmann::json* source(const nlohmann::json& result, const std::string& channel) {
    for (const auto& s : result["sources"])
        if (s["channel"] == channel) return &s;
    return nullptr;
}

TEST(RunEndToEnd, ExitStatusPassesThrough) {
    TempDir dir;
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    auto r = run_process(joulecast_run({"--quiet"}, {"sh", "-c", "exit 3"}), options);
    EXPECT_EQ(r.exit_code, 3);
    r = run_process(joulecast_run({"--quiet"}, {"true"}), options);
    EXPECT_EQ(r.exit_code, 0);
}

TEST(RunEndToEnd, ChildKilledBySignalGives128PlusN) {
    TempDir dir;
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    auto json = dir.path() / "r.json";
    auto r = run_process(joulecast_run({"--json", json.string()}, {"sh", "-c", "kill -KILL $$"}), options);
    EXPECT_EQ(r.exit_code, 128 + SIGKILL);
    auto result = read_json(json);
    EXPECT_EQ(result["exit_code"], 128 + SIGKILL);
    EXPECT_EQ(result["status"], "failed");
}

TEST(RunEndToEnd, MissingCommandExits127AndStillWritesTheResult) {
    TempDir dir;
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    auto json = dir.path() / "r.json";
    auto r = run_process(joulecast_run({"--json", json.string()}, {"no-such-command-joulecast"}), options);
    EXPECT_EQ(r.exit_code, 127);
    EXPECT_NE(r.err.find("cannot run 'no-such-command-joulecast'"), std::string::npos) << r.err;
    auto result = read_json(json);
    EXPECT_EQ(result["exit_code"], 127);
    EXPECT_EQ(result["status"], "failed");
}

TEST(RunEndToEnd, BadOptionsExit2WithUsage) {
    TempDir dir;
    dir.write("not-a-store.db", "these bytes are not an SQLite database\n");
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    for (auto args : std::vector<std::vector<std::string>>{
             {JOULECAST_BINARY, "run", "--bogus", "--", "true"},
             {JOULECAST_BINARY, "run"},
             {JOULECAST_BINARY, "run", "--interval", "1ms", "--", "true"},
             {JOULECAST_BINARY, "run", "--idle", "soon", "--", "true"},
             {JOULECAST_BINARY, "run", "--json", "/nonexistent-dir/x.json", "--", "true"},
             {JOULECAST_BINARY, "run", "--json"},
             {JOULECAST_BINARY, "run", "--json", "", "--", "true"},
             {JOULECAST_BINARY, "run", "--cpu-tdp", "0", "--", "true"},
             {JOULECAST_BINARY, "help", "frobnicate"},
             {JOULECAST_BINARY, "frobnicate"},
         }) {
        auto r = run_process(args, options);
        EXPECT_EQ(r.exit_code, 2) << args[2];
        EXPECT_NE(r.err.find("usage"), std::string::npos) << r.err;
    }
    // A store that cannot be used is a runtime error, not a wrong option: one message, exit 1, no usage.
    auto r =
        run_process({JOULECAST_BINARY, "run", "--db", dir.str() + "/not-a-store.db", "--", "true"}, options);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("is damaged or not a joulecast run store"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("usage"), std::string::npos) << r.err;
}

TEST(RunEndToEnd, ForwardsSigtermToTheCommandAndKeepsTheData) {
    TempDir dir;
    auto json = dir.path() / "r.json";
    auto argv = joulecast_run({"--quiet", "--json", json.string()},
                              {"sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.05; done"});
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    pid_t pid = test::start_process(argv, options);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 7);  // the command's own answer to SIGTERM, passed through
    auto result = read_json(json);
    EXPECT_EQ(result["exit_code"], 7);
    EXPECT_GT(result["duration_s"].get<double>(), 0.5);
}

TEST(RunEndToEnd, FakeGpuAtConstantPowerGivesKnownEnergy) {
    TempDir dir;
    auto json = dir.path() / "r.json";
    auto r = run_process(joulecast_run({"--json", json.string()}, {"sleep", "1.5"}),
                         test::fake_gpu_options(dir, "gpus=1;gpu0.power=300"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    const double duration = result["duration_s"];
    const double expected = 300.0 * duration;
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), expected, 0.01 * expected);
    EXPECT_EQ(result["energy_method"]["gpu"], "counter");
    auto counter = source(result, "gpu0.energy");
    ASSERT_NE(counter, nullptr);
    EXPECT_EQ((*counter)["method"], "counter");
    auto power = source(result, "gpu0.power");
    ASSERT_NE(power, nullptr);
    EXPECT_EQ((*power)["method"], "integrated");
    EXPECT_NEAR((*power)["energy_j"].get<double>(), expected, 0.02 * expected);
    EXPECT_NEAR(result["power_w"]["peak"].get<double>(), 300.0, 15.0);
    EXPECT_EQ(result["host"]["gpus"].size(), 1u);
    EXPECT_NE(r.err.find("counter"), std::string::npos);  // the summary names the method
}

TEST(RunEndToEnd, FakeGpuStepShowsInPeakAndEnergy) {
    TempDir dir;
    auto json = dir.path() / "r.json";
    auto r = run_process(joulecast_run({"--quiet", "--json", json.string()}, {"sleep", "2"}),
                         test::fake_gpu_options(dir, "gpus=1;gpu0.power=100@0,400@1"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    const double duration = result["duration_s"];
    const double gpu = result["energy_j"]["gpu"];
    EXPECT_GT(gpu, 100.0 * duration);
    EXPECT_LT(gpu, 400.0 * duration);
    EXPECT_NEAR(result["power_w"]["peak"].get<double>(), 400.0, 20.0);
    ASSERT_EQ(result["disagreements"].size(), 1u);
    EXPECT_LT(std::abs(result["disagreements"][0]["relative"].get<double>()), 0.03);
}

TEST(RunEndToEnd, GpuWithoutEnergyCounterFallsBackToIntegratedPower) {
    TempDir dir;
    auto json = dir.path() / "r.json";
    auto r = run_process(joulecast_run({"--quiet", "--json", json.string()}, {"sleep", "1"}),
                         test::fake_gpu_options(dir, "gpus=1;gpu0.power=250;gpu0.energy=unsupported"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    EXPECT_EQ(result["energy_method"]["gpu"], "integrated");
    const double expected = 250.0 * result["duration_s"].get<double>();
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), expected, 0.02 * expected);
}

TEST(RunEndToEnd, GpuLostMidRunIsReportedNotFatal) {
    TempDir dir;
    auto json = dir.path() / "r.json";
    // The fake's clock starts when joulecast probes it; the GPU is lost 1.5 s later, the command runs 2.5 s.
    auto r = run_process(joulecast_run({"--json", json.string()}, {"sleep", "2.5"}),
                         test::fake_gpu_options(dir, "gpus=1;gpu0.power=300;gpu0.lost_after=1.5"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    bool lost = false;
    for (const auto& p : result["problems"]) lost = lost || p["lost"].get<bool>();
    EXPECT_TRUE(lost);
    // Energy until the loss is kept (up to 1.5 s at 300 W, less the start-up), nothing is invented after it
    // (the whole 2.5 s would be 750 J).
    const double gpu = result["energy_j"]["gpu"];
    EXPECT_GT(gpu, 300.0 * 0.5);
    EXPECT_LT(gpu, 300.0 * 1.6);
    EXPECT_NE(r.err.find("lost"), std::string::npos) << r.err;
}

TEST(RunEndToEnd, MissingNvmlSymbolsMakeTheSensorUnavailableNotACrash) {
    TempDir dir;
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    options.env["JOULECAST_NVML_LIBRARY"] = FAKE_NVML_PARTIAL_LIBRARY;
    auto r = run_process({JOULECAST_BINARY, "sensors", "--json"}, options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto sensors = nlohmann::json::parse(r.out)["sensors"];
    ASSERT_EQ(sensors[0]["name"], "nvml");
    EXPECT_FALSE(sensors[0]["available"].get<bool>());
    EXPECT_NE(sensors[0]["reason"].get<std::string>().find("nvml"), std::string::npos);
    auto run = run_process(joulecast_run({"--quiet"}, {"true"}), options);
    EXPECT_EQ(run.exit_code, 0);
}

TEST(RunEndToEnd, SensorsListsEveryChannelWithUnits) {
    TempDir dir;
    auto options = test::fake_gpu_options(dir, "gpus=2;gpu0.power=100;gpu1.power=200");
    options.env["JOULECAST_PROC_ROOT"] = "";  // the real /proc: the CPU model is used here
    auto r = run_process({JOULECAST_BINARY, "sensors", "--json"}, options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto out = nlohmann::json::parse(r.out);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& s : out["sensors"]) by_name[s["name"]] = s;
    ASSERT_TRUE(by_name["nvml"]["available"].get<bool>());
    int energy_channels = 0;
    for (const auto& c : by_name["nvml"]["channels"]) {
        if (c["quantity"] == "energy") {
            ++energy_channels;
            EXPECT_EQ(c["unit"], "J");
            EXPECT_EQ(c["behaviour"], "counter");
        }
    }
    EXPECT_EQ(energy_channels, 2);
    EXPECT_FALSE(by_name["rapl"]["available"].get<bool>());
    EXPECT_FALSE(by_name["rapl"]["reason"].get<std::string>().empty());
    EXPECT_TRUE(by_name["cpu-model"]["used"].get<bool>());
    EXPECT_FALSE(out["fallbacks"].empty());
    auto text = run_process({JOULECAST_BINARY, "sensors"}, options);
    EXPECT_NE(text.out.find("MODELLED"), std::string::npos);
}

/// A recorded trace of GPU power: `before` W until `step_s`, then `after` W, for 20 s.
std::string step_trace(double before, double step_s, double after) {
    std::string csv = "t_s,sensor,channel,domain,device,quantity,behaviour,modelled,unit,value\n";
    for (int i = 0; i <= 2000; ++i) {
        double t = i * 0.01;
        csv += std::to_string(t) + ",nvml,gpu0.power,gpu,gpu0,power,gauge,0,W," +
               std::to_string(t < step_s ? before : after) + "\n";
    }
    return csv;
}

TEST(RunEndToEnd, ReplayedTraceGivesItsKnownEnergy) {
    TempDir dir;
    auto trace = dir.write("trace.csv", step_trace(200, 0, 200));
    auto json = dir.path() / "r.json";
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    auto r = run_process(
        joulecast_run({"--quiet", "--replay", trace.string(), "--json", json.string()}, {"sleep", "1"}),
        options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    const double duration = result["duration_s"];
    EXPECT_NEAR(result["energy_j"]["gpu"].get<double>(), 200.0 * duration, 0.01 * 200.0 * duration);
    EXPECT_EQ(result["energy_method"]["gpu"], "integrated");
    EXPECT_TRUE(result["warnings"].empty()) << result["warnings"].dump();  // the 20 s trace covers the run
}

TEST(RunEndToEnd, AReplayedTraceShorterThanTheRunIsSaidToBeHeld) {
    TempDir dir;
    std::string csv = "t_s,sensor,channel,domain,device,quantity,behaviour,modelled,unit,value\n";
    for (int i = 0; i <= 20; ++i)
        csv += std::to_string(i * 0.01) + ",nvml,gpu0.power,gpu,gpu0,power,gauge,0,W,200\n";
    auto trace = dir.write("short.csv", csv);  // 0.2 s
    auto json = dir.path() / "r.json";
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    auto r = run_process(
        joulecast_run({"--replay", trace.string(), "--json", json.string()}, {"sleep", "0.6"}), options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string warnings = read_json(json)["warnings"].dump();
    EXPECT_NE(warnings.find("ends after 0.20 s but the run lasted"), std::string::npos) << warnings;
    EXPECT_NE(r.err.find("last readings are held"), std::string::npos) << r.err;
}

TEST(RunEndToEnd, AReplayedCounterThatGoesDownIsOneResetNeverNegativeEnergy) {
    // 1000 -> 1100 J (+100), a reset to 800 at 1.0 s, 800 -> 850 (+50): 150 J at most, never negative.
    TempDir dir;
    auto trace = dir.write("down.csv",
                           "t_s,sensor,channel,domain,device,quantity,behaviour,modelled,unit,value\n"
                           "0,nvml,gpu0.energy,gpu,gpu0,energy,counter,0,J,1000\n"
                           "0.5,nvml,gpu0.energy,gpu,gpu0,energy,counter,0,J,1100\n"
                           "1.0,nvml,gpu0.energy,gpu,gpu0,energy,counter,0,J,800\n"
                           "1.5,nvml,gpu0.energy,gpu,gpu0,energy,counter,0,J,850\n");
    auto json = dir.path() / "r.json";
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    auto r = run_process(
        joulecast_run({"--replay", trace.string(), "--json", json.string()}, {"sleep", "1.6"}), options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    const double gpu = result["energy_j"]["gpu"];
    // The command starts up to 0.3 s after the trace's clock on a loaded machine: part of the first 100 J may
    // fall before it; the 50 J after the reset are inside.
    EXPECT_GT(gpu, 50.0);
    EXPECT_LE(gpu, 150.0 + 1e-9);
    const std::string warnings = result["warnings"].dump();
    EXPECT_NE(warnings.find("energy counter replay/gpu0.energy went down 1 time"), std::string::npos)
        << warnings;
    EXPECT_NE(r.err.find("went down 1 time"), std::string::npos) << r.err;
}

TEST(RunEndToEnd, IdleBaselineGivesNetEnergy) {
    TempDir dir;
    // 100 W while idle (1 s, with half a second to spare for a slow start), 300 W after.
    auto trace = dir.write("trace.csv", step_trace(100, 1.5, 300));
    auto json = dir.path() / "r.json";
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    auto r = run_process(joulecast_run({"--quiet", "--replay", trace.string(), "--idle", "1s", "--interval",
                                        "10ms", "--json", json.string()},
                                       {"sleep", "1"}),
                         options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    const double duration = result["duration_s"];
    const double gross = result["energy_j"]["total"];
    EXPECT_NEAR(result["idle_power_w"].get<double>(), 100.0, 2.0);
    EXPECT_NEAR(result["idle"]["duration_s"].get<double>(), 1.0, 0.2);
    EXPECT_GT(gross, 100.0 * duration * 1.2);  // most of the command ran at 300 W
    EXPECT_NEAR(result["net_energy_j"].get<double>(), gross - result["idle_power_w"].get<double>() * duration,
                1e-6);
    // Against the trace itself: the command starts when the idle baseline ends (on the trace's clock), or up
    // to 0.3 s later on a loaded machine (fork and exec), so it runs `pre` seconds at 100 W, pre between
    // `pre_late` and `pre_early`, and the rest at 300 W.
    const double idle_s = result["idle"]["duration_s"].get<double>();
    const double pre_early = std::max(0.0, 1.5 - idle_s);
    const double pre_late = std::max(0.0, 1.5 - idle_s - 0.3);
    const double low = 100.0 * pre_early + 300.0 * (duration - pre_early);
    const double high = 100.0 * pre_late + 300.0 * (duration - pre_late);
    EXPECT_GE(gross, 0.98 * low);
    EXPECT_LE(gross, 1.02 * high);
    EXPECT_GE(result["net_energy_j"].get<double>(), 0.98 * low - 100.0 * duration);
    EXPECT_LE(result["net_energy_j"].get<double>(), 1.02 * high - 100.0 * duration);
}

TEST(RunEndToEnd, TraceCsvRoundTripsThroughReplay) {
    TempDir dir;
    auto trace = dir.path() / "t.csv";
    auto r = run_process(joulecast_run({"--quiet", "--trace", trace.string()}, {"sleep", "0.5"}),
                         test::fake_gpu_options(dir, "gpus=1;gpu0.power=200"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto text = read_text_file(trace.string());
    ASSERT_TRUE(text.ok());
    auto table = parse_csv(*text);
    EXPECT_EQ(table.column("value"), 9);
    EXPECT_GT(table.rows.size(), 5u);
    ProcessOptions options;
    options.env = isolated_env(dir.str());
    auto sensors = run_process({JOULECAST_BINARY, "sensors", "--json", "--replay", trace.string()}, options);
    ASSERT_EQ(sensors.exit_code, 0) << sensors.err;
    auto out = nlohmann::json::parse(sensors.out);
    EXPECT_TRUE(out["sensors"][0]["available"].get<bool>());
}

}  // namespace
}  // namespace joulecast
