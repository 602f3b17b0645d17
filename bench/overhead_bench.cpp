// What joulecast's own measuring costs, against a floor: the sampler thread at 10 Hz next to a bare 10 Hz
// timer loop (a thread that waits on a condition variable until each deadline, as the sampler does, and does
// nothing else) running in the same process over the same seconds, and the whole `joulecast run -- sleep N`.
//
//   ./build/bench/joulecast_bench --benchmark_filter='Overhead' --benchmark_counters_tabular=true
//
// JOULECAST_BENCH_SECONDS (default 10) sets how long each sampler benchmark samples; JOULECAST_BENCH_SLEEP_S
// (default 10; 30 for the figure in docs/overhead.md) the command's length in BM_OverheadJoulecastRunSleep.
// All figures are CPU time (CLOCK_THREAD_CPUTIME_ID of each thread, rusage of the joulecast process), not
// wall time, so that a busy machine shifts them less.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_env.hpp"
#include "core/clock.hpp"
#include "fake_powercap.hpp"
#include "meter/sampler.hpp"
#include "sensors/job/job_cpu_sensor.hpp"
#include "sensors/registry.hpp"

namespace {

using namespace joulecast;
using joulecast::core::monotonic_ns;
using joulecast::core::ns_to_s;
using joulecast::core::thread_cpu_seconds;

using joulecast::sensors::JobCpuSensor;
using joulecast::sensors::make_sensor_set;
using joulecast::sensors::Sensor;
using joulecast::sensors::SensorConfig;
using joulecast::sensors::SensorSet;

using joulecast::meter::Sampler;

using joulecast::bench::env_seconds;

/// A bare 10 Hz (or any period) timer loop on its own thread: the cost of waking up, and nothing else.
class FloorLoop {
public:
    explicit FloorLoop(std::chrono::nanoseconds period) : m_period(period) {
        m_thread = std::thread([this] { run(); });
    }
    ~FloorLoop() { stop(); }
    void stop() {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        if (m_thread.joinable()) m_thread.join();
    }
    double cpu_s() const { return m_cpu_s; }
    std::uint64_t ticks() const { return m_ticks; }

private:
    void run() {
        const double cpu_start = thread_cpu_seconds();
        auto next = std::chrono::steady_clock::now();
        std::unique_lock lock(m_mutex);
        while (!m_stop) {
            next += m_period;
            m_wake.wait_until(lock, next, [this] { return m_stop; });
            if (!m_stop) ++m_ticks;
        }
        m_cpu_s = thread_cpu_seconds() - cpu_start;
    }
    std::chrono::nanoseconds m_period;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::uint64_t m_ticks = 0;
    double m_cpu_s = 0;
    std::thread m_thread;
};

/// A `sleep 3600` child: the job whose process tree the job-cpu sensor follows, as in `joulecast run`.
class SleepingJob {
public:
    SleepingJob() {
        m_pid = fork();
        if (m_pid == 0) {
            execlp("sleep", "sleep", "3600", static_cast<char*>(nullptr));
            _exit(127);
        }
    }
    ~SleepingJob() {
        if (m_pid > 0) {
            kill(m_pid, SIGKILL);
            waitpid(m_pid, nullptr, 0);
        }
    }
    pid_t pid() const { return m_pid; }

private:
    pid_t m_pid = -1;
};

/// The sampler at 10 Hz beside the floor loop, both for JOULECAST_BENCH_SECONDS. range(0): 0 = this machine's
/// own sensor set as `joulecast run` picks it (GPU libraries pointed at nothing, so: the CPU and DRAM models
/// or RAPL, hwmon where present, the job-cpu sensor); 1 = every sensor (fake NVML with two GPUs, fake RAPL
/// with two packages, the models, job-cpu); 2 = no sensor at all (the sampler's own loop against the floor).
void BM_OverheadSamplerAboveFloor(benchmark::State& state) {
    const bool fake_full = state.range(0) == 1;
    const bool none = state.range(0) == 2;
    std::unique_ptr<bench::FakePowercap> powercap;
    SensorConfig config = SensorConfig::from_environment();
    config.rocm_smi_library = "/nonexistent/librocm_smi64.so";
    if (fake_full) {
        powercap = std::make_unique<bench::FakePowercap>();
        config.sysfs_root = powercap->root();
        setenv("FAKE_NVML_SCRIPT", "gpus=2;gpu0.power=300;gpu1.power=250", 1);
        config.nvml_library = FAKE_NVML_LIBRARY;
    } else {
        config.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    }
    SensorSet set = none ? SensorSet{} : make_sensor_set(config);
    std::string names;
    for (Sensor* sensor : set.used()) names += (names.empty() ? "" : ",") + std::string(sensor->name());
    state.SetLabel(names);
    SleepingJob job;
    for (const auto& probed : set.sensors)
        if (auto* sensor = dynamic_cast<JobCpuSensor*>(probed.sensor.get())) sensor->set_root_pid(job.pid());

    const auto interval = std::chrono::milliseconds(100);
    const double seconds = env_seconds("JOULECAST_BENCH_SECONDS", 10);
    double sampler_cpu_s = 0, floor_cpu_s = 0, wall_s = 0;
    std::uint64_t floor_ticks = 0, readings = 0, wakeups = 0;
    for (auto _ : state) {
        FloorLoop floor(interval);
        Sampler sampler(set.used(), {interval});
        const std::int64_t start = monotonic_ns();
        sampler.start();
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        sampler.stop();
        wall_s += ns_to_s(monotonic_ns() - start);
        floor.stop();
        sampler_cpu_s += sampler.thread_cpu_s();
        readings += sampler.readings();
        wakeups += sampler.wakeups();
        floor_cpu_s += floor.cpu_s();
        floor_ticks += floor.ticks();
    }
    const double ticks = wall_s / (static_cast<double>(interval.count()) * 1e-3);
    const double sampler_us = 1e6 * sampler_cpu_s / ticks;
    const double floor_us = floor_ticks > 0 ? 1e6 * floor_cpu_s / static_cast<double>(floor_ticks) : 0;
    state.counters["sampler_us_tick"] = sampler_us;
    state.counters["floor_us_tick"] = floor_us;
    state.counters["above_floor_us"] = sampler_us - floor_us;
    state.counters["ratio"] = floor_us > 0 ? sampler_us / floor_us : 0;
    state.counters["core_pct"] = 100.0 * sampler_cpu_s / wall_s;
    state.counters["readings_tick"] = static_cast<double>(readings) / ticks;
    // The sampler wakes only for ticks with a channel due: per interval it may wake less than once.
    state.counters["wakeups_tick"] = static_cast<double>(wakeups) / ticks;
    state.counters["us_per_wakeup"] = wakeups > 0 ? 1e6 * sampler_cpu_s / static_cast<double>(wakeups) : 0;
}
BENCHMARK(BM_OverheadSamplerAboveFloor)
    ->ArgName("fake_full")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

/// `joulecast run --quiet --json F -- sleep N` (N = JOULECAST_BENCH_SLEEP_S, default 10) with this machine's
/// sensors and a fresh store: its total CPU time (user + system from wait4, which includes the ~1 ms of
/// `sleep` itself) as a percentage of one core over N seconds, and the overhead figures the run reports about
/// itself.
void BM_OverheadJoulecastRunSleep(benchmark::State& state) {
    const double sleep_s = env_seconds("JOULECAST_BENCH_SLEEP_S", 10);
    std::string folder = (std::filesystem::temp_directory_path() / "joulecast-bench-XXXXXX").string();
    if (!mkdtemp(folder.data())) {
        state.SkipWithError("mkdtemp failed");
        return;
    }
    const std::string json_path = folder + "/run.json";
    std::vector<std::string> argv = {JOULECAST_BINARY,
                                     "run",
                                     "--quiet",
                                     "--json",
                                     json_path,
                                     "--db",
                                     folder + "/runs.db",
                                     "--",
                                     "sleep",
                                     std::to_string(sleep_s)};
    double total_cpu_s = 0, self_cpu_s = 0, sampler_cpu_s = 0;
    for (auto _ : state) {
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        const pid_t pid = fork();
        if (pid == 0) {
            setenv("JOULECAST_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, STDERR_FILENO);
            dup2(devnull, STDOUT_FILENO);
            execv(args[0], args.data());
            _exit(127);
        }
        int status = 0;
        rusage usage{};
        wait4(pid, &status, 0, &usage);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            state.SkipWithError("joulecast run -- sleep failed");
            break;
        }
        auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec * 1e-6; };
        total_cpu_s += seconds(usage.ru_utime) + seconds(usage.ru_stime);
        std::ifstream in(json_path);
        const auto result = nlohmann::json::parse(in);
        self_cpu_s += result.at("overhead").at("cpu_s").get<double>();
        sampler_cpu_s += result.at("overhead").at("sampler_cpu_s").get<double>();
    }
    const double runs = static_cast<double>(state.iterations());
    state.counters["sleep_s"] = sleep_s;
    state.counters["total_cpu_ms"] = 1e3 * total_cpu_s / runs;
    state.counters["total_core_pct"] = 100.0 * total_cpu_s / (runs * sleep_s);
    state.counters["self_cpu_ms"] = 1e3 * self_cpu_s / runs;
    state.counters["sampler_cpu_ms"] = 1e3 * sampler_cpu_s / runs;
    state.counters["sampler_us_tick"] = 1e6 * sampler_cpu_s / runs / (sleep_s * 10);
    std::filesystem::remove_all(folder);
}
BENCHMARK(BM_OverheadJoulecastRunSleep)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
