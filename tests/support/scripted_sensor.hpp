#pragma once
// An in-process sensor whose power follows a function of time chosen by the test, with an exact energy
// counter (the integral of that power) and a matching power gauge. For sampler and accounting tests.

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "sensors/sensor.hpp"

namespace joulecast::test {

class ScriptedSensor : public sensors::Sensor {
public:
    /// `power_w(t)` and `energy_j(t)` (its integral from 0) take seconds since probe().
    ScriptedSensor(std::function<double(double)> power_w, std::function<double(double)> energy_j,
                   std::string domain = "gpu", std::string device = "gpu0",
                   std::chrono::milliseconds counter_period = std::chrono::milliseconds(0))
        : m_power(std::move(power_w)), m_energy(std::move(energy_j)) {
        sensors::Channel energy{
            device + ".energy",          domain, device,         sensors::Quantity::energy,
            sensors::Behaviour::counter, false,  counter_period, true};
        sensors::Channel power{device + ".power",         domain, device, sensors::Quantity::power,
                               sensors::Behaviour::gauge, false,  {},     true};
        m_channels = {energy, power};
    }
    /// A constant load.
    static ScriptedSensor constant(double watts, std::string domain = "gpu", std::string device = "gpu0") {
        return ScriptedSensor([watts](double) { return watts; }, [watts](double t) { return watts * t; },
                              std::move(domain), std::move(device));
    }

    std::string_view name() const override { return "scripted"; }
    sensors::Availability probe() override {
        m_start_ns = core::monotonic_ns();
        return sensors::Availability::yes();
    }
    const std::vector<sensors::Channel>& channels() const override { return m_channels; }
    sensors::ReadStatus read(std::size_t channel, double& value) override {
        ++m_reads;
        if (m_fail_every > 0 && m_reads % m_fail_every == 0) return sensors::ReadStatus::error;
        double t = core::ns_to_s(core::monotonic_ns() - m_start_ns);
        if (m_lost_after_s >= 0 && t > m_lost_after_s) return sensors::ReadStatus::lost;
        value = channel == 0 ? m_energy(t) : m_power(t);
        if (channel == 0) ++m_counter_reads;
        return sensors::ReadStatus::ok;
    }

    std::int64_t start_ns() const { return m_start_ns; }
    int reads() const { return m_reads; }
    int counter_reads() const { return m_counter_reads; }
    void fail_every(int n) { m_fail_every = n; }
    void lose_after(double seconds) { m_lost_after_s = seconds; }
    void drop_power_channel() { m_channels.resize(1); }

private:
    std::function<double(double)> m_power, m_energy;
    std::vector<sensors::Channel> m_channels;
    std::int64_t m_start_ns = 0;
    std::atomic<int> m_reads{0}, m_counter_reads{0};
    int m_fail_every = 0;
    double m_lost_after_s = -1;
};

}  // namespace joulecast::test
