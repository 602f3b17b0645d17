#include "meter/sampler.hpp"

#include <algorithm>
#include <limits>

#include "core/clock.hpp"

namespace joulecast::meter {

using core::monotonic_ns;
using core::thread_cpu_seconds;

using sensors::Channel;
using sensors::ReadStatus;
using sensors::Sensor;

namespace {

std::vector<TraceChannel> describe(const std::vector<Sensor*>& sensors) {
    std::vector<TraceChannel> channels;
    for (Sensor* sensor : sensors)
        for (const Channel& channel : sensor->channels())
            channels.push_back({std::string(sensor->name()), channel});
    return channels;
}

}  // namespace

Sampler::Sampler(std::vector<Sensor*> sensors, SamplerOptions options)
    : m_options(options), m_trace(describe(sensors)) {
    for (Sensor* sensor : sensors) {
        for (std::size_t c = 0; c < sensor->channels().size(); ++c) {
            auto period =
                std::chrono::duration_cast<std::chrono::nanoseconds>(sensor->channels()[c].min_period);
            m_slots.push_back({sensor, c, std::max<std::int64_t>(period.count(), 0)});
        }
    }
    m_stats.resize(m_slots.size());
}

Sampler::~Sampler() {
    stop();
}

void Sampler::start() {
    std::unique_lock lock(m_mutex);
    if (m_started) return;
    m_started = true;
    m_requested = 1;  // the thread's first tick reads everything
    m_thread = std::thread([this] { run(); });
    m_done.wait(lock, [this] { return m_completed >= 1; });
}

void Sampler::stop() {
    {
        std::lock_guard lock(m_mutex);
        if (!m_started || m_stopped) return;
        m_stopped = true;
        m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

std::int64_t Sampler::read_all_now() {
    std::unique_lock lock(m_mutex);
    if (!m_started || m_stopping) return monotonic_ns();
    std::uint64_t ticket = ++m_requested;
    m_wake.notify_all();
    m_done.wait(lock, [&] { return m_completed >= ticket || m_stopping; });
    return m_last_boundary_ns;
}

void Sampler::request_boundary() {
    {
        std::lock_guard lock(m_mutex);
        if (!m_started || m_stopping) return;
        m_boundary_requested = true;
    }
    m_wake.notify_all();
}

std::vector<ChannelStats> Sampler::stats() const {
    std::lock_guard lock(m_mutex);
    return m_stats;
}

void Sampler::tick(TickKind kind, std::int64_t tick_ns, std::vector<Reading>& batch) {
    constexpr std::int64_t slow_boundary_gap_ns = 200'000'000;
    const bool all = kind == TickKind::all;
    batch.clear();
    const std::int64_t now = monotonic_ns();
    const std::int64_t interval = m_options.interval.count();
    std::lock_guard lock(m_mutex);
    for (std::size_t i = 0; i < m_slots.size(); ++i) {
        Slot& slot = m_slots[i];
        // Due at the first tick of the grid from half an interval before its due time: decided on the tick's
        // scheduled time, not on when the thread woke, so that the ticks run() sleeps through are exactly
        // those at which nothing would be read.
        const bool due = tick_ns >= slot.next_due_ns - interval / 2;
        const bool boundary = kind == TickKind::boundary &&
                              (slot.period_ns <= interval || now - slot.last_read_ns >= slow_boundary_gap_ns);
        if (!slot.active || !(all || due || boundary)) continue;
        double value = 0;
        const std::int64_t before = monotonic_ns();
        ReadStatus status = slot.sensor->read(slot.channel, value);
        const std::int64_t after = monotonic_ns();
        // A due channel is next read one period after it was due, so a 1 s counter keeps a 1 s rhythm; a
        // boundary read (or falling behind) starts the rhythm afresh.
        const std::int64_t period = std::max(slot.period_ns, interval);
        slot.next_due_ns += period;
        if (all || boundary || slot.next_due_ns <= now) slot.next_due_ns = now + period;
        slot.last_read_ns = now;
        ChannelStats& stats = m_stats[i];
        switch (status) {
            case ReadStatus::ok:
                batch.push_back({before + (after - before) / 2, static_cast<std::uint32_t>(i), value});
                ++stats.readings;
                break;
            case ReadStatus::error:
                ++stats.errors;
                break;
            case ReadStatus::unsupported:
                stats.unsupported = true;
                slot.active = false;
                break;
            case ReadStatus::lost: {
                // Everything on that device is gone with it.
                const std::string& device = slot.sensor->channels()[slot.channel].device;
                for (std::size_t j = 0; j < m_slots.size(); ++j) {
                    if (m_slots[j].sensor == slot.sensor &&
                        slot.sensor->channels()[m_slots[j].channel].device == device) {
                        m_slots[j].active = false;
                        m_stats[j].lost = true;
                    }
                }
                break;
            }
        }
    }
    m_readings += batch.size();
    m_next_due_ns = std::numeric_limits<std::int64_t>::max();
    for (const Slot& slot : m_slots)
        if (slot.active) m_next_due_ns = std::min(m_next_due_ns, slot.next_due_ns);
}

void Sampler::run() {
    std::vector<Reading> batch;
    batch.reserve(m_slots.size());
    std::int64_t next_tick = monotonic_ns();
    while (true) {
        bool stopping, all, boundary;
        std::uint64_t serving;
        {
            std::unique_lock lock(m_mutex);
            auto deadline =
                std::chrono::steady_clock::now() + std::chrono::nanoseconds(next_tick - monotonic_ns());
            m_wake.wait_until(lock, deadline, [&] {
                return m_stopping || m_requested > m_completed || m_boundary_requested;
            });
            stopping = m_stopping;
            serving = m_requested;
            all = stopping || m_requested > m_completed;
            boundary = m_boundary_requested;
            m_boundary_requested = false;
        }
        const std::int64_t woke = monotonic_ns();
        const bool on_schedule = woke >= next_tick;
        ++m_wakeups;
        tick(all        ? TickKind::all
             : boundary ? TickKind::boundary
                        : TickKind::due,
             on_schedule ? next_tick : woke, batch);
        m_trace.append(batch);
        const std::int64_t now = monotonic_ns();
        {
            std::lock_guard lock(m_mutex);
            if (all) {
                m_last_boundary_ns = batch.empty() ? now : batch.back().t_ns;
                m_completed = serving;
            }
        }
        if (all) m_done.notify_all();
        // Reading the thread's CPU clock is a system call: at boundaries only, not at every tick.
        if (all) m_thread_cpu_s = thread_cpu_seconds();
        if (stopping) break;
        if (!on_schedule) continue;  // an early boundary read does not move the tick rhythm
        const std::int64_t interval = m_options.interval.count();
        next_tick += interval;
        if (next_tick <= now) next_tick = now + interval;  // fell behind: skip, don't burst
        // Ticks at which no channel would be due read nothing: sleep through them, staying on the tick grid
        // (a channel is due at a tick from half an interval before its due time, as tick() decides). With
        // no active channel left, tick on as before.
        const std::int64_t first_useful = m_next_due_ns - interval / 2;
        if (m_next_due_ns != std::numeric_limits<std::int64_t>::max() && next_tick < first_useful)
            next_tick += (first_useful - next_tick + interval - 1) / interval * interval;
    }
}

}  // namespace joulecast::meter
