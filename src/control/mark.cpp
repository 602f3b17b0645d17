#include "control/mark.hpp"

#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ostream>

#include "control/protocol.hpp"
#include "core/clock.hpp"
#include "joulecast/client.hpp"

namespace joulecast::control {

using core::Error;
using core::monotonic_ns;
using core::Result;

namespace {

class FdGuard {
public:
    explicit FdGuard(int fd) : m_fd(fd) {}
    ~FdGuard() {
        if (m_fd >= 0) close(m_fd);
    }
    FdGuard(const FdGuard&) = delete;
    FdGuard& operator=(const FdGuard&) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

}  // namespace

Result<std::size_t> send_control_line(const std::string& socket_path, std::string_view line) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.empty() || socket_path.size() >= sizeof address.sun_path)
        return Error{"bad control socket path '" + socket_path + "'"};
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    FdGuard fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return Error{std::string("cannot create a Unix socket: ") + std::strerror(errno)};
    timeval timeout{2, 0};
    if (setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0)
        return Error{std::string("cannot set a send timeout: ") + std::strerror(errno)};
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return Error{"cannot connect to " + socket_path + ": " + std::strerror(errno)};
    // Like every client, say who is talking first (rank from the launcher's environment, pid).
    std::string data = client::detail::hello_line([](const char* name) { return std::getenv(name); },
                                                  static_cast<long long>(getpid()));
    data += '\n';
    data += line;
    data += '\n';
    std::size_t sent = 0;
    while (sent < data.size()) {
        ssize_t n = send(fd.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Error{"cannot send to " + socket_path + ": " + std::strerror(errno)};
        sent += static_cast<std::size_t>(n);
    }
    return sent;
}

int run_mark(const std::vector<std::string>& args, const std::string& socket_path, std::ostream& out,
             std::ostream& err) {
    using Verb = ControlMessage::Verb;
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        out << k_mark_usage;
        return 0;
    }
    if (args.empty()) {
        err << k_mark_usage;
        return 2;
    }
    auto verb = parse_control_verb(args[0]);
    if (!verb) {
        err << "joulecast mark: unknown verb '" << args[0] << "' (begin, end, epoch, meta, metric)\n";
        return 2;
    }
    ControlMessage message;
    message.verb = *verb;
    message.client_t_ns = monotonic_ns();
    std::size_t next = 1;
    if (*verb == Verb::begin || *verb == Verb::end) {
        if (args.size() < 2 || args[1].find('=') != std::string::npos) {
            err << "joulecast mark: " << args[0] << " needs a phase name, e.g. joulecast mark " << args[0]
                << " train\n";
            return 2;
        }
        if (!is_valid_control_name(args[1])) {
            err << "joulecast mark: bad phase name '" << args[1] << "' (letters, digits, _ . - only)\n";
            return 2;
        }
        message.name = args[1];
        next = 2;
    }
    for (std::size_t i = next; i < args.size(); ++i) {
        auto eq = args[i].find('=');
        if (eq == std::string::npos) {
            err << "joulecast mark: expected KEY=VALUE, got '" << args[i] << "'\n";
            return 2;
        }
        std::string key = args[i].substr(0, eq);
        if (!is_valid_control_name(key)) {
            err << "joulecast mark: bad key '" << key << "' (letters, digits, _ . - only)\n";
            return 2;
        }
        message.fields.emplace_back(std::move(key), args[i].substr(eq + 1));
    }
    // The parser is the judge of what joulecast will accept (numbers for samples/n/metrics, non-empty meta).
    std::string line = format_control_line(message);
    auto checked = parse_control_line(line);
    if (!checked) {
        err << "joulecast mark: " << checked.error() << '\n';
        return 2;
    }
    if (socket_path.empty()) return 0;
    auto sent = send_control_line(socket_path, line);
    if (!sent) err << "joulecast mark: warning: " << sent.error() << " (mark not recorded)\n";
    return 0;
}

}  // namespace joulecast::control
