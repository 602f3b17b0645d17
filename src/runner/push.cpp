#include "runner/push.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/child_process.hpp"
#include "core/clock.hpp"
#include "export/run_metrics.hpp"

namespace joulecast::runner {

RunPusher::RunPusher(PushSpec spec, Monitor& monitor, RunResult header)
    : m_spec(std::move(spec)), m_monitor(monitor), m_header(std::move(header)) {
    std::string templ = (std::filesystem::temp_directory_path() / "joulecast-push-XXXXXX").string();
    if (mkdtemp(templ.data())) m_dir = templ;
}

RunPusher::~RunPusher() {
    stop();
    if (!m_dir.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(m_dir, ignored);
    }
}

void RunPusher::start(std::int64_t start_ns) {
    m_start_ns = start_ns;
    m_thread = std::thread([this] { run(); });
}

void RunPusher::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void RunPusher::run() {
    std::optional<Timeline> timeline;
    std::size_t seen = 0;
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        if (m_wake.wait_for(lock, m_spec.interval, [this] { return m_stopping; })) break;
        lock.unlock();
        // A snapshot of the run so far: energy up to the newest reading, phases still open closed there.
        const Trace& trace = m_monitor.trace();
        if (!timeline) timeline.emplace(trace.channels(), std::vector<Reading>{});
        auto fresh = trace.readings(seen);
        seen += fresh.size();
        timeline->extend(fresh);
        const std::int64_t end_ns = std::max(m_start_ns, m_monitor.last_reading_ns());
        RunResult snapshot = m_header;
        snapshot.status = RunStatus::running;
        snapshot.duration_s = ns_to_s(end_ns - m_start_ns);
        snapshot.energy = timeline->energy(m_start_ns, end_ns);
        m_monitor.phases().finish(snapshot, *timeline, m_start_ns, end_ns);
        push(snapshot);
        lock.lock();
    }
}

void RunPusher::push(const RunResult& result) {
    std::string failure;
    const std::string body_path = m_dir + "/metrics.prom";
    if (m_dir.empty()) {
        failure = "no temporary folder for the body";
    } else {
        std::ofstream body(body_path, std::ios::trunc);
        body << exporter::render_run_metrics(result);
        body.close();
        if (!body) failure = "cannot write " + body_path;
    }
    if (failure.empty()) {
        const std::string path = exporter::pushgateway_path("joulecast", result.host.hostname, result.id);
        // joulecast-agent prints "ok" or the reason of the failure on one line.
        auto answer = capture_output({m_spec.agent_path, "push", m_spec.url, path, body_path});
        if (!answer) {
            failure = "cannot run " + m_spec.agent_path + ": " + answer.error();
        } else if (answer->rfind("ok", 0) != 0) {
            failure = *answer;
            while (!failure.empty() && (failure.back() == '\n' || failure.back() == '\r')) failure.pop_back();
        }
    }
    std::lock_guard lock(m_mutex);
    if (failure.empty()) {
        ++m_pushes;
        return;
    }
    for (auto& [text, times] : m_failures)
        if (text == failure) {
            ++times;
            return;
        }
    m_failures.emplace_back(failure, 1);
}

std::vector<std::string> RunPusher::finish(const RunResult& result) {
    stop();
    push(result);
    std::lock_guard lock(m_mutex);
    std::vector<std::string> warnings;
    for (const auto& [text, times] : m_failures)
        warnings.push_back("push to " + m_spec.url + " failed" +
                           (times > 1 ? " " + std::to_string(times) + " times" : std::string()) + ": " + text);
    return warnings;
}

}  // namespace joulecast::runner
