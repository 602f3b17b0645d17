// The background writer: readings reach the store while the run goes on, failures are counted, and a
// joulecast killed with SIGKILL loses at most about two seconds of readings.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "core/clock.hpp"
#include "store/run_store.hpp"
#include "store/store_writer.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::store {

using core::monotonic_ns;
using core::ns_to_s;

using sensors::Behaviour;
using sensors::Channel;
using sensors::Quantity;

using meter::Reading;
using meter::RunResult;
using meter::RunStatus;
using meter::Trace;
using meter::TraceChannel;

namespace {

using test::TempDir;
using namespace std::chrono_literals;

std::vector<TraceChannel> power_channel() {
    Channel c;
    c.name = "gpu0.power";
    c.domain = "gpu";
    c.device = "gpu0";
    c.quantity = Quantity::power;
    c.behaviour = Behaviour::gauge;
    return {{"scripted", c}};
}

RunResult header(const std::string& id) {
    RunResult r;
    r.id = id;
    r.name = "writer";
    r.command = {"true"};
    return r;
}

/// Polls `condition` every 20 ms for up to `limit`; true as soon as it holds.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

TEST(StoreWriter, FlushesNewReadingsEverySecondAndTheRestAtFinish) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    RunStore store(path);
    Trace trace(power_channel());
    const std::int64_t origin = 1'000'000'000;
    store.begin_run(header("eeee000000000001"), trace.channels(), origin, getpid());

    StoreWriter writer(path, "eeee000000000001", trace, origin);  // the default period: 1 s
    std::vector<Reading> batch;
    for (int i = 0; i < 10; ++i) batch.push_back({origin + i * 100'000'000LL, 0, 50.0});
    trace.append(batch);
    // Not asserting a time: only that the readings arrive without finish() (within a few periods).
    EXPECT_TRUE(eventually([&] { return store.trace("eeee000000000001").readings.size() == 10; }, 4s));
    EXPECT_EQ(writer.written(), 10u);

    trace.append({{origin + 2'000'000'000LL, 0, 60.0}, {origin + 2'100'000'000LL, 0, 70.0}});
    EXPECT_TRUE(writer.finish());
    EXPECT_TRUE(writer.finish());  // idempotent
    const StoredTrace stored = store.trace("eeee000000000001");
    ASSERT_EQ(stored.readings.size(), 12u);
    EXPECT_EQ(stored.readings.back().t_ns, 2'100'000'000LL);
    EXPECT_DOUBLE_EQ(stored.readings.back().value, 70.0);
    EXPECT_EQ(writer.errors(), 0u);
    EXPECT_EQ(writer.pending(), 0u);
    EXPECT_EQ(writer.last_error(), "");
}

TEST(StoreWriter, CanWriteThroughTheCallersConnection) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    RunStore store(path);
    Trace trace(power_channel());
    const std::int64_t origin = 5'000'000'000;
    store.begin_run(header("eeee000000000002"), trace.channels(), origin, getpid());
    {
        StoreWriter writer(store, "eeee000000000002", trace, origin, 50ms);
        trace.append({{origin + 100'000'000LL, 0, 10.0}, {origin + 200'000'000LL, 0, 20.0}});
        // `store` is the writer's until finish(): watch through another connection.
        RunStore watcher(path);
        EXPECT_TRUE(eventually([&] { return watcher.trace("eeee000000000002").readings.size() == 2; }, 4s));
        trace.append({{origin + 300'000'000LL, 0, 30.0}});
        EXPECT_TRUE(writer.finish());
        EXPECT_EQ(writer.written(), 3u);
        EXPECT_EQ(writer.errors(), 0u);
    }
    const StoredTrace stored = store.trace("eeee000000000002");
    ASSERT_EQ(stored.readings.size(), 3u);
    EXPECT_EQ(stored.readings.back().t_ns, 300'000'000LL);
    EXPECT_DOUBLE_EQ(stored.readings.back().value, 30.0);
}

TEST(StoreWriter, FailuresAreCountedNotThrown) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    { RunStore store(path); }
    Trace trace(power_channel());
    trace.append({{0, 0, 1.0}, {1, 0, 2.0}});
    StoreWriter writer(path, "never-begun", trace, 0, 50ms);
    EXPECT_TRUE(eventually([&] { return writer.errors() > 0; }, 2s));
    EXPECT_FALSE(writer.finish());
    EXPECT_EQ(writer.pending(), 2u);
    EXPECT_NE(writer.last_error().find("no run with id never-begun"), std::string::npos)
        << writer.last_error();
}

TEST(StoreWriter, AnUnusableStoreFailsAtTheStart) {
    TempDir dir;
    Trace trace(power_channel());
    EXPECT_THROW(StoreWriter(dir.str(), "x", trace, 0), StoreError);  // a folder, not a file
}

TEST(StoreWriter, SigkillLosesAtMostAboutTwoSecondsOfReadings) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    { RunStore store(path); }
    const std::string id = "ffff000000000001";
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // A stand-in for joulecast: a reading every 10 ms, stamped with CLOCK_MONOTONIC (origin 0), until
        // killed.
        try {
            RunStore store(path);
            Trace trace(power_channel());
            store.begin_run(header(id), trace.channels(), 0, getpid());
            StoreWriter writer(path, id, trace, 0);
            for (;;) {
                trace.append({{monotonic_ns(), 0, 100.0}});
                std::this_thread::sleep_for(10ms);
            }
        } catch (...) {
            _exit(1);
        }
    }
    RunStore store(path);
    ASSERT_TRUE(eventually([&] { return !store.list().empty(); }, 3s));
    std::this_thread::sleep_for(2500ms);
    const std::int64_t killed_at = monotonic_ns();
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself";

    const StoredTrace stored = store.trace(id);
    ASSERT_GE(stored.readings.size(), 2u);
    const double lost_s = ns_to_s(killed_at - stored.readings.back().t_ns);
    EXPECT_LT(lost_s, 2.0) << "last stored reading " << lost_s << " s before the kill";
    // The dead writer's run is now interrupted, with the energy of what was stored: 100 W over its span.
    const auto runs = store.list();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs.front().status, RunStatus::interrupted);
    const double span_s = ns_to_s(stored.readings.back().t_ns - stored.readings.front().t_ns);
    EXPECT_NEAR(*runs.front().total_energy_j, 100.0 * span_s, 1e-6);
}

TEST(StoreWriter, StoresMarkersOnItsPeriodAndHoldsOnlyThoseNotYetStored) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    RunStore store(path);
    Trace trace(power_channel());
    const std::int64_t origin = 7'000'000'000;
    const std::string id = "eeee000000000009";
    store.begin_run(header(id), trace.channels(), origin, getpid());
    MarkerLog markers;
    markers.add(origin, "meta before=writer");  // no writer yet (a run without a store): nothing is kept
    EXPECT_EQ(markers.waiting(), 0u);
    {
        StoreWriter writer(store, id, trace, origin, 50ms, &markers);
        trace.append(
            {{origin, 0, 100.0}, {origin + 1'000'000'000LL, 0, 100.0}, {origin + 2'000'000'000LL, 0, 100.0}});
        markers.add(origin + 500'000'000LL, "begin train");
        markers.add(origin + 1'500'000'000LL, "epoch samples=5");
        markers.add(origin + 1'600'000'000LL, "meta model=toy");
        // Taken by the writer within a few periods, so the log no longer holds them.
        EXPECT_TRUE(eventually([&] { return markers.waiting() == 0; }, 4s));
        RunStore watcher(path);
        const auto partial = watcher.get(id);  // a running run, read back from readings and markers
        EXPECT_TRUE(partial.partial);
        ASSERT_EQ(partial.epochs.size(), 1u);
        EXPECT_EQ(partial.epochs[0].samples, 5);
        // The first epoch starts with the open phase `train`: 1 s at 100 W.
        EXPECT_NEAR(partial.epochs[0].energy_j, 100.0, 1.0);
        EXPECT_EQ(partial.meta.at("model"), "toy");
        EXPECT_EQ(partial.meta.count("before"), 0u);
        EXPECT_TRUE(writer.finish());
    }
}

}  // namespace
}  // namespace joulecast::store
