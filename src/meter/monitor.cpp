#include "meter/monitor.hpp"

#include <algorithm>
#include <thread>

#include "core/clock.hpp"

namespace joulecast::meter {

using core::monotonic_ns;

using sensors::make_sensor_set;

Monitor::Monitor(MonitorOptions options)
    : m_options(std::move(options)),
      m_sensors(make_sensor_set(m_options.sensors)),
      m_sampler(std::make_unique<Sampler>(m_sensors.used(), m_options.sampler)),
      m_phases([this] { m_sampler->request_boundary(); }) {}

Monitor::~Monitor() {
    m_sampler->stop();
}

std::int64_t Monitor::start() {
    if (m_start_ns) return *m_start_ns;
    m_sampler->start();
    if (m_options.idle.count() > 0) {
        m_idle_start_ns = m_sampler->read_all_now();
        std::this_thread::sleep_for(m_options.idle);
    }
    m_start_ns = m_sampler->read_all_now();
    return *m_start_ns;
}

RunResult Monitor::stop() {
    if (m_result) return *m_result;
    if (!m_start_ns) start();
    const std::int64_t end = m_sampler->read_all_now();
    m_sampler->stop();
    m_stopped = true;
    if (!m_left_out_gpus.empty()) m_sampler->leave_out_of_totals("gpu", m_left_out_gpus);
    RunResult result;
    account_run(result, *m_sampler, m_sensors, *m_start_ns, end, m_idle_start_ns);
    m_phases.finish(result, Timeline(m_sampler->trace()), *m_start_ns, end);
    if (m_phases.ignored() > 0)
        result.warnings.push_back(
            std::to_string(m_phases.ignored()) +
            " control messages made no sense (an end without its begin, a non-numeric metric)");
    if (samples_overflow(result))
        result.warnings.push_back(
            "the sample counts of the epochs (or phases) sum past 2^63 - 1: the run's samples "
            "and energy per sample are unknown");
    m_result = result;
    return result;
}

std::vector<EpochResult> Monitor::epochs_so_far(const Timeline& timeline) const {
    if (!m_start_ns) return {};
    return m_phases.epochs(timeline, *m_start_ns, std::max(*m_start_ns, timeline.last_ns()));
}

std::int64_t Monitor::last_reading_ns() const {
    const Trace& trace = m_sampler->trace();
    const std::size_t n = trace.size();
    if (n == 0) return 0;
    // Readings are appended in batches, each in time order; the last batch's newest is the last one.
    auto tail = trace.readings(n - 1);
    return tail.empty() ? 0 : tail.back().t_ns;
}

void Monitor::begin_phase(const std::string& name) {
    m_phases.begin(monotonic_ns(), name);
}

void Monitor::end_phase(const std::string& name, std::optional<long long> samples) {
    m_phases.end(monotonic_ns(), name, samples);
}

void Monitor::epoch(std::optional<long long> samples, std::optional<long long> n) {
    m_phases.epoch(monotonic_ns(), n, samples);
}

void Monitor::meta(const std::string& key, const std::string& value) {
    m_phases.meta(key, value);
}

void Monitor::metric(const std::string& key, double value) {
    m_phases.metric(monotonic_ns(), key, value);
}

Monitor::Phase::Phase(Monitor& monitor, std::string name) : m_monitor(&monitor), m_name(std::move(name)) {
    m_monitor->begin_phase(m_name);
}

Monitor::Phase::Phase(Phase&& other) noexcept
    : m_monitor(other.m_monitor), m_name(std::move(other.m_name)), m_samples(other.m_samples) {
    other.m_monitor = nullptr;
}

Monitor::Phase::~Phase() {
    end();
}

void Monitor::Phase::end() {
    if (!m_monitor) return;
    m_monitor->end_phase(m_name, m_samples);
    m_monitor = nullptr;
}

}  // namespace joulecast::meter
