#include "sensors/job/job_cpu_sensor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <map>

#include "core/text.hpp"

namespace joulecast::sensors {

using core::parse_int;
using core::trim;

namespace {

namespace fs = std::filesystem;

/// The whole of a small procfs file with open/read/close, into `out` (reused, so no allocation once it is
/// large enough): a std::ifstream costs several times the system calls' own price, five times a second.
bool read_small_file(const std::string& path, std::string& out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    out.clear();
    char chunk[4096];
    bool ok = true;
    while (true) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) ok = false;
        if (n <= 0) break;
        out.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return ok;
}

/// The next space-separated word of `text` (empty words skipped), consumed from it; empty at the end.
std::string_view next_word(std::string_view& text) {
    const std::size_t begin = text.find_first_not_of(' ');
    if (begin == std::string_view::npos) {
        text = {};
        return {};
    }
    const std::size_t end = text.find(' ', begin);
    const std::string_view word = text.substr(begin, end == std::string_view::npos ? text.npos : end - begin);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    return word;
}

struct ProcStat {
    int ppid = 0;
    std::uint64_t ticks = 0;  ///< utime + stime + cutime + cstime
    long long threads = 0;    ///< num_threads; 0 where the line stops before it
};

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the last ')'.
    const std::size_t close = text.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = trim(text.substr(close + 1));
    std::string_view fields[18];
    std::size_t count = 0;
    for (std::string_view word = next_word(rest); !word.empty() && count < 18; word = next_word(rest))
        fields[count++] = word;
    if (count < 15) return std::nullopt;
    ProcStat stat;
    auto ppid = parse_int(fields[1]);
    if (!ppid) return std::nullopt;
    stat.ppid = static_cast<int>(*ppid);
    for (std::size_t i = 11; i <= 14; ++i) {  // utime, stime, cutime, cstime
        auto value = parse_int(fields[i]);
        if (!value || *value < 0) return std::nullopt;
        stat.ticks += static_cast<std::uint64_t>(*value);
    }
    if (count > 17) stat.threads = parse_int(fields[17]).value_or(0);
    return stat;
}

std::optional<ProcStat> read_proc_stat(const std::string& path, std::string& buffer) {
    if (!read_small_file(path, buffer)) return std::nullopt;
    return parse_proc_stat(buffer);
}

/// Appends the pids listed in a children file's text.
void append_children(std::string_view text, std::vector<int>& out) {
    text = trim(text);
    for (std::string_view word = next_word(text); !word.empty(); word = next_word(text))
        if (auto child = parse_int(word)) out.push_back(static_cast<int>(*child));
}

/// Children of `pid` from /proc/PID/task/TID/children (every thread's), appended to `out`; false where the
/// kernel has no such files (CONFIG_PROC_CHILDREN off, or a fake tree), so that the caller scans every
/// process instead. A process with one thread (`threads` == 1, from its stat) has one such file,
/// task/PID/children, read without listing the task folder.
bool listed_children(const std::string& proc_root, int pid, long long threads, std::vector<int>& out,
                     std::string& buffer) {
    const std::string tasks = proc_root + "/" + std::to_string(pid) + "/task";
    if (threads == 1 && read_small_file(tasks + "/" + std::to_string(pid) + "/children", buffer)) {
        append_children(buffer, out);
        return true;
    }
    std::error_code ec;
    bool any_file = false;
    for (fs::directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec)) {
        if (!read_small_file(it->path().string() + "/children", buffer)) continue;
        any_file = true;
        append_children(buffer, out);
    }
    return any_file;
}

/// Ticks of the processes in `pending` and all their descendants, following the kernel's children lists.
std::uint64_t listed_descendant_ticks(const std::string& proc_root, std::vector<int> pending,
                                      std::string& buffer) {
    std::uint64_t total = 0;
    while (!pending.empty()) {
        const int pid = pending.back();
        pending.pop_back();
        // A process may exit between listing and reading: skip it (its time moves to its parent's cutime).
        auto stat = read_proc_stat(proc_root + "/" + std::to_string(pid) + "/stat", buffer);
        if (!stat) continue;
        total += stat->ticks;
        listed_children(proc_root, pid, stat->threads, pending, buffer);
    }
    return total;
}

}  // namespace

bool in_process_tree(const std::string& proc_root, int root, int pid) {
    if (root <= 0 || pid <= 0) return false;
    std::string buffer;
    // A chain longer than pid_max is a loop in a fake tree.
    for (int hops = 0; hops < 4096 && pid > 1; ++hops) {
        if (pid == root) return true;
        auto stat = read_proc_stat(proc_root + "/" + std::to_string(pid) + "/stat", buffer);
        if (!stat || stat->ppid == pid) return false;
        pid = stat->ppid;
    }
    return pid == root;
}

std::optional<std::uint64_t> process_tree_ticks(const std::string& proc_root, int root) {
    std::string buffer;
    buffer.reserve(512);
    auto root_stat = read_proc_stat(proc_root + "/" + std::to_string(root) + "/stat", buffer);
    if (!root_stat) return std::nullopt;
    std::uint64_t total = root_stat->ticks;

    // Cheap path: follow the kernel's children lists from the root, reading only the tree's processes.
    std::vector<int> pending;
    if (listed_children(proc_root, root, root_stat->threads, pending, buffer))
        return total + listed_descendant_ticks(proc_root, std::move(pending), buffer);

    std::multimap<int, std::pair<int, std::uint64_t>> children;  // ppid -> (pid, ticks)
    std::error_code ec;
    for (fs::directory_iterator it(proc_root, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        int pid = 0;
        auto [ptr, perr] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (perr != std::errc() || ptr != name.data() + name.size() || pid == root) continue;
        if (auto stat = read_proc_stat(it->path().string() + "/stat", buffer))
            children.emplace(stat->ppid, std::make_pair(pid, stat->ticks));
    }
    pending = {root};
    while (!pending.empty()) {
        const int parent = pending.back();
        pending.pop_back();
        auto [first, last] = children.equal_range(parent);
        for (auto it = first; it != last; ++it) {
            total += it->second.second;
            pending.push_back(it->second.first);
        }
    }
    return total;
}

std::optional<std::uint64_t> busy_cpu_ticks(const std::string& proc_root) {
    std::string text;
    if (!read_small_file(proc_root + "/stat", text)) return std::nullopt;
    auto times = parse_proc_stat_cpu(text);
    if (!times) return std::nullopt;
    return times->busy();
}

std::optional<std::uint64_t> JobCpuSensor::read_busy_ticks() {
    auto times = m_proc_stat->read(m_reader);
    if (!times) return std::nullopt;
    return times->busy();
}

JobCpuSensor::JobCpuSensor(std::string proc_root, std::shared_ptr<ProcStatCpu> proc_stat)
    : m_proc_root(std::move(proc_root)), m_proc_stat(shared_or_own(std::move(proc_stat), m_proc_root)) {
    m_reader = m_proc_stat->add_reader();
}

Availability JobCpuSensor::probe() {
    m_channels.clear();
    m_started = false;
    m_root_stat.close();
    m_root_children.close();
    m_open_root = 0;
    auto busy = m_proc_stat->open() == 0 ? read_busy_ticks() : std::nullopt;
    if (!busy)
        return Availability::no("cannot measure the job's CPU share: " + m_proc_root +
                                "/stat is missing or not in the expected format");
    m_busy_ticks = *busy;
    m_started = true;
    Channel channel;
    channel.name = share_channel;
    channel.domain = "job";
    channel.device = "job";
    channel.quantity = Quantity::utilisation;
    channel.behaviour = Behaviour::gauge;
    channel.accounted = false;
    // A scan of every /proc/PID/stat: five times a second bounds its cost and the last unattributed interval.
    // The CPU model reads at the same rate, so that both use one read of /proc/stat (ProcStatCpu).
    channel.min_period = std::chrono::milliseconds(200);
    m_channels.push_back(channel);
    return Availability::yes();
}

std::optional<std::uint64_t> JobCpuSensor::read_job_ticks(int root) {
    // The root's stat and children files stay open while the root is the same: opening a /proc/PID path
    // costs several times the read itself (and most of a job-cpu reading). A descriptor keeps pointing at the
    // process it was opened for: its reads fail once the root is reaped, and the job is then gone, whoever
    // gets its PID next. Where the files could not be opened, the general walk by path is taken.
    if (root != m_open_root) {
        m_open_root = root;
        const std::string folder = m_proc_root + "/" + std::to_string(root);
        m_root_stat.open(folder + "/stat");
        m_root_children.open(folder + "/task/" + std::to_string(root) + "/children");
    }
    char text[4096];
    if (!m_root_stat.is_open()) return process_tree_ticks(m_proc_root, root);
    const long n = m_root_stat.read_from_start(text, sizeof text);
    if (n <= 0) return std::nullopt;
    if (n == static_cast<long>(sizeof text)) return process_tree_ticks(m_proc_root, root);
    auto root_stat = parse_proc_stat(std::string_view(text, static_cast<std::size_t>(n)));
    if (!root_stat) return std::nullopt;
    // A single-threaded root lists all its children in task/ROOT/children; otherwise the general walk.
    const long listed = root_stat->threads == 1 && m_root_children.is_open()
                            ? m_root_children.read_from_start(text, sizeof text)
                            : -1;
    if (listed < 0 || listed == static_cast<long>(sizeof text)) return process_tree_ticks(m_proc_root, root);
    std::vector<int> children;
    append_children(std::string_view(text, static_cast<std::size_t>(listed)), children);
    if (children.empty()) return root_stat->ticks;
    return root_stat->ticks + listed_descendant_ticks(m_proc_root, std::move(children), m_buffer);
}

void JobCpuSensor::add_job_root(int pid) {
    if (pid <= 0) return;
    std::lock_guard<std::mutex> lock(m_pending_mutex);
    if (m_pending_roots.size() < 4096) m_pending_roots.push_back(pid);
}

std::uint64_t JobCpuSensor::more_roots_delta(int root) {
    std::vector<int> pending;
    {
        std::lock_guard<std::mutex> lock(m_pending_mutex);
        pending.swap(m_pending_roots);
    }
    auto inside = [&](int outer, int pid) { return outer > 0 && in_process_tree(m_proc_root, outer, pid); };
    for (int pid : pending) {
        // Counted already: in the command's tree (its ranks say hello too) or in a joined tree.
        if (m_more_roots.count(pid) || inside(root, pid)) continue;
        if (std::any_of(m_more_roots.begin(), m_more_roots.end(),
                        [&](const auto& more) { return inside(more.first, pid); }))
            continue;
        auto ticks = process_tree_ticks(m_proc_root, pid);
        if (!ticks) continue;  // gone already
        // A joined root whose tree holds this one is the one to count: drop what it contains.
        for (auto it = m_more_roots.begin(); it != m_more_roots.end();)
            it = inside(pid, it->first) ? m_more_roots.erase(it) : std::next(it);
        m_more_roots[pid] = *ticks;
    }
    std::uint64_t delta = 0;
    for (auto it = m_more_roots.begin(); it != m_more_roots.end();) {
        auto ticks = process_tree_ticks(m_proc_root, it->first);
        if (!ticks) {  // exited: its PID may be anyone's next
            it = m_more_roots.erase(it);
            continue;
        }
        if (*ticks > it->second) delta += *ticks - it->second;
        it->second = *ticks;
        ++it;
    }
    return delta;
}

ReadStatus JobCpuSensor::read(std::size_t channel, double& value) {
    if (channel != 0 || !m_started) return ReadStatus::error;
    auto busy = read_busy_ticks();
    if (!busy) return ReadStatus::error;
    const int root = m_root.load();
    std::uint64_t job_delta = 0;
    if (root != 0) {
        auto job = read_job_ticks(root);
        if (root != m_root_seen) {  // a new job: its ticks count from zero
            m_root_seen = root;
            m_job_ticks = 0;
        }
        // Gone (reaped at the end) or shrunk (a daemonised descendant reaped outside the tree): no new time.
        if (job && *job > m_job_ticks) job_delta = *job - m_job_ticks;
        if (job) m_job_ticks = *job;
    }
    job_delta += more_roots_delta(root);
    const std::uint64_t busy_delta = *busy > m_busy_ticks ? *busy - m_busy_ticks : 0;
    m_busy_ticks = *busy;
    value = busy_delta > 0
                ? 100.0 * std::min(1.0, static_cast<double>(job_delta) / static_cast<double>(busy_delta))
                : 0.0;
    return ReadStatus::ok;
}

}  // namespace joulecast::sensors
