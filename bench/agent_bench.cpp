// What the node agent (`joulecast serve`, the joulecast-agent executable) costs: its CPU per sampling tick
// and per scrape of /metrics. The real executable runs in its own process with a fake powercap tree (two
// packages) and, where the tests' fake NVML is built, eight fake GPUs; its CPU time is read from the kernel
// (clock_getcpuclockid: every thread of the agent, user + system), not from the agent's own figures.
//
//   ./build/bench/joulecast_bench --benchmark_filter=Agent --benchmark_counters_tabular=true
//
// - BM_AgentSamplingTick: the agent left alone for JOULECAST_BENCH_SECONDS (default 10) at --interval-ms 1000
//   and again at 100: its CPU per second at each, and per tick the difference divided by the extra ticks (the
//   fixed costs, such as the 100 ms collector loop, cancel out).
// - BM_AgentScrape: back-to-back GETs of /metrics (one connection each, as Prometheus makes them), with 0 or
// 10
//   runs of this node in the runs folder: the agent's CPU per scrape, its idle CPU over the same time taken
//   off; the benchmark's own time is the scrape's latency as seen by the client.

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_env.hpp"
#include "fake_powercap.hpp"

#ifdef JOULECAST_AGENT_BINARY

namespace {

using joulecast::bench::env_seconds;
using joulecast::bench::FakePowercap;

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    close(fd);
    return ntohs(address.sin_port);
}

/// One GET on a fresh connection; the whole answer (status line, headers, body), empty when it failed.
std::string get(int port, const char* path) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    std::string answer;
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        const std::string request =
            std::string("GET ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
            char buffer[65536];
            for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;)
                answer.append(buffer, static_cast<std::size_t>(n));
        }
    }
    close(fd);
    return answer;
}

/// `runs` state files as `joulecast run` leaves them (runner/live_export): each with three domains, four
/// phases, two ranks, epochs and samples; 45 series per run.
void write_runs(const std::filesystem::path& dir, int runs) {
    std::filesystem::create_directories(dir);
    const char* domains[] = {"gpu", "cpu", "dram"};
    const char* phases[] = {"warmup", "train", "eval", "checkpoint"};
    for (int r = 0; r < runs; ++r) {
        const std::string id = "bench" + std::to_string(1000 + r);
        const std::string base = "run_id=\"" + id + "\",name=\"job-" + std::to_string(r % 3) + "\"";
        std::string text = "# HELP joulecast_run_info A run.\n# TYPE joulecast_run_info gauge\n";
        text += "joulecast_run_info{" + base + ",host=\"node\",status=\"running\"} 1\n";
        text +=
            "# HELP joulecast_run_energy_joules_total Energy.\n# TYPE joulecast_run_energy_joules_total "
            "counter\n";
        for (const char* d : domains) {
            text += "joulecast_run_energy_joules_total{" + base + ",domain=\"" + d + "\"} 123456.5\n";
            for (const char* p : phases) {
                text += "joulecast_run_energy_joules_total{" + base + ",phase=\"" + p + "\",domain=\"" + d +
                        "\"} 23456.25\n";
                for (int rank = 0; rank < 2; ++rank)
                    text += "joulecast_run_energy_joules_total{" + base + ",rank=\"" + std::to_string(rank) +
                            "\",phase=\"" + p + "\",domain=\"" + d + "\"} 23456.25\n";
            }
        }
        text += "# HELP joulecast_run_epochs_total Epochs.\n# TYPE joulecast_run_epochs_total counter\n";
        text += "joulecast_run_epochs_total{" + base + "} 7\n";
        text += "# HELP joulecast_run_samples_total Samples.\n# TYPE joulecast_run_samples_total counter\n";
        for (const char* p : phases)
            text += "joulecast_run_samples_total{" + base + ",phase=\"" + p + "\"} 640000\n";
        std::ofstream(dir / (id + ".prom")) << text;
    }
}

/// The agent in its own process, stopped by PID when destroyed.
class Agent {
public:
    Agent(const FakePowercap& sysfs, const std::filesystem::path& runs_dir, int interval_ms) {
        m_port = free_port();
        const std::string listen = "127.0.0.1:" + std::to_string(m_port);
        const std::string interval = std::to_string(interval_ms);
        m_pid = fork();
        if (m_pid == 0) {
            setenv("JOULECAST_SYSFS_ROOT", sysfs.root().c_str(), 1);
            if (*FAKE_NVML_LIBRARY) {
                setenv("JOULECAST_NVML_LIBRARY", FAKE_NVML_LIBRARY, 1);
                setenv("FAKE_NVML_SCRIPT", "gpus=8;gpu*.power=300", 1);
            } else {
                setenv("JOULECAST_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
            }
            const int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, STDERR_FILENO);
            dup2(devnull, STDOUT_FILENO);
            execl(JOULECAST_AGENT_BINARY, JOULECAST_AGENT_BINARY, "serve", "--listen", listen.c_str(),
                  "--interval-ms", interval.c_str(), "--runs-dir", runs_dir.c_str(), "--run-grace", "1h",
                  static_cast<char*>(nullptr));
            _exit(127);
        }
        for (int i = 0; i < 100 && get(m_port, "/-/healthy").find(" 200 ") == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        m_ready = get(m_port, "/-/healthy").find(" 200 ") != std::string::npos;
        m_ready = m_ready && clock_getcpuclockid(m_pid, &m_clock) == 0;
    }
    ~Agent() {
        kill(m_pid, SIGTERM);
        waitpid(m_pid, nullptr, 0);
    }
    bool ready() const { return m_ready; }
    int port() const { return m_port; }
    /// CPU seconds of every thread of the agent so far.
    double cpu_s() const {
        timespec ts{};
        clock_gettime(m_clock, &ts);
        return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
    }
    /// The value of an unlabelled sample of /metrics (0 when absent).
    double metric(const std::string& name) const {
        const std::string text = get(m_port, "/metrics");
        const auto at = text.find("\n" + name + " ");
        return at == std::string::npos ? 0 : std::strtod(text.c_str() + at + name.size() + 2, nullptr);
    }

private:
    pid_t m_pid = -1;
    int m_port = 0;
    clockid_t m_clock{};
    bool m_ready = false;
};

/// The agent's CPU over `seconds` of doing nothing but sampling, per second, and its readings per second.
void idle(const Agent& agent, double seconds, double& cpu_per_s, double& readings_per_s) {
    const double readings0 = agent.metric("joulecast_agent_readings_total");
    const double cpu0 = agent.cpu_s(), t0 = now_s();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double cpu1 = agent.cpu_s(), t1 = now_s();
    cpu_per_s = (cpu1 - cpu0) / (t1 - t0);
    readings_per_s = (agent.metric("joulecast_agent_readings_total") - readings0) / (t1 - t0);
}

void BM_AgentSamplingTick(benchmark::State& state) {
    const double seconds = env_seconds("JOULECAST_BENCH_SECONDS", 10);
    FakePowercap sysfs;
    const auto runs_dir = std::filesystem::path(sysfs.root()) / "runs";
    double slow_cpu = 0, fast_cpu = 0, slow_readings = 0, fast_readings = 0;
    for (auto _ : state) {
        {
            Agent agent(sysfs, runs_dir, 1000);
            if (!agent.ready()) return state.SkipWithError("the agent did not start");
            idle(agent, seconds, slow_cpu, slow_readings);
        }
        Agent agent(sysfs, runs_dir, 100);
        if (!agent.ready()) return state.SkipWithError("the agent did not start");
        idle(agent, seconds, fast_cpu, fast_readings);
    }
    state.SetLabel(*FAKE_NVML_LIBRARY ? "fake RAPL (2 packages) + fake NVML (8 GPUs)"
                                      : "fake RAPL (2 packages)");
    state.counters["core_pct_1000ms"] = 100 * slow_cpu;
    state.counters["core_pct_100ms"] = 100 * fast_cpu;
    state.counters["us_per_tick"] = 1e6 * (fast_cpu - slow_cpu) / 9;  // 10 - 1 ticks per second more
    state.counters["readings_per_tick"] = (fast_readings - slow_readings) / 9;
}
BENCHMARK(BM_AgentSamplingTick)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

void BM_AgentScrape(benchmark::State& state) {
    const int runs = static_cast<int>(state.range(0));
    FakePowercap sysfs;
    const auto runs_dir = std::filesystem::path(sysfs.root()) / "runs";
    write_runs(runs_dir, runs);
    Agent agent(sysfs, runs_dir, 1000);
    if (!agent.ready()) return state.SkipWithError("the agent did not start");
    double idle_cpu = 0, idle_readings = 0;
    idle(agent, 3, idle_cpu, idle_readings);
    std::size_t bytes = 0;
    const double cpu0 = agent.cpu_s(), t0 = now_s();
    for (auto _ : state) {
        const std::string answer = get(agent.port(), "/metrics");
        if (answer.compare(0, 15, "HTTP/1.1 200 OK") != 0) return state.SkipWithError("a scrape failed");
        bytes += answer.size();
    }
    const double cpu1 = agent.cpu_s(), t1 = now_s();
    const double scrapes = static_cast<double>(state.iterations());
    state.SetLabel(std::to_string(runs) + " runs; " +
                   (*FAKE_NVML_LIBRARY ? "fake RAPL + fake NVML (8 GPUs)" : "fake RAPL"));
    state.counters["cpu_us_per_scrape"] = 1e6 * (cpu1 - cpu0 - idle_cpu * (t1 - t0)) / scrapes;
    state.counters["bytes_per_scrape"] = static_cast<double>(bytes) / scrapes;
    state.counters["idle_core_pct"] = 100 * idle_cpu;
}
BENCHMARK(BM_AgentScrape)->Arg(0)->Arg(10)->Iterations(2000)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

#endif  // JOULECAST_AGENT_BINARY
