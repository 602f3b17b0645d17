#pragma once
// The run store: every run joulecast measures, kept in one SQLite file (WAL mode), written while the run goes
// on so that a killed joulecast loses at most a couple of seconds of readings.
//
// Layout (schema version in PRAGMA user_version, migrations in store/schema.hpp): runs (one row per run, key
// columns for listing plus the full result JSON once finished), channels, readings (t_ns relative to the
// run's origin), tags, markers (of runs still going). A finished run's phases, epochs, meta and metrics are
// in its result JSON (schema version 3 dropped their own tables, which nothing read). Times in the runs
// table: ISO 8601 UTC text and Unix seconds.
//
// Concurrency: any number of joulecast processes may write one store at once (WAL, a 10 s busy timeout and
// whole-transaction retries). One RunStore is one connection: use it from one thread at a time (StoreWriter
// opens its own, or borrows the caller's while it runs).
//
// Durability: synchronous=NORMAL, and closing does not checkpoint, so the store is the file plus its -wal
// and -shm files (copy all three, or run `sqlite3 runs.db "PRAGMA wal_checkpoint(TRUNCATE)"` first). A crash
// of joulecast loses nothing committed; a crash of the machine may lose the runs written since the last
// automatic checkpoint that the system had not yet written back, never the store's consistency.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "meter/run_result.hpp"
#include "meter/trace.hpp"
#include "store/markers.hpp"

namespace joulecast::store {

namespace sqlite {
class Database;
}

/// Anything wrong with the store: cannot create or open it, damaged, read-only, written by a newer joulecast,
/// unknown or ambiguous run id. The message names the store's path and says what to do where it can.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The store cannot grow: its disk is full, a quota or a file size limit (RLIMIT_FSIZE) is reached. Reading
/// still works; RunStore::remove and RunStore::finish_run_when_full work around it where they can.
class StoreFullError : public StoreError {
public:
    using StoreError::StoreError;
};

/// No run matches an id or id prefix.
class RunNotFound : public StoreError {
public:
    using StoreError::StoreError;
};

/// $JOULECAST_DB, else $XDG_DATA_HOME/joulecast/runs.db, else ~/.local/share/joulecast/runs.db.
std::string default_store_path();

/// What `list` returns per run: the key columns, without reading any result document.
struct RunSummary {
    std::string id;
    std::string name;
    meter::RunStatus status = meter::RunStatus::running;
    std::vector<std::string> command;
    std::string started_at;   ///< ISO 8601 UTC
    double started_unix = 0;  ///< seconds since 1970-01-01 UTC
    std::optional<double> duration_s;
    std::optional<int> exit_code;
    std::optional<double> total_energy_j;  ///< gross, every accounted domain
    std::optional<double> gpu_energy_j, cpu_energy_j, dram_energy_j;
    std::optional<double> measured_energy_j;  ///< part of the total from counters and integrated power
    std::optional<double> modelled_energy_j;  ///< part of the total from models
    std::optional<double> co2e_g;
    std::string hostname;
    std::string job_id;  ///< empty: not part of a job
    std::string node;    ///< the node's name (docs/distributed.md)
    std::optional<long long> node_rank;
    std::map<std::string, std::string> tags;
    /// The full result is stored. False for a running run and for one whose joulecast stopped before the end
    /// (its energy columns, when set, come from the readings stored so far).
    bool finished = false;
};

/// Which runs `list` returns. Empty fields match everything; newest first.
struct RunFilter {
    /// A glob (`*`, `?`, `[...]`, case-sensitive) when it holds one of those characters, otherwise a
    /// case-insensitive substring of the name.
    std::string name;
    std::vector<std::pair<std::string, std::string>> tags;  ///< every k=v must match; an empty v: key present
    std::optional<meter::RunStatus> status;
    std::optional<std::string> job;    ///< runs of this job id only
    std::optional<double> since_unix;  ///< started at or after, Unix seconds
    std::optional<double> until_unix;  ///< started at or before
    std::optional<std::size_t> limit;
};

/// The readings of one run as stored: times relative to the run's origin (its command's start).
struct StoredTrace {
    std::vector<meter::TraceChannel> channels;
    std::vector<meter::Reading> readings;  ///< ordered by time; t_ns relative to the origin
};

/// Whether a store is opened to write (run, study, runs rm) or only to read (runs list/show, report,
/// analyze).
enum class StoreAccess { write, read };

class RunStore {
public:
    /// Opens or creates the store at `path` (creating parent folders), migrates an older schema, and sets WAL
    /// mode, foreign keys and a ~10 s busy timeout. Throws StoreError naming the path: a folder in the way,
    /// not a database or damaged, a database of another program, read-only, or a schema newer than this
    /// binary.
    /// With StoreAccess::read a store that this user cannot write is opened read-only (reading only: no
    /// migration, no run marked interrupted) instead of refused.
    explicit RunStore(std::string path, StoreAccess access = StoreAccess::write);
    ~RunStore();
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;

    const std::string& path() const { return m_path; }
    /// Opened with StoreAccess::read on a store this user cannot write: only reading works.
    bool read_only() const { return m_read_only; }
    /// The schema version this binary writes.
    static int schema_version();

    // ---- Writing a run as it happens -------------------------------------------------------------------

    /// Records a run that starts now with status "running": the header fields of `header` (id, name, command,
    /// started_at (now when empty), host, tags, carbon intensity), its channels, and the process that writes
    /// it
    /// (`pid` on this host and boot, for telling a live run from one whose joulecast was killed).
    /// `origin_ns` is the CLOCK_MONOTONIC time that stored reading times count from (the command's start).
    void begin_run(const meter::RunResult& header, const std::vector<meter::TraceChannel>& channels,
                   std::int64_t origin_ns, pid_t pid);
    /// Appends readings (their channel indexes refer to begin_run's channels; CLOCK_MONOTONIC times) in one
    /// transaction. A second reading of a channel at the same nanosecond replaces the first. Returns how many
    /// were written (readings of unknown channels are skipped). Throws RunNotFound for a run never begun.
    std::size_t append_readings(const std::string& run_id, const std::vector<meter::Reading>& readings,
                                std::int64_t origin_ns);
    /// Appends the workload's markers (times relative to the run's origin) as rows first_index, ... in one
    /// transaction; a run whose joulecast is killed is read back with them (see store/markers.hpp).
    void append_markers(const std::string& run_id, const std::vector<Marker>& markers,
                        std::size_t first_index);
    /// Records the final result in one transaction: status, energy columns, tags, and `result_json`
    /// (normally to_json(result), kept as is; it holds the phases, epochs, meta and metrics), and deletes the
    /// run's markers. Works without begin_run too (a run
    /// recorded only at its end).
    void finish_run(const meter::RunResult& result, const nlohmann::ordered_json& result_json);
    /// For a run whose finish_run failed with StoreFullError: records what fits in the run's row, its status,
    /// duration, exit code and energy totals (no result document: `runs show` rebuilds the rest from the
    /// readings and markers stored), so that it does not read as interrupted with the duration of its last
    /// stored reading. Written as remove() writes on a full store. Throws StoreFullError when even that
    /// cannot be written.
    void finish_run_when_full(const meter::RunResult& result);

    // ---- Queries ---------------------------------------------------------------------------------------

    /// Runs matching `filter`, newest first. Runs left "running" by a joulecast that is gone are first marked
    /// "interrupted" (see refresh_interrupted).
    std::vector<RunSummary> list(const RunFilter& filter = {});
    /// The summary of one run (id or unique prefix); throws RunNotFound / StoreError as resolve_id.
    RunSummary summary(const std::string& id_or_prefix);
    /// The full id of the one run whose id starts with `prefix` (an exact id always wins). Throws
    /// RunNotFound, or StoreError when the prefix is ambiguous (the message lists candidates).
    std::string resolve_id(const std::string& prefix);
    /// The run (id or unique prefix) as its result: read back from the stored document when finished;
    /// otherwise built from the stored columns, with energy computed from the stored readings, `partial` set
    /// and a warning. Throws StoreError when the stored document cannot be read.
    meter::RunResult get(const std::string& id_or_prefix);
    /// The result document of a run as stored (`runs show --json`), or the partial one get() builds, as JSON.
    nlohmann::ordered_json get_document(const std::string& id_or_prefix);
    /// The stored channels and readings of a run (id or unique prefix).
    StoredTrace trace(const std::string& id_or_prefix);
    /// Whether a run with exactly this id is stored.
    bool contains(const std::string& id);
    /// Removes a run (full id) and everything stored with it. False when no such run. On a full store it
    /// first moves the WAL into the database (freeing the WAL's space), then deletes in place with the
    /// rollback journal in memory (only while no other process has the store open: a crash in that moment
    /// could damage the store). A store made by this joulecast (auto_vacuum = incremental) gives the freed
    /// pages back to the disk; an older one keeps them for its next runs.
    bool remove(const std::string& id);

    /// Marks "interrupted" every run still "running" whose writer process is gone: same host and boot with a
    /// dead (or reused) pid, or same host after a reboot. Their energy columns are filled from the stored
    /// readings. Runs of other hosts are left alone (they cannot be checked from here). Returns how many.
    std::size_t refresh_interrupted();

private:
    template <typename Body>
    void write_transaction(Body&& body);
    void transaction(const std::function<void()>& body);
    /// write_transaction(body); on StoreFullError, again after a WAL checkpoint, then in place (see remove).
    void write_despite_full(const std::function<void()>& body);
    std::vector<RunSummary> query(const RunFilter& filter, const std::string* id);
    /// Marks the channels of the devices `energy` left out of its totals unaccounted (inside a transaction).
    void mark_left_out(const std::string& id, const meter::WindowEnergy& energy);
    std::int64_t channel_row(const std::string& run_id, std::uint32_t channel);
    StoredTrace load_trace(const std::string& id);
    meter::RunResult partial_result(const std::string& id);

    std::string m_path;
    std::unique_ptr<sqlite::Database> m_db;
    /// run id → channels.id of each channel index; filled on first use, valid until the run is removed.
    std::map<std::string, std::vector<std::int64_t>> m_channel_rows;
    bool m_read_only = false;  ///< opened with StoreAccess::read on a store this user cannot write
};

/// The store at `path` for a command that only reads it, or nullptr when there is none yet: reading creates
/// nothing, and an absent store has no runs. Throws StoreError when it exists but cannot be opened.
std::unique_ptr<RunStore> open_store_to_read(const std::string& path);

}  // namespace joulecast::store
