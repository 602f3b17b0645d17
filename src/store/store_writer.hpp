#pragma once
// Writes a run's readings, and the workload's markers, into the store while the run goes on, so that a
// joulecast killed with SIGKILL loses at most about two flush periods of either (the default period is 1 s).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meter/trace.hpp"
#include "store/markers.hpp"
#include "store/run_store.hpp"

namespace joulecast::store {

/// The markers of the running run on their way to the store: the control thread adds, the store writer takes
/// them at each flush, so that only one flush period of markers is held. add() keeps nothing until enable()
/// (a run without a store writer). Thread-safe.
class MarkerLog {
public:
    void enable();
    void add(std::int64_t t_ns, std::string line);
    /// The markers added since the last take(), in arrival order.
    std::vector<Marker> take();
    /// Markers added and not taken yet.
    std::size_t waiting() const;

private:
    mutable std::mutex m_mutex;
    bool m_enabled = false;
    std::vector<Marker> m_markers;
};

class StoreWriter {
public:
    /// Opens its own connection to the store at `store_path` (throws StoreError as RunStore does) and starts
    /// a thread that, every `period`, writes the readings `trace` gained since the last flush, in one
    /// transaction, to run `run_id` (begun with RunStore::begin_run and the same channels and `origin_ns`).
    /// `trace` must outlive the writer. A failed flush is counted and retried at the next period, never
    /// thrown.
    StoreWriter(const std::string& store_path, std::string run_id, const meter::Trace& trace,
                std::int64_t origin_ns, std::chrono::milliseconds period = std::chrono::seconds(1));
    /// The same, writing through `store` (the caller's connection) instead of a connection of its own, which
    /// saves opening one (its open, pragmas and schema read cost ~0.8 M instructions and ~30 system calls).
    /// The caller must not use `store`, from any thread, until finish() has returned; `store` must outlive
    /// the writer.
    /// With `markers`, the markers it gained since the last flush are stored on the same period (times
    /// relative to `origin_ns`); `markers` must then outlive the writer.
    StoreWriter(RunStore& store, std::string run_id, const meter::Trace& trace, std::int64_t origin_ns,
                std::chrono::milliseconds period = std::chrono::seconds(1), MarkerLog* markers = nullptr);
    /// Finishes when finish() was not called; never throws.
    ~StoreWriter();
    StoreWriter(const StoreWriter&) = delete;
    StoreWriter& operator=(const StoreWriter&) = delete;

    /// Stops the thread and writes the readings and markers not yet written (a few tries). Idempotent. True
    /// when every reading of the trace (and every marker) is in the store.
    bool finish();

    std::uint64_t written() const { return m_written.load(); }  ///< readings handed to the store so far
    std::uint64_t errors() const { return m_errors.load(); }    ///< failed flushes
    std::uint64_t pending() const;                              ///< readings of the trace not yet stored
    /// The message of the last failed flush ("" when none): for one report at the end of the run.
    std::string last_error() const;

private:
    void loop();
    bool flush();

    std::unique_ptr<RunStore> m_own_store;  ///< the connection opened by the first constructor
    RunStore* m_store;                      ///< m_own_store or the caller's
    std::string m_run_id;
    const meter::Trace& m_trace;
    std::int64_t m_origin_ns;
    std::chrono::milliseconds m_period;

    MarkerLog* m_markers = nullptr;
    std::vector<Marker> m_unwritten_markers;  ///< taken from m_markers, not yet stored (writer thread only)
    std::size_t m_next = 0;  ///< index of the first reading of the trace not yet written (writer thread only)
    std::size_t m_next_marker = 0;  ///< index of the first marker not yet written (writer thread only)
    std::atomic<std::uint64_t> m_written{0};
    std::atomic<std::uint64_t> m_errors{0};
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    bool m_finished = false;
    bool m_complete = false;
    std::string m_last_error;
    std::thread m_thread;
};

}  // namespace joulecast::store
