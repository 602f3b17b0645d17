#pragma once
// The workload's markers (phases, epochs, meta, metrics) stored while the run goes on, on the readings'
// cadence, so that a run whose joulecast was killed keeps what it marked up to the last flush. A finished run
// keeps its phases, epochs, meta and metrics in its result JSON; its markers are then deleted.

#include <cstdint>
#include <string>
#include <vector>

#include "meter/energy.hpp"
#include "meter/run_result.hpp"

namespace joulecast::store {

namespace sqlite {
class Database;
}

/// One control line as received: `t_ns` when it happened, `line` as format_control_line writes it.
struct Marker {
    std::int64_t t_ns = 0;
    std::string line;
};

/// Inserts markers (times already relative to the run's origin) as rows first_index, first_index+1, ...
/// Runs inside the caller's transaction.
void insert_markers(sqlite::Database& db, const std::string& run_id, const std::vector<Marker>& markers,
                    std::size_t first_index);
/// The stored markers of a run in order (times relative to its origin).
std::vector<Marker> load_markers(sqlite::Database& db, const std::string& run_id);

/// Replays stored markers over the stored readings (`timeline`, relative times) into result.phases, epochs,
/// meta and metrics, as the run itself would have reported them at `end_ns`; phases still open there are
/// closed=false. Returns how many markers were replayed.
std::size_t replay_markers(meter::RunResult& result, const std::vector<Marker>& markers,
                           const meter::Timeline& timeline, std::int64_t end_ns);

}  // namespace joulecast::store
