// What one live forecast costs as a job runs on: the Timeline of the trace so far is either rebuilt from
// every reading (what `joulecast run --expect-duration` did before) or extended by the readings since the
// last forecast (what it does now), then cut into 10 s windows for the forecaster. The trace is a 10 Hz one
// with a GPU energy counter and power gauge, a modelled CPU power gauge and a DRAM power gauge; the argument
// is how long the job has run, in seconds; each iteration adds the next 10 s of readings and forecasts.
//
//   ./build/bench/joulecast_bench --benchmark_filter=LiveForecast

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "forecast/windows.hpp"
#include "meter/energy.hpp"

namespace {

using namespace joulecast;
using joulecast::sensors::Behaviour;
using joulecast::sensors::Channel;
using joulecast::sensors::Quantity;

using joulecast::meter::Reading;
using joulecast::meter::Timeline;
using joulecast::meter::TraceChannel;

using joulecast::forecast::GrowingWindows;
using joulecast::forecast::observations_from_windows;

constexpr std::int64_t tick_ns = 100'000'000;     // 10 Hz
constexpr std::int64_t ticks_per_forecast = 100;  // a forecast every 10 s

std::vector<TraceChannel> channels() {
    auto make = [](const char* sensor, const char* name, const char* domain, Quantity q, bool modelled) {
        Channel c;
        c.name = name;
        c.domain = domain;
        c.device = domain;
        c.quantity = q;
        c.behaviour = q == Quantity::energy ? Behaviour::counter : Behaviour::gauge;
        c.modelled = modelled;
        return TraceChannel{sensor, c};
    };
    return {make("nvml", "gpu0.energy", "gpu", Quantity::energy, false),
            make("nvml", "gpu0.power", "gpu", Quantity::power, false),
            make("cpu-model", "cpu.power", "cpu", Quantity::power, true),
            make("dram-model", "dram.power", "dram", Quantity::power, true)};
}

/// The readings of ticks [first, last): 300 W on the GPU, 40 W CPU, 6 W DRAM.
void add_ticks(std::vector<Reading>& out, std::int64_t first, std::int64_t last) {
    for (std::int64_t k = first; k < last; ++k) {
        const std::int64_t t = k * tick_ns;
        out.push_back({t, 0, 300.0 * static_cast<double>(t) * 1e-9});
        out.push_back({t, 1, 300.0});
        out.push_back({t, 2, 40.0});
        out.push_back({t, 3, 6.0});
    }
}

void BM_LiveForecastRebuild(benchmark::State& state) {
    const std::int64_t ran_ticks = state.range(0) * 10;
    std::vector<Reading> trace;
    add_ticks(trace, 0, ran_ticks);
    std::int64_t now = ran_ticks;
    for (auto _ : state) {
        state.PauseTiming();
        add_ticks(trace, now, now + ticks_per_forecast);
        now += ticks_per_forecast;
        state.ResumeTiming();
        const Timeline timeline(channels(), trace);
        auto windows = observations_from_windows(timeline, 0, now * tick_ns, std::chrono::seconds(10));
        benchmark::DoNotOptimize(windows);
    }
    state.counters["readings"] = static_cast<double>(trace.size());
}
BENCHMARK(BM_LiveForecastRebuild)
    ->Arg(600)
    ->Arg(3600)
    ->Arg(36000)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

void BM_LiveForecastExtend(benchmark::State& state) {
    const std::int64_t ran_ticks = state.range(0) * 10;
    std::vector<Reading> first;
    add_ticks(first, 0, ran_ticks);
    Timeline timeline(channels(), first);
    GrowingWindows windows(0, std::chrono::seconds(10));
    windows.update(timeline, ran_ticks * tick_ns);
    std::int64_t now = ran_ticks;
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<Reading> fresh;
        add_ticks(fresh, now, now + ticks_per_forecast);
        now += ticks_per_forecast;
        state.ResumeTiming();
        timeline.extend(fresh);
        benchmark::DoNotOptimize(windows.update(timeline, now * tick_ns));
    }
    state.counters["readings"] = static_cast<double>(now * 4);
}
BENCHMARK(BM_LiveForecastExtend)
    ->Arg(600)
    ->Arg(3600)
    ->Arg(36000)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

}  // namespace
