#pragma once
// The run's metrics (export/run_metrics.hpp) while it runs and at its end, to two places:
// - `joulecast run --push URL`: a Prometheus Pushgateway, every interval and at the end, under the grouping
// key
//   job="joulecast", instance=<host>, run_id=<id>. The HTTP PUT is made by `joulecast-agent push` (beside the
//   joulecast binary), because the HTTP library pulls in OpenSSL and joulecast must need only glibc and
//   libstdc++.
// - the local agent (`joulecast serve`), when one runs: a state file RUNS_DIR/<run_id>.prom, rewritten
//   atomically every second and once at the end, that the agent merges into its /metrics. The agent announces
//   itself with RUNS_DIR/agent.pid; `--no-export` opts out.
// Each snapshot carries the job's own (attributed) energy so far beside the gross (runner/job_share.hpp).
// A push or a state file that fails is a warning in the result, never a lost run.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "meter/monitor.hpp"
#include "runner/job_share.hpp"

namespace joulecast::runner {

struct PushSpec {
    std::string url;  ///< the Pushgateway, e.g. http://pushgateway:9091
    std::chrono::nanoseconds interval{15'000'000'000};
    std::string agent_path;  ///< the joulecast-agent executable that makes the PUT
};

/// Whether an agent runs for `runs_dir`: its agent.pid names a live process.
bool agent_running(const std::string& runs_dir);

class LiveExport {
public:
    /// `state_file`: where the agent reads the run (empty: no agent).
    LiveExport(std::optional<PushSpec> push, std::string state_file, meter::Monitor& monitor,
               meter::RunResult header);
    ~LiveExport();
    LiveExport(const LiveExport&) = delete;
    LiveExport& operator=(const LiveExport&) = delete;

    /// Starts the snapshots: the state file every second, a push every push interval.
    void start(std::int64_t start_ns);
    /// Stops the periodic snapshots (waits for one under way).
    void stop();
    /// Writes and pushes the finished run. Returns a warning per distinct failure (with how often it
    /// happened), for the result.
    std::vector<std::string> finish(const meter::RunResult& result);

private:
    void run();
    void push(const meter::RunResult& result);
    void write_state(const meter::RunResult& result);
    void fail(const std::string& failure);

    std::optional<PushSpec> m_push;
    std::string m_state_file;
    meter::Monitor& m_monitor;
    meter::RunResult m_header;  ///< id, name, host: what a snapshot carries besides its energy
    std::int64_t m_start_ns = 0;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;
    std::thread m_thread;
    std::string m_dir;              ///< private temporary folder for the body handed to joulecast-agent
    LiveAttribution m_attribution;  ///< the job's share, snapshot after snapshot (snapshot thread only)
    std::vector<std::pair<std::string, int>> m_failures;  ///< distinct failure, times (guarded)
};

}  // namespace joulecast::runner
