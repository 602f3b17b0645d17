// The run store with known runs: round trips, filters, id prefixes, partial results from stored readings,
// interrupted runs, removal, and two processes writing at once.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <set>

#include "meter/run_json.hpp"
#include "store/iso_time.hpp"
#include "store/run_store.hpp"
#include "store/schema.hpp"
#include "store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/unprivileged.hpp"

namespace joulecast::store {

using sensors::Behaviour;
using sensors::Channel;
using sensors::Quantity;

using meter::CarbonResult;
using meter::EpochResult;
using meter::parse_run_status;
using meter::PhaseResult;
using meter::Reading;
using meter::RunResult;
using meter::RunStatus;
using meter::to_json;
using meter::TraceChannel;

namespace {

using test::TempDir;

constexpr std::int64_t s = 1'000'000'000;

TraceChannel trace_channel(std::string name, Quantity quantity, std::string domain = "gpu",
                           std::string device = "gpu0", bool modelled = false) {
    Channel c;
    c.name = std::move(name);
    c.domain = std::move(domain);
    c.device = std::move(device);
    c.quantity = quantity;
    c.behaviour = quantity == Quantity::energy ? Behaviour::counter : Behaviour::gauge;
    c.modelled = modelled;
    return {"scripted", c};
}

/// A 100 W GPU gauge and its exact counter, read every 100 ms from t = 0 to `seconds` after `origin`.
std::vector<TraceChannel> gpu_channels() {
    return {trace_channel("gpu0.power", Quantity::power), trace_channel("gpu0.energy", Quantity::energy)};
}

std::vector<Reading> gpu_readings(std::int64_t origin, double seconds, double watts = 100) {
    std::vector<Reading> readings;
    for (int i = 0; i * 0.1 <= seconds + 1e-9; ++i) {
        const std::int64_t t = origin + i * s / 10;
        readings.push_back({t, 0, watts});
        readings.push_back({t, 1, 1000 + watts * i * 0.1});  // a counter need not start at zero
    }
    return readings;
}

RunResult header(const std::string& id, const std::string& name = "job",
                 const std::string& started_at = "2026-11-26T10:00:00.000Z") {
    RunResult r;
    r.id = id;
    r.name = name;
    r.command = {"python3", "train.py", "--epochs", "2"};
    r.started_at = started_at;
    r.host.hostname = "testhost";
    r.host.cpu_model = "Test CPU";
    r.host.cores = 8;
    return r;
}

/// A finished result with every part the store keeps.
RunResult finished(const std::string& id) {
    RunResult r = header(id, "resnet18-b128");
    r.status = RunStatus::completed;
    r.exit_code = 0;
    r.duration_s = 2.0;
    r.energy.total_j = 260;
    r.energy.domain_j = {{"gpu", 200}, {"cpu", 60}};
    r.energy.domain_method = {{"gpu", "counter"}, {"cpu", "modelled"}};
    r.energy.measured_j = 200;
    r.energy.modelled_j = 60;
    r.mean_power_w = 130;
    r.peak_power_w = 140;
    PhaseResult train;
    train.name = "train";
    train.start_s = 0.1;
    train.end_s = 1.6;
    train.energy_j = 150;
    train.samples = 1000;
    train.energy_per_sample_j = 0.15;
    train.fields = {{"lr", "0.1"}};
    r.phases = {train};
    auto epoch = [](long long n, double start_s, double end_s, double energy_j) {
        EpochResult e;
        e.n = n;
        e.start_s = start_s;
        e.end_s = end_s;
        e.energy_j = energy_j;
        e.samples = 500;
        e.energy_per_sample_j = energy_j / 500;
        return e;
    };
    r.epochs = {epoch(1, 0.1, 0.8, 70), epoch(2, 0.8, 1.6, 80)};
    r.training_energy_j = 150;
    r.meta = {{"model", "resnet18"}, {"batch_size", "128"}};
    r.metrics["accuracy"].points = {{0.8, 0.7}, {1.6, 0.9}};
    r.tags = {{"team", "vision"}, {"sweep", "b128"}};
    r.carbon = CarbonResult{50, "--intensity", 1.2, 260 / 3.6e6 * 1.2 * 50};
    return r;
}

std::int64_t count(const std::string& path, const std::string& sql) {
    sqlite::Database db(path);
    return db.query_integer(sql);
}

pid_t dead_pid() {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status = 0;
    waitpid(pid, &status, 0);
    return pid;
}

TEST(StoreRunStore, BeginAppendFinishRoundTrip) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    const std::int64_t origin = 12345 * s;
    RunStore store(path);
    RunResult result = finished("0123456789abcdef");
    store.begin_run(header(result.id, result.name), gpu_channels(), origin, getpid());
    auto readings = gpu_readings(origin, 2.0);
    // Written in two batches, as the writer thread would.
    std::vector<Reading> first(readings.begin(), readings.begin() + 10),
        rest(readings.begin() + 10, readings.end());
    EXPECT_EQ(store.append_readings(result.id, first, origin), 10u);
    EXPECT_EQ(store.append_readings(result.id, rest, origin), rest.size());
    EXPECT_EQ(store.list().front().status, RunStatus::running);

    const auto document = to_json(result);
    store.finish_run(result, document);
    EXPECT_EQ(store.get_document(result.id).dump(), document.dump());
    // Read back typed, it is the same run.
    EXPECT_EQ(to_json(store.get(result.id)).dump(), document.dump());

    const StoredTrace trace = store.trace(result.id);
    ASSERT_EQ(trace.channels.size(), 2u);
    EXPECT_EQ(trace.channels[0].channel.name, "gpu0.power");
    EXPECT_EQ(trace.channels[1].channel.quantity, Quantity::energy);
    EXPECT_EQ(trace.channels[1].channel.behaviour, Behaviour::counter);
    ASSERT_EQ(trace.readings.size(), readings.size());
    for (std::size_t i = 0; i < readings.size(); ++i) {
        EXPECT_EQ(trace.readings[i].t_ns, readings[i].t_ns - origin) << i;  // relative to the origin
        EXPECT_EQ(trace.readings[i].channel, readings[i].channel) << i;
        EXPECT_DOUBLE_EQ(trace.readings[i].value, readings[i].value) << i;
    }

    const auto runs = store.list();
    ASSERT_EQ(runs.size(), 1u);
    const RunSummary& r = runs.front();
    EXPECT_EQ(r.status, RunStatus::completed);
    EXPECT_TRUE(r.finished);
    EXPECT_EQ(r.name, "resnet18-b128");
    EXPECT_EQ(r.command, result.command);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_DOUBLE_EQ(*r.duration_s, 2.0);
    EXPECT_DOUBLE_EQ(*r.total_energy_j, 260.0);
    EXPECT_DOUBLE_EQ(*r.gpu_energy_j, 200.0);
    EXPECT_DOUBLE_EQ(*r.cpu_energy_j, 60.0);
    EXPECT_DOUBLE_EQ(*r.dram_energy_j, 0.0);
    EXPECT_DOUBLE_EQ(*r.modelled_energy_j, 60.0);
    EXPECT_NEAR(*r.co2e_g, 260 / 3.6e6 * 1.2 * 50, 1e-12);
    EXPECT_DOUBLE_EQ(r.started_unix, 1795687200.0);  // 2026-11-26T10:00:00Z
    EXPECT_EQ(r.tags.at("team"), "vision");

    // The tags are kept in their own table too, for the filters; phases, epochs, meta and metrics only in the
    // result document (read back whole above).
    const std::string where = " WHERE run_id = '" + result.id + "'";
    EXPECT_EQ(count(path, "SELECT count(*) FROM tags" + where + " AND key = 'team' AND value = 'vision'"), 1);
    EXPECT_EQ(count(path, "SELECT count(*) FROM tags" + where), 2);
    for (const char* table : {"phases", "epochs", "meta", "metrics"})
        EXPECT_EQ(count(path, std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + table + "'"),
                  0)
            << table;

    // Finishing twice (e.g. a retried write) replaces rather than duplicates.
    store.finish_run(result, document);
    EXPECT_EQ(count(path, "SELECT count(*) FROM tags" + where), 2);
    EXPECT_EQ(count(path, "SELECT count(*) FROM runs"), 1);
    EXPECT_EQ(to_json(store.get(result.id)).dump(), document.dump());
}

TEST(StoreRunStore, AVersion2StoreLosesItsUnreadTablesAndKeepsItsRuns) {
    // A store as a joulecast of schema version 2 left it: a finished run with its phases, epochs, meta and
    // metrics also in their own tables, its tags, and a run still going with a marker.
    TempDir dir;
    const std::string path = dir.str() + "/v2.db";
    RunResult result = finished("eeee000000000001");
    const auto document = to_json(result);
    {
        sqlite::Database db(path);
        migrate(db, {store_migrations()[0], store_migrations()[1]});
        ASSERT_EQ(db.query_integer("PRAGMA user_version"), 2);
        sqlite::Statement run(
            db.handle(),
            "INSERT INTO runs (id, name, status, command, started_at, started_unix, duration_s, "
            "exit_code, total_energy_j, result_json, updated_at) VALUES (?1, ?2, 'completed', "
            "'[]', ?3, 1795687200, 2.0, 0, 260, ?4, ?3)",
            path);
        run.bind(1, result.id).bind(2, result.name).bind(3, result.started_at).bind(4, document.dump());
        run.run();
        db.exec(
            "INSERT INTO runs (id, name, status, started_at, started_unix, updated_at) VALUES "
            "('eeee000000000002', 'going', 'running', '2026-11-26T11:00:00Z', 1795690800, "
            "'2026-11-26T11:00:00Z')");
        db.exec(
            "INSERT INTO markers (run_id, idx, t_ns, line) VALUES ('eeee000000000002', 0, 5, 'begin train')");
        db.exec(
            "INSERT INTO tags (run_id, key, value) VALUES ('eeee000000000001', 'team', 'vision'), "
            "('eeee000000000001', 'sweep', 'b128')");
        db.exec(
            "INSERT INTO phases (run_id, idx, name, start_s, end_s, energy_j, samples) VALUES "
            "('eeee000000000001', 0, 'train', 0.1, 1.6, 150, 1000)");
        db.exec(
            "INSERT INTO epochs (run_id, idx, n, start_s, end_s, energy_j) VALUES "
            "('eeee000000000001', 0, 1, 0.1, 0.8, 70), ('eeee000000000001', 1, 2, 0.8, 1.6, 80)");
        db.exec("INSERT INTO meta (run_id, key, value) VALUES ('eeee000000000001', 'model', 'resnet18')");
        db.exec(
            "INSERT INTO metrics (run_id, name, idx, t_s, value) VALUES "
            "('eeee000000000001', 'accuracy', 0, 0.8, 0.7), ('eeee000000000001', 'accuracy', 1, 1.6, 0.9)");
    }
    RunStore store(path);  // migrates
    EXPECT_EQ(count(path, "PRAGMA user_version"), 4);
    EXPECT_EQ(RunStore::schema_version(), 4);
    // Version 4: the runs of before belong to no job; their node is the host that wrote them.
    EXPECT_EQ(count(path, "SELECT count(*) FROM runs WHERE job_id IS NULL AND node_rank IS NULL"), 2);
    for (const char* table : {"phases", "epochs", "meta", "metrics"})
        EXPECT_EQ(count(path, std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + table + "'"),
                  0)
            << table;
    EXPECT_EQ(count(path, "SELECT count(*) FROM runs"), 2);
    EXPECT_EQ(count(path,
                    "SELECT count(*) FROM markers WHERE run_id = 'eeee000000000002' AND line = "
                    "'begin train' AND t_ns = 5"),
              1);
    EXPECT_EQ(count(path, "SELECT count(*) FROM tags WHERE run_id = 'eeee000000000001'"), 2);
    // The finished run reads back as the same RunResult, its phases and epochs from the result document.
    const RunResult back = store.get(result.id);
    EXPECT_EQ(to_json(back).dump(), document.dump());
    ASSERT_EQ(back.phases.size(), 1u);
    EXPECT_EQ(back.phases[0].samples, 1000);
    EXPECT_EQ(back.epochs.size(), 2u);
    EXPECT_EQ(back.meta.at("model"), "resnet18");
    const auto runs = store.list();
    ASSERT_EQ(runs.size(), 2u);
    // A finished run of the migrated store can be finished again (a retried write) without the old tables.
    store.finish_run(result, document);
    EXPECT_EQ(count(path, "SELECT count(*) FROM tags WHERE run_id = 'eeee000000000001'"), 2);
}

TEST(StoreRunStore, JobNodeAndNodeRankAreStoredListedAndFiltered) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    RunStore store(path);
    RunResult a = finished("aaaa000000000001");
    a.job_id = "J7";
    a.job_source = "--job";
    a.node = "node-a";
    a.node_rank = 1;
    // Begun with the job known from the start: a run still going is found by its job too.
    store.begin_run(a, gpu_channels(), 0, getpid());
    EXPECT_EQ(
        count(path, "SELECT count(*) FROM runs WHERE job_id = 'J7' AND node = 'node-a' AND node_rank = 1"),
        1);
    store.finish_run(a, to_json(a));
    RunResult b = finished("bbbb000000000002");  // no job
    store.finish_run(b, to_json(b));

    RunFilter job;
    job.job = "J7";
    const auto runs = store.list(job);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].id, a.id);
    EXPECT_EQ(runs[0].job_id, "J7");
    EXPECT_EQ(runs[0].node, "node-a");
    EXPECT_EQ(runs[0].node_rank, 1);
    const auto other = store.summary(b.id);
    EXPECT_EQ(other.job_id, "");
    EXPECT_EQ(other.node, "testhost");  // no node given: the host's name
    EXPECT_FALSE(other.node_rank);
    EXPECT_EQ(store.get(a.id).node_rank, 1);
    EXPECT_EQ(count(path, "SELECT count(*) FROM runs WHERE job_id IS NULL"), 1);
}

TEST(StoreRunStore, FinishWithoutBeginRecordsTheRun) {
    TempDir dir;
    RunStore store(dir.str() + "/runs.db");
    RunResult result = finished("aaaa000000000001");
    store.finish_run(result, to_json(result));
    EXPECT_EQ(store.get_document("aaaa").at("name"), "resnet18-b128");
    EXPECT_TRUE(store.trace(result.id).readings.empty());
    EXPECT_THROW(store.append_readings("nope", gpu_readings(0, 0.2), 0), RunNotFound);
}

TEST(StoreRunStore, ClosingLeavesTheWalForTheNextConnection) {
    // Closing does not checkpoint (that cost three or four fsyncs per run): the WAL stays next to the file,
    // and the next connection reads the run from it.
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    RunResult result = finished("aaaa000000000002");
    {
        RunStore store(path);
        store.finish_run(result, to_json(result));
    }
    ASSERT_TRUE(std::filesystem::exists(path + "-wal"));
    EXPECT_GT(std::filesystem::file_size(path + "-wal"), 0u);
    RunStore again(path);
    EXPECT_EQ(again.get_document("aaaa000000000002").at("name"), "resnet18-b128");
    EXPECT_EQ(again.list().size(), 1u);
}

TEST(StoreRunStore, ListFiltersByNameTagStatusTimeAndLimit) {
    TempDir dir;
    RunStore store(dir.str() + "/runs.db");
    struct Spec {
        const char* id;
        const char* name;
        const char* started;
        const char* status;
        std::map<std::string, std::string> tags;
    };
    const std::vector<Spec> specs = {
        {"1000000000000001", "resnet18-b32", "2026-11-20T08:00:00Z", "completed", {{"model", "resnet18"}}},
        {"1000000000000002",
         "resnet18-b128",
         "2026-11-21T08:00:00Z",
         "failed",
         {{"model", "resnet18"}, {"gpu", "h100"}}},
        {"1000000000000003",
         "VGG16-b128",
         "2026-11-22T08:00:00Z",
         "completed",
         {{"model", "vgg16"}, {"gpu", "h100"}}},
        {"1000000000000004", "bert-infer", "2026-11-23T08:00:00Z", "completed", {}},
    };
    for (const auto& spec : specs) {
        RunResult r = header(spec.id, spec.name, spec.started);
        r.status = parse_run_status(spec.status).value();
        r.tags = spec.tags;
        store.finish_run(r, to_json(r));
    }
    auto ids = [&](const RunFilter& filter) {
        std::vector<std::string> out;
        for (const auto& run : store.list(filter)) out.push_back(run.id.substr(15));
        return out;
    };
    using V = std::vector<std::string>;
    const auto since = [](const char* iso) { return *parse_iso8601(iso); };
    RunFilter f;
    EXPECT_EQ(ids(f), (V{"4", "3", "2", "1"}));  // newest first
    f.name = "resnet";
    EXPECT_EQ(ids(f), (V{"2", "1"}));
    f.limit = 1;
    EXPECT_EQ(ids(f), (V{"2"}));
    f = {};
    f.name = "vgg";  // substring: any case
    EXPECT_EQ(ids(f), (V{"3"}));
    f.name = "*-b128";  // glob: the whole name
    EXPECT_EQ(ids(f), (V{"3", "2"}));
    f.name = "vgg*";  // glob: case-sensitive
    EXPECT_EQ(ids(f), V{});
    f = {};
    f.tags = {{"model", "resnet18"}};
    EXPECT_EQ(ids(f), (V{"2", "1"}));
    f.tags = {{"model", "resnet18"}, {"gpu", "h100"}};
    EXPECT_EQ(ids(f), (V{"2"}));
    f.tags = {{"gpu", ""}};
    EXPECT_EQ(ids(f), (V{"3", "2"}));
    f = {};
    f.status = RunStatus::failed;
    EXPECT_EQ(ids(f), (V{"2"}));
    f = {};
    f.since_unix = since("2026-11-21T08:00:00Z");
    EXPECT_EQ(ids(f), (V{"4", "3", "2"}));
    f.since_unix = since("2026-11-21T09:00:00Z");
    f.until_unix = since("2026-11-23T07:00:00Z");
    EXPECT_EQ(ids(f), (V{"3"}));
    f = {};
    f.limit = 2;
    EXPECT_EQ(ids(f), (V{"4", "3"}));
}

TEST(StoreRunStore, IdsMayBeShortenedToAUniquePrefix) {
    TempDir dir;
    RunStore store(dir.str() + "/runs.db");
    for (const char* id : {"abc1230000000000", "abd4560000000000", "ffff000000000000", "abc", "abcd"}) {
        RunResult r = header(id);
        store.finish_run(r, to_json(r));
    }
    EXPECT_EQ(store.resolve_id("abc1"), "abc1230000000000");
    EXPECT_EQ(store.resolve_id("f"), "ffff000000000000");
    EXPECT_EQ(store.resolve_id("ffff000000000000"), "ffff000000000000");
    EXPECT_EQ(store.resolve_id("abc"), "abc");  // an exact id wins over longer ones it prefixes
    EXPECT_EQ(store.get_document("abd").at("id"), "abd4560000000000");
    try {
        store.resolve_id("ab");
        FAIL() << "an ambiguous prefix resolved";
    } catch (const RunNotFound&) {
        FAIL() << "ambiguous is not 'not found'";
    } catch (const StoreError& error) {
        EXPECT_NE(std::string(error.what()).find("ambiguous"), std::string::npos) << error.what();
    }
    EXPECT_THROW(store.resolve_id("0"), RunNotFound);
    EXPECT_THROW(store.resolve_id(""), RunNotFound);
    EXPECT_THROW(store.resolve_id("a*"), RunNotFound);  // no wildcards through the back door
    EXPECT_THROW(store.get_document("zz"), RunNotFound);
}

TEST(StoreRunStore, AnUnfinishedRunGivesAPartialResultFromItsReadings) {
    TempDir dir;
    RunStore store(dir.str() + "/runs.db");
    const std::int64_t origin = 500 * s;
    RunResult h = header("bbbb000000000001", "still-going");
    h.tags = {{"k", "v"}};
    h.carbon = CarbonResult{100, "test", 1.5, 0};
    // Only the power gauge: 100 W for 2 s is 200 J by integration.
    store.begin_run(h, {trace_channel("gpu0.power", Quantity::power)}, origin, getpid());
    std::vector<Reading> readings;
    for (int i = 0; i <= 20; ++i) readings.push_back({origin + i * s / 10, 0, 100.0});
    store.append_readings(h.id, readings, origin);

    const auto j = store.get_document("bbbb");
    EXPECT_EQ(j.at("status"), "running");  // our own pid: alive
    EXPECT_TRUE(j.at("partial").get<bool>());
    EXPECT_NEAR(j.at("energy_j").at("total").get<double>(), 200.0, 1e-9);
    EXPECT_NEAR(j.at("energy_j").at("gpu").get<double>(), 200.0, 1e-9);
    EXPECT_EQ(j.at("energy_method").at("gpu"), "integrated");
    EXPECT_DOUBLE_EQ(j.at("duration_s").get<double>(), 2.0);
    EXPECT_NEAR(j.at("power_w").at("mean").get<double>(), 100.0, 1e-9);
    EXPECT_NEAR(j.at("carbon").at("co2e_g").get<double>(), 200 / 3.6e6 * 1.5 * 100, 1e-12);
    EXPECT_TRUE(j.at("exit_code").is_null());
    EXPECT_EQ(j.at("tags").at("k"), "v");
    EXPECT_EQ(j.at("host").at("cpu_model"), "Test CPU");
    EXPECT_EQ(j.at("command").size(), 4u);
    EXPECT_FALSE(j.at("warnings").empty());
    EXPECT_EQ(store.list().front().status, RunStatus::running);
    EXPECT_FALSE(store.list().front().total_energy_j);  // nothing claimed in the list while it runs
}

TEST(StoreRunStore, ARunWhoseJoulecastDiedBecomesInterrupted) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    RunStore store(path);
    RunResult h = header("cccc000000000001", "killed");
    store.begin_run(h, {trace_channel("gpu0.power", Quantity::power)}, 0, dead_pid());
    std::vector<Reading> readings;
    for (int i = 0; i <= 20; ++i) readings.push_back({i * s / 10, 0, 100.0});
    store.append_readings(h.id, readings, 0);
    RunResult alive = header("cccc000000000002", "alive");
    store.begin_run(alive, {}, 0, getpid());
    RunResult elsewhere = header("cccc000000000003", "elsewhere");
    store.begin_run(elsewhere, {}, 0, dead_pid());
    sqlite::Database(path).exec("UPDATE runs SET hostname = 'another-host' WHERE id = '" + elsewhere.id +
                                "'");

    const auto runs = store.list();
    std::map<std::string, RunSummary> by_name;
    for (const auto& r : runs) by_name[r.name] = r;
    EXPECT_EQ(by_name.at("killed").status, RunStatus::interrupted);
    EXPECT_NEAR(*by_name.at("killed").total_energy_j, 200.0, 1e-9);  // from the stored readings
    EXPECT_NEAR(*by_name.at("killed").duration_s, 2.0, 1e-9);
    EXPECT_FALSE(by_name.at("killed").finished);
    EXPECT_EQ(by_name.at("alive").status, RunStatus::running);
    EXPECT_EQ(by_name.at("elsewhere").status, RunStatus::running);  // cannot be checked from here
    EXPECT_EQ(count(path, "SELECT count(*) FROM runs WHERE status = 'interrupted'"),
              1);  // updated, not only shown
    EXPECT_EQ(store.refresh_interrupted(), 0u);

    const auto j = store.get_document(h.id);
    EXPECT_EQ(j.at("status"), "interrupted");
    EXPECT_TRUE(j.at("partial").get<bool>());
    EXPECT_NEAR(j.at("energy_j").at("total").get<double>(), 200.0, 1e-9);
    RunFilter interrupted;
    interrupted.status = RunStatus::interrupted;
    EXPECT_EQ(store.list(interrupted).size(), 1u);
}

TEST(StoreRunStore, APathThatIsNoRegularFileIsRefusedBeforeSqliteOpensIt) {
    TempDir dir;
    const std::string fifo = dir.str() + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string link = dir.str() + "/link.db";
    std::filesystem::create_symlink(fifo, link);
    for (const std::string& path : {fifo, link}) {
        try {
            RunStore store(path);
            ADD_FAILURE() << path << " was opened as a store";
        } catch (const StoreError& error) {
            EXPECT_NE(std::string(error.what()).find("is not a regular file"), std::string::npos)
                << error.what();
        }
    }
    // Nothing was left beside the FIFO (SQLite's journal of a device went to /dev/null-journal).
    for (const char* suffix : {"-journal", "-wal", "-shm"})
        EXPECT_FALSE(std::filesystem::exists(fifo + suffix));
    // A link whose target is missing is refused too; a link to a store file is a store.
    std::filesystem::create_symlink(dir.str() + "/missing.db", dir.str() + "/dangling.db");
    EXPECT_THROW(RunStore(dir.str() + "/dangling.db"), StoreError);
    EXPECT_FALSE(std::filesystem::exists(dir.str() + "/missing.db"));
    { RunStore real(dir.str() + "/real.db"); }
    std::filesystem::create_symlink(dir.str() + "/real.db", dir.str() + "/to-real.db");
    EXPECT_NO_THROW(RunStore(dir.str() + "/to-real.db"));
}

TEST(StoreRunStore, AStoreThatCannotBeWrittenCanStillBeReadNotWritten) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    {
        RunStore store(path);
        RunResult r = finished("eeee000000000001");
        store.begin_run(header("eeee000000000001"), gpu_channels(), 0, getpid());
        store.append_readings("eeee000000000001", gpu_readings(0, 1.0), 0);
        store.finish_run(r, to_json(r));
    }
    // Readable by others, writable by none but root (root writes anyway: the check runs as nobody).
    std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
    for (const char* suffix : {"", "-wal", "-shm"})
        if (std::filesystem::exists(path + suffix))
            std::filesystem::permissions(path + suffix, std::filesystem::perms(0644));
    const std::string outcome = test::run_unprivileged([&]() -> std::string {
        try {
            std::string out;
            try {
                RunStore writable(path);
                out += "opened to write; ";
            } catch (const StoreError& error) {
                if (std::string(error.what()).find("read-only") != std::string::npos)
                    out += "write refused; ";
            }
            auto store = open_store_to_read(path);
            out += "listed " + std::to_string(store->list(RunFilter{}).size());
            out += "; energy " + std::to_string(store->get("eeee000000000001").energy.total_j > 0);
            return out;
        } catch (const std::exception& error) {
            return std::string("error: ") + error.what();
        }
    });
    if (outcome[0] == 'S') GTEST_SKIP() << outcome.substr(1);
    EXPECT_EQ(outcome.substr(1), "write refused; listed 1; energy 1");
}

TEST(StoreRunStore, RemoveTakesEverythingOfTheRunAndNothingElse) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    RunStore store(path);
    for (const char* id : {"dddd000000000001", "dddd000000000002"}) {
        RunResult r = finished(id);
        store.begin_run(header(id), gpu_channels(), 0, getpid());
        store.append_readings(id, gpu_readings(0, 1.0), 0);
        store.finish_run(r, to_json(r));
    }
    const auto readings_per_run = count(path, "SELECT count(*) FROM readings") / 2;
    EXPECT_GT(readings_per_run, 0);
    EXPECT_TRUE(store.remove("dddd000000000001"));
    EXPECT_FALSE(store.remove("dddd000000000001"));
    EXPECT_THROW(store.get_document("dddd000000000001"), RunNotFound);
    EXPECT_EQ(count(path, "SELECT count(*) FROM readings"), readings_per_run);
    for (const char* table : {"channels", "tags", "markers"})
        EXPECT_EQ(
            count(path, std::string("SELECT count(*) FROM ") + table + " WHERE run_id = 'dddd000000000001'"),
            0)
            << table;
    EXPECT_EQ(count(path, "SELECT count(*) FROM channels WHERE run_id = 'dddd000000000002'"), 2);
    EXPECT_EQ(store.list().size(), 1u);
}

TEST(StoreRunStore, TwoProcessesWriting200RunsEachAllLand) {
    TempDir dir;
    const std::string path = dir.str() + "/new/runs.db";  // both also race to create the store
    constexpr int runs_per_process = 200;
    std::vector<pid_t> children;
    for (int p = 0; p < 2; ++p) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int code = 0;
            try {
                RunStore store(path);
                for (int i = 0; i < runs_per_process; ++i) {
                    char id[17];
                    std::snprintf(id, sizeof id, "%02x%014x", p, i);
                    RunResult r = finished(id);
                    store.begin_run(header(id), gpu_channels(), 0, getpid());
                    store.append_readings(id, gpu_readings(0, 0.3), 0);
                    store.finish_run(r, to_json(r));
                }
            } catch (const std::exception& error) {
                std::cerr << "child " << p << ": " << error.what() << '\n';
                code = 1;
            }
            _exit(code);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer failed";
    }
    RunStore store(path);
    const auto runs = store.list();
    EXPECT_EQ(runs.size(), 2u * runs_per_process);
    std::set<std::string> ids;
    for (const auto& r : runs) {
        ids.insert(r.id);
        EXPECT_EQ(r.status, RunStatus::completed);
    }
    EXPECT_EQ(ids.size(), 2u * runs_per_process);
    EXPECT_EQ(count(path, "SELECT count(*) FROM readings"),
              2 * runs_per_process * 8);  // 4 times x 2 channels
}

}  // namespace
}  // namespace joulecast::store
