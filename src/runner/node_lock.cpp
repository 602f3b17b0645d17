#include "runner/node_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace joulecast::runner {

namespace {

std::string safe_name(const std::string& id) {
    std::string out;
    for (char c : id.substr(0, 100)) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '-' || c == '_' || c == '.';
        out += plain ? c : '_';
    }
    // Ids that differ only in replaced characters must not share a lock.
    return out + "-" + std::to_string(std::hash<std::string>{}(id) % 1000000007u);
}

int open_file(const std::string& path) {
    return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int lock(int fd, int operation) {
    int rc;
    do rc = ::flock(fd, operation);
    while (rc != 0 && errno == EINTR);
    return rc;
}

}  // namespace

std::optional<NodeMembership> NodeMembership::acquire(const std::string& job_id, std::string& why,
                                                      const std::string& directory) {
    std::string dir = directory;
    if (dir.empty()) {
        const char* runtime = std::getenv("XDG_RUNTIME_DIR");
        struct stat info {};
        dir = runtime && *runtime && ::stat(runtime, &info) == 0 && S_ISDIR(info.st_mode) ? runtime : "/tmp";
    }
    const std::string base = dir + "/joulecast-job-" + std::to_string(::getuid()) + "-" + safe_name(job_id);
    NodeMembership m;
    m.m_socket_file = base + ".socket";
    m.m_lock_fd = open_file(base + ".lock");
    m.m_members_fd = open_file(base + ".members");
    if (m.m_lock_fd < 0 || m.m_members_fd < 0) {
        why = "cannot use the job's lock files " + base + ".*: " + std::strerror(errno);
        return std::nullopt;
    }
    for (;;) {
        if (lock(m.m_lock_fd, LOCK_EX | LOCK_NB) == 0) {
            m.m_leader = true;
            ::unlink(m.m_socket_file.c_str());  // a stale path of an earlier leader
            return m;
        }
        if (errno != EWOULDBLOCK) break;
        // A run measures: join it, then check that it has not ended meanwhile (it takes `members` exclusively
        // before it lets the lock go, so our shared lock was granted either before that or after its end).
        if (lock(m.m_members_fd, LOCK_SH) != 0) break;
        if (lock(m.m_lock_fd, LOCK_EX | LOCK_NB) == 0) {
            lock(m.m_members_fd, LOCK_UN);
            m.m_leader = true;
            ::unlink(m.m_socket_file.c_str());
            return m;
        }
        if (errno != EWOULDBLOCK) break;
        return m;
    }
    why = std::string("cannot lock the job's lock file: ") + std::strerror(errno);
    return std::nullopt;
}

NodeMembership::NodeMembership(NodeMembership&& other) noexcept
    : m_leader(other.m_leader),
      m_lock_fd(other.m_lock_fd),
      m_members_fd(other.m_members_fd),
      m_socket_file(std::move(other.m_socket_file)) {
    other.m_lock_fd = other.m_members_fd = -1;
    other.m_leader = false;
}

NodeMembership& NodeMembership::operator=(NodeMembership&& other) noexcept {
    if (this != &other) {
        release();
        m_leader = other.m_leader;
        m_lock_fd = other.m_lock_fd;
        m_members_fd = other.m_members_fd;
        m_socket_file = std::move(other.m_socket_file);
        other.m_lock_fd = other.m_members_fd = -1;
        other.m_leader = false;
    }
    return *this;
}

NodeMembership::~NodeMembership() {
    release();
}

void NodeMembership::release() noexcept {
    if (m_leader && !m_socket_file.empty()) ::unlink(m_socket_file.c_str());
    // The job lock goes first, while `members` is still held (exclusively after wait_for_joiners): a run
    // waiting for `members` then finds the lock free, or held by a new measuring run (see acquire).
    if (m_lock_fd >= 0) ::close(m_lock_fd);
    if (m_members_fd >= 0) ::close(m_members_fd);
    m_lock_fd = m_members_fd = -1;
    m_leader = false;
}

void NodeMembership::publish(const std::string& socket_path) {
    const std::string temporary = m_socket_file + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << socket_path << '\n' << ::getpid() << '\n';
    }
    ::rename(temporary.c_str(), m_socket_file.c_str());  // whole or absent for a reader
}

std::optional<std::string> NodeMembership::leader_socket(std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::ifstream in(m_socket_file);
        std::string path;
        if (in && std::getline(in, path) && !path.empty()) return path;
        if (std::chrono::steady_clock::now() >= until) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::optional<long> NodeMembership::leader_pid() const {
    std::ifstream in(m_socket_file);
    std::string path;
    long pid = 0;
    if (in && std::getline(in, path) && in >> pid && pid > 0) return pid;
    return std::nullopt;
}

bool NodeMembership::leader_alive() const {
    if (m_leader || m_lock_fd < 0) return m_leader;
    // A shared lock is granted only when no run holds the exclusive one; it is let go at once.
    if (lock(m_lock_fd, LOCK_SH | LOCK_NB) == 0) {
        lock(m_lock_fd, LOCK_UN);
        return false;
    }
    return true;
}

bool NodeMembership::wait_for_joiners(std::ostream* log) {
    if (!m_leader || m_members_fd < 0) return false;
    if (lock(m_members_fd, LOCK_EX | LOCK_NB) == 0) return false;
    if (log) *log << "joulecast: waiting for the runs that joined this measurement to end their commands\n";
    lock(m_members_fd, LOCK_EX);
    return true;
}

}  // namespace joulecast::runner
