#pragma once
// `joulecast run --push URL`: the run's metrics (export/run_metrics.hpp) go to a Prometheus Pushgateway every
// interval while the command runs and once more at the end, under the grouping key job="joulecast",
// instance=<host>, run_id=<id>. The HTTP PUT itself is made by `joulecast-agent push` (beside the joulecast
// binary), because the HTTP library pulls in OpenSSL and joulecast must need only glibc and libstdc++. A push
// that fails is a warning in the result, never a lost run.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "meter/monitor.hpp"

namespace joulecast::runner {

struct PushSpec {
    std::string url;                         ///< the Pushgateway, e.g. http://pushgateway:9091
    std::chrono::nanoseconds interval{15'000'000'000};
    std::string agent_path;                  ///< the joulecast-agent executable that makes the PUT
};

class RunPusher {
public:
    RunPusher(PushSpec spec, Monitor& monitor, RunResult header);
    ~RunPusher();
    RunPusher(const RunPusher&) = delete;
    RunPusher& operator=(const RunPusher&) = delete;

    /// Starts pushing a snapshot of the run every interval (the first one interval after `start_ns`).
    void start(std::int64_t start_ns);
    /// Stops the periodic pushes (waits for one under way).
    void stop();
    /// Pushes the finished run. Returns the warnings of every failed push (each distinct failure once, with
    /// how often it happened), for the result.
    std::vector<std::string> finish(const RunResult& result);

private:
    void run();
    void push(const RunResult& result);

    PushSpec m_spec;
    Monitor& m_monitor;
    RunResult m_header;  ///< id, name, host: what a snapshot carries besides its energy
    std::int64_t m_start_ns = 0;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;
    std::thread m_thread;
    std::string m_dir;  ///< private temporary folder for the body handed to joulecast-agent
    std::vector<std::pair<std::string, int>> m_failures;  ///< distinct failure, times (guarded)
    int m_pushes = 0;                                     ///< successful pushes (guarded)
};

}  // namespace joulecast::runner
