#include "sensors/job/job_cpu_sensor.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

#include "core/text.hpp"

namespace joulecast {

namespace {

namespace fs = std::filesystem;

struct ProcStat {
    int ppid = 0;
    std::uint64_t ticks = 0;  ///< utime + stime + cutime + cstime
};

std::optional<ProcStat> read_proc_stat(const std::string& path) {
    auto text = read_text_file(path);
    if (!text) return std::nullopt;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the last ')'.
    const std::size_t close = text->rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::vector<std::string> fields;
    for (auto& field : split(trim(std::string_view(*text).substr(close + 1)), ' '))
        if (!field.empty()) fields.push_back(field);
    if (fields.size() < 15) return std::nullopt;
    ProcStat stat;
    auto ppid = parse_int(fields[1]);
    if (!ppid) return std::nullopt;
    stat.ppid = static_cast<int>(*ppid);
    for (std::size_t i = 11; i <= 14; ++i) {  // utime, stime, cutime, cstime
        auto value = parse_int(fields[i]);
        if (!value || *value < 0) return std::nullopt;
        stat.ticks += static_cast<std::uint64_t>(*value);
    }
    return stat;
}

/// Children of `pid` from /proc/PID/task/TID/children (every thread's); nullopt where the kernel has no such
/// files (CONFIG_PROC_CHILDREN off, or a fake tree), so that the caller scans every process instead.
std::optional<std::vector<int>> listed_children(const std::string& proc_root, int pid) {
    const std::string tasks = proc_root + "/" + std::to_string(pid) + "/task";
    std::error_code ec;
    std::vector<int> out;
    bool any_file = false;
    for (fs::directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec)) {
        auto text = read_text_file(it->path().string() + "/children");
        if (!text) continue;
        any_file = true;
        for (auto& field : split(trim(*text), ' '))
            if (auto child = parse_int(field)) out.push_back(static_cast<int>(*child));
    }
    if (!any_file) return std::nullopt;
    return out;
}

}  // namespace

std::optional<std::uint64_t> process_tree_ticks(const std::string& proc_root, int root) {
    auto root_stat = read_proc_stat(proc_root + "/" + std::to_string(root) + "/stat");
    if (!root_stat) return std::nullopt;
    std::uint64_t total = root_stat->ticks;

    // Cheap path: follow the kernel's children lists from the root, reading only the tree's processes.
    if (auto first = listed_children(proc_root, root)) {
        std::vector<int> pending = std::move(*first);
        while (!pending.empty()) {
            const int pid = pending.back();
            pending.pop_back();
            // A process may exit between listing and reading: skip it (its time moves to its parent's
            // cutime).
            auto stat = read_proc_stat(proc_root + "/" + std::to_string(pid) + "/stat");
            if (!stat) continue;
            total += stat->ticks;
            if (auto more = listed_children(proc_root, pid))
                pending.insert(pending.end(), more->begin(), more->end());
        }
        return total;
    }

    std::multimap<int, std::pair<int, std::uint64_t>> children;  // ppid -> (pid, ticks)
    std::error_code ec;
    for (fs::directory_iterator it(proc_root, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        int pid = 0;
        auto [ptr, perr] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (perr != std::errc() || ptr != name.data() + name.size() || pid == root) continue;
        if (auto stat = read_proc_stat(it->path().string() + "/stat"))
            children.emplace(stat->ppid, std::make_pair(pid, stat->ticks));
    }
    std::vector<int> pending{root};
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
    auto text = read_text_file(proc_root + "/stat");
    if (!text) return std::nullopt;
    std::string_view line = *text;
    line = line.substr(0, line.find('\n'));
    if (!starts_with(line, "cpu ")) return std::nullopt;
    std::vector<std::uint64_t> values;
    for (auto& field : split(line.substr(4), ' ')) {
        if (field.empty()) continue;
        auto value = parse_int(field);
        if (!value || *value < 0) return std::nullopt;
        values.push_back(static_cast<std::uint64_t>(*value));
    }
    if (values.size() < 8) return std::nullopt;
    // user nice system idle iowait irq softirq steal: everything but idle and iowait (guest is inside user).
    return values[0] + values[1] + values[2] + values[5] + values[6] + values[7];
}

JobCpuSensor::JobCpuSensor(std::string proc_root) : m_proc_root(std::move(proc_root)) {}

Availability JobCpuSensor::probe() {
    m_channels.clear();
    m_started = false;
    auto busy = busy_cpu_ticks(m_proc_root);
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
    channel.min_period = std::chrono::milliseconds(200);
    m_channels.push_back(channel);
    return Availability::yes();
}

ReadStatus JobCpuSensor::read(std::size_t channel, double& value) {
    if (channel != 0 || !m_started) return ReadStatus::error;
    auto busy = busy_cpu_ticks(m_proc_root);
    if (!busy) return ReadStatus::error;
    const int root = m_root.load();
    std::uint64_t job_delta = 0;
    if (root != 0) {
        auto job = process_tree_ticks(m_proc_root, root);
        if (root != m_root_seen) {  // a new job: its ticks count from zero
            m_root_seen = root;
            m_job_ticks = 0;
        }
        // Gone (reaped at the end) or shrunk (a daemonised descendant reaped outside the tree): no new time.
        if (job && *job > m_job_ticks) job_delta = *job - m_job_ticks;
        if (job) m_job_ticks = *job;
    }
    const std::uint64_t busy_delta = *busy > m_busy_ticks ? *busy - m_busy_ticks : 0;
    m_busy_ticks = *busy;
    value = busy_delta > 0
                ? 100.0 * std::min(1.0, static_cast<double>(job_delta) / static_cast<double>(busy_delta))
                : 0.0;
    return ReadStatus::ok;
}

}  // namespace joulecast
