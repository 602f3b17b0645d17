// Writing to a store that cannot grow (a full disk, a quota, a file size limit): removing runs to make room,
// and finishing a run whose full result no longer fits.

#include <string>

#include "core/clock.hpp"
#include "store/run_store.hpp"
#include "store/sqlite.hpp"

namespace joulecast::store {

using core::iso8601_utc_now;

using meter::RunResult;

namespace {

/// Sets the journal mode; returns the mode now in force ("wal", "memory", ...).
std::string set_journal_mode(sqlite::Database& db, const char* mode) {
    sqlite::Statement q(db.handle(), std::string("PRAGMA journal_mode = ") + mode, db.path());
    return q.step() ? q.text(0) : std::string();
}

}  // namespace

void RunStore::write_despite_full(const std::function<void()>& body) {
    try {
        transaction(body);
        return;
    } catch (const StoreFullError&) {
        // Below: two ways that need no more space.
    }
    // The WAL's frames go into the database, and the WAL is cut to nothing: its space is free again and the
    // next transaction writes from its start. This fails when the database itself must grow for them.
    try {
        m_db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const StoreError&) {
        // Then only writing in place is left.
    }
    try {
        transaction(body);
        return;
    } catch (const StoreFullError&) {
    }
    // In place: the rollback journal in memory and pages changed where they are, so that a deletion or a
    // small update needs no new space. Leaving WAL mode needs the store to itself.
    std::string mode;
    try {
        mode = set_journal_mode(*m_db, "memory");
    } catch (const StoreError&) {
    }
    if (mode != "memory")
        throw StoreFullError("run store " + m_path +
                             " is full, and cannot be changed in place while another process has it open "
                             "(a joulecast run or study using it): end them and try again, or free space on "
                             "its disk");
    try {
        transaction(body);
    } catch (...) {
        try {
            set_journal_mode(*m_db, "wal");
        } catch (const StoreError&) {
            // The next joulecast to open the store sets WAL mode again.
        }
        throw;
    }
    try {
        set_journal_mode(*m_db, "wal");
    } catch (const StoreError&) {
    }
}

bool RunStore::remove(const std::string& id) {
    bool removed = false;
    write_despite_full([&] {
        auto q = m_db->cached("DELETE FROM runs WHERE id = ?1");
        q->bind(1, id);
        q->run();
        removed = m_db->changes() > 0;
        // A store with incremental auto_vacuum gives the freed pages back to the disk (at the checkpoint in
        // WAL mode, at once in place); in an older store they stay free for its next runs.
        if (removed && m_db->query_integer("PRAGMA auto_vacuum") == 2)
            m_db->exec("PRAGMA incremental_vacuum");
    });
    m_channel_rows.erase(id);
    return removed;
}

void RunStore::finish_run_when_full(const RunResult& r) {
    if (r.id.empty()) throw StoreError("run store " + m_path + ": a run needs an id");
    const std::string methods =
        nlohmann::json(r.energy.domain_method).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    write_despite_full([&] {
        auto q = m_db->cached(
            "UPDATE runs SET status = ?2, duration_s = ?3, exit_code = ?4, total_energy_j = ?5, "
            "gpu_energy_j = ?6, cpu_energy_j = ?7, dram_energy_j = ?8, measured_energy_j = ?9, "
            "modelled_energy_j = ?10, energy_method = ?11, co2e_g = ?12, updated_at = ?13 "
            "WHERE id = ?1 AND result_json IS NULL");
        q->bind(1, r.id).bind(2, to_string(r.status)).bind(3, r.duration_s).bind(4, r.exit_code);
        q->bind(5, r.energy.total_j).bind(6, r.energy.domain("gpu")).bind(7, r.energy.domain("cpu"));
        q->bind(8, r.energy.domain("dram")).bind(9, r.energy.measured_j).bind(10, r.energy.modelled_j);
        q->bind(11, methods);
        if (r.carbon) q->bind(12, r.carbon->co2e_g);
        q->bind(13, iso8601_utc_now());
        q->run();
        if (m_db->changes() == 0) throw RunNotFound("run store " + m_path + ": no run begun with id " + r.id);
        mark_left_out(r.id, r.energy);
    });
}

void RunStore::mark_left_out(const std::string& id, const meter::WindowEnergy& energy) {
    // Devices left out of the totals after their channels were recorded (`--gpus used`): so too in the
    // stored trace, so that what is read back from it (runs show, a report, an export) counts what the
    // result counts.
    auto q =
        m_db->cached("UPDATE channels SET accounted = 0 WHERE run_id = ?1 AND sensor = ?2 AND device = ?3");
    for (const auto& [sensor, device] : meter::left_out_devices(energy)) {
        q->bind(1, id).bind(2, sensor).bind(3, device);
        q->run();
        q->reset();
    }
}

}  // namespace joulecast::store
