#include "core/child_process.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

extern char** environ;

namespace joulecast::core {

namespace {

// Signal handlers can only reach state through globals; these are the forwarder's, nothing else touches them.
volatile sig_atomic_t g_forward_pid = 0;
volatile sig_atomic_t g_last_signal = 0;
volatile sig_atomic_t g_pending_signal = 0;  // arrived before there was a target
// Those a user or a batch system sends to end, warn or resume a job: SIGINT/SIGQUIT (terminal), SIGTERM and
// SIGCONT (Slurm's scancel and pre-emption, SIGCONT first), SIGHUP, SIGUSR1/SIGUSR2 (Slurm's --signal, SGE's
// notify) and SIGXCPU (a CPU-time limit's warning under LSF/SGE).
constexpr int g_forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGXCPU};
constexpr int g_forwarded_count = sizeof g_forwarded / sizeof g_forwarded[0];
struct sigaction g_previous[g_forwarded_count];

void forward(int sig, siginfo_t* info, void*) {
    // SIGCONT only resumes: it does not end the command, so it says nothing about why the command ended.
    if (sig != SIGCONT) g_last_signal = sig;
    if (g_forward_pid <= 0) {
        g_pending_signal = sig;
        return;
    }
    // SI_KERNEL: a terminal signalled the whole foreground process group, so the child already has it.
    if (info && info->si_code == SI_KERNEL) return;
    kill(static_cast<pid_t>(g_forward_pid), sig);
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env) {
    if (argv.empty()) return Error{"no command given"};

    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    std::map<std::string, std::string> merged;
    for (char** e = environ; e && *e; ++e) {
        std::string entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string::npos) merged.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
    for (const auto& [key, value] : env) merged[key] = value;
    std::vector<std::string> env_strings;
    for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
    std::vector<char*> envp, args;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& s : argv_copy) args.push_back(s.data());
    args.push_back(nullptr);

    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        return Error{std::string("cannot create a pipe: ") + std::strerror(errno)};

    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(report[0]);
        close(report[1]);
        return Error{std::string("cannot fork: ") + std::strerror(saved)};
    }
    if (pid == 0) {
        close(report[0]);
        // The parent may have blocked signals around fork; the command starts with none blocked.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        // joulecast ignores SIGPIPE; an ignored signal stays ignored across exec, so the command gets the
        // default.
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        sigemptyset(&default_action.sa_mask);
        sigaction(SIGPIPE, &default_action, nullptr);
        // A joulecast killed with SIGKILL must not leave the command running: it gets SIGKILL too. The death
        // signal follows the thread that forked, so spawn() belongs on the thread that waits. Should
        // joulecast have died before prctl(), the parent is already another process: do not start the command
        // at all.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
            int failure = errno;
            ssize_t written = write(report[1], &failure, sizeof failure);
            (void)written;
            _exit(127);
        }
        execvpe(args[0], args.data(), envp.data());
        int failure = errno;
        ssize_t written = write(report[1], &failure, sizeof failure);
        (void)written;
        _exit(127);
    }
    close(report[1]);
    int failure = 0;
    ssize_t n;
    do {
        n = read(report[0], &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == sizeof failure) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return Error{"cannot run '" + argv[0] + "': " + std::strerror(failure)};
    }
    return ChildProcess(pid);
}

ChildProcess::~ChildProcess() {
    if (m_pid > 0) {
        // Never leave a zombie or an orphan behind on an error path.
        kill(m_pid, SIGKILL);
        int status = 0;
        while (waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

int ChildProcess::wait() {
    if (m_pid <= 0) return -1;
    int status = 0;
    pid_t rc;
    do {
        rc = waitpid(m_pid, &status, 0);
    } while (rc < 0 && errno == EINTR);
    m_pid = -1;
    if (rc < 0) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

SignalForwarder::SignalForwarder() {
    g_forward_pid = 0;
    g_pending_signal = 0;
    g_last_signal = 0;
    struct sigaction action {};
    action.sa_sigaction = forward;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < g_forwarded_count; ++i) sigaction(g_forwarded[i], &action, &g_previous[i]);
}

SignalForwarder::~SignalForwarder() {
    for (int i = 0; i < g_forwarded_count; ++i) sigaction(g_forwarded[i], &g_previous[i], nullptr);
    g_forward_pid = 0;
}

void SignalForwarder::forward_to(pid_t pid) {
    g_forward_pid = pid;
    if (g_pending_signal != 0 && pid > 0) kill(pid, g_pending_signal);
    g_pending_signal = 0;
}

int SignalForwarder::last_signal() {
    return g_last_signal;
}

Result<std::string> capture_output(const std::vector<std::string>& argv) {
    if (argv.empty()) return Error{"no command given"};
    // Prepared before fork: after it, the child makes only async-signal-safe calls.
    std::vector<char*> pointers;
    for (const auto& a : argv) pointers.push_back(const_cast<char*>(a.c_str()));
    pointers.push_back(nullptr);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = fork();
    if (pid < 0) {
        const int saved = errno;
        close(fds[0]);
        close(fds[1]);
        return Error{std::string("fork: ") + std::strerror(saved)};
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        execv(pointers[0], pointers.data());
        _exit(127);
    }
    close(fds[1]);
    std::string out;
    char buffer[4096];
    for (;;) {
        const ssize_t n = read(fds[0], buffer, sizeof buffer);
        if (n > 0) {
            out.append(buffer, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return Error{argv[0] + " exited with status " +
                     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status))};
    return out;
}

std::vector<pid_t> descendant_pids(pid_t root) {
    // Parent of every process, from /proc/PID/stat: "PID (COMM) STATE PPID ...", COMM may hold ") ".
    std::multimap<pid_t, pid_t> children;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        if (!std::getline(in, stat)) continue;  // gone meanwhile
        const auto close = stat.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(stat.substr(close + 1));
        std::string state;
        long ppid = 0;
        if (rest >> state >> ppid)
            children.emplace(static_cast<pid_t>(ppid), static_cast<pid_t>(std::stol(name)));
    }
    std::vector<pid_t> out;
    std::vector<pid_t> frontier = {root};
    while (!frontier.empty()) {
        const pid_t parent = frontier.back();
        frontier.pop_back();
        auto [first, last] = children.equal_range(parent);
        for (auto it = first; it != last; ++it) {
            out.push_back(it->second);
            frontier.push_back(it->second);
        }
    }
    return out;
}

}  // namespace joulecast::core
