#include "runner/live_forecast.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>

#include "core/child_process.hpp"
#include "core/clock.hpp"
#include "core/format.hpp"
#include "forecast/forecast_text.hpp"
#include "forecast/windows.hpp"

namespace joulecast::runner {

using core::descendant_pids;
using core::Error;
using core::format_duration;
using core::format_number;
using core::monotonic_ns;
using core::ns_to_s;
using core::Result;
using core::s_to_ns;

using meter::EpochResult;
using meter::ForecastBasis;
using meter::ForecastWorking;
using meter::Monitor;
using meter::Reading;
using meter::RunForecast;
using meter::RunResult;
using meter::Timeline;
using meter::Trace;

using carbon::CarbonSetting;
using carbon::co2e_g;

using forecast::first_epoch_windows;
using forecast::Forecast;
using forecast::forecast_line;
using forecast::forecast_total;
using forecast::ForecastTarget;
using forecast::observations_from_epochs;
using forecast::observations_from_windows;

namespace {

// Epochs that end faster than this are forecast together: each forecast re-derives every epoch's energy,
// cheap at epoch rates, not at hundreds per second.
constexpr std::int64_t min_forecast_gap_ns = 250'000'000;

std::string target_text(const ForecastTarget& target) {
    switch (target.kind) {
        case ForecastTarget::Kind::epochs:
            return format_number(target.amount, 0) + " epochs";
        case ForecastTarget::Kind::samples:
            return format_number(target.amount, 0) + " samples";
        case ForecastTarget::Kind::duration:
            return format_duration(target.amount);
    }
    return "";
}

}  // namespace

RunForecast make_run_forecast(const Forecast& f, const ForecastTarget& target, ForecastBasis basis,
                              double window_s, const CarbonSetting& carbon) {
    RunForecast out;
    out.target = target.kind;
    out.target_amount = target.amount;
    out.basis = basis;
    out.window_s = window_s;
    out.total_energy_j = f.total_energy_j;
    out.low_energy_j = f.low_energy_j;
    out.high_energy_j = f.high_energy_j;
    out.confidence = f.confidence;
    out.total_duration_s = f.total_duration_s;
    out.method = f.method;
    out.converged = f.converged;
    out.co2e_g = co2e_g(f.total_energy_j, carbon);
    out.low_co2e_g = co2e_g(f.low_energy_j, carbon);
    out.high_co2e_g = co2e_g(f.high_energy_j, carbon);
    static_cast<ForecastWorking&>(out) = f;  // the forecaster's working, every field of it
    return out;
}

Result<RunForecast> final_forecast(const ForecastSpec& spec, const RunResult& result, const Trace& trace,
                                   std::int64_t start_ns, std::int64_t profile_end_ns,
                                   const CarbonSetting& carbon) {
    if (!spec.target)
        return Error{"no forecast target (--expect-epochs, --expect-samples or --expect-duration)"};
    const ForecastTarget& target = *spec.target;
    // An epoch that ends after the profile's signal is the job shutting down, not a steady epoch.
    const double profile_end_s = ns_to_s(profile_end_ns - start_ns);
    std::vector<EpochResult> epochs;
    for (const auto& e : result.epochs)
        if (e.end_s <= profile_end_s + 1e-6) epochs.push_back(e);
    if (!epochs.empty()) {
        auto observations = observations_from_epochs(epochs);
        // The first epoch's power timeline, for the sub-epoch warm-up test.
        const auto windows = first_epoch_windows(Timeline(trace), start_ns + s_to_ns(epochs.front().start_s),
                                                 start_ns + s_to_ns(epochs.front().end_s));
        auto forecast = forecast_total(observations, target, spec.options, windows);
        if (!forecast) return Error{forecast.error()};
        return make_run_forecast(*forecast, target, ForecastBasis::epochs, 0.0, carbon);
    }
    if (target.kind != ForecastTarget::Kind::duration)
        return Error{"the command marked no epochs, so there is nothing to forecast " + target_text(target) +
                     " from (a job without epochs can be forecast for a duration: --expect-duration)"};
    auto observations = observations_from_windows(Timeline(trace), start_ns, profile_end_ns, spec.window);
    if (observations.empty())
        return Error{"the run was shorter than one forecast window (" +
                     format_duration(ns_to_s(spec.window.count())) + ")"};
    auto forecast = forecast_total(observations, target, spec.options);
    if (!forecast) return Error{forecast.error()};
    return make_run_forecast(*forecast, target, ForecastBasis::windows, ns_to_s(spec.window.count()), carbon);
}

LiveForecast::LiveForecast(ForecastSpec spec, const Monitor& monitor, CarbonSetting carbon, std::ostream* log)
    : m_spec(std::move(spec)), m_monitor(monitor), m_carbon(std::move(carbon)), m_log(log) {}

LiveForecast::~LiveForecast() {
    stop();
}

void LiveForecast::start(pid_t child, std::int64_t start_ns) {
    if (!m_spec.active() || m_thread.joinable()) return;
    m_child = child;
    m_start_ns = start_ns;
    m_thread = std::thread([this] { run(); });
}

void LiveForecast::on_epoch(std::int64_t t_ns) {
    {
        std::lock_guard lock(m_mutex);
        ++m_epochs;
        m_last_epoch_ns = std::max(m_last_epoch_ns, t_ns);
    }
    m_wake.notify_all();
}

void LiveForecast::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

std::optional<std::int64_t> LiveForecast::profile_signal_ns() const {
    std::lock_guard lock(m_mutex);
    return m_sigint_ns;
}

void LiveForecast::say(const std::string& line) {
    if (m_log) *m_log << ("joulecast: " + line + "\n") << std::flush;  // one write: other threads log too
}

void LiveForecast::send(int signal, const std::string& why) {
    // A child that has already exited (a zombie not yet reaped, or reaped: ECHILD) must not be signalled: its
    // pid may belong to another process by now.
    siginfo_t info{};
    const bool child_alive =
        waitid(P_PID, static_cast<id_t>(m_child), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == 0;
    // The whole family, as Ctrl-C would reach it: a wrapper (sh, a launcher) often waits while its child
    // trains. Listed before the child is signalled, since its children are orphaned once it exits.
    if (child_alive)
        for (pid_t pid : descendant_pids(m_child)) m_family.insert(pid);
    std::size_t signalled = 0;
    if (child_alive) {
        if (kill(m_child, signal) == 0)
            ++signalled;
        else
            say(std::string("could not signal the command: ") + std::strerror(errno));
    }
    // Descendants that have exited fail with ESRCH and are skipped.
    for (pid_t pid : m_family)
        if (kill(pid, signal) == 0) ++signalled;
    if (signalled == 0) return;
    const std::size_t others = signalled - (child_alive ? 1 : 0);
    say(why + (others > 0 ? " (and to " + std::to_string(others) + " process" + (others == 1 ? "" : "es") +
                                " it started)"
                          : std::string()));
}

bool LiveForecast::wait_for_readings(std::int64_t t_ns) {
    // The epoch's boundary reading was requested when its marker arrived; it normally lands within one tick.
    const std::int64_t give_up = monotonic_ns() + 300'000'000 + 2 * m_monitor.sampler().interval().count();
    while (m_monitor.last_reading_ns() < t_ns) {
        std::unique_lock lock(m_mutex);
        if (m_stopping) return false;
        if (monotonic_ns() >= give_up) return true;  // forecast with what is there (the sampler may be stuck)
        m_wake.wait_for(lock, std::chrono::milliseconds(5), [this] { return m_stopping; });
    }
    return true;
}

void LiveForecast::report(const Result<Forecast>& forecast, const std::string& progress,
                          ForecastBasis basis) {
    if (!forecast) {
        if (forecast.error() != m_last_error) say("no forecast " + progress + ": " + forecast.error());
        m_last_error = forecast.error();
        return;
    }
    m_last_error.clear();
    // Print while the forecast moves: every one until it converges, then when it moves by 1% or more.
    const Forecast& f = *forecast;
    const bool moved =
        !m_last_total_j || std::fabs(f.total_energy_j - *m_last_total_j) >= 0.01 * *m_last_total_j;
    if (!f.converged || !m_last_converged || moved) {
        RunForecast run =
            make_run_forecast(f, *m_spec.target, basis, ns_to_s(m_spec.window.count()), m_carbon);
        say("forecast " + progress + ": " + forecast_line(run));
        m_last_total_j = f.total_energy_j;
        m_last_converged = f.converged;
    }
}

const Timeline& LiveForecast::timeline_so_far() {
    const Trace& trace = m_monitor.trace();
    if (!m_timeline) m_timeline.emplace(trace.channels(), std::vector<Reading>{});
    auto fresh = trace.readings(m_readings_seen);
    m_readings_seen += fresh.size();
    m_timeline->extend(fresh);
    return *m_timeline;
}

void LiveForecast::epoch_forecast(std::int64_t epoch_t_ns) {
    if (!wait_for_readings(epoch_t_ns)) return;
    auto epochs = m_monitor.epochs_so_far(timeline_so_far());
    if (epochs.empty()) return;
    auto observations = observations_from_epochs(epochs);
    const ForecastTarget& target = *m_spec.target;
    std::string progress = "after " + std::to_string(epochs.size());
    if (target.kind == ForecastTarget::Kind::epochs)
        progress += "/" + format_number(target.amount, 0) + " epochs";
    else
        progress += std::string(epochs.size() == 1 ? " epoch" : " epochs") + " of " + target_text(target);
    const auto windows = first_epoch_windows(timeline_so_far(), m_start_ns + s_to_ns(epochs.front().start_s),
                                             m_start_ns + s_to_ns(epochs.front().end_s));
    report(forecast_total(observations, target, m_spec.options, windows), progress, ForecastBasis::epochs);
}

void LiveForecast::window_forecast(std::int64_t now_ns) {
    const std::int64_t window = m_spec.window.count();
    const std::int64_t end = m_start_ns + (now_ns - m_start_ns) / window * window;
    if (!wait_for_readings(end)) return;
    if (!m_windows) m_windows.emplace(m_start_ns, m_spec.window);
    const auto& observations = m_windows->update(timeline_so_far(), end);
    if (observations.empty()) return;
    const std::string progress =
        "after " + format_duration(ns_to_s(end - m_start_ns)) + " of " + target_text(*m_spec.target);
    report(forecast_total(observations, *m_spec.target, m_spec.options), progress, ForecastBasis::windows);
}

void LiveForecast::run() {
    const std::int64_t window = m_spec.window.count();
    // Windows are forecast only for a duration target and only while the job has marked no epoch.
    const bool windows = m_spec.target && m_spec.target->kind == ForecastTarget::Kind::duration && window > 0;
    std::int64_t next_window_ns = m_start_ns + window;
    std::int64_t next_forecast_ns = 0;  // not before this (min_forecast_gap_ns after the last one)
    std::size_t forecast_epochs = 0;    // epochs covered by the last epoch forecast
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        const std::int64_t now = monotonic_ns();
        // The profile: first SIGINT (the job may save and stop cleanly), then SIGTERM after the grace period.
        if (!m_sigint_ns) {
            const bool epochs_done =
                m_spec.profile_epochs && m_epochs >= static_cast<std::size_t>(*m_spec.profile_epochs);
            const bool time_done =
                m_spec.profile_duration && now >= m_start_ns + m_spec.profile_duration->count();
            if (epochs_done || time_done) {
                m_sigint_ns = now;
                const std::string done = epochs_done ? std::to_string(*m_spec.profile_epochs) + " epochs"
                                                     : format_duration(ns_to_s(now - m_start_ns));
                lock.unlock();
                send(SIGINT, "profile done after " + done + ": sending SIGINT to the command");
                lock.lock();
                continue;
            }
        } else if (!m_sigterm_sent && now >= *m_sigint_ns + m_spec.grace.count()) {
            m_sigterm_sent = true;
            lock.unlock();
            send(SIGTERM, "the command is still running after the grace period: sending SIGTERM");
            lock.lock();
            continue;
        }
        // After the profile's signal the job is shutting down: nothing left worth forecasting live.
        if (m_spec.target && !m_sigint_ns) {
            if (m_epochs > forecast_epochs && now >= next_forecast_ns) {
                forecast_epochs = m_epochs;
                const std::int64_t t = m_last_epoch_ns;
                lock.unlock();
                epoch_forecast(t);
                lock.lock();
                next_forecast_ns = monotonic_ns() + min_forecast_gap_ns;
                continue;
            }
            if (windows && m_epochs == 0 && now >= next_window_ns) {
                lock.unlock();
                window_forecast(now);
                lock.lock();
                // Every window for the first ten, then at most every 10 s: a service may run for days.
                const std::int64_t elapsed = monotonic_ns() - m_start_ns;
                const std::int64_t step =
                    elapsed < 10 * window ? window : std::max(window, std::int64_t{10'000'000'000});
                next_window_ns = m_start_ns + (elapsed / step + 1) * step;
                continue;
            }
        }
        // Sleep until the next thing due, or an epoch, or stop().
        std::int64_t due = now + 1'000'000'000;
        if (!m_sigint_ns && m_spec.profile_duration)
            due = std::min(due, m_start_ns + m_spec.profile_duration->count());
        if (m_sigint_ns && !m_sigterm_sent) due = std::min(due, *m_sigint_ns + m_spec.grace.count());
        if (m_spec.target && !m_sigint_ns) {
            if (windows && m_epochs == 0) due = std::min(due, next_window_ns);
            if (m_epochs > forecast_epochs) due = std::min(due, next_forecast_ns);
        }
        const std::size_t seen = m_epochs;
        m_wake.wait_for(lock, std::chrono::nanoseconds(std::max<std::int64_t>(due - now, 1'000'000)),
                        [&] { return m_stopping || m_epochs != seen; });
    }
}

}  // namespace joulecast::runner
