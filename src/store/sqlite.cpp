#include "store/sqlite.hpp"

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace joulecast::store::sqlite {

namespace {

/// Whether a failed write to the store at `path` was for want of space: SQLite reports a write that a file
/// size limit refused (EFBIG) as a plain I/O error and has lost errno by then, so the limit and the free
/// space are checked here.
bool out_of_space(const std::string& path) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        // Within a few pages of the limit: the database or its WAL could not grow.
        for (const char* suffix : {"", "-wal"}) {
            struct stat st {};
            const std::string file = path + suffix;
            if (::stat(file.c_str(), &st) == 0 &&
                static_cast<rlim_t>(st.st_size) + 64 * 1024 >= limit.rlim_cur)
                return true;
        }
    }
    const auto slash = path.find_last_of('/');
    const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    struct statvfs fs {};
    return ::statvfs(folder.c_str(), &fs) == 0 &&
           static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize < 1024ULL * 1024;
}

}  // namespace

void throw_error(int code, const std::string& path, const std::string& what, const char* message,
                 int system_errno) {
    std::string text = "run store " + path + ": " + what + ": " + (message ? message : sqlite3_errstr(code));
    const int primary = code & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw BusyError(text);
    // A full disk, a quota or a file size limit: SQLite says SQLITE_FULL when a write was cut short, and an
    // I/O error when it failed outright; the system's errno tells which.
    const bool no_space = system_errno == ENOSPC || system_errno == EFBIG || system_errno == EDQUOT;
    if (primary == SQLITE_FULL || (primary == SQLITE_IOERR && no_space) ||
        (code == SQLITE_IOERR_WRITE && out_of_space(path)))
        throw StoreFullError("run store " + path + " cannot grow: " +
                             (no_space
                                  ? std::string(std::strerror(system_errno))
                                  : std::string("no space (a full disk, a quota or a file size limit)")) +
                             " (" + what +
                             "); free space on its disk, remove runs with `joulecast runs rm`, "
                             "or choose another store with --db or JOULECAST_DB");
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        throw StoreError("run store " + path + " is damaged or not a joulecast run store (" + what + ": " +
                         (message ? message : sqlite3_errstr(code)) + ")");
    if (primary == SQLITE_READONLY)
        throw StoreError("run store " + path + " is read-only (" + what +
                         "); give write access to the file and its folder, or choose another store with --db "
                         "or JOULECAST_DB");
    throw StoreError(text);
}

Statement::Statement(sqlite3* db, std::string_view sql, const std::string& path) : m_db(db), m_path(path) {
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                &m_statement, nullptr);
    if (rc != SQLITE_OK) throw_error(rc, m_path, "preparing '" + std::string(sql) + "'", sqlite3_errmsg(db));
}

Statement::~Statement() {
    sqlite3_finalize(m_statement);
}

Statement& Statement::bind(int index, std::int64_t value) {
    int rc = sqlite3_bind_int64(m_statement, index, value);
    if (rc != SQLITE_OK) throw_error(rc, m_path, "binding a value", sqlite3_errmsg(m_db));
    return *this;
}

Statement& Statement::bind(int index, double value) {
    int rc = sqlite3_bind_double(m_statement, index, value);
    if (rc != SQLITE_OK) throw_error(rc, m_path, "binding a value", sqlite3_errmsg(m_db));
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    int rc =
        sqlite3_bind_text64(m_statement, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) throw_error(rc, m_path, "binding a value", sqlite3_errmsg(m_db));
    return *this;
}

Statement& Statement::bind_null(int index) {
    int rc = sqlite3_bind_null(m_statement, index);
    if (rc != SQLITE_OK) throw_error(rc, m_path, "binding a value", sqlite3_errmsg(m_db));
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(m_statement);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // Copy the message before reset() replaces it.
    std::string message = sqlite3_errmsg(m_db);
    const char* sql = sqlite3_sql(m_statement);
    std::string what = "running '" + std::string(sql ? sql : "?").substr(0, 60) + "'";
    const int system_errno = sqlite3_system_errno(m_db);
    sqlite3_reset(m_statement);
    throw_error(rc, m_path, what, message.c_str(), system_errno);
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(m_statement);
    sqlite3_clear_bindings(m_statement);
}

bool Statement::is_null(int column) const {
    return sqlite3_column_type(m_statement, column) == SQLITE_NULL;
}
std::int64_t Statement::integer(int column) const {
    return sqlite3_column_int64(m_statement, column);
}
double Statement::real(int column) const {
    return sqlite3_column_double(m_statement, column);
}

std::string Statement::text(int column) const {
    const unsigned char* text = sqlite3_column_text(m_statement, column);
    if (!text) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column)));
}

std::optional<std::int64_t> Statement::optional_integer(int column) const {
    if (is_null(column)) return std::nullopt;
    return integer(column);
}

std::optional<double> Statement::optional_real(int column) const {
    if (is_null(column)) return std::nullopt;
    return real(column);
}

Database::Database(const std::string& path) : m_path(path) {
    int rc = sqlite3_open_v2(path.c_str(), &m_db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
        sqlite3_close(m_db);
        m_db = nullptr;
        throw_error(rc, m_path, "cannot open", message.c_str());
    }
    sqlite3_extended_result_codes(m_db, 1);
}

Database::~Database() {
    m_cache.clear();  // statements must be finalized before the connection closes
    sqlite3_close(m_db);
}

void Database::exec(const std::string& sql) {
    char* message = nullptr;
    int rc = sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string text = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        throw_error(rc, m_path, "running '" + sql.substr(0, 60) + "'", text.c_str(),
                    sqlite3_system_errno(m_db));
    }
}

std::int64_t Database::query_integer(const std::string& sql) {
    Statement statement(m_db, sql, m_path);
    if (!statement.step()) return 0;
    return statement.integer(0);
}

ScopedStatement Database::cached(const char* sql) {
    auto& slot = m_cache[sql];
    if (!slot) slot = std::make_unique<Statement>(m_db, sql, m_path);
    return ScopedStatement(*slot);
}

bool Database::read_only() {
    return sqlite3_db_readonly(m_db, "main") == 1;
}

std::int64_t Database::changes() {
    return sqlite3_changes64(m_db);
}

void Database::fail(int code, const std::string& what) {
    throw_error(code, m_path, what, sqlite3_errmsg(m_db), sqlite3_system_errno(m_db));
}

}  // namespace joulecast::store::sqlite
