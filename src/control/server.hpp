#pragma once
// The control-channel server: a Unix stream socket in a private directory that the measured workload (and any
// process it starts) writes control lines to (see control/protocol.hpp). `joulecast run` passes path() to the
// child as JOULECAST_SOCKET.
//
// Threading: one background thread accepts clients and reads lines with poll(). The callback runs ON THAT
// THREAD, once per valid line, in the order the lines arrived on each connection (connections interleave).
// It must not block for long (the socket buffers fill and clients then wait) and must not call stop(); an
// exception it throws is caught and counted in callback_errors. Counters may be read from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/protocol.hpp"
#include "core/result.hpp"

namespace joulecast::control {

struct ControlEvent {
    /// When it happened, CLOCK_MONOTONIC ns: the client's t= stamp when given and plausible (not before the
    /// server started, nor more than a second after arrival), otherwise the arrival time.
    std::int64_t t_ns = 0;
    /// True when t_ns is the client's stamp.
    bool client_time = false;
    /// When the server read the line, CLOCK_MONOTONIC ns.
    std::int64_t arrival_ns = 0;
    ControlMessage message;
    /// The connection the line came on: 1 for the first accepted connection, 2 for the next, ... A client's
    /// `hello` names who is talking on that connection.
    std::uint64_t connection = 0;
};

/// A rejected line kept as an example for the report.
struct ControlRejectedLine {
    std::string reason;   ///< parser's reason, e.g. "unknown verb 'bgin'"
    std::string excerpt;  ///< start of the line, non-printable bytes as '?', at most ~60 bytes
};

/// Counter snapshot. Every non-blank line counts in `lines` and in exactly one of accepted, malformed,
/// unknown_verb and oversized. Blank lines are ignored and not counted.
struct ControlCounters {
    std::uint64_t lines = 0;
    std::uint64_t accepted = 0;
    std::uint64_t malformed = 0;
    std::uint64_t unknown_verb = 0;
    std::uint64_t oversized = 0;
    std::uint64_t clients = 0;           ///< connections accepted so far
    std::uint64_t clients_open = 0;      ///< connections open now
    std::uint64_t clients_rejected = 0;  ///< connections closed at once because max_clients were open
    std::uint64_t callback_errors = 0;   ///< exceptions thrown by the callback (the line counts as accepted)
    std::uint64_t bytes = 0;             ///< bytes read from all clients
    /// Lines that were not valid UTF-8: each ill-formed sequence was replaced by U+FFFD before parsing.
    std::uint64_t invalid_utf8 = 0;
    std::vector<ControlRejectedLine> rejected_examples;  ///< the first k_max_examples rejected lines
    static constexpr std::size_t k_max_examples = 5;
};

struct ControlServerOptions {
    /// Folder in which the private directory is made; empty: $XDG_RUNTIME_DIR when it is a usable directory
    /// (and the socket path fits), else /tmp.
    std::string base_dir;
    /// Connections open at once; more are accepted and closed at once (and counted).
    std::size_t max_clients = 512;
    /// On stop(), how long to keep reading data that clients already sent before closing, in ms.
    int drain_timeout_ms = 500;
};

/// Removes the control directories that joulecast runs which died without cleaning up (SIGKILL, a crash)
/// left in `base_dir`: only directories named joulecast-XXXXXX, owned by this user, holding the owner file a
/// server writes, whose owner process is gone and whose socket (if any) no longer accepts connections.
/// Returns how many were removed. start() calls it for its base directory.
std::size_t remove_stale_control_directories(const std::string& base_dir);

class ControlServer {
public:
    using Callback = std::function<void(const ControlEvent&)>;

    /// Makes the private directory (mode 0700) and the socket, and starts the server thread.
    /// Fails with a message naming the path and the system's reason.
    static core::Result<std::unique_ptr<ControlServer>> start(Callback callback,
                                                              ControlServerOptions options = {});

    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    /// The socket path, e.g. "/run/user/1000/joulecast-Ab12Cd/control.sock" (stays valid after stop()).
    const std::string& path() const { return m_socket_path; }
    /// The private directory that holds the socket.
    const std::string& directory() const { return m_directory; }

    /// Reads what clients have already sent (up to drain_timeout_ms, processing partial last lines), ends the
    /// thread, closes every connection and removes the socket and its directory. Idempotent; the destructor
    /// calls it. From the callback (server thread) it only asks the thread to finish.
    void stop();

    ControlCounters counters() const;

private:
    struct Client;
    ControlServer(Callback callback, ControlServerOptions options);

    void run() noexcept;
    void loop();
    // Accepts waiting connections; false when accept() failed for another reason than "none left".
    bool accept_clients();
    // Reads once from a client; returns false when the connection ended (and was closed).
    bool read_client(Client& client);
    void handle_line(std::uint64_t connection, std::string_view line);
    void finish_client(Client& client);
    void reject(std::string reason, std::string_view line);
    void cleanup_files();

    Callback m_callback;
    ControlServerOptions m_options;
    std::string m_directory;
    std::string m_socket_path;
    int m_listen_fd = -1;
    int m_wake_pipe[2] = {-1, -1};
    std::int64_t m_start_ns = 0;
    std::thread m_thread;
    std::atomic<bool> m_stop_requested{false};
    std::mutex m_stop_mutex;
    bool m_stopped = false;

    std::vector<std::unique_ptr<Client>> m_clients;  // owned by the server thread
    std::vector<char> m_read_buffer;                 // owned by the server thread

    std::atomic<std::uint64_t> m_lines{0}, m_accepted{0}, m_malformed{0}, m_unknown_verb{0}, m_oversized{0},
        m_client_count{0}, m_clients_open{0}, m_clients_rejected{0}, m_callback_errors{0}, m_bytes{0},
        m_invalid_utf8{0};
    mutable std::mutex m_examples_mutex;
    std::vector<ControlRejectedLine> m_examples;
};

}  // namespace joulecast::control
