// The sampler thread against in-process scripted sensors with known power.

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "meter/energy.hpp"
#include "meter/sampler.hpp"
#include "support/scripted_sensor.hpp"

namespace joulecast::meter {

using core::ns_to_s;

namespace {

using namespace std::chrono_literals;
using test::ScriptedSensor;

TEST(Sampler, ConstantPowerGivesKnownEnergy) {
    auto sensor = ScriptedSensor::constant(300.0);
    ASSERT_TRUE(sensor.probe().available);
    Sampler sampler({&sensor}, {20ms});
    sampler.start();
    const std::int64_t start = sampler.read_all_now();
    std::this_thread::sleep_for(400ms);
    const std::int64_t end = sampler.read_all_now();
    sampler.stop();
    WindowEnergy e = Timeline(sampler.trace()).energy(start, end);
    const double expected = 300.0 * ns_to_s(end - start);
    // A reading is stamped at the middle of its read call: a thread preempted inside the call misplaces the
    // counter by 300 W x half the delay (0.65 us cost 2e-4 J, 1.6e-6 of the total, once under load).
    EXPECT_NEAR(e.total_j, expected, expected * 1e-4);
    EXPECT_EQ(e.domain_method.at("gpu"), "counter");
    ASSERT_EQ(e.disagreements.size(), 1u);
    EXPECT_NEAR(e.disagreements[0].relative(), 0.0, 1e-3);
    EXPECT_GT(sampler.readings(), 20u);
}

TEST(Sampler, EachChannelKeepsItsOwnCadence) {
    ScriptedSensor sensor([](double) { return 100.0; }, [](double t) { return 100.0 * t; }, "gpu", "gpu0",
                          200ms);
    sensor.probe();
    Sampler sampler({&sensor}, {20ms});
    sampler.start();
    std::this_thread::sleep_for(1s);
    sampler.stop();
    auto stats = sampler.stats();
    ASSERT_EQ(stats.size(), 2u);
    // The counter: once at start, about every 200 ms, once at stop; the power gauge about every 20 ms.
    EXPECT_GE(stats[0].readings, 5u);
    EXPECT_LE(stats[0].readings, 8u);
    EXPECT_GE(stats[1].readings, 35u);
}

TEST(Sampler, WakesOnlyForTicksWithAChannelDue) {
    // One channel every 200 ms at a 20 ms interval: the thread sleeps through the nine ticks between.
    ScriptedSensor sensor([](double) { return 100.0; }, [](double t) { return 100.0 * t; }, "gpu", "gpu0",
                          200ms);
    sensor.drop_power_channel();
    sensor.probe();
    Sampler sampler({&sensor}, {20ms});
    sampler.start();
    std::this_thread::sleep_for(1s);
    sampler.stop();
    const auto readings = sampler.trace().readings();
    ASSERT_GE(readings.size(), 5u);
    EXPECT_LE(readings.size(), 8u);
    // Start, about five due ticks, stop: not the 50 ticks of the interval.
    EXPECT_GE(sampler.wakeups(), readings.size());
    EXPECT_LE(sampler.wakeups(), readings.size() + 2) << "woke for ticks with nothing due";
    // The channel keeps its 200 ms rhythm: no reading at a 20 ms tick between (a late wake-up followed by
    // an on-time one shortens one gap by the delay, hence 100 ms), and the typical gap is the period.
    std::vector<std::int64_t> gaps;
    for (std::size_t i = 1; i + 1 < readings.size(); ++i)
        gaps.push_back(readings[i].t_ns - readings[i - 1].t_ns);
    ASSERT_FALSE(gaps.empty());
    for (std::int64_t gap : gaps) EXPECT_GE(gap, 100'000'000);
    std::sort(gaps.begin(), gaps.end());
    EXPECT_NEAR(static_cast<double>(gaps[gaps.size() / 2]), 200e6, 40e6);
}

TEST(Sampler, BoundaryReadsTheSlowCounterNow) {
    ScriptedSensor sensor([](double) { return 100.0; }, [](double t) { return 100.0 * t; }, "gpu", "gpu0",
                          10s);
    sensor.probe();
    Sampler sampler({&sensor}, {20ms});
    sampler.start();
    const int before = sensor.counter_reads();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(sensor.counter_reads(), before);  // 10 s period: not read by ordinary ticks
    sampler.read_all_now();
    EXPECT_EQ(sensor.counter_reads(), before + 1);
    sampler.stop();
}

TEST(Sampler, ErrorsAreCountedNotFatal) {
    auto sensor = ScriptedSensor::constant(50.0);
    sensor.probe();
    sensor.fail_every(3);
    Sampler sampler({&sensor}, {10ms});
    sampler.start();
    std::this_thread::sleep_for(200ms);
    sampler.stop();
    auto stats = sampler.stats();
    EXPECT_GT(stats[0].errors + stats[1].errors, 5u);
    EXPECT_GT(stats[0].readings + stats[1].readings, 10u);
}

TEST(Sampler, LostDeviceStopsBeingReadAndKeepsItsEnergySoFar) {
    auto sensor = ScriptedSensor::constant(200.0);
    sensor.probe();
    sensor.lose_after(0.15);
    Sampler sampler({&sensor}, {10ms});
    sampler.start();
    const std::int64_t start = sampler.read_all_now();
    std::this_thread::sleep_for(400ms);
    const int reads_after_loss = sensor.reads();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(sensor.reads(), reads_after_loss);
    const std::int64_t end = sampler.read_all_now();
    sampler.stop();
    auto stats = sampler.stats();
    EXPECT_TRUE(stats[0].lost);
    EXPECT_TRUE(stats[1].lost);
    // The energy up to the loss (about 0.15 s at 200 W) is kept, without inventing the rest.
    WindowEnergy e = Timeline(sampler.trace()).energy(start, end);
    EXPECT_GT(e.total_j, 200.0 * 0.10);
    EXPECT_LT(e.total_j, 200.0 * 0.30);
}

TEST(Sampler, BoundaryReadsFromManyThreadsKeepTheTraceInTimeOrder) {
    auto sensor = ScriptedSensor::constant(50.0);
    ASSERT_TRUE(sensor.probe().available);
    Sampler sampler({&sensor}, {10ms});
    sampler.start();
    const std::size_t after_start = sampler.trace().size();
    EXPECT_GE(after_start, sensor.channels().size());  // start() has read every channel once
    std::vector<std::int64_t> boundaries[2];
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) boundaries[t].push_back(sampler.read_all_now());
        });
    threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
            sampler.request_boundary();
            std::this_thread::sleep_for(1ms);
        }
    });
    for (auto& thread : threads) thread.join();
    sampler.stop();

    const std::vector<Reading> readings = sampler.trace().readings();
    EXPECT_EQ(readings.size(), sampler.readings());
    // Concurrent requests may share one read; each thread's own 50 requests never do.
    EXPECT_GE(readings.size(), (1 + 50 + 1) * sensor.channels().size());
    for (std::size_t i = 1; i < readings.size(); ++i)
        ASSERT_LE(readings[i - 1].t_ns, readings[i].t_ns) << "reading " << i << " is out of order";
    for (const auto& times : boundaries) {
        ASSERT_EQ(times.size(), 50u);
        for (std::size_t i = 1; i < times.size(); ++i) EXPECT_LT(times[i - 1], times[i]);
        // Each boundary is the time of a reading in the trace.
        for (std::int64_t t : times)
            EXPECT_TRUE(
                std::any_of(readings.begin(), readings.end(), [&](const Reading& r) { return r.t_ns == t; }));
    }
    EXPECT_GE(sampler.thread_cpu_s(), 0.0);
}

TEST(Sampler, StopIsIdempotentAndTraceStaysReadable) {
    auto sensor = ScriptedSensor::constant(10.0);
    sensor.probe();
    Sampler sampler({&sensor}, {10ms});
    sampler.start();
    sampler.stop();
    sampler.stop();
    EXPECT_GE(sampler.trace().size(), 4u);  // two channels, read at start and at stop
    EXPECT_GE(sampler.thread_cpu_s(), 0.0);
}

}  // namespace
}  // namespace joulecast::meter
