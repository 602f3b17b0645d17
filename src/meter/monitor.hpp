#pragma once
// The in-process measuring API: start a monitor, mark phases, epochs, meta and metrics (directly, with RAII
// guards, or from control-channel events through phases() and control/dispatch.hpp), stop it and get the
// RunResult. `joulecast run` is built on it, and
// C++ programs (the built-in workloads) use it to measure themselves.
//
//   joulecast::meter::Monitor monitor({});
//   monitor.start();
//   {
//       auto phase = monitor.phase("train");
//       train_one_epoch();
//       phase.set_samples(60000);
//   }
//   joulecast::meter::RunResult result = monitor.stop();

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "meter/phases.hpp"
#include "meter/run_result.hpp"
#include "meter/sampler.hpp"
#include "sensors/registry.hpp"

namespace joulecast::meter {

struct MonitorOptions {
    sensors::SensorConfig sensors = sensors::SensorConfig::from_environment();
    SamplerOptions sampler;
    /// Idle power measured before start() returns; zero for none.
    std::chrono::nanoseconds idle{0};
};

class Monitor {
public:
    /// Probes the sensors (see make_sensor_set); nothing is sampled before start().
    explicit Monitor(MonitorOptions options);
    ~Monitor();
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    const sensors::SensorSet& sensors() const { return m_sensors; }
    const Trace& trace() const { return m_sampler->trace(); }
    const Sampler& sampler() const { return *m_sampler; }

    /// Starts sampling, measures idle power if asked, then marks the start of the measured window.
    /// Returns the start time (CLOCK_MONOTONIC ns).
    std::int64_t start();
    /// Marks the end of the window, stops sampling and accounts everything. Later calls return the same
    /// result.
    RunResult stop();
    /// GPUs ("gpu<i>") whose energy stop() leaves out of every total, for `--gpus used`: the job held no
    /// compute context on them. Call before stop().
    void leave_out_gpus(std::vector<std::string> devices) { m_left_out_gpus = std::move(devices); }
    /// When start() marked the window's start (CLOCK_MONOTONIC ns).
    std::optional<std::int64_t> start_ns() const { return m_start_ns; }
    bool running() const { return m_start_ns.has_value() && !m_stopped; }

    /// Where the workload's marks go (thread-safe): begin, end and epoch ask the sampler for fresh counter
    /// readings. The helpers below mark with the current time; control/dispatch.hpp feeds control events
    /// here.
    PhaseRecorder& phases() { return m_phases; }
    /// The epochs ended so far with their energy from `timeline`, a Timeline of this monitor's trace so far
    /// (a live forecast extends one as readings arrive). Thread-safe between start() and stop(); empty before
    /// start().
    std::vector<EpochResult> epochs_so_far(const Timeline& timeline) const;
    /// The newest reading's time in the trace (CLOCK_MONOTONIC ns), 0 when there is none. Thread-safe.
    std::int64_t last_reading_ns() const;

    void begin_phase(const std::string& name);
    void end_phase(const std::string& name, std::optional<long long> samples = std::nullopt);
    void epoch(std::optional<long long> samples = std::nullopt, std::optional<long long> n = std::nullopt);
    void meta(const std::string& key, const std::string& value);
    void metric(const std::string& key, double value);

    /// Ends its phase when it goes out of scope (or at end()), with the samples set on it.
    class Phase {
    public:
        Phase(Monitor& monitor, std::string name);
        ~Phase();
        Phase(const Phase&) = delete;
        Phase& operator=(const Phase&) = delete;
        Phase(Phase&& other) noexcept;
        void set_samples(long long samples) { m_samples = samples; }
        void end();

    private:
        Monitor* m_monitor;
        std::string m_name;
        std::optional<long long> m_samples;
    };
    Phase phase(const std::string& name) { return Phase(*this, name); }

private:
    MonitorOptions m_options;
    sensors::SensorSet m_sensors;
    std::unique_ptr<Sampler> m_sampler;
    PhaseRecorder m_phases;
    std::optional<std::int64_t> m_idle_start_ns;
    std::optional<std::int64_t> m_start_ns;
    bool m_stopped = false;
    std::optional<RunResult> m_result;
    std::vector<std::string> m_left_out_gpus;
};

}  // namespace joulecast::meter
