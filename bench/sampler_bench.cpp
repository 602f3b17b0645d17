// What joulecast costs: the sampler thread's CPU share at 10 Hz and 100 Hz with every sensor present (a fake
// NVML with two GPUs, a fake powercap tree with two packages, the CPU and DRAM models over /proc), the cost
// of one read per sensor, and the wall time `joulecast run -- true` adds to the command.
//
//   ./build/bench/joulecast_bench --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/clock.hpp"
#include "fake_powercap.hpp"
#include "meter/sampler.hpp"
#include "sensors/registry.hpp"

namespace {

using namespace joulecast;
using joulecast::core::monotonic_ns;
using joulecast::core::ns_to_s;

using joulecast::sensors::make_sensor_set;
using joulecast::sensors::Sensor;
using joulecast::sensors::SensorConfig;
using joulecast::sensors::SensorSet;

using joulecast::meter::Sampler;

using FakeSysfs = bench::FakePowercap;

SensorSet every_sensor(const FakeSysfs& sysfs) {
    setenv("FAKE_NVML_SCRIPT", "gpus=2;gpu0.power=300;gpu1.power=250", 1);
    SensorConfig config;
    config.sysfs_root = sysfs.root();
    config.nvml_library = FAKE_NVML_LIBRARY;
    config.rocm_smi_library = "/nonexistent/librocm_smi64.so";
    SensorSet set = make_sensor_set(config);
    // The fakes provide NVML and RAPL; ROCm SMI and hwmon have none here and are left out.
    for (const auto& probed : set.sensors)
        if (!probed.availability.available &&
            (probed.sensor->name() == "nvml" || probed.sensor->name() == "rapl"))
            throw std::runtime_error(std::string(probed.sensor->name()) + ": " + probed.availability.reason);
    return set;
}

/// Sampler thread CPU time per second of wall time, as a percentage of one core.
void BM_SamplerCoreShare(benchmark::State& state) {
    FakeSysfs sysfs;
    SensorSet set = every_sensor(sysfs);
    const auto interval = std::chrono::milliseconds(state.range(0));
    double cpu_s = 0, wall_s = 0;
    std::uint64_t readings = 0;
    for (auto _ : state) {
        Sampler sampler(set.used(), {interval});
        const std::int64_t start = monotonic_ns();
        sampler.start();
        std::this_thread::sleep_for(std::chrono::seconds(3));
        sampler.stop();
        wall_s += ns_to_s(monotonic_ns() - start);
        cpu_s += sampler.thread_cpu_s();
        readings += sampler.readings();
    }
    state.counters["core_pct"] = 100.0 * cpu_s / wall_s;
    state.counters["us_per_tick"] = 1e6 * cpu_s / (wall_s / (interval.count() * 1e-3));
    state.counters["readings_per_s"] = static_cast<double>(readings) / wall_s;
    state.counters["channels"] =
        static_cast<double>(Sampler(set.used(), {interval}).trace().channels().size());
}
BENCHMARK(BM_SamplerCoreShare)->Arg(100)->Arg(10)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

/// The sampler with no sensor at all: the fixed cost of waking up 10 or 100 times a second.
void BM_SamplerEmptyCoreShare(benchmark::State& state) {
    const auto interval = std::chrono::milliseconds(state.range(0));
    double cpu_s = 0, wall_s = 0;
    for (auto _ : state) {
        Sampler sampler({}, {interval});
        const std::int64_t start = monotonic_ns();
        sampler.start();
        std::this_thread::sleep_for(std::chrono::seconds(2));
        sampler.stop();
        wall_s += ns_to_s(monotonic_ns() - start);
        cpu_s += sampler.thread_cpu_s();
    }
    state.counters["core_pct"] = 100.0 * cpu_s / wall_s;
    state.counters["us_per_tick"] = 1e6 * cpu_s / (wall_s / (interval.count() * 1e-3));
}
BENCHMARK(BM_SamplerEmptyCoreShare)
    ->Arg(100)
    ->Arg(10)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

/// One read of every channel of one sensor (each available sensor in turn, used or not).
void BM_SensorRead(benchmark::State& state) {
    FakeSysfs sysfs;
    SensorSet set = every_sensor(sysfs);
    std::vector<Sensor*> available;
    for (const auto& probed : set.sensors)
        if (probed.availability.available) available.push_back(probed.sensor.get());
    if (static_cast<std::size_t>(state.range(0)) >= available.size()) {
        state.SkipWithError("no such sensor");
        return;
    }
    Sensor* sensor = available[static_cast<std::size_t>(state.range(0))];
    state.SetLabel(std::string(sensor->name()));
    double value = 0;
    for (auto _ : state)
        for (std::size_t c = 0; c < sensor->channels().size(); ++c)
            benchmark::DoNotOptimize(sensor->read(c, value));
    state.counters["channels"] = static_cast<double>(sensor->channels().size());
}
BENCHMARK(BM_SensorRead)->DenseRange(0, 3);

int spawn_and_wait(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        dup2(devnull, STDOUT_FILENO);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/// `true` on its own: the baseline for the next benchmark.
void BM_PlainTrue(benchmark::State& state) {
    for (auto _ : state) spawn_and_wait({"true"});
}
BENCHMARK(BM_PlainTrue)->Unit(benchmark::kMillisecond)->UseRealTime();

/// `joulecast run -- true` with this machine's sensors and no idle baseline, storing the run (store:1, the
/// default; the store is a fresh file in a temporary folder, kept across iterations as a user's is) or not
/// (store:0, --no-store); minus BM_PlainTrue, what it adds.
void BM_JoulecastRunTrue(benchmark::State& state) {
    const bool store = state.range(0) != 0;
    std::string folder = (std::filesystem::temp_directory_path() / "joulecast-bench-XXXXXX").string();
    if (!mkdtemp(folder.data())) {
        state.SkipWithError("mkdtemp failed");
        return;
    }
    setenv("JOULECAST_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
    setenv("JOULECAST_DB", (folder + "/runs.db").c_str(), 1);
    std::vector<std::string> argv = {JOULECAST_BINARY, "run", "--quiet"};
    if (!store) argv.push_back("--no-store");
    argv.insert(argv.end(), {"--", "true"});
    for (auto _ : state) {
        const int status = spawn_and_wait(argv);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            state.SkipWithError("joulecast run -- true failed");
            break;
        }
    }
    unsetenv("JOULECAST_DB");
    std::filesystem::remove_all(folder);
}
BENCHMARK(BM_JoulecastRunTrue)
    ->ArgName("store")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
