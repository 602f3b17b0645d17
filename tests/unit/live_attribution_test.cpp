// The job's share of a run still going (runner/job_share.hpp, LiveAttribution): snapshot after snapshot it
// must give what the whole-run attribution gives for the same window, while holding only the last settle
// time's share readings.

#include <gtest/gtest.h>

#include <cmath>

#include "runner/job_share.hpp"
#include "sensors/job/job_cpu_sensor.hpp"

namespace joulecast::runner {
using meter::AttributedEnergy;
using meter::Reading;
using meter::Timeline;
using meter::TraceChannel;
using sensors::Behaviour;
using sensors::Channel;
using sensors::JobCpuSensor;
using sensors::JobGpuUsage;
using sensors::Quantity;
namespace {

Channel gauge(const std::string& name, const std::string& domain, const std::string& device) {
    return {name, domain, device, Quantity::power, Behaviour::gauge, false, {}, true};
}

/// A share channel as the job-cpu and job-gpu sensors declare theirs: a utilisation, in no total.
Channel share(const std::string& name, const std::string& device) {
    return {name, "job", device, Quantity::utilisation, Behaviour::gauge, false, {}, false};
}

TEST(LiveAttribution, EverySnapshotEqualsTheWholeRunsAttributionAndHoldsOnlyRecentReadings) {
    // A CPU at a varying power with the job's CPU share varying too; a GPU whose job share varies.
    std::vector<TraceChannel> channels = {{"cpu-model", gauge("cpu.power", "cpu", "cpu")},
                                          {"job-cpu", share(JobCpuSensor::share_channel, "job")},
                                          {"nvml", gauge("gpu0.power", "gpu", "gpu0")},
                                          {"job-gpu", share("gpu0.job_share", "gpu0")}};
    JobGpuUsage gpu0;
    gpu0.device = "gpu0";
    gpu0.used = true;
    gpu0.share_method = "per-process SM utilisation";
    const std::vector<JobGpuUsage> usage = {gpu0};

    std::vector<Reading> all;
    LiveAttribution live(10'000'000'000);
    Timeline timeline(channels, {});
    std::size_t most_held = 0;
    for (int tick = 0; tick <= 600; ++tick) {  // 60 s at 100 ms
        const std::int64_t t = tick * 100'000'000LL;
        const double s = tick * 0.1;
        std::vector<Reading> fresh = {{t, 0, 60 + 20 * std::sin(s)}, {t, 2, 250 + 50 * std::cos(s / 4)}};
        if (tick % 2 == 0) fresh.push_back({t, 1, 40 + 30 * std::sin(s / 3)});
        if (tick % 5 == 0) fresh.push_back({t, 3, 70 + 25 * std::cos(s / 7)});
        all.insert(all.end(), fresh.begin(), fresh.end());
        live.add(channels, fresh);
        timeline.extend(fresh);
        if (tick % 10 != 5) continue;  // a snapshot every second
        const AttributedEnergy got = live.at(timeline, channels, 0, t, usage);
        const AttributedEnergy want = attribute_to_job(Timeline(channels, all), channels, all, 0, t, usage);
        ASSERT_TRUE(got.measurable) << got.reason;
        EXPECT_NEAR(got.cpu_j, want.cpu_j, 1e-9 * want.cpu_j) << "at " << s << " s";
        EXPECT_NEAR(got.gross_cpu_j, want.gross_cpu_j, 1e-9 * want.gross_cpu_j) << "at " << s << " s";
        ASSERT_EQ(got.gpus.size(), 1u);
        ASSERT_TRUE(got.gpus[0].attributed_j.has_value());
        EXPECT_NEAR(*got.gpus[0].attributed_j, *want.gpus[0].attributed_j, 1e-9 * *want.gpus[0].attributed_j)
            << "at " << s << " s";
        EXPECT_NEAR(got.gpus[0].gross_j, want.gpus[0].gross_j, 1e-9 * want.gpus[0].gross_j);
        EXPECT_TRUE(got.gpu_measurable) << got.gpu_reason;
        EXPECT_EQ(got.gpus[0].method, "per-process SM utilisation");
        most_held = std::max(most_held, live.readings_held());
    }
    // 7 share readings a second: about 11 s of them (the settle time and one snapshot), not 60 s.
    EXPECT_LE(most_held, 11u * 7u + 4u);
    EXPECT_GT(most_held, 10u * 7u - 4u);
}

TEST(LiveAttribution, CoveredUntilIsTheOldestNewestShareReadingOfTheSharesStillRead) {
    std::vector<TraceChannel> channels = {{"job-cpu", share(JobCpuSensor::share_channel, "job")},
                                          {"job-gpu", share("gpu0.job_share", "gpu0")},
                                          {"nvml", gauge("gpu0.power", "gpu", "gpu0")}};
    LiveAttribution live;
    EXPECT_FALSE(live.covered_until(1'000'000'000).has_value());
    live.add(channels, {{0, 0, 10},
                        {0, 1, 10},
                        {0, 2, 100},
                        {200'000'000, 0, 10},
                        {400'000'000, 0, 10},
                        {500'000'000, 1, 10},
                        {600'000'000, 0, 10},
                        {600'000'000, 2, 100}});
    EXPECT_EQ(live.covered_until(600'000'000), 500'000'000);  // the GPU share's newest reading
    // A share that stopped being read (no reading within 2 s) no longer holds the snapshots back.
    live.add(channels, {{3'000'000'000, 0, 10}});
    EXPECT_EQ(live.covered_until(3'000'000'000), 3'000'000'000);
}

}  // namespace
}  // namespace joulecast::runner
