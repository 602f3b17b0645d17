#pragma once
// The forecast while a command runs (`joulecast run --expect-* / --profile-*`): a thread that forecasts the
// whole job as epochs end (or as fixed windows pass, for jobs that mark no epochs), prints one line per
// forecast, and ends the command after its profile (SIGINT, then SIGTERM after a grace period). After the
// run, final_forecast() makes the forecast kept in the result from the run's own epochs or windows.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>

#include "carbon/carbon.hpp"
#include "core/result.hpp"
#include "forecast/forecaster.hpp"
#include "forecast/windows.hpp"
#include "meter/monitor.hpp"
#include "meter/run_result.hpp"

namespace joulecast::runner {

struct ForecastSpec {
    /// The whole job to forecast; none: a profile without a forecast (the run is still stored as profiled).
    std::optional<forecast::ForecastTarget> target;
    std::optional<long long> profile_epochs;  ///< end the command once this many epochs ended
    std::optional<std::chrono::nanoseconds> profile_duration;   ///< end the command this long after its start
    std::chrono::nanoseconds grace = std::chrono::seconds(10);  ///< SIGTERM this long after the SIGINT
    /// Window length for jobs that mark no epochs (duration targets only).
    std::chrono::nanoseconds window = std::chrono::seconds(1);
    forecast::ForecastOptions options;

    bool active() const { return target || profile_epochs || profile_duration; }
};

/// The live part. Thread-safe: on_epoch() comes from the control-channel thread, the rest from the runner.
class LiveForecast {
public:
    /// `log` receives the forecast lines and the profile's notes; null for none (--quiet).
    LiveForecast(ForecastSpec spec, const meter::Monitor& monitor, carbon::CarbonSetting carbon,
                 std::ostream* log);
    ~LiveForecast();
    LiveForecast(const LiveForecast&) = delete;
    LiveForecast& operator=(const LiveForecast&) = delete;

    /// Starts the thread for the command `child`, started at CLOCK_MONOTONIC `start_ns`. Nothing when the
    /// spec is inactive.
    void start(pid_t child, std::int64_t start_ns);
    /// An epoch ended at CLOCK_MONOTONIC `t_ns` (an `epoch` marker or the end of a phase named "epoch").
    void on_epoch(std::int64_t t_ns);
    /// Ends the thread (call as soon as the command has ended). Idempotent.
    void stop();

    /// When the profile's SIGINT was sent (CLOCK_MONOTONIC ns); none when the command was not ended by it.
    std::optional<std::int64_t> profile_signal_ns() const;

private:
    void run();
    void epoch_forecast(std::int64_t epoch_t_ns);
    void window_forecast(std::int64_t now_ns);
    void report(const core::Result<forecast::Forecast>& forecast, const std::string& progress,
                meter::ForecastBasis basis);
    bool wait_for_readings(std::int64_t t_ns);
    const meter::Timeline& timeline_so_far();
    void send(int signal, const std::string& why);
    void say(const std::string& line);

    ForecastSpec m_spec;
    const meter::Monitor& m_monitor;
    carbon::CarbonSetting m_carbon;
    std::ostream* m_log;
    pid_t m_child = -1;
    std::set<pid_t> m_family;  ///< descendants of the child seen when it was signalled
    std::int64_t m_start_ns = 0;

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;
    std::size_t m_epochs = 0;                 ///< epochs ended so far (guarded)
    std::int64_t m_last_epoch_ns = 0;         ///< when the last one ended (guarded)
    std::optional<std::int64_t> m_sigint_ns;  ///< guarded
    bool m_sigterm_sent = false;              ///< only touched by the thread

    // Only touched by the thread: what was printed last, so that a steady forecast is not repeated.
    std::optional<double> m_last_total_j;
    bool m_last_converged = false;
    std::string m_last_error;
    // Only touched by the thread: the trace so far, extended by the readings that came since the last
    // forecast, so that a long job's forecasts cost in proportion to the new readings, not the whole trace.
    std::optional<meter::Timeline> m_timeline;
    std::size_t m_readings_seen = 0;
    std::optional<forecast::GrowingWindows>
        m_windows;  ///< the windows so far (a duration target without epochs)
    std::thread m_thread;
};

/// The forecast kept in the result: from the run's epochs (those that ended by `profile_end_ns`,
/// CLOCK_MONOTONIC, when the profile's signal ended the run), else, for a duration target, from windows of
/// spec.window over [start_ns, profile_end_ns] of `trace` (integrated only then). Errors: no target, no
/// epochs for an epochs or samples target, a profile shorter than one window, and the forecaster's own
/// errors.
core::Result<meter::RunForecast> final_forecast(const ForecastSpec& spec, const meter::RunResult& result,
                                                const meter::Trace& trace, std::int64_t start_ns,
                                                std::int64_t profile_end_ns,
                                                const carbon::CarbonSetting& carbon);

/// A RunForecast from a forecaster answer (carbon at `carbon`).
meter::RunForecast make_run_forecast(const forecast::Forecast& forecast,
                                     const forecast::ForecastTarget& target, meter::ForecastBasis basis,
                                     double window_s, const carbon::CarbonSetting& carbon);

}  // namespace joulecast::runner
