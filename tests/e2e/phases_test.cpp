// End to end: real children mark phases and epochs through the Python client and `joulecast mark`, under a
// fake GPU whose power follows a known script; every phase and epoch must get its known energy.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using core::monotonic_ns;

namespace {

using test::isolated_env;
using test::ProcessOptions;
using test::read_json;
using test::run_process;
using test::TempDir;

const nlohmann::json& phase(const nlohmann::json& result, const std::string& name) {
    for (const auto& p : result["phases"])
        if (p["name"] == name) return p;
    throw std::runtime_error("no phase " + name);
}

ProcessOptions fake_gpu(const TempDir& dir, const std::string& script, std::int64_t t0_ns) {
    ProcessOptions options = test::fake_gpu_options(dir, script);
    options.env["FAKE_NVML_T0_NS"] = std::to_string(t0_ns);
    options.env["PYTHONPATH"] = std::string(PROJECT_SOURCE_DIR) + "/python";
    return options;
}

// The workload waits for fixed moments of the fake GPU's clock, so that each phase covers a known part of the
// power script: setup 0.3..1.0 s, then train 1.0..2.0 s in four epochs of 0.25 s, then infer 2.0..2.4 s. The
// fake's clock starts 2 s after the test does, so that a slow start of python on a loaded machine still finds
// every moment ahead of it.
//
// The power steps (100 W to 400 W at 0.65 s, to 200 W at 2.2 s) lie 200 ms or more from every mark. A counter
// read d late after a mark is interpolated back to the mark exactly while the power holds still; at a step it
// would misplace (step x d) joules, and d is the loaded machine's wake-up latency (5 ms cost 1.6 J of a 70 J
// phase once in CI), not joulecast's arithmetic. That the counters are read at each mark at all is asserted
// through the phases' boundary method, "counter" (read within 25 ms of both ends).
const char* const workload = R"(
import os, time, joulecast
t0 = int(os.environ["FAKE_NVML_T0_NS"])
def until(s):
    while time.clock_gettime_ns(time.CLOCK_MONOTONIC) < t0 + int(s * 1e9):
        time.sleep(0.001)
def stamp(s):
    return t0 + int(s * 1e9)
client = joulecast.default_client()
joulecast.meta(model="toy", batch_size=32)
until(0.3); joulecast.begin("setup")
until(1.0); joulecast.end("setup"); joulecast.begin("train")
for k in range(4):
    until(1.0 + 0.25 * (k + 1)); joulecast.epoch(samples=250)
joulecast.end("train", samples=1000)
joulecast.begin("infer")
until(2.4); joulecast.end("infer", samples=400)
joulecast.metric(accuracy=0.875)
)";

/// Energy of the power script 100 W until 0.65 s, 400 W until 2.2 s, 200 W after, between two fake-clock
/// times.
double script_energy(double from_s, double to_s) {
    auto integral = [](double t) {
        double e = 100.0 * std::min(t, 0.65);
        if (t > 0.65) e += 400.0 * (std::min(t, 2.2) - 0.65);
        if (t > 2.2) e += 200.0 * (t - 2.2);
        return e;
    };
    return integral(to_s) - integral(from_s);
}

TEST(PhasesEndToEnd, PythonClientPhasesAndEpochsGetTheirKnownEnergy) {
    if (std::system("python3 -c 'import sys' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is missing";
    TempDir dir;
    auto script = dir.write("workload.py", workload);
    auto json = dir.path() / "r.json";
    const std::int64_t t0 = monotonic_ns() + 2'000'000'000;
    auto r = run_process(
        {JOULECAST_BINARY, "run", "--quiet", "--json", json.string(), "--", "python3", script.string()},
        fake_gpu(dir, "gpus=1;gpu0.power=100@0,400@0.65,200@2.2", t0));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    // Where each window lies on the fake GPU's clock: the run's origin is in the result.
    const double origin_s = (result["origin_monotonic_ns"].get<std::int64_t>() - t0) * 1e-9;
    auto known = [&](const nlohmann::json& window) {
        return script_energy(origin_s + window["start_s"].get<double>(),
                             origin_s + window["end_s"].get<double>());
    };
    for (const char* name : {"setup", "train", "infer"}) {
        const auto& p = phase(result, name);
        EXPECT_NEAR(p["energy_j"]["total"].get<double>(), known(p), 0.01 * known(p)) << name;
        EXPECT_EQ(p["boundary"], "counter") << name;
    }
    // The workload placed the windows where it meant to (loosely: a loaded machine may be late by a little).
    EXPECT_NEAR(phase(result, "train")["energy_j"]["total"].get<double>(), 400.0, 20.0);
    EXPECT_NEAR(result["training_energy_j"].get<double>(), known(phase(result, "train")), 0.01 * 400.0);
    EXPECT_NEAR(result["inference_energy_j"].get<double>(), known(phase(result, "infer")), 0.01 * 120.0);
    const double train = phase(result, "train")["energy_j"]["total"];
    EXPECT_NEAR(phase(result, "train")["energy_per_sample_j"].get<double>(), train / 1000.0, 1e-9);

    ASSERT_EQ(result["epochs"].size(), 4u);
    double epochs = 0;
    for (const auto& e : result["epochs"]) {
        EXPECT_NEAR(e["energy_j"]["total"].get<double>(), known(e), 0.01 * known(e));
        EXPECT_EQ(e["samples"], 250);
        epochs += e["energy_j"]["total"].get<double>();
    }
    EXPECT_NEAR(epochs, train, 0.01 * train);

    // Phases and the gaps between them add up to the whole run's energy.
    const double total = result["energy_j"]["total"];
    const double before = script_energy(origin_s, origin_s + phase(result, "setup")["start_s"].get<double>());
    const double between = script_energy(origin_s + phase(result, "setup")["end_s"].get<double>(),
                                         origin_s + phase(result, "train")["start_s"].get<double>()) +
                           script_energy(origin_s + phase(result, "train")["end_s"].get<double>(),
                                         origin_s + phase(result, "infer")["start_s"].get<double>());
    const double after = script_energy(origin_s + phase(result, "infer")["end_s"].get<double>(),
                                       origin_s + result["duration_s"].get<double>());
    const double phases = phase(result, "setup")["energy_j"]["total"].get<double>() + train +
                          phase(result, "infer")["energy_j"]["total"].get<double>();
    EXPECT_NEAR(phases + before + between + after, total, 0.01 * total);

    EXPECT_EQ(result["meta"]["model"], "toy");
    EXPECT_EQ(result["metrics"]["accuracy"]["last"], 0.875);
    EXPECT_EQ(result["control"]["malformed"], 0);
    EXPECT_GT(result["carbon"]["co2e_g"].get<double>(), 0.0);
}

TEST(PhasesEndToEnd, ShellScriptMarksPhasesWithJoulecastMark) {
    TempDir dir;
    auto json = dir.path() / "r.json";
    const std::string mark = std::string(JOULECAST_BINARY) + " mark";
    const std::string script = mark + " begin train lr=0.1 && sleep 0.6 && " + mark +
                               " epoch samples=64 && " + mark + " end train samples=64 && " + mark +
                               " metric loss=0.5 && " + mark + " bogus-verb x=1; sleep 0.2";
    auto r = run_process({JOULECAST_BINARY, "run", "--json", json.string(), "--", "sh", "-c", script},
                         fake_gpu(dir, "gpus=1;gpu0.power=200", monotonic_ns()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    const auto& train = phase(result, "train");
    const double duration = train["end_s"].get<double>() - train["start_s"].get<double>();
    EXPECT_GT(duration, 0.55);
    EXPECT_NEAR(train["energy_j"]["total"].get<double>(), 200.0 * duration, 0.01 * 200.0 * duration);
    EXPECT_EQ(train["fields"]["lr"], "0.1");
    EXPECT_EQ(train["samples"], 64);
    ASSERT_EQ(result["epochs"].size(), 1u);
    // The epoch ends at its own mark, a separate process started just before `end train`: its energy follows
    // its own window (not the phase's, which a loaded machine may end tens of ms later).
    const auto& epoch = result["epochs"][0];
    const double epoch_s = epoch["end_s"].get<double>() - epoch["start_s"].get<double>();
    EXPECT_GT(epoch_s, 0.55);
    EXPECT_LE(epoch["end_s"].get<double>(), train["end_s"].get<double>());
    EXPECT_NEAR(epoch["energy_j"]["total"].get<double>(), 200.0 * epoch_s, 0.01 * 200.0 * epoch_s);
    EXPECT_EQ(result["metrics"]["loss"]["last"], 0.5);
    EXPECT_NE(r.err.find("train"), std::string::npos);  // the summary lists the phase
}

TEST(PhasesEndToEnd, MalformedAndOversizedControlLinesAreCountedNotFatal) {
    TempDir dir;
    auto json = dir.path() / "r.json";
    // A raw socket client sends garbage, an oversized line and one good phase.
    const char* const client = R"(
import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(os.environ["JOULECAST_SOCKET"])
s.sendall(b"begin\n" + b"frobnicate now\n" + b"metric acc=high\n" + b"x" * 100000 + b"\n")
s.sendall(b"begin work\n"); time.sleep(0.3); s.sendall(b"end work samples=3\n")
s.close()
)";
    auto script = dir.write("client.py", client);
    auto r = run_process(
        {JOULECAST_BINARY, "run", "--quiet", "--json", json.string(), "--", "python3", script.string()},
        fake_gpu(dir, "gpus=1;gpu0.power=100", monotonic_ns()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = read_json(json);
    EXPECT_EQ(result["control"]["accepted"], 2);
    EXPECT_EQ(result["control"]["oversized"], 1);
    EXPECT_EQ(result["control"]["unknown_verb"], 1);
    EXPECT_EQ(result["control"]["malformed"], 2);
    EXPECT_EQ(phase(result, "work")["samples"], 3);
    EXPECT_FALSE(result["warnings"].empty());
}

}  // namespace
}  // namespace joulecast
