#include "control/server.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/clock.hpp"
#include "core/text.hpp"

namespace joulecast::control {

using core::Error;
using core::is_valid_utf8;
using core::monotonic_ns;
using core::repair_utf8;
using core::Result;

namespace {

constexpr std::size_t k_read_chunk = 64 * 1024;
constexpr std::int64_t k_second_ns = 1'000'000'000;
constexpr std::size_t k_excerpt_bytes = 60;
constexpr const char* k_socket_name = "control.sock";
constexpr const char* k_dir_pattern = "joulecast-XXXXXX";
constexpr const char* k_dir_prefix = "joulecast-";
constexpr const char* k_owner_name = "owner";  // "joulecast <pid>\n": who made the directory

std::string system_reason() {
    return std::strerror(errno);
}

bool usable_directory(const std::string& path) {
    struct stat info {};
    return !path.empty() && stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode) &&
           access(path.c_str(), W_OK | X_OK) == 0;
}

std::size_t socket_path_length(const std::string& base) {
    return base.size() + 1 + std::strlen(k_dir_pattern) + 1 + std::strlen(k_socket_name);
}

std::string choose_base_dir(const ControlServerOptions& options) {
    if (!options.base_dir.empty()) return options.base_dir;
    const char* runtime = getenv("XDG_RUNTIME_DIR");
    if (runtime && usable_directory(runtime) && socket_path_length(runtime) < sizeof(sockaddr_un::sun_path))
        return runtime;
    return "/tmp";
}

std::string printable_excerpt(std::string_view line) {
    std::string out;
    for (std::size_t i = 0; i < line.size() && i < k_excerpt_bytes; ++i) {
        auto c = static_cast<unsigned char>(line[i]);
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
    if (line.size() > k_excerpt_bytes) out += "...";
    return out;
}

/// The pid in a directory's owner file, or 0 when the file is missing or not ours.
pid_t read_owner(const std::string& directory) {
    const int fd = open((directory + "/" + k_owner_name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[64] = {};
    const ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    long pid = 0;
    if (n <= 0 || std::sscanf(text, "joulecast %ld", &pid) != 1 || pid <= 0) return 0;
    return static_cast<pid_t>(pid);
}

/// True when a server still listens on `socket_path` (a process in another pid namespace may share /tmp).
bool socket_listens(const std::string& socket_path) {
    sockaddr_un address{};
    if (socket_path.size() >= sizeof address.sun_path) return false;
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return true;  // cannot tell: keep it
    const bool listens = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 ||
                         (errno != ECONNREFUSED && errno != ENOENT);
    close(fd);
    return listens;
}

}  // namespace

std::size_t remove_stale_control_directories(const std::string& base_dir) {
    DIR* dir = opendir(base_dir.c_str());
    if (!dir) return 0;
    std::vector<std::string> stale;
    const std::size_t name_length = std::strlen(k_dir_pattern);
    while (const dirent* entry = readdir(dir)) {
        const std::string name = entry->d_name;
        if (name.size() != name_length || name.rfind(k_dir_prefix, 0) != 0) continue;
        const std::string path = base_dir + "/" + name;
        struct stat info {};
        if (lstat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != getuid()) continue;
        const pid_t owner = read_owner(path);
        if (owner == 0 || owner == getpid()) continue;
        if (kill(owner, 0) == 0 || errno != ESRCH) continue;  // alive (or someone else's)
        if (socket_listens(path + "/" + k_socket_name)) continue;
        stale.push_back(path);
    }
    closedir(dir);
    std::size_t removed = 0;
    for (const auto& path : stale) {
        // Only the two files a server makes; anything else in it keeps the directory (rmdir then fails).
        unlink((path + "/" + k_socket_name).c_str());
        unlink((path + "/" + k_owner_name).c_str());
        if (rmdir(path.c_str()) == 0) ++removed;
    }
    return removed;
}

struct ControlServer::Client {
    int fd = -1;
    std::uint64_t id = 0;     // ControlEvent::connection
    std::string pending;      // the current line so far (at most k_max_control_line_bytes)
    bool discarding = false;  // inside an oversized line: skip up to the next newline
};

ControlServer::ControlServer(Callback callback, ControlServerOptions options)
    : m_callback(std::move(callback)), m_options(std::move(options)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::start(Callback callback, ControlServerOptions options) {
    std::unique_ptr<ControlServer> server(new ControlServer(std::move(callback), std::move(options)));
    std::string base = choose_base_dir(server->m_options);
    remove_stale_control_directories(base);
    std::string pattern = base + "/" + k_dir_pattern;
    if (!mkdtemp(pattern.data()))
        return Error{"cannot create a control-channel directory in " + base + ": " + system_reason()};
    server->m_directory = pattern;
    // mkdtemp already uses 0700; say so explicitly in case of an unusual umask or libc.
    if (chmod(server->m_directory.c_str(), S_IRWXU) != 0)
        return Error{"cannot chmod " + server->m_directory + ": " + system_reason()};
    server->m_socket_path = server->m_directory + "/" + k_socket_name;
    // Who made it, so that a later run can tell a directory left by a killed joulecast from a live one.
    const std::string owner_path = server->m_directory + "/" + k_owner_name;
    const int owner_fd = open(owner_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (owner_fd < 0) return Error{"cannot create " + owner_path + ": " + system_reason()};
    const std::string owner_text = "joulecast " + std::to_string(getpid()) + "\n";
    const bool owner_written =
        write(owner_fd, owner_text.data(), owner_text.size()) == static_cast<ssize_t>(owner_text.size());
    close(owner_fd);
    if (!owner_written) return Error{"cannot write " + owner_path};

    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (server->m_socket_path.size() >= sizeof address.sun_path)
        return Error{"control socket path too long (" + std::to_string(server->m_socket_path.size()) +
                     " bytes): " + server->m_socket_path};
    std::memcpy(address.sun_path, server->m_socket_path.c_str(), server->m_socket_path.size() + 1);

    // CLOEXEC everywhere: the measured child must not inherit the listening socket.
    server->m_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (server->m_listen_fd < 0) return Error{"cannot create a Unix socket: " + system_reason()};
    if (bind(server->m_listen_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return Error{"cannot bind " + server->m_socket_path + ": " + system_reason()};
    if (listen(server->m_listen_fd, SOMAXCONN) != 0)
        return Error{"cannot listen on " + server->m_socket_path + ": " + system_reason()};
    if (pipe2(server->m_wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return Error{"cannot create a pipe: " + system_reason()};

    server->m_read_buffer.resize(k_read_chunk);
    server->m_start_ns = monotonic_ns();
    try {
        server->m_thread = std::thread([raw = server.get()] { raw->run(); });
    } catch (const std::system_error& e) {
        return Error{std::string("cannot start the control-channel thread: ") + e.what()};
    }
    return server;
}

ControlServer::~ControlServer() {
    stop();
}

void ControlServer::stop() {
    std::lock_guard lock(m_stop_mutex);
    if (m_stopped) return;
    m_stop_requested = true;
    if (m_wake_pipe[1] >= 0) {
        char byte = 1;
        [[maybe_unused]] ssize_t ignored = write(m_wake_pipe[1], &byte, 1);
    }
    if (m_thread.joinable()) {
        if (m_thread.get_id() == std::this_thread::get_id()) return;  // from the callback: finish later
        m_thread.join();
    }
    for (int* fd : {&m_listen_fd, &m_wake_pipe[0], &m_wake_pipe[1]}) {
        if (*fd >= 0) close(*fd);
        *fd = -1;
    }
    cleanup_files();
    m_stopped = true;
}

void ControlServer::cleanup_files() {
    if (!m_socket_path.empty()) unlink(m_socket_path.c_str());
    if (!m_directory.empty()) {
        unlink((m_directory + "/" + k_owner_name).c_str());
        rmdir(m_directory.c_str());
    }
}

ControlCounters ControlServer::counters() const {
    ControlCounters c;
    c.lines = m_lines;
    c.accepted = m_accepted;
    c.malformed = m_malformed;
    c.unknown_verb = m_unknown_verb;
    c.oversized = m_oversized;
    c.clients = m_client_count;
    c.clients_open = m_clients_open;
    c.clients_rejected = m_clients_rejected;
    c.callback_errors = m_callback_errors;
    c.bytes = m_bytes;
    c.invalid_utf8 = m_invalid_utf8;
    std::lock_guard lock(m_examples_mutex);
    c.rejected_examples = m_examples;
    return c;
}

void ControlServer::run() noexcept {
    try {
        loop();
    } catch (...) {
        // Only allocation failures can get here; the channel then just stops listening.
    }
    for (auto& client : m_clients) {
        if (client->fd >= 0) close(client->fd);
        client->fd = -1;
    }
    m_clients.clear();
    m_clients_open = 0;
}

void ControlServer::loop() {
    std::vector<pollfd> fds;
    bool accept_paused = false;
    auto poll_round = [&](int timeout_ms) {
        fds.clear();
        fds.push_back({m_wake_pipe[0], POLLIN, 0});
        fds.push_back({accept_paused ? -1 : m_listen_fd, POLLIN, 0});
        for (auto& client : m_clients) fds.push_back({client->fd, POLLIN, 0});
        int ready = poll(fds.data(), fds.size(), timeout_ms);
        if (ready <= 0) return ready;
        if (fds[0].revents & POLLIN) {
            char sink[64];
            while (read(m_wake_pipe[0], sink, sizeof sink) > 0) {
            }
        }
        if (fds[1].revents & POLLIN) {
            // accept() failed for lack of descriptors: stop polling the listener until a client leaves.
            if (!accept_clients()) accept_paused = true;
        }
        // One read per ready client per round, so that a flooding client cannot starve the others or stop().
        bool closed_any = false;
        for (std::size_t i = 2; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (!read_client(*m_clients[i - 2])) closed_any = true;
        }
        if (closed_any) {
            std::erase_if(m_clients, [](const auto& client) { return client->fd < 0; });
            accept_paused = false;
        }
        return ready;
    };

    while (!m_stop_requested) {
        if (poll_round(-1) < 0 && errno != EINTR) break;
    }
    // Take what clients have already sent, including connections still waiting in the backlog.
    std::int64_t deadline = monotonic_ns() + std::int64_t{m_options.drain_timeout_ms} * 1'000'000;
    while (monotonic_ns() < deadline) {
        int ready = poll_round(0);
        if (ready == 0 || (ready < 0 && errno != EINTR)) break;
    }
    for (auto& client : m_clients) finish_client(*client);
}

bool ControlServer::accept_clients() {
    for (int i = 0; i < 64; ++i) {
        int fd = accept4(m_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        if (m_clients.size() >= m_options.max_clients) {
            close(fd);
            ++m_clients_rejected;
            continue;
        }
        auto client = std::make_unique<Client>();
        client->fd = fd;
        client->id = ++m_client_count;
        m_clients.push_back(std::move(client));
        ++m_clients_open;
    }
    return true;
}

bool ControlServer::read_client(Client& client) {
    ssize_t n = read(client.fd, m_read_buffer.data(), m_read_buffer.size());
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    if (n <= 0) {
        finish_client(client);
        return false;
    }
    m_bytes += static_cast<std::uint64_t>(n);
    std::string_view data(m_read_buffer.data(), static_cast<std::size_t>(n));
    while (!data.empty()) {
        std::size_t newline = data.find('\n');
        std::string_view segment = data.substr(0, newline);
        data = newline == std::string_view::npos ? std::string_view{} : data.substr(newline + 1);
        bool complete = newline != std::string_view::npos;
        if (client.discarding) {
            if (complete) client.discarding = false;
            continue;
        }
        if (client.pending.size() + segment.size() > k_max_control_line_bytes) {
            reject("line exceeds " + std::to_string(k_max_control_line_bytes) + " bytes",
                   client.pending.empty() ? segment : std::string_view(client.pending));
            ++m_oversized;
            ++m_lines;
            client.pending.clear();
            client.discarding = !complete;
            continue;
        }
        if (!complete) {
            client.pending.append(segment);
        } else if (client.pending.empty()) {
            handle_line(client.id, segment);
        } else {
            client.pending.append(segment);
            handle_line(client.id, client.pending);
            client.pending.clear();
        }
    }
    return true;
}

void ControlServer::finish_client(Client& client) {
    if (!client.discarding && !client.pending.empty()) handle_line(client.id, client.pending);
    client.pending.clear();
    client.discarding = false;
    if (client.fd >= 0) {
        close(client.fd);
        client.fd = -1;
        --m_clients_open;
    }
}

void ControlServer::handle_line(std::uint64_t connection, std::string_view raw_line) {
    std::int64_t arrival = monotonic_ns();
    // Text from the workload is made valid UTF-8 here, at the edge, so that names, meta and results can be
    // written as JSON whatever bytes arrived (a stray byte, a character cut by a truncated write).
    std::string repaired;
    std::string_view line = raw_line;
    if (!is_valid_utf8(raw_line)) {
        repaired = repair_utf8(raw_line);
        line = repaired;
        ++m_invalid_utf8;
    }
    ControlParseError kind = ControlParseError::malformed;
    auto parsed = parse_control_line(line, &kind);
    if (!parsed) {
        switch (kind) {
            case ControlParseError::empty:
                return;
            case ControlParseError::unknown_verb:
                ++m_unknown_verb;
                break;
            case ControlParseError::oversized:
                ++m_oversized;
                break;
            case ControlParseError::malformed:
                ++m_malformed;
                break;
        }
        ++m_lines;
        reject(parsed.error(), line);
        return;
    }
    ++m_accepted;
    ++m_lines;
    ControlEvent event;
    event.arrival_ns = arrival;
    event.connection = connection;
    event.message = std::move(parsed).value();
    const auto& stamp = event.message.client_t_ns;
    // A stamp from another clock (another time namespace, a bogus client) would misplace phases: ignore it.
    event.client_time = stamp && *stamp >= m_start_ns - k_second_ns && *stamp <= arrival + k_second_ns;
    event.t_ns = event.client_time ? *stamp : arrival;
    if (!m_callback) return;
    try {
        m_callback(event);
    } catch (...) {
        ++m_callback_errors;
    }
}

void ControlServer::reject(std::string reason, std::string_view line) {
    std::lock_guard lock(m_examples_mutex);
    if (m_examples.size() >= ControlCounters::k_max_examples) return;
    m_examples.push_back({std::move(reason), printable_excerpt(line)});
}

}  // namespace joulecast::control
