#include "store/schema.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "store/sqlite.hpp"

namespace joulecast::store {

namespace {

// Version 1. Readings are the bulk of a store (a few channels every 100 ms), so a reading row holds only a
// small integer channel key, a relative time and a value, clustered by (channel, time) in a WITHOUT ROWID
// table: no separate index, and a channel's series reads in order.
const char* const schema_v1 = R"sql(
CREATE TABLE runs (
    id                  TEXT PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL,             -- running | completed | failed | interrupted | profiled
    command             TEXT NOT NULL DEFAULT '[]',-- JSON array of argv
    started_at          TEXT NOT NULL,             -- ISO 8601 UTC
    started_unix        REAL NOT NULL,             -- seconds since 1970, for time filters
    duration_s          REAL,
    exit_code           INTEGER,
    total_energy_j      REAL,                      -- gross, accounted domains
    gpu_energy_j        REAL,
    cpu_energy_j        REAL,
    dram_energy_j       REAL,
    measured_energy_j   REAL,                      -- from counters and integrated measured power
    modelled_energy_j   REAL,                      -- from models
    energy_method       TEXT,                      -- JSON object: domain -> method
    co2e_g              REAL,
    intensity_g_per_kwh REAL,
    pue                 REAL,
    host                TEXT NOT NULL DEFAULT '{}',-- JSON, as in the result document
    hostname            TEXT NOT NULL DEFAULT '',  -- of the writing process, for liveness checks
    boot_id             TEXT NOT NULL DEFAULT '',
    pid                 INTEGER,
    pid_start           INTEGER,                   -- start time of pid (clock ticks after boot): pid reuse
    origin_ns           INTEGER,                   -- CLOCK_MONOTONIC of t = 0 for readings
    result_json         TEXT,                      -- NULL until finished
    updated_at          TEXT NOT NULL
);
CREATE INDEX runs_by_start ON runs (started_unix);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE channels (
    id            INTEGER PRIMARY KEY,
    run_id        TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,               -- index in the run's trace
    sensor        TEXT NOT NULL,
    name          TEXT NOT NULL,
    domain        TEXT NOT NULL,
    device        TEXT NOT NULL,
    quantity      TEXT NOT NULL,                  -- energy | power | ...
    behaviour     TEXT NOT NULL,                  -- counter | gauge
    modelled      INTEGER NOT NULL,
    accounted     INTEGER NOT NULL,
    min_period_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_id, idx)
);

CREATE TABLE readings (
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    t_ns       INTEGER NOT NULL,                  -- relative to runs.origin_ns
    value      REAL NOT NULL,                     -- SI units of the channel's quantity
    PRIMARY KEY (channel_id, t_ns)
) WITHOUT ROWID;

CREATE TABLE phases (
    run_id              TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx                 INTEGER NOT NULL,
    name                TEXT NOT NULL,
    start_s             REAL NOT NULL,
    end_s               REAL NOT NULL,
    energy_j            REAL NOT NULL,
    domain_j            TEXT NOT NULL DEFAULT '{}',
    samples             INTEGER,
    energy_per_sample_j REAL,
    co2e_g              REAL,
    boundary            TEXT NOT NULL DEFAULT 'counter',
    closed              INTEGER NOT NULL DEFAULT 1,
    fields              TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;

CREATE TABLE epochs (
    run_id              TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx                 INTEGER NOT NULL,
    n                   INTEGER NOT NULL,
    start_s             REAL NOT NULL,
    end_s               REAL NOT NULL,
    energy_j            REAL NOT NULL,
    samples             INTEGER,
    energy_per_sample_j REAL,
    PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;

CREATE TABLE meta (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE metrics (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    idx    INTEGER NOT NULL,                      -- position in the series
    t_s    REAL NOT NULL,                         -- seconds from the command's start
    value  REAL NOT NULL,
    PRIMARY KEY (run_id, name, idx)
) WITHOUT ROWID;

CREATE TABLE tags (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX tags_by_value ON tags (key, value);
)sql";

// Version 2. The workload's markers as they arrive, written on the readings' cadence, so that a run whose
// joulecast was killed keeps its phases, epochs, meta and metrics (see store/markers.hpp).
const char* const schema_v2 = R"sql(
CREATE TABLE markers (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,                      -- order of arrival
    t_ns   INTEGER NOT NULL,                      -- relative to runs.origin_ns
    line   TEXT NOT NULL,                         -- the control line, as format_control_line writes it
    PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;
)sql";

// Version 3. The phases, epochs, meta and metrics tables of version 1 were written at the end of each run and
// never read: every reader takes those parts from the result document (runs.result_json), or from the markers
// while a run has none. They go; the runs, their tags, readings and markers stay as they are.
const char* const schema_v3 = R"sql(
DROP TABLE IF EXISTS phases;
DROP TABLE IF EXISTS epochs;
DROP TABLE IF EXISTS meta;
DROP TABLE IF EXISTS metrics;
)sql";

// Version 4. Distributed jobs (docs/distributed.md): each run records the job it is one node's part of, the
// node's name and its rank among the job's nodes, as columns so that `jobs list/show` finds a job's runs
// without reading every document. Runs stored before have no job; their node is the host that wrote them.
const char* const schema_v4 = R"sql(
ALTER TABLE runs ADD COLUMN job_id TEXT;             -- NULL: not part of a job
ALTER TABLE runs ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN node_rank INTEGER;
UPDATE runs SET node = hostname;
CREATE INDEX runs_by_job ON runs (job_id) WHERE job_id IS NOT NULL;
)sql";

}  // namespace

const std::vector<Migration>& store_migrations() {
    static const std::vector<Migration> migrations = {
        {1, "initial schema", schema_v1},
        {2, "markers of running runs", schema_v2},
        {3, "drop the unread phases/epochs/meta/metrics tables", schema_v3},
        {4, "job id, node and node rank of each run", schema_v4}};
    return migrations;
}

void migrate(sqlite::Database& db, const std::vector<Migration>& migrations) {
    const int latest = migrations.empty() ? 0 : migrations.back().version;
    auto check = [&](std::int64_t version, std::int64_t application_id) {
        if (version > latest)
            throw StoreError("run store " + db.path() + " has schema version " + std::to_string(version) +
                             ", written by a newer joulecast; this one knows versions up to " +
                             std::to_string(latest) +
                             ". Use a newer joulecast, or another store (--db, JOULECAST_DB)");
        if (application_id != 0 && application_id != store_application_id)
            throw StoreError("run store " + db.path() +
                             " is an SQLite database of another program, not a "
                             "joulecast run store");
    };
    // Reads first: a store already up to date (the usual case) needs no write lock.
    std::int64_t version = db.query_integer("PRAGMA user_version");
    check(version, db.query_integer("PRAGMA application_id"));
    if (version == latest) return;

    for (const Migration& migration : migrations) {
        if (migration.version <= version) continue;
        for (int attempt = 0;; ++attempt) {
            try {
                db.exec("BEGIN IMMEDIATE");
                try {
                    // Another process may have migrated between our read and our lock.
                    std::int64_t now = db.query_integer("PRAGMA user_version");
                    std::int64_t id = db.query_integer("PRAGMA application_id");
                    check(now, id);
                    if (now == 0 && id == 0 &&
                        db.query_integer(
                            "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'") > 0)
                        throw StoreError(
                            "run store " + db.path() +
                            " is an SQLite database of another program, not a joulecast run store");
                    if (now < migration.version) {
                        db.exec(migration.sql);
                        db.exec("PRAGMA user_version = " + std::to_string(migration.version));
                        db.exec("PRAGMA application_id = " + std::to_string(store_application_id));
                    }
                    version = std::max<std::int64_t>(now, migration.version);
                    db.exec("COMMIT");
                } catch (...) {
                    try {
                        db.exec("ROLLBACK");
                    } catch (const StoreError&) {
                        // The failed statement may already have ended the transaction.
                    }
                    throw;
                }
                break;
            } catch (const sqlite::BusyError&) {
                if (attempt >= 5) throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
            }
        }
    }
}

}  // namespace joulecast::store
