#pragma once
// The one sampler thread: reads every channel at its own cadence on CLOCK_MONOTONIC and appends to a Trace.
// Read failures are counted per channel and reported once at the end, never fatal. The thread wakes only for
// ticks at which some channel is due (or for a boundary): where every channel asks for 200 ms, a 100 ms
// interval wakes it five times a second, not ten.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "meter/trace.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::meter {

struct SamplerOptions {
    /// Time between ticks; every channel whose min_period allows is read at each tick. 10 ms to 10 s.
    std::chrono::nanoseconds interval = std::chrono::milliseconds(100);
};

struct ChannelStats {
    std::uint64_t readings = 0;
    std::uint64_t errors = 0;  ///< transient read failures
    bool unsupported = false;  ///< the device stopped offering the value; no longer read
    bool lost = false;         ///< the device is gone; no longer read
};

class Sampler {
public:
    /// The sensors must have been probed successfully and must outlive the sampler.
    Sampler(std::vector<sensors::Sensor*> sensors, SamplerOptions options);
    ~Sampler();
    Sampler(const Sampler&) = delete;
    Sampler& operator=(const Sampler&) = delete;

    /// Starts the thread and returns once every channel has been read once.
    void start();
    /// Reads every channel once more (a closing boundary) and joins the thread. Idempotent.
    void stop();
    /// Asks for a window boundary without waiting (safe from any thread, e.g. the control server's): the
    /// sampler reads its per-tick channels at once, and its slow channels (NVML energy) too unless one was
    /// read within the last 200 ms, which bounds what a workload marking thousands of phases can cost.
    void request_boundary();
    /// Reads every channel now, from the sampler thread, and returns when done: a window boundary.
    /// Returns the CLOCK_MONOTONIC time of the boundary. Must be called between start() and stop().
    std::int64_t read_all_now();

    const Trace& trace() const { return m_trace; }
    /// Trace::leave_out_of_totals on the trace; only after stop().
    void leave_out_of_totals(const std::string& domain, const std::vector<std::string>& devices) {
        m_trace.leave_out_of_totals(domain, devices);
    }
    std::vector<ChannelStats> stats() const;
    std::uint64_t readings() const { return m_readings.load(); }
    /// Times the thread woke to read (ticks with a channel due, boundaries, read-all requests).
    std::uint64_t wakeups() const { return m_wakeups.load(); }
    /// CPU seconds used by the sampler thread, as of the last boundary read (final after stop()).
    double thread_cpu_s() const { return m_thread_cpu_s.load(); }
    std::chrono::nanoseconds interval() const { return m_options.interval; }

private:
    struct Slot {
        sensors::Sensor* sensor;
        std::size_t channel;  ///< index within the sensor
        std::int64_t period_ns;
        std::int64_t next_due_ns = 0;
        std::int64_t last_read_ns = 0;
        bool active = true;
    };
    void run();
    enum class TickKind { due, boundary, all };
    /// Reads what is due at `tick_ns` (the scheduled tick; the wake-up time for an early boundary read).
    void tick(TickKind kind, std::int64_t tick_ns, std::vector<Reading>& batch);

    SamplerOptions m_options;
    std::vector<Slot> m_slots;
    std::int64_t m_next_due_ns = 0;  ///< the earliest next_due_ns of an active slot (sampler thread only)
    Trace m_trace;
    std::vector<ChannelStats> m_stats;  // guarded by m_mutex
    std::atomic<std::uint64_t> m_readings{0};
    std::atomic<std::uint64_t> m_wakeups{0};
    std::atomic<double> m_thread_cpu_s{0};

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_done;
    bool m_stopping = false;
    std::uint64_t m_requested = 0;  ///< read-all requests made
    std::uint64_t m_completed = 0;  ///< read-all requests served
    bool m_boundary_requested = false;
    std::int64_t m_last_boundary_ns = 0;
    std::thread m_thread;
    bool m_started = false;
    bool m_stopped = false;
};

}  // namespace joulecast::meter
