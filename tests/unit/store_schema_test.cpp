// The run store's file handling: creation, migrations, versions newer than this binary, files that are not
// stores, and the default path.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "store/iso_time.hpp"
#include "store/run_store.hpp"
#include "store/schema.hpp"
#include "store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/unprivileged.hpp"

namespace joulecast::store {
namespace {

using test::TempDir;

/// Runs SQL on a file with the plain SQLite API, as another program (or an older joulecast) would.
void raw_exec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    std::string text = message ? message : "";
    sqlite3_free(message);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << text;
}

std::int64_t raw_integer(const std::string& path, const std::string& sql) {
    sqlite::Database db(path);
    return db.query_integer(sql);
}

std::string error_of(const std::string& path) {
    try {
        RunStore store(path);
    } catch (const StoreError& error) {
        return error.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(StoreSchema, CreatesANewStoreWithParentFoldersInWalMode) {
    TempDir dir;
    const std::string path = dir.str() + "/a/b/runs.db";
    { RunStore store(path); }
    EXPECT_EQ(raw_integer(path, "PRAGMA user_version"), RunStore::schema_version());
    EXPECT_EQ(raw_integer(path, "PRAGMA application_id"), store_application_id);
    for (const char* table : {"runs", "channels", "readings", "tags", "markers"})
        EXPECT_EQ(
            raw_integer(path,
                        std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '") +
                            table + "'"),
            1)
            << table;
    for (const char* dropped : {"phases", "epochs", "meta", "metrics"})  // schema version 3 dropped them
        EXPECT_EQ(raw_integer(
                      path, std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + dropped + "'"),
                  0)
            << dropped;
    sqlite::Database db(path);
    sqlite::Statement mode(db.handle(), "PRAGMA journal_mode", path);
    ASSERT_TRUE(mode.step());
    EXPECT_EQ(mode.text(0), "wal");
}

TEST(StoreSchema, MigratesAnEmptyVersion0Database) {
    TempDir dir;
    // A zero-byte file and a database at user_version 0 without tables are both version 0.
    const auto empty = dir.write("empty.db", "").string();
    const std::string v0 = dir.str() + "/v0.db";
    raw_exec(v0, "CREATE TABLE t (x); DROP TABLE t; PRAGMA user_version = 0;");
    for (const auto& path : {empty, v0}) {
        { RunStore store(path); }
        EXPECT_EQ(raw_integer(path, "PRAGMA user_version"), RunStore::schema_version()) << path;
        RunStore again(path);  // reopening an up-to-date store changes nothing
        EXPECT_TRUE(again.list().empty());
    }
}

TEST(StoreSchema, AppliesOnlyTheMigrationsAStoreLacksAndKeepsItsData) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    const std::vector<Migration> v1 = {
        {1, "first", "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT);"}};
    std::vector<Migration> v2 = v1;
    v2.push_back({2, "second", "ALTER TABLE things ADD COLUMN size REAL DEFAULT 7;"});
    {
        sqlite::Database db(path);
        migrate(db, v1);
        db.exec("INSERT INTO things (name) VALUES ('kept')");
        EXPECT_EQ(db.query_integer("PRAGMA user_version"), 1);
    }
    {
        sqlite::Database db(path);
        migrate(db, v2);  // would fail if migration 1 ran again (table exists)
        EXPECT_EQ(db.query_integer("PRAGMA user_version"), 2);
        EXPECT_EQ(db.query_integer("SELECT count(*) FROM things WHERE name = 'kept' AND size = 7"), 1);
        migrate(db, v2);  // nothing left to do
        EXPECT_EQ(db.query_integer("PRAGMA user_version"), 2);
    }
    // A failing migration leaves the store at its last good version.
    std::vector<Migration> broken = v2;
    broken.push_back({3, "broken", "ALTER TABLE things ADD COLUMN weight REAL; THIS IS NOT SQL;"});
    sqlite::Database db(path);
    EXPECT_THROW(migrate(db, broken), StoreError);
    EXPECT_EQ(db.query_integer("PRAGMA user_version"), 2);
    EXPECT_EQ(db.query_integer("SELECT count(*) FROM pragma_table_info('things') WHERE name = 'weight'"), 0);
}

TEST(StoreSchema, ANewerStoreIsRefusedWithAClearMessage) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    { RunStore store(path); }
    raw_exec(path, "PRAGMA user_version = " + std::to_string(RunStore::schema_version() + 1));
    const std::string error = error_of(path);
    EXPECT_TRUE(contains(error, "newer joulecast")) << error;
    EXPECT_TRUE(contains(error, path)) << error;
    EXPECT_TRUE(contains(error, "version " + std::to_string(RunStore::schema_version() + 1))) << error;
}

TEST(StoreSchema, FilesThatAreNotStoresGiveErrorsNamingThePath) {
    TempDir dir;
    const auto garbage = dir.write("garbage.db", std::string(4096, 'x')).string();
    std::string error = error_of(garbage);
    EXPECT_TRUE(contains(error, garbage) && contains(error, "not a joulecast run store")) << error;

    const std::string folder = dir.str() + "/folder.db";
    std::filesystem::create_directories(folder);
    error = error_of(folder);
    EXPECT_TRUE(contains(error, folder) && contains(error, "is a folder")) << error;

    const auto file = dir.write("plain-file", "x").string();
    error = error_of(file + "/runs.db");
    EXPECT_TRUE(contains(error, "cannot create the folder " + file)) << error;

    const std::string other = dir.str() + "/other.db";
    raw_exec(other, "CREATE TABLE customers (name TEXT);");
    error = error_of(other);
    EXPECT_TRUE(contains(error, other) && contains(error, "another program")) << error;
    EXPECT_EQ(raw_integer(other, "SELECT count(*) FROM sqlite_schema WHERE name = 'runs'"), 0);  // untouched

    const std::string foreign_app = dir.str() + "/app.db";
    raw_exec(foreign_app, "PRAGMA application_id = 1234;");
    error = error_of(foreign_app);
    EXPECT_TRUE(contains(error, "another program")) << error;
}

TEST(StoreSchema, AReadOnlyStoreIsReported) {
    TempDir dir;
    const std::string path = dir.str() + "/runs.db";
    { RunStore store(path); }
    // Readable by everyone, writable by no one; opened as user nobody where the tests run as root.
    chmod(dir.str().c_str(), 0755);
    chmod(path.c_str(), 0444);
    // A new store's WAL and shared-memory files are private (0600) like the store: open them up too.
    chmod((path + "-wal").c_str(), 0444);
    chmod((path + "-shm").c_str(), 0444);
    const std::string result = test::run_unprivileged([&path] { return error_of(path); });
    if (result[0] == 'S') GTEST_SKIP() << result.substr(1);
    const std::string error = result.substr(1);
    EXPECT_TRUE(contains(error, path) && contains(error, "read-only")) << error;
}

class ScopedEnv {
public:
    explicit ScopedEnv(std::vector<std::string> names) : m_names(std::move(names)) {
        for (const auto& name : m_names) {
            const char* value = std::getenv(name.c_str());
            m_saved.push_back(value ? std::optional<std::string>(value) : std::nullopt);
        }
    }
    ~ScopedEnv() {
        for (std::size_t i = 0; i < m_names.size(); ++i) {
            if (m_saved[i])
                setenv(m_names[i].c_str(), m_saved[i]->c_str(), 1);
            else
                unsetenv(m_names[i].c_str());
        }
    }

private:
    std::vector<std::string> m_names;
    std::vector<std::optional<std::string>> m_saved;
};

TEST(StoreSchema, DefaultPathFollowsJoulecastDbThenXdgThenHome) {
    ScopedEnv saved({"JOULECAST_DB", "XDG_DATA_HOME", "HOME"});
    setenv("JOULECAST_DB", "/tmp/x/my.db", 1);
    setenv("XDG_DATA_HOME", "/data", 1);
    setenv("HOME", "/home/someone", 1);
    EXPECT_EQ(default_store_path(), "/tmp/x/my.db");
    unsetenv("JOULECAST_DB");
    EXPECT_EQ(default_store_path(), "/data/joulecast/runs.db");
    setenv("XDG_DATA_HOME", "relative/ignored", 1);  // the XDG spec: relative paths are invalid
    EXPECT_EQ(default_store_path(), "/home/someone/.local/share/joulecast/runs.db");
    unsetenv("XDG_DATA_HOME");
    EXPECT_EQ(default_store_path(), "/home/someone/.local/share/joulecast/runs.db");
}

TEST(StoreTime, ParsesIso8601Forms) {
    EXPECT_DOUBLE_EQ(*parse_iso8601("1970-01-02"), 86400.0);
    EXPECT_DOUBLE_EQ(*parse_iso8601("2026-11-26T13:51:59.123Z"), 1795701119.123);
    EXPECT_DOUBLE_EQ(*parse_iso8601("2026-11-26 13:51"), 1795701060.0);
    EXPECT_DOUBLE_EQ(*parse_iso8601("2026-11-26T14:51:59+01:00"), 1795701119.0);
    EXPECT_DOUBLE_EQ(*parse_iso8601("2026-11-26T12:51:59-0100"), 1795701119.0);
    for (const char* bad :
         {"", "yesterday", "2026-13-01", "2026-11-26T25:00", "2026-11-26T13:51:59Zjunk", "2h"})
        EXPECT_FALSE(parse_iso8601(bad)) << bad;
}

TEST(StoreSchema, AVersion1StoreOpensKeepsItsRunsAndGainsTheMarkersTable) {
    // A store written by a joulecast from before markers were stored (schema version 1).
    TempDir dir;
    const std::string path = dir.str() + "/v1.db";
    {
        sqlite::Database db(path);
        migrate(db, {store_migrations().front()});
        db.exec(
            "INSERT INTO runs (id, name, status, started_at, started_unix, updated_at) VALUES "
            "('20260101T000000-old', 'old run', 'completed', '2026-01-01T00:00:00Z', 1767225600, "
            "'2026-01-01T00:00:00Z')");
        EXPECT_EQ(db.query_integer("PRAGMA user_version"), 1);
    }
    RunStore store(path);
    const auto runs = store.list();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].name, "old run");
    EXPECT_EQ(raw_integer(path, "PRAGMA user_version"), RunStore::schema_version());
    EXPECT_EQ(raw_integer(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'markers'"), 1);
}

}  // namespace
}  // namespace joulecast::store
