#include "store/store_writer.hpp"

#include <utility>

namespace joulecast::store {

using meter::Reading;
using meter::Trace;

void MarkerLog::enable() {
    std::lock_guard lock(m_mutex);
    m_enabled = true;
}

void MarkerLog::add(std::int64_t t_ns, std::string line) {
    std::lock_guard lock(m_mutex);
    if (m_enabled) m_markers.push_back({t_ns, std::move(line)});
}

std::vector<Marker> MarkerLog::take() {
    std::lock_guard lock(m_mutex);
    return std::exchange(m_markers, {});
}

std::size_t MarkerLog::waiting() const {
    std::lock_guard lock(m_mutex);
    return m_markers.size();
}

StoreWriter::StoreWriter(const std::string& store_path, std::string run_id, const Trace& trace,
                         std::int64_t origin_ns, std::chrono::milliseconds period)
    : m_own_store(std::make_unique<RunStore>(store_path)),
      m_store(m_own_store.get()),
      m_run_id(std::move(run_id)),
      m_trace(trace),
      m_origin_ns(origin_ns),
      m_period(period) {
    m_thread = std::thread([this] { loop(); });
}

StoreWriter::StoreWriter(RunStore& store, std::string run_id, const Trace& trace, std::int64_t origin_ns,
                         std::chrono::milliseconds period, MarkerLog* markers)
    : m_store(&store),
      m_run_id(std::move(run_id)),
      m_trace(trace),
      m_origin_ns(origin_ns),
      m_period(period),
      m_markers(markers) {
    if (m_markers) m_markers->enable();
    m_thread = std::thread([this] { loop(); });
}

StoreWriter::~StoreWriter() {
    try {
        finish();
    } catch (...) {
        // finish() reports through errors(); nothing may escape a destructor.
    }
}

bool StoreWriter::flush() {
    std::vector<Reading> batch = m_trace.readings(m_next);
    if (m_markers) {
        for (Marker& marker : m_markers->take()) {
            marker.t_ns -= m_origin_ns;
            m_unwritten_markers.push_back(std::move(marker));
        }
    }
    if (batch.empty() && m_unwritten_markers.empty()) return true;
    try {
        if (!batch.empty()) {
            m_store->append_readings(m_run_id, batch, m_origin_ns);
            m_next += batch.size();
            m_written += batch.size();
        }
        m_store->append_markers(m_run_id, m_unwritten_markers, m_next_marker);
        m_next_marker += m_unwritten_markers.size();
        m_unwritten_markers.clear();
        return true;
    } catch (const std::exception& error) {
        ++m_errors;
        std::lock_guard lock(m_mutex);
        m_last_error = error.what();
        return false;
    }
}

void StoreWriter::loop() {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
        m_wake.wait_for(lock, m_period, [this] { return m_stop; });
        if (m_stop) break;
        lock.unlock();
        flush();
        lock.lock();
    }
}

bool StoreWriter::finish() {
    {
        std::lock_guard lock(m_mutex);
        if (m_finished) return m_complete;
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
    // The thread is gone: the connection and m_next are ours now.
    bool complete = false;
    for (int attempt = 0; attempt < 3 && !complete; ++attempt)
        complete = flush() && pending() == 0 && m_unwritten_markers.empty() &&
                   (!m_markers || m_markers->waiting() == 0);
    std::lock_guard lock(m_mutex);
    m_finished = true;
    m_complete = complete;
    return complete;
}

std::uint64_t StoreWriter::pending() const {
    const std::size_t size = m_trace.size();
    const std::uint64_t written = m_written.load();
    return size > written ? size - written : 0;
}

std::string StoreWriter::last_error() const {
    std::lock_guard lock(m_mutex);
    return m_last_error;
}

}  // namespace joulecast::store
