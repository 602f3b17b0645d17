#include "store/markers.hpp"

#include "control/dispatch.hpp"
#include "control/protocol.hpp"
#include "meter/phases.hpp"
#include "store/sqlite.hpp"

namespace joulecast::store {

using meter::PhaseRecorder;
using meter::RunResult;
using meter::Timeline;

using control::dispatch_control;
using control::parse_control_line;

void insert_markers(sqlite::Database& db, const std::string& run_id, const std::vector<Marker>& markers,
                    std::size_t first_index) {
    auto q = db.cached("INSERT OR REPLACE INTO markers (run_id, idx, t_ns, line) VALUES (?1, ?2, ?3, ?4)");
    for (std::size_t i = 0; i < markers.size(); ++i) {
        q->bind(1, run_id).bind(2, static_cast<std::int64_t>(first_index + i)).bind(3, markers[i].t_ns);
        q->bind(4, markers[i].line);
        q->run();
        q->reset();
    }
}

std::vector<Marker> load_markers(sqlite::Database& db, const std::string& run_id) {
    std::vector<Marker> markers;
    auto q = db.cached("SELECT t_ns, line FROM markers WHERE run_id = ?1 ORDER BY idx");
    q->bind(1, run_id);
    while (q->step()) markers.push_back({q->integer(0), q->text(1)});
    return markers;
}

std::size_t replay_markers(RunResult& result, const std::vector<Marker>& markers, const Timeline& timeline,
                           std::int64_t end_ns) {
    PhaseRecorder recorder;
    std::size_t replayed = 0;
    for (const Marker& marker : markers) {
        auto message = parse_control_line(marker.line);
        if (!message) continue;  // stored as the server accepted it: cannot happen short of a damaged store
        dispatch_control(recorder, marker.t_ns, *message);
        ++replayed;
    }
    recorder.finish(result, timeline, 0, end_ns);
    return replayed;
}

}  // namespace joulecast::store
