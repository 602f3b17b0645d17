#pragma once
// The run store's schema as an ordered list of migrations. PRAGMA user_version holds the version of the last
// one applied; PRAGMA application_id marks the file as a joulecast store. Never edit a released migration:
// append a new one (a version one higher) and the stores already out there follow.

#include <string>
#include <vector>

namespace joulecast::store {

namespace sqlite {
class Database;
}

struct Migration {
    int version;              ///< 1, 2, ... in order
    std::string description;  ///< e.g. "initial schema"
    std::string sql;          ///< statements that take a store from version-1 to version
};

/// "JCST" in ASCII: PRAGMA application_id of every joulecast store.
inline constexpr int store_application_id = 0x4A435354;

/// The migrations this binary knows, in order (v1: initial schema; v2: markers of running runs; v3: drops the
/// phases, epochs, meta and metrics tables, which nothing read).
const std::vector<Migration>& store_migrations();

/// Brings the store to the last version of `migrations`, each migration in its own IMMEDIATE transaction
/// (re-reading the version inside it, so two processes opening a new store at once apply each step once).
/// Throws StoreError when the file is newer than `migrations` know, or is another program's database.
void migrate(sqlite::Database& db, const std::vector<Migration>& migrations);

}  // namespace joulecast::store
