#include "runner/live_export.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/child_process.hpp"
#include "core/clock.hpp"
#include "core/process_liveness.hpp"
#include "export/run_metrics.hpp"

namespace joulecast::runner {

using core::capture_output;
using core::monotonic_ns;
using core::ns_to_s;
using core::process_alive;

using meter::Monitor;
using meter::Reading;
using meter::RunResult;
using meter::RunStatus;
using meter::Timeline;
using meter::Trace;

bool agent_running(const std::string& runs_dir) {
    std::ifstream in(runs_dir + "/agent.pid");
    long long pid = 0, start_ticks = 0;
    if (!(in >> pid >> start_ticks)) return false;
    return process_alive(static_cast<pid_t>(pid), start_ticks);
}

LiveExport::LiveExport(std::optional<PushSpec> push, std::string state_file, Monitor& monitor,
                       RunResult header)
    : m_push(std::move(push)),
      m_state_file(std::move(state_file)),
      m_monitor(monitor),
      m_header(std::move(header)) {
    if (!m_push) return;
    std::string templ = (std::filesystem::temp_directory_path() / "joulecast-push-XXXXXX").string();
    if (mkdtemp(templ.data())) m_dir = templ;
}

LiveExport::~LiveExport() {
    stop();
    if (!m_dir.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(m_dir, ignored);
    }
}

void LiveExport::start(std::int64_t start_ns) {
    m_start_ns = start_ns;
    m_thread = std::thread([this] { run(); });
}

void LiveExport::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void LiveExport::run() {
    using namespace std::chrono_literals;
    std::optional<Timeline> timeline;
    std::size_t seen = 0;
    // The state file every second; a push every push interval (the first one interval after the start).
    const std::chrono::nanoseconds tick =
        m_state_file.empty() ? m_push->interval
                             : std::min<std::chrono::nanoseconds>(1s, m_push ? m_push->interval : 1s);
    std::int64_t next_push_ns = m_push ? m_start_ns + m_push->interval.count() : 0;
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        if (m_wake.wait_for(lock, tick, [this] { return m_stopping; })) break;
        lock.unlock();
        // A snapshot of the run so far: energy up to the newest reading, phases still open closed there.
        const Trace& trace = m_monitor.trace();
        if (!timeline) timeline.emplace(trace.channels(), std::vector<Reading>{});
        auto fresh = trace.readings(seen);
        seen += fresh.size();
        m_attribution.add(trace.channels(), fresh);
        timeline->extend(fresh);
        std::int64_t end_ns = std::max(m_start_ns, m_monitor.last_reading_ns());
        // Ends where every share has its readings, so that attributed and gross cover the same time.
        if (auto covered = m_attribution.covered_until(end_ns))
            end_ns = std::max(m_start_ns, std::min(end_ns, *covered));
        RunResult snapshot = m_header;
        snapshot.status = RunStatus::running;
        snapshot.duration_s = ns_to_s(end_ns - m_start_ns);
        snapshot.energy = timeline->energy(m_start_ns, end_ns);
        m_monitor.phases().finish(snapshot, *timeline, m_start_ns, end_ns);
        snapshot.attributed =
            m_attribution.at(*timeline, trace.channels(), m_start_ns, end_ns, job_gpu_usage(m_monitor));
        if (!m_state_file.empty()) write_state(snapshot);
        if (m_push && monotonic_ns() >= next_push_ns) {
            push(snapshot);
            next_push_ns = monotonic_ns() + m_push->interval.count();
        }
        lock.lock();
    }
}

void LiveExport::fail(const std::string& failure) {
    std::lock_guard lock(m_mutex);
    for (auto& [text, times] : m_failures)
        if (text == failure) {
            ++times;
            return;
        }
    m_failures.emplace_back(failure, 1);
}

void LiveExport::write_state(const RunResult& result) {
    // Written beside it and renamed over it, so that the agent never reads half a file.
    const std::string temp = m_state_file + ".tmp";
    {
        std::ofstream out(temp, std::ios::trunc);
        out << exporter::render_run_metrics(result);
        out.close();
        if (!out) {
            fail("the local agent's state file " + temp + " cannot be written");
            return;
        }
    }
    chmod(temp.c_str(), 0644);  // the agent may run as another user
    if (std::rename(temp.c_str(), m_state_file.c_str()) != 0)
        fail("the local agent's state file " + m_state_file + " cannot be replaced");
}

void LiveExport::push(const RunResult& result) {
    const std::string prefix = "push to " + m_push->url + " failed";
    const std::string body_path = m_dir + "/metrics.prom";
    if (m_dir.empty()) return fail(prefix + ": no temporary folder for the body");
    {
        std::ofstream body(body_path, std::ios::trunc);
        body << exporter::render_run_metrics(result);
        body.close();
        if (!body) return fail(prefix + ": cannot write " + body_path);
    }
    const std::string path = exporter::pushgateway_path("joulecast", result.host.hostname, result.id);
    // joulecast-agent prints "ok" or the reason of the failure on one line.
    auto answer = capture_output({m_push->agent_path, "push", m_push->url, path, body_path});
    if (!answer) return fail(prefix + ": cannot run " + m_push->agent_path + ": " + answer.error());
    if (answer->rfind("ok", 0) == 0) return;
    std::string failure = *answer;
    while (!failure.empty() && (failure.back() == '\n' || failure.back() == '\r')) failure.pop_back();
    fail(prefix + ": " + failure);
}

std::vector<std::string> LiveExport::finish(const RunResult& result) {
    stop();
    if (!m_state_file.empty()) {
        // The final figures for the agent, which expires them after its grace period; with the agent gone
        // there is no one to expire the file, so it goes now.
        const std::string dir = std::filesystem::path(m_state_file).parent_path().string();
        if (agent_running(dir))
            write_state(result);
        else
            std::remove(m_state_file.c_str());
    }
    if (m_push) push(result);
    std::lock_guard lock(m_mutex);
    std::vector<std::string> warnings;
    for (const auto& [text, times] : m_failures)
        warnings.push_back(text + (times > 1 ? " (" + std::to_string(times) + " times)" : std::string()));
    return warnings;
}

}  // namespace joulecast::runner
