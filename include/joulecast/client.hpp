#pragma once
// joulecast control-channel client for C++ workloads: header-only, C++17, POSIX, no other dependency.
//
// Tells a running `joulecast run` about phases, epochs, model facts and metrics, so that it can split energy
// by phase and report energy per sample:
//
//     #include <joulecast/client.hpp>
//     joulecast::client::meta("model", "resnet18", "params", 11173962, "batch_size", 128);
//     {
//         joulecast::client::phase train("train");   // sends "begin train"
//         for (int e = 0; e < epochs; ++e) { ...; joulecast::client::epoch(samples_per_epoch); }
//         train.set_samples(epochs * samples_per_epoch);
//     }                                              // sends "end train samples=..."
//     joulecast::client::metric("accuracy", 0.912);
//
// Every call does nothing when JOULECAST_SOCKET is unset (the program runs outside joulecast), when the
// connection fails, or after joulecast went away: it never throws, never raises SIGPIPE and never fails the
// workload. Lines carry t=<CLOCK_MONOTONIC ns> taken when the call is made. All calls are thread-safe; a
// forked child opens its own connection on its first call. Keys and phase names may use [A-Za-z0-9_.-]; other
// characters are replaced with '_'. Values may be any text (quoted on the wire as needed) or numbers.
// Each connection starts with a `hello` line naming the process's rank (from torchrun, Slurm, Open MPI or
// MPICH variables) and pid, so that joulecast can describe a distributed job rather than one rank.

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#if __has_include(<charconv>)
#include <charconv>
#endif

namespace joulecast::client {

using Fields = std::vector<std::pair<std::string, std::string>>;

namespace detail {

/// True when `text` is a non-negative decimal integer (what a launcher's rank variables hold).
inline bool is_count(const char* text) {
    if (!text || !*text) return false;
    for (const char* p = text; *p; ++p)
        if (*p < '0' || *p > '9') return false;
    return true;
}

/// The `hello` line (without newline) that names this process: its rank, local rank, world size and node
/// rank as the launcher set them in the environment, and its pid. `lookup(name)` returns the variable's value
/// or nullptr (std::getenv in real use). Launchers, the first whose rank variable holds an integer wins:
/// torchrun (RANK, LOCAL_RANK, WORLD_SIZE, GROUP_RANK), Open MPI (OMPI_COMM_WORLD_RANK,
/// OMPI_COMM_WORLD_LOCAL_RANK, OMPI_COMM_WORLD_SIZE), MPICH (PMI_RANK, MPI_LOCALRANKID, PMI_SIZE), Slurm
/// (SLURM_PROCID, SLURM_LOCALID, SLURM_NTASKS, SLURM_NODEID). torchrun comes first because it runs inside
/// Slurm and MPI allocations and then its own ranks are the ones of the training processes.
template <typename Lookup>
std::string hello_line(Lookup lookup, long long pid) {
    struct Launcher {
        const char* name;
        const char* rank;
        const char* local_rank;
        const char* world_size;
        const char* node_rank;
    };
    static const Launcher launchers[] = {
        {"torchrun", "RANK", "LOCAL_RANK", "WORLD_SIZE", "GROUP_RANK"},
        {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_SIZE", nullptr},
        {"mpich", "PMI_RANK", "MPI_LOCALRANKID", "PMI_SIZE", nullptr},
        {"slurm", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_NODEID"},
    };
    std::string line = "hello";
    for (const Launcher& launcher : launchers) {
        const char* rank = lookup(launcher.rank);
        if (!is_count(rank)) continue;
        line += " rank=";
        line += rank;
        const std::pair<const char*, const char*> others[] = {{"local_rank", launcher.local_rank},
                                                              {"world_size", launcher.world_size},
                                                              {"node_rank", launcher.node_rank}};
        for (const auto& [key, variable] : others) {
            const char* value = variable ? lookup(variable) : nullptr;
            if (!is_count(value)) continue;
            line += ' ';
            line += key;
            line += '=';
            line += value;
        }
        line += " launcher=";
        line += launcher.name;
        break;
    }
    if (pid >= 0) line += " pid=" + std::to_string(pid);
    return line;
}

inline std::int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline std::string sanitize_name(std::string_view text) {
    std::string out(text.empty() ? std::string_view("_") : text);
    for (char& c : out) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        if (!ok) c = '_';
    }
    return out;
}

inline void append_value(std::string& out, std::string_view value) {
    bool quote = value.empty();
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == ' ' || c == '"' || c == '\\') quote = true;
    }
    if (!quote) {
        out += value;
        return;
    }
    out += '"';
    for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    out += '"';
}

inline std::string to_value(std::string_view text) {
    return std::string(text);
}
inline std::string to_value(const std::string& text) {
    return text;
}
inline std::string to_value(const char* text) {
    return text ? std::string(text) : std::string();
}
inline std::string to_value(bool value) {
    return value ? "true" : "false";
}

template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>>
std::string to_value(T value) {
    if constexpr (std::is_integral_v<T>) {
        return std::to_string(value);
    } else {
        char buffer[64];
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
        auto result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<double>(value));
        return std::string(buffer, result.ptr);
#else
        std::snprintf(buffer, sizeof buffer, "%.17g", static_cast<double>(value));
        return buffer;
#endif
    }
}

inline void collect(Fields&) {}

template <typename K, typename V, typename... Rest>
void collect(Fields& fields, const K& key, const V& value, const Rest&... rest) {
    fields.emplace_back(sanitize_name(to_value(key)), to_value(value));
    collect(fields, rest...);
}

template <typename... KV>
Fields make_fields(const KV&... kv) {
    static_assert(sizeof...(KV) % 2 == 0, "fields come as key, value pairs");
    Fields fields;
    collect(fields, kv...);
    return fields;
}

}  // namespace detail

/// One connection to the control channel. Most programs use the free functions below, which share one
/// default Client; make your own only to name the socket explicitly.
class Client {
public:
    /// Uses $JOULECAST_SOCKET, read at the first send.
    Client() = default;
    /// Uses `socket_path`; an empty path disables the client.
    explicit Client(std::string socket_path) : m_path(std::move(socket_path)), m_path_given(true) {}
    ~Client() { close_socket(); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// True when connected (connecting now if that has not been tried yet).
    bool enabled() {
        std::lock_guard<std::mutex> lock(m_mutex);
        return ensure_connected();
    }

    /// Closes the connection; the next send connects afresh (reading $JOULECAST_SOCKET again when the
    /// client was made without a path). For programs that set the variable late, and for tests.
    void reset() noexcept {
        std::lock_guard<std::mutex> lock(m_mutex);
        close_socket();
        m_state = State::unconnected;
    }

    /// Sends `verb [name] k=v ...` stamped with the current CLOCK_MONOTONIC time. Never throws.
    void send(std::string_view verb, std::string_view name, const Fields& fields) noexcept {
        try {
            std::string line = "t=" + std::to_string(detail::monotonic_ns()) + " ";
            line += verb;
            if (!name.empty()) line += " " + detail::sanitize_name(name);
            for (const auto& [key, value] : fields) {
                line += ' ';
                line += detail::sanitize_name(key);
                line += '=';
                detail::append_value(line, value);
            }
            send_line(line);
        } catch (...) {
        }
    }

    /// Sends one preformatted line (a newline is added when missing). Never throws.
    void send_line(std::string line) noexcept {
        try {
            if (line.empty() || line.back() != '\n') line += '\n';
            std::lock_guard<std::mutex> lock(m_mutex);
            if (!ensure_connected()) return;
            std::size_t sent = 0;
            while (sent < line.size()) {
                ssize_t n = ::send(m_fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    // joulecast went away or stopped reading: go quiet for good.
                    close_socket();
                    m_state = State::disabled;
                    return;
                }
                sent += static_cast<std::size_t>(n);
            }
        } catch (...) {
        }
    }

    template <typename... KV>
    void begin(std::string_view phase_name, const KV&... kv) noexcept {
        send_fields("begin", phase_name.empty() ? "_" : phase_name, kv...);
    }
    template <typename... KV>
    void end(std::string_view phase_name, const KV&... kv) noexcept {
        send_fields("end", phase_name.empty() ? "_" : phase_name, kv...);
    }
    /// An epoch boundary; `samples` processed in this epoch and the epoch number `n`, each when given.
    void epoch(std::optional<std::int64_t> samples = std::nullopt,
               std::optional<std::int64_t> n = std::nullopt) noexcept {
        try {
            Fields fields;
            if (n) fields.emplace_back("n", std::to_string(*n));
            if (samples) fields.emplace_back("samples", std::to_string(*samples));
            send("epoch", {}, fields);
        } catch (...) {
        }
    }
    /// Model and run facts: meta("model", "resnet18", "params", 11173962). Needs at least one pair.
    template <typename... KV>
    void meta(const KV&... kv) noexcept {
        static_assert(sizeof...(KV) >= 2, "meta needs at least one key, value pair");
        send_fields("meta", {}, kv...);
    }
    /// Numeric results: metric("accuracy", 0.912, "loss", 0.31). Needs at least one pair.
    template <typename... KV>
    void metric(const KV&... kv) noexcept {
        static_assert(sizeof...(KV) >= 2, "metric needs at least one key, value pair");
        send_fields("metric", {}, kv...);
    }

private:
    enum class State { unconnected, connected, disabled };

    template <typename... KV>
    void send_fields(std::string_view verb, std::string_view name, const KV&... kv) noexcept {
        try {
            send(verb, name, detail::make_fields(kv...));
        } catch (...) {
        }
    }

    // Called with m_mutex held.
    bool ensure_connected() {
        if (m_state == State::connected && m_pid != getpid()) {
            // A forked child: the inherited descriptor is the parent's stream; open our own.
            close_socket();
            m_state = State::unconnected;
        }
        if (m_state != State::unconnected) return m_state == State::connected;
        m_state = State::disabled;
        std::string path = m_path;
        if (!m_path_given) {
            const char* env = std::getenv("JOULECAST_SOCKET");
            path = env ? env : "";
        }
        sockaddr_un address{};
        if (path.empty() || path.size() >= sizeof address.sun_path) return false;
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        // Never stall the workload for long if joulecast stops reading.
        timeval timeout{2, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
            ::close(fd);
            return false;
        }
        m_fd = fd;
        m_pid = getpid();
        m_state = State::connected;
        // Who we are, once per connection (the rank from the launcher's environment, and the pid).
        std::string hello = detail::hello_line([](const char* name) { return std::getenv(name); },
                                               static_cast<long long>(m_pid)) +
                            "\n";
        std::size_t sent = 0;
        while (sent < hello.size()) {
            ssize_t n = ::send(m_fd, hello.data() + sent, hello.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close_socket();
                m_state = State::disabled;
                return false;
            }
            sent += static_cast<std::size_t>(n);
        }
        return true;
    }

    void close_socket() {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }

    std::mutex m_mutex;
    std::string m_path;
    bool m_path_given = false;
    State m_state = State::unconnected;
    int m_fd = -1;
    pid_t m_pid = 0;
};

namespace detail {
inline Client default_instance;
}  // namespace detail

/// The client that the free functions use ($JOULECAST_SOCKET).
inline Client& default_client() {
    return detail::default_instance;
}

template <typename... KV>
void begin(std::string_view phase_name, const KV&... kv) noexcept {
    default_client().begin(phase_name, kv...);
}
template <typename... KV>
void end(std::string_view phase_name, const KV&... kv) noexcept {
    default_client().end(phase_name, kv...);
}
inline void epoch(std::optional<std::int64_t> samples = std::nullopt,
                  std::optional<std::int64_t> n = std::nullopt) noexcept {
    default_client().epoch(samples, n);
}
template <typename... KV>
void meta(const KV&... kv) noexcept {
    default_client().meta(kv...);
}
template <typename... KV>
void metric(const KV&... kv) noexcept {
    default_client().metric(kv...);
}

/// RAII phase: "begin <name>" now, "end <name> [samples=N]" when it goes out of scope (or at end()).
class phase {
public:
    explicit phase(std::string name, std::optional<std::int64_t> samples = std::nullopt)
        : phase(default_client(), std::move(name), samples) {}
    phase(Client& client, std::string name, std::optional<std::int64_t> samples = std::nullopt)
        : m_client(client), m_name(std::move(name)), m_samples(samples) {
        m_client.begin(m_name);
    }
    ~phase() { end(); }
    phase(const phase&) = delete;
    phase& operator=(const phase&) = delete;

    /// Samples processed in this phase, sent with "end".
    void set_samples(std::int64_t samples) { m_samples = samples; }
    void add_samples(std::int64_t samples) { m_samples = m_samples.value_or(0) + samples; }

    /// Ends the phase now; later calls and the destructor do nothing.
    void end() noexcept {
        if (m_ended) return;
        m_ended = true;
        if (m_samples)
            m_client.end(m_name, "samples", *m_samples);
        else
            m_client.end(m_name);
    }

private:
    Client& m_client;
    std::string m_name;
    std::optional<std::int64_t> m_samples;
    bool m_ended = false;
};

}  // namespace joulecast::client
