#pragma once
// One measurement per node and job (docs/distributed.md): the first `joulecast run` of a job on a node
// measures; the others with the same job id join it. Race-free through flock(2) on files in the runtime
// directory ($XDG_RUNTIME_DIR, else /tmp), one set per job id and user:
//   joulecast-job-<uid>-<id>.lock     held exclusively by the measuring run for its whole life;
//   joulecast-job-<uid>-<id>.members  held shared by each joined run while its command runs; the measuring
//                                     run takes it exclusively before it stops, so it waits for them;
//   joulecast-job-<uid>-<id>.socket   the measuring run's control socket path and its pid, one a line.
// A run that fails to take the lock takes `members` shared, then tries the lock again: when it now succeeds
// the measuring run has ended (it releases the lock only after `members`), and this one measures instead.

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

namespace joulecast::runner {

class NodeMembership {
public:
    /// Decides whether this run measures the job on this node (leader) or joins the one that does.
    /// `directory` empty: $XDG_RUNTIME_DIR, else /tmp. Returns none (measure alone) when the lock files
    /// cannot be used, with the reason in `why`.
    static std::optional<NodeMembership> acquire(const std::string& job_id, std::string& why,
                                                 const std::string& directory = {});
    ~NodeMembership();
    NodeMembership(NodeMembership&& other) noexcept;
    NodeMembership& operator=(NodeMembership&& other) noexcept;
    NodeMembership(const NodeMembership&) = delete;

    bool leader() const { return m_leader; }
    /// Leader: makes its control socket known to the runs that join.
    void publish(const std::string& socket_path);
    /// Joiner: the measuring run's control socket (waits up to `timeout` for it to be published); none when
    /// it was not.
    std::optional<std::string> leader_socket(std::chrono::milliseconds timeout) const;
    /// Joiner: the pid of the measuring run, as it published it with its socket; none when unknown.
    std::optional<long> leader_pid() const;
    /// Joiner: whether the measuring run still holds the job's lock. False once it has let it go: it ended
    /// without waiting for this run (it waits for joined runs when it stops normally), so it was killed or
    /// crashed. Never blocks.
    bool leader_alive() const;
    /// Leader: waits until every joined run's command has ended. True when some had not yet (it waited).
    bool wait_for_joiners(std::ostream* log);

private:
    NodeMembership() = default;
    void release() noexcept;
    bool m_leader = false;
    int m_lock_fd = -1;
    int m_members_fd = -1;
    std::string m_socket_file;
};

}  // namespace joulecast::runner
