#pragma once
// A thin RAII layer over the SQLite C API for the run store: one connection, prepared statements, and errors
// turned into StoreError (BusyError when another process holds the lock longer than the busy timeout).
// Internal to src/store; the rest of joulecast sees only RunStore.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/run_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace joulecast::store::sqlite {

/// SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock; the whole transaction may be retried.
class BusyError : public StoreError {
public:
    using StoreError::StoreError;
};

class Statement {
public:
    Statement(sqlite3* db, std::string_view sql, const std::string& path);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    /// Parameters are numbered from 1, as in SQLite.
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    Statement& bind_null(int index);
    template <typename T>
    Statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bind_null(index);
    }

    /// Runs one step: true while a row is available, false when done. Throws StoreError / BusyError.
    bool step();
    /// Runs to completion (for statements without rows).
    void run();
    /// Makes the statement ready to bind and run again.
    void reset();

    bool is_null(int column) const;
    std::int64_t integer(int column) const;
    double real(int column) const;
    std::string text(int column) const;
    std::optional<std::int64_t> optional_integer(int column) const;
    std::optional<double> optional_real(int column) const;

private:
    sqlite3* m_db;
    sqlite3_stmt* m_statement = nullptr;
    const std::string& m_path;
};

/// A cached statement in use: reset (bindings cleared, read snapshot released) when it goes out of scope.
class ScopedStatement {
public:
    explicit ScopedStatement(Statement& statement) : m_statement(statement) {}
    ~ScopedStatement() { m_statement.reset(); }
    ScopedStatement(const ScopedStatement&) = delete;
    ScopedStatement& operator=(const ScopedStatement&) = delete;
    Statement* operator->() { return &m_statement; }
    Statement& operator*() { return m_statement; }

private:
    Statement& m_statement;
};

class Database {
public:
    /// Opens (creating when allowed) the file at `path`; throws StoreError naming it.
    explicit Database(const std::string& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    const std::string& path() const { return m_path; }
    sqlite3* handle() { return m_db; }

    /// Runs one or more statements without results.
    void exec(const std::string& sql);
    /// A single integer result, e.g. of "PRAGMA user_version".
    std::int64_t query_integer(const std::string& sql);
    /// A prepared statement kept for the life of the connection (keyed by the address of `sql`, so pass a
    /// literal), ready to bind.
    ScopedStatement cached(const char* sql);
    bool read_only();
    std::int64_t changes();

    /// Turns an SQLite result code into StoreError / BusyError with `what` and the connection's message.
    [[noreturn]] void fail(int code, const std::string& what);

private:
    std::string m_path;
    sqlite3* m_db = nullptr;
    std::unordered_map<const char*, std::unique_ptr<Statement>> m_cache;
};

/// Throws the exception for `code` (BusyError for SQLITE_BUSY/LOCKED; StoreFullError for SQLITE_FULL, and
/// for an I/O error whose `system_errno` is ENOSPC, EFBIG or EDQUOT; StoreError otherwise).
[[noreturn]] void throw_error(int code, const std::string& path, const std::string& what, const char* message,
                              int system_errno = 0);

}  // namespace joulecast::store::sqlite
