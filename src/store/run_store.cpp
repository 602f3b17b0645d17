#include "store/run_store.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <variant>

#include "core/clock.hpp"
#include "core/format.hpp"
#include "core/process_liveness.hpp"
#include "core/text.hpp"
#include "meter/run_json.hpp"
#include "store/iso_time.hpp"
#include "store/schema.hpp"
#include "store/sqlite.hpp"

namespace joulecast::store {

namespace fs = std::filesystem;

namespace {

constexpr int busy_timeout_ms = 10'000;

/// Binds job_id, node and node_rank of `r` to the parameters first, first + 1 and first + 2.
void bind_job(sqlite::Statement& q, int first, const meter::RunResult& r) {
    if (r.job_id.empty())
        q.bind_null(first);
    else
        q.bind(first, r.job_id);
    q.bind(first + 1, r.node.empty() ? r.host.hostname : r.node);
    if (r.node_rank)
        q.bind(first + 2, static_cast<std::int64_t>(*r.node_rank));
    else
        q.bind_null(first + 2);
}
constexpr int transaction_attempts = 4;  // each waits up to the busy timeout before giving up

std::string this_hostname() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return {};
    return name;
}

std::optional<sensors::Quantity> quantity_from(const std::string& text) {
    for (sensors::Quantity q :
         {sensors::Quantity::energy, sensors::Quantity::power, sensors::Quantity::utilisation,
          sensors::Quantity::memory, sensors::Quantity::clock, sensors::Quantity::temperature,
          sensors::Quantity::power_limit})
        if (text == to_string(q)) return q;
    return std::nullopt;
}

std::optional<double> optional_domain(const meter::WindowEnergy& energy, const char* domain) {
    auto it = energy.domain_j.find(domain);
    if (it == energy.domain_j.end()) return std::nullopt;
    return it->second;
}

void rollback_quietly(sqlite::Database& db) {
    if (sqlite3_get_autocommit(db.handle())) return;  // the failure already ended the transaction
    try {
        db.exec("ROLLBACK");
    } catch (const StoreError&) {
        // Nothing more to do: the connection stays usable for the next transaction.
    }
}

// Text is repaired at the edges; a bad byte that slips through becomes U+FFFD, not a lost run.
template <typename Json>
std::string json_text(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string default_store_path() {
    if (const char* db = std::getenv("JOULECAST_DB"); db && *db) return db;
    if (const char* data = std::getenv("XDG_DATA_HOME"); data && *data == '/')
        return (fs::path(data) / "joulecast" / "runs.db").string();
    std::string home;
    if (const char* h = std::getenv("HOME"); h && *h) {
        home = h;
    } else if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) {
        home = pw->pw_dir;
    }
    if (home.empty())
        throw StoreError("no place for the run store: HOME is unset; set JOULECAST_DB or give --db");
    return (fs::path(home) / ".local" / "share" / "joulecast" / "runs.db").string();
}

RunStore::RunStore(std::string path, StoreAccess access) : m_path(std::move(path)) {
    if (m_path.empty()) throw StoreError("run store path is empty");
    const fs::path file(m_path);
    std::error_code ec;
    if (file.has_parent_path() && !fs::is_directory(file.parent_path(), ec)) {
        // Stored command lines and tags are the user's own: every folder made here is private (0700).
        const std::string failure = core::create_private_directories(file.parent_path());
        if (!failure.empty())
            throw StoreError("cannot create the folder " + file.parent_path().string() + " for run store " +
                             m_path + ": " + failure);
    }
    if (fs::is_directory(file, ec))
        throw StoreError("run store " + m_path + " is a folder; give the path of a file, e.g. " +
                         (file / "runs.db").string());
    // A new store is created 0600 before SQLite opens it; SQLite gives its WAL and -shm files the database
    // file's permissions.
    const int created = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (created >= 0) ::close(created);
    // Only a regular file (or a link to one) is a store: SQLite would open /dev/null or a FIFO and leave its
    // journal beside it (/dev/null-journal).
    struct stat st {};
    if (::stat(m_path.c_str(), &st) != 0)
        throw StoreError("run store " + m_path + ": " + std::strerror(errno) +
                         " (a link whose target is missing is not a store; give the path of a store file)");
    if (!S_ISREG(st.st_mode))
        throw StoreError(
            "run store " + m_path +
            " is not a regular file (a device, a FIFO or a socket); give the path of a store file "
            "or of a new one");

    m_db = std::make_unique<sqlite::Database>(m_path);
    sqlite3_busy_timeout(m_db->handle(), busy_timeout_ms);
    // The last connection to close would checkpoint the WAL into the database and delete it, and the next
    // run would create it again: three or four fsyncs per run, tens of ms on a busy disk, for a ~1 ms run.
    // The WAL stays instead (with its -shm file) and SQLite checkpoints it when it reaches
    // wal_autocheckpoint pages (1000). Failing to set this only costs time, so its result is not checked.
    [[maybe_unused]] const int no_checkpoint =
        sqlite3_db_config(m_db->handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    // Reading the header first turns a non-database file into a clear error before anything is written.
    const std::int64_t version = m_db->query_integer("PRAGMA user_version");
    if (m_db->read_only() && access == StoreAccess::read) {
        // A store the user may read but not write (another user's, a read-only mount) can still be listed and
        // shown: nothing is migrated and no dead run is marked interrupted.
        if (version != schema_version())
            throw StoreError("run store " + m_path + " is read-only and has schema version " +
                             std::to_string(version) + ", not " + std::to_string(schema_version()) +
                             ": give write access once so that joulecast can migrate it");
        m_read_only = true;
        return;
    }
    if (m_db->read_only())
        throw StoreError(
            "run store " + m_path +
            " is read-only; give write access to it and its folder, or choose another store with "
            "--db or JOULECAST_DB");
    // Set before the first page is written: removing runs then gives their pages back to the disk.
    if (created >= 0) m_db->exec("PRAGMA auto_vacuum = INCREMENTAL");
    m_db->exec("PRAGMA foreign_keys = ON");
    // In WAL mode NORMAL survives a crash of joulecast (SIGKILL included), though not of the machine.
    m_db->exec("PRAGMA synchronous = NORMAL");
    for (int attempt = 0;; ++attempt) {
        try {
            std::string mode;
            {
                sqlite::Statement query(m_db->handle(), "PRAGMA journal_mode", m_path);
                if (query.step()) mode = core::to_lower(query.text(0));
            }
            if (mode != "wal") {
                sqlite::Statement wal(m_db->handle(), "PRAGMA journal_mode = WAL", m_path);
                wal.run();
            }
            break;
        } catch (const sqlite::BusyError&) {
            if (attempt + 1 >= transaction_attempts) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
        }
    }
    migrate(*m_db, store_migrations());
}

RunStore::~RunStore() = default;

int RunStore::schema_version() {
    return store_migrations().back().version;
}

template <typename Body>
void RunStore::write_transaction(Body&& body) {
    for (int attempt = 1;; ++attempt) {
        try {
            m_db->exec("BEGIN IMMEDIATE");
            body();
            m_db->exec("COMMIT");
            return;
        } catch (const sqlite::BusyError& error) {
            rollback_quietly(*m_db);
            if (attempt >= transaction_attempts)
                throw StoreError(std::string(error.what()) +
                                 " (another process kept the store locked; gave up after " +
                                 std::to_string(attempt) + " tries)");
            std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
        } catch (...) {
            rollback_quietly(*m_db);
            throw;
        }
    }
}

void RunStore::transaction(const std::function<void()>& body) {
    write_transaction(body);
}

void RunStore::begin_run(const meter::RunResult& header, const std::vector<meter::TraceChannel>& channels,
                         std::int64_t origin_ns, pid_t pid) {
    if (header.id.empty()) throw StoreError("run store " + m_path + ": a run needs an id");
    const std::string started_at = header.started_at.empty() ? core::iso8601_utc_now() : header.started_at;
    const double started_unix = parse_iso8601(started_at).value_or(unix_now());
    const std::string host = json_text(meter::to_json(header)["host"]);
    const std::string command = json_text(nlohmann::json(header.command));
    const std::string now = core::iso8601_utc_now();
    std::optional<std::int64_t> pid_start;
    if (auto stat = core::process_stat(pid)) pid_start = stat->start_ticks;

    std::vector<std::int64_t> rows;
    write_transaction([&] {
        rows.clear();
        {
            auto q = m_db->cached(
                "INSERT INTO runs (id, name, status, command, started_at, started_unix, "
                "intensity_g_per_kwh, pue, host, hostname, boot_id, pid, pid_start, origin_ns, updated_at, "
                "job_id, node, node_rank) "
                "VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17)");
            q->bind(1, header.id).bind(2, header.name).bind(3, command).bind(4, started_at);
            q->bind(5, started_unix);
            if (header.carbon) q->bind(6, header.carbon->intensity_g_per_kwh).bind(7, header.carbon->pue);
            q->bind(8, host)
                .bind(9, this_hostname())
                .bind(10, core::this_boot_id())
                .bind(11, std::int64_t{pid});
            q->bind(12, pid_start).bind(13, origin_ns).bind(14, now);
            bind_job(*q, 15, header);
            q->run();
        }
        auto c = m_db->cached(
            "INSERT INTO channels (run_id, idx, sensor, name, domain, device, quantity, behaviour, modelled, "
            "accounted, min_period_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
        for (std::size_t i = 0; i < channels.size(); ++i) {
            const sensors::Channel& ch = channels[i].channel;
            c->bind(1, header.id).bind(2, static_cast<std::int64_t>(i)).bind(3, channels[i].sensor);
            c->bind(4, ch.name).bind(5, ch.domain).bind(6, ch.device).bind(7, to_string(ch.quantity));
            c->bind(8, to_string(ch.behaviour)).bind(9, ch.modelled ? 1 : 0).bind(10, ch.accounted ? 1 : 0);
            c->bind(11, static_cast<std::int64_t>(ch.min_period.count()));
            c->run();
            c->reset();
            rows.push_back(sqlite3_last_insert_rowid(m_db->handle()));
        }
        if (!header.tags.empty()) {
            auto t = m_db->cached("INSERT INTO tags (run_id, key, value) VALUES (?1, ?2, ?3)");
            for (const auto& [key, value] : header.tags) {
                t->bind(1, header.id).bind(2, key).bind(3, value);
                t->run();
                t->reset();
            }
        }
    });
    m_channel_rows[header.id] = std::move(rows);
}

std::int64_t RunStore::channel_row(const std::string& run_id, std::uint32_t channel) {
    auto it = m_channel_rows.find(run_id);
    if (it == m_channel_rows.end()) {
        {
            auto q = m_db->cached("SELECT 1 FROM runs WHERE id = ?1");
            q->bind(1, run_id);
            if (!q->step()) throw RunNotFound("run store " + m_path + ": no run with id " + run_id);
        }
        std::vector<std::int64_t> rows;
        auto q = m_db->cached("SELECT idx, id FROM channels WHERE run_id = ?1 ORDER BY idx");
        q->bind(1, run_id);
        while (q->step()) {
            auto idx = static_cast<std::size_t>(q->integer(0));
            if (idx >= rows.size()) rows.resize(idx + 1, -1);
            rows[idx] = q->integer(1);
        }
        it = m_channel_rows.emplace(run_id, std::move(rows)).first;
    }
    return channel < it->second.size() ? it->second[channel] : -1;
}

std::size_t RunStore::append_readings(const std::string& run_id, const std::vector<meter::Reading>& readings,
                                      std::int64_t origin_ns) {
    std::size_t written = 0;
    if (readings.empty()) {
        channel_row(run_id, 0);  // still reports a run that was never begun
        return 0;
    }
    write_transaction([&] {
        written = 0;
        auto q =
            m_db->cached("INSERT OR REPLACE INTO readings (channel_id, t_ns, value) VALUES (?1, ?2, ?3)");
        for (const meter::Reading& r : readings) {
            const std::int64_t row = channel_row(run_id, r.channel);
            // SQLite stores NaN as NULL: a reading without a value is no reading.
            if (row < 0 || !std::isfinite(r.value)) continue;
            q->bind(1, row).bind(2, r.t_ns - origin_ns).bind(3, r.value);
            q->run();
            q->reset();
            ++written;
        }
    });
    return written;
}

void RunStore::append_markers(const std::string& run_id, const std::vector<Marker>& markers,
                              std::size_t first) {
    if (!markers.empty()) write_transaction([&] { insert_markers(*m_db, run_id, markers, first); });
}

void RunStore::finish_run(const meter::RunResult& r, const nlohmann::ordered_json& result_json) {
    if (r.id.empty()) throw StoreError("run store " + m_path + ": a run needs an id");
    const std::string started_at = r.started_at.empty() ? core::iso8601_utc_now() : r.started_at;
    const double started_unix = parse_iso8601(started_at).value_or(unix_now());
    const std::string host = json_text(meter::to_json(r)["host"]);
    const std::string command = json_text(nlohmann::json(r.command));
    const std::string methods = json_text(nlohmann::json(r.energy.domain_method));
    const std::string document = json_text(result_json);
    const std::string now = core::iso8601_utc_now();
    write_transaction([&] {
        {
            auto q = m_db->cached(
                "INSERT INTO runs (id, name, status, command, started_at, started_unix, duration_s, "
                "exit_code, total_energy_j, gpu_energy_j, cpu_energy_j, dram_energy_j, measured_energy_j, "
                "modelled_energy_j, energy_method, co2e_g, intensity_g_per_kwh, pue, host, hostname, "
                "result_json, updated_at, job_id, node, node_rank) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                "?19, ?20, ?21, ?22, ?23, ?24, ?25) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status, "
                "command = excluded.command, started_at = excluded.started_at, "
                "started_unix = excluded.started_unix, duration_s = excluded.duration_s, "
                "exit_code = excluded.exit_code, total_energy_j = excluded.total_energy_j, "
                "gpu_energy_j = excluded.gpu_energy_j, cpu_energy_j = excluded.cpu_energy_j, "
                "dram_energy_j = excluded.dram_energy_j, measured_energy_j = excluded.measured_energy_j, "
                "modelled_energy_j = excluded.modelled_energy_j, energy_method = excluded.energy_method, "
                "co2e_g = excluded.co2e_g, intensity_g_per_kwh = excluded.intensity_g_per_kwh, "
                "pue = excluded.pue, host = excluded.host, result_json = excluded.result_json, "
                "updated_at = excluded.updated_at, job_id = excluded.job_id, node = excluded.node, "
                "node_rank = excluded.node_rank");
            q->bind(1, r.id)
                .bind(2, r.name)
                .bind(3, to_string(r.status))
                .bind(4, command)
                .bind(5, started_at);
            q->bind(6, started_unix).bind(7, r.duration_s).bind(8, r.exit_code).bind(9, r.energy.total_j);
            q->bind(10, r.energy.domain("gpu"))
                .bind(11, r.energy.domain("cpu"))
                .bind(12, r.energy.domain("dram"));
            q->bind(13, r.energy.measured_j).bind(14, r.energy.modelled_j).bind(15, methods);
            if (r.carbon) {
                q->bind(16, r.carbon->co2e_g).bind(17, r.carbon->intensity_g_per_kwh).bind(18, r.carbon->pue);
            }
            q->bind(19, host).bind(20, r.host.hostname.empty() ? this_hostname() : r.host.hostname);
            q->bind(21, document).bind(22, now);
            bind_job(*q, 23, r);
            q->run();
        }
        mark_left_out(r.id, r.energy);
        // The phases, epochs, meta and metrics live in result_json; tags have their table for the filters.
        for (const char* table : {"tags", "markers"}) {
            sqlite::Statement clear(m_db->handle(),
                                    std::string("DELETE FROM ") + table + " WHERE run_id = ?1", m_path);
            clear.bind(1, r.id).run();
        }
        if (!r.tags.empty()) {
            auto q = m_db->cached("INSERT INTO tags (run_id, key, value) VALUES (?1, ?2, ?3)");
            for (const auto& [key, value] : r.tags) {
                q->bind(1, r.id).bind(2, key).bind(3, value);
                q->run();
                q->reset();
            }
        }
    });
}

std::size_t RunStore::refresh_interrupted() {
    if (m_read_only) return 0;
    struct Candidate {
        std::string id, hostname, boot_id;
        std::int64_t pid = 0, pid_start = 0;
    };
    std::vector<Candidate> candidates;
    {
        auto q = m_db->cached(
            "SELECT id, hostname, boot_id, pid, pid_start FROM runs "
            "WHERE status = 'running' AND result_json IS NULL");
        while (q->step())
            candidates.push_back({q->text(0), q->text(1), q->text(2), q->optional_integer(3).value_or(0),
                                  q->optional_integer(4).value_or(0)});
    }
    if (candidates.empty()) return 0;
    const std::string hostname = this_hostname();
    const std::string boot_id = core::this_boot_id();
    std::size_t marked = 0;
    for (const Candidate& c : candidates) {
        if (c.hostname != hostname) continue;  // another machine: cannot tell from here
        const bool rebooted = !c.boot_id.empty() && !boot_id.empty() && c.boot_id != boot_id;
        if (!rebooted && core::process_alive(static_cast<pid_t>(c.pid), c.pid_start)) continue;

        // What the readings say so far, so that the list shows the energy of the run up to where it stopped.
        StoredTrace stored = load_trace(c.id);
        meter::Timeline timeline(stored.channels, stored.readings);
        const std::int64_t end = stored.readings.empty() ? 0 : std::max<std::int64_t>(0, timeline.last_ns());
        const meter::WindowEnergy energy = timeline.energy(0, end);
        try {
            write_transaction([&] {
                auto q = m_db->cached(
                    "UPDATE runs SET status = 'interrupted', duration_s = ?2, total_energy_j = ?3, "
                    "gpu_energy_j = ?4, cpu_energy_j = ?5, dram_energy_j = ?6, measured_energy_j = ?7, "
                    "modelled_energy_j = ?8, "
                    "energy_method = ?9, co2e_g = ?3 / 3.6e6 * coalesce(pue, 1.0) * intensity_g_per_kwh, "
                    "updated_at = ?10 WHERE id = ?1 AND status = 'running' AND result_json IS NULL");
                q->bind(1, c.id).bind(2, core::ns_to_s(end)).bind(3, energy.total_j);
                q->bind(4, optional_domain(energy, "gpu")).bind(5, optional_domain(energy, "cpu"));
                q->bind(6, optional_domain(energy, "dram"))
                    .bind(7, energy.measured_j)
                    .bind(8, energy.modelled_j);
                q->bind(9, json_text(nlohmann::json(energy.domain_method))).bind(10, core::iso8601_utc_now());
                q->run();
                marked += static_cast<std::size_t>(m_db->changes());
            });
        } catch (const StoreFullError&) {
            break;  // a full store can still be listed, shown and cleared (runs rm)
        }
    }
    return marked;
}

std::vector<RunSummary> RunStore::list(const RunFilter& filter) {
    refresh_interrupted();
    return query(filter, nullptr);
}

RunSummary RunStore::summary(const std::string& id_or_prefix) {
    const std::string id = resolve_id(id_or_prefix);
    refresh_interrupted();
    auto runs = query({}, &id);
    if (runs.empty()) throw RunNotFound("no run with id '" + id + "' in " + m_path);
    return runs.front();
}

std::vector<RunSummary> RunStore::query(const RunFilter& filter, const std::string* id) {
    using Value = std::variant<std::string, double, std::int64_t>;
    std::vector<Value> values;
    std::string sql =
        "SELECT id, name, status, command, started_at, started_unix, duration_s, exit_code, total_energy_j, "
        "gpu_energy_j, cpu_energy_j, dram_energy_j, measured_energy_j, modelled_energy_j, co2e_g, hostname, "
        "result_json IS NOT NULL, job_id, node, node_rank FROM runs WHERE 1";
    auto parameter = [&](Value v) {
        values.push_back(std::move(v));
        return "?" + std::to_string(values.size());
    };
    if (id) sql += " AND id = " + parameter(*id);
    if (!filter.name.empty()) {
        if (filter.name.find_first_of("*?[") != std::string::npos)
            sql += " AND name GLOB " + parameter(filter.name);
        else
            sql += " AND instr(lower(name), lower(" + parameter(filter.name) + ")) > 0";
    }
    for (const auto& [key, value] : filter.tags) {
        sql += " AND EXISTS (SELECT 1 FROM tags WHERE tags.run_id = runs.id AND tags.key = " + parameter(key);
        if (!value.empty()) sql += " AND tags.value = " + parameter(value);
        sql += ")";
    }
    if (filter.job) sql += " AND job_id = " + parameter(*filter.job);
    if (filter.status) sql += " AND status = " + parameter(std::string(to_string(*filter.status)));
    if (filter.since_unix) sql += " AND started_unix >= " + parameter(*filter.since_unix);
    if (filter.until_unix) sql += " AND started_unix <= " + parameter(*filter.until_unix);
    sql += " ORDER BY started_unix DESC, id";
    if (filter.limit) sql += " LIMIT " + parameter(static_cast<std::int64_t>(*filter.limit));

    sqlite::Statement q(m_db->handle(), sql, m_path);
    for (std::size_t i = 0; i < values.size(); ++i)
        std::visit([&](const auto& v) { q.bind(static_cast<int>(i + 1), v); }, values[i]);
    std::vector<RunSummary> runs;
    while (q.step()) {
        RunSummary s;
        s.id = q.text(0);
        s.name = q.text(1);
        s.status = meter::parse_run_status(q.text(2)).value_or(meter::RunStatus::failed);
        auto command = nlohmann::json::parse(q.text(3), nullptr, false);
        if (command.is_array())
            for (const auto& word : command)
                if (word.is_string()) s.command.push_back(word.get<std::string>());
        s.started_at = q.text(4);
        s.started_unix = q.real(5);
        s.duration_s = q.optional_real(6);
        if (auto code = q.optional_integer(7)) s.exit_code = static_cast<int>(*code);
        s.total_energy_j = q.optional_real(8);
        s.gpu_energy_j = q.optional_real(9);
        s.cpu_energy_j = q.optional_real(10);
        s.dram_energy_j = q.optional_real(11);
        s.measured_energy_j = q.optional_real(12);
        s.modelled_energy_j = q.optional_real(13);
        s.co2e_g = q.optional_real(14);
        s.hostname = q.text(15);
        s.finished = q.integer(16) != 0;
        s.job_id = q.text(17);
        s.node = q.text(18);
        s.node_rank = q.optional_integer(19);
        runs.push_back(std::move(s));
    }
    auto t = m_db->cached("SELECT key, value FROM tags WHERE run_id = ?1 ORDER BY key");
    for (RunSummary& s : runs) {
        t->bind(1, s.id);
        while (t->step()) s.tags[t->text(0)] = t->text(1);
        t->reset();
    }
    return runs;
}

std::string RunStore::resolve_id(const std::string& prefix) {
    const bool plain = !prefix.empty() && std::all_of(prefix.begin(), prefix.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (!plain) throw RunNotFound("no run with id '" + prefix + "' in " + m_path);
    std::vector<std::string> matches;
    {
        // A GLOB on a prefix without wildcards uses the primary key's index.
        auto q = m_db->cached("SELECT id FROM runs WHERE id GLOB ?1 || '*' ORDER BY id LIMIT 6");
        q->bind(1, prefix);
        while (q->step()) matches.push_back(q->text(0));
    }
    if (std::find(matches.begin(), matches.end(), prefix) != matches.end()) return prefix;
    if (matches.empty()) throw RunNotFound("no run with id '" + prefix + "' in " + m_path);
    if (matches.size() > 1) {
        std::string list;
        for (std::size_t i = 0; i < matches.size() && i < 5; ++i) list += (i ? ", " : "") + matches[i];
        if (matches.size() > 5) list += ", ...";
        throw StoreError("run id '" + prefix + "' is ambiguous (" + list + "); give more characters");
    }
    return matches.front();
}

StoredTrace RunStore::load_trace(const std::string& id) {
    StoredTrace stored;
    {
        auto q = m_db->cached(
            "SELECT idx, sensor, name, domain, device, quantity, behaviour, modelled, accounted, "
            "min_period_ms FROM channels WHERE run_id = ?1 ORDER BY idx");
        q->bind(1, id);
        while (q->step()) {
            auto idx = static_cast<std::size_t>(q->integer(0));
            if (idx >= stored.channels.size()) stored.channels.resize(idx + 1);
            meter::TraceChannel& tc = stored.channels[idx];
            tc.sensor = q->text(1);
            tc.channel.name = q->text(2);
            tc.channel.domain = q->text(3);
            tc.channel.device = q->text(4);
            // A quantity this binary does not know (a newer writer) reads as a utilisation gauge: it then
            // takes no part in energy accounting instead of being mistaken for power.
            auto quantity = quantity_from(q->text(5));
            tc.channel.quantity = quantity.value_or(sensors::Quantity::utilisation);
            tc.channel.behaviour =
                q->text(6) == "counter" && quantity ? sensors::Behaviour::counter : sensors::Behaviour::gauge;
            tc.channel.modelled = q->integer(7) != 0;
            tc.channel.accounted = q->integer(8) != 0;
            tc.channel.min_period = std::chrono::milliseconds(q->integer(9));
        }
    }
    auto q = m_db->cached(
        "SELECT c.idx, r.t_ns, r.value FROM channels c JOIN readings r ON r.channel_id = c.id "
        "WHERE c.run_id = ?1 ORDER BY r.t_ns, c.idx");
    q->bind(1, id);
    while (q->step())
        stored.readings.push_back({q->integer(1), static_cast<std::uint32_t>(q->integer(0)), q->real(2)});
    return stored;
}

StoredTrace RunStore::trace(const std::string& id_or_prefix) {
    return load_trace(resolve_id(id_or_prefix));
}

meter::RunResult RunStore::partial_result(const std::string& id) {
    meter::RunResult r;
    r.id = id;
    std::optional<double> intensity, pue, ended_s;
    {
        auto q = m_db->cached(
            "SELECT name, status, command, started_at, host, intensity_g_per_kwh, pue, job_id, node, "
            "node_rank, duration_s FROM runs WHERE id = ?1");
        q->bind(1, id);
        if (!q->step()) throw RunNotFound("no run with id '" + id + "' in " + m_path);
        r.name = q->text(0);
        r.status = meter::parse_run_status(q->text(1)).value_or(meter::RunStatus::interrupted);
        auto command = nlohmann::json::parse(q->text(2), nullptr, false);
        if (command.is_array())
            for (const auto& word : command)
                if (word.is_string()) r.command.push_back(word.get<std::string>());
        r.started_at = q->text(3);
        auto host = nlohmann::json::parse(q->text(4), nullptr, false);
        if (host.is_object()) r.host = meter::host_from_json(host, r.gpus);
        intensity = q->optional_real(5);
        pue = q->optional_real(6);
        r.job_id = q->text(7);
        r.node = q->text(8);
        r.node_rank = q->optional_integer(9);
        ended_s = q->optional_real(10);
    }
    {
        auto q = m_db->cached("SELECT key, value FROM tags WHERE run_id = ?1 ORDER BY key");
        q->bind(1, id);
        while (q->step()) r.tags[q->text(0)] = q->text(1);
    }

    StoredTrace stored = load_trace(id);
    meter::Timeline timeline(stored.channels, stored.readings);
    const std::int64_t end = stored.readings.empty() ? 0 : std::max<std::int64_t>(0, timeline.last_ns());
    r.energy = timeline.energy(0, end);
    r.duration_s = core::ns_to_s(end);
    r.mean_power_w = r.energy.mean_power_w();
    r.peak_power_w = end > 0 ? timeline.peak_power_w(0, end, 100'000'000) : 0.0;
    if (intensity) {
        meter::CarbonResult carbon;
        carbon.intensity_g_per_kwh = *intensity;
        carbon.pue = pue.value_or(1.0);
        carbon.intensity_source = "as set when the run started";
        carbon.co2e_g = r.energy.total_j / 3.6e6 * carbon.pue * carbon.intensity_g_per_kwh;
        r.carbon = carbon;
    }
    r.overhead.readings = stored.readings.size();
    const std::size_t markers = replay_markers(r, load_markers(*m_db, id), timeline, end);
    const std::string covered = "figures come from the " + std::to_string(stored.readings.size()) +
                                " readings and " + std::to_string(markers) +
                                " markers (phases, epochs, meta, metrics) stored up to " +
                                core::format_fixed(r.duration_s, 1) + " s";
    const bool ended = r.status != meter::RunStatus::running && r.status != meter::RunStatus::interrupted;
    r.warnings.push_back(
        (r.status == meter::RunStatus::running
             ? "this run has not finished (its joulecast is still running or on another host): "
         : ended ? "the store was full when this run ended, so only its status, duration (" +
                       core::format_fixed(ended_s.value_or(r.duration_s), 1) +
                       " s) and totals in `runs list` were stored, not its result; its joulecast wrote the "
                       "result to a file that `joulecast runs import` adds. Here "
                 : "joulecast stopped before this run finished (killed or crashed): ") +
        covered);

    r.partial = true;
    return r;
}

nlohmann::ordered_json RunStore::get_document(const std::string& id_or_prefix) {
    const std::string id = resolve_id(id_or_prefix);
    refresh_interrupted();
    std::optional<std::string> document;
    {
        auto q = m_db->cached("SELECT result_json FROM runs WHERE id = ?1");
        q->bind(1, id);
        if (!q->step()) throw RunNotFound("no run with id '" + id + "' in " + m_path);
        if (!q->is_null(0)) document = q->text(0);
    }
    if (!document) return meter::to_json(partial_result(id));
    auto j = nlohmann::ordered_json::parse(*document, nullptr, false);
    if (j.is_discarded())
        throw StoreError("run store " + m_path + ": the stored result of run " + id + " is damaged");
    return j;
}

meter::RunResult RunStore::get(const std::string& id_or_prefix) {
    const std::string id = resolve_id(id_or_prefix);
    auto document = get_document(id);
    if (document.value("partial", false)) {
        // Built here, not stored: typed already, no JSON round trip needed.
        return partial_result(id);
    }
    auto run = meter::run_from_json(document);
    if (!run)
        throw StoreError("run store " + m_path + ": the stored result of run " + id +
                         " cannot be read: " + run.error());
    return std::move(run).value();
}

bool RunStore::contains(const std::string& id) {
    auto q = m_db->cached("SELECT 1 FROM runs WHERE id = ?1");
    q->bind(1, id);
    return q->step();
}

std::unique_ptr<RunStore> open_store_to_read(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return nullptr;
    return std::make_unique<RunStore>(path, StoreAccess::read);
}

}  // namespace joulecast::store
