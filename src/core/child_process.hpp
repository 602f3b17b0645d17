#pragma once
// Starts a command without a shell and waits for it, forwarding the signals of job control to it (see
// SignalForwarder).

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace joulecast::core {

class ChildProcess {
public:
    /// Starts argv[0] (searched in PATH when it has no '/') with the current environment plus `env`.
    /// Fails with the system's reason when the program cannot be executed (the caller exits 127).
    /// The command gets SIGKILL when the calling thread dies (PR_SET_PDEATHSIG), so a joulecast killed with
    /// SIGKILL does not leave it running: call it from the thread that lives as long as the command.
    static Result<ChildProcess> spawn(const std::vector<std::string>& argv,
                                      const std::map<std::string, std::string>& env = {});

    ChildProcess(ChildProcess&& other) noexcept : m_pid(other.m_pid) { other.m_pid = -1; }
    ChildProcess& operator=(ChildProcess&&) = delete;
    ChildProcess(const ChildProcess&) = delete;
    ~ChildProcess();

    pid_t pid() const { return m_pid; }

    /// Waits for the child; returns its exit status, or 128+N when signal N ended it.
    int wait();

private:
    explicit ChildProcess(pid_t pid) : m_pid(pid) {}
    pid_t m_pid = -1;
};

/// Runs argv (no shell, no PATH search: argv[0] is a path) to its end and returns its standard output; its
/// standard error passes through to ours. Flushes std::cout and std::cerr first. An error for a failed pipe
/// or fork, or for a command that does not exit with status 0 (one that cannot be executed exits 127).
Result<std::string> capture_output(const std::vector<std::string>& argv);

/// The processes descended from `root` (children, grandchildren, ...), read from the real /proc at this
/// moment; empty when there are none or /proc cannot be read.
std::vector<pid_t> descendant_pids(pid_t root);

/// While alive, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT and SIGXCPU sent to joulecast do
/// not end it: they are forwarded to the target set by forward_to() (a signal that arrives before there is a
/// target is delivered when it is set). Signals a terminal sends to the whole foreground group (the child has
/// them already) are not sent twice. Restores the previous handlers on destruction. One at a time per
/// process.
class SignalForwarder {
public:
    SignalForwarder();
    void forward_to(pid_t pid);
    ~SignalForwarder();
    SignalForwarder(const SignalForwarder&) = delete;
    SignalForwarder& operator=(const SignalForwarder&) = delete;

    /// The last signal joulecast received and forwarded (or saw), SIGCONT aside; 0 if none.
    static int last_signal();
};

}  // namespace joulecast::core
