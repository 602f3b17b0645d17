#include "store/sqlite.hpp"

#include <sqlite3.h>

namespace joulecast::sqlite {

void throw_error(int code, const std::string& path, const std::string& what, const char* message) {
    std::string text = "run store " + path + ": " + what + ": " + (message ? message : sqlite3_errstr(code));
    const int primary = code & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw BusyError(text);
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
    sqlite3_reset(m_statement);
    throw_error(rc, m_path, what, message.c_str());
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
        throw_error(rc, m_path, "running '" + sql.substr(0, 60) + "'", text.c_str());
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
    throw_error(code, m_path, what, sqlite3_errmsg(m_db));
}

}  // namespace joulecast::sqlite
