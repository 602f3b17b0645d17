// End to end: joulecast under job control. A reader of stderr that goes away must not cost the result
// (SIGPIPE is ignored); the signals a batch system sends to warn a job (SIGUSR1, SIGUSR2) reach the command
// and do not end joulecast; a joulecast killed with SIGKILL takes its command with it, and the next run
// removes the socket directory it left.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::read_json;
using test::TempDir;

// Starts joulecast with `env` added and its stderr on `stderr_fd` (-1: inherited); returns its pid.
pid_t start_joulecast(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
                      int stderr_fd = -1) {
    argv.insert(argv.begin(), JOULECAST_BINARY);
    test::ProcessOptions options;
    options.env = env;
    return test::start_process(argv, options, stderr_fd);
}

int wait_status(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool wait_for_file(const std::filesystem::path& path, std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (std::filesystem::exists(path) && std::filesystem::file_size(path) > 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Gone, or a zombie nobody reaps (the container's init may not): either way it no longer runs.
bool process_gone(pid_t pid) {
    if (kill(pid, 0) != 0) return true;
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

TEST(Signals, ClosedStderrDoesNotLoseTheJsonOrTheTrace) {
    TempDir dir;
    const auto json = dir.path() / "r.json";
    const auto trace = dir.path() / "r.csv";
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    close(pipe_fds[0]);  // nobody reads: the first write to stderr raises SIGPIPE
    pid_t pid = start_joulecast({"run", "--json", json.string(), "--trace", trace.string(), "--", "true"},
                                test::isolated_env(dir.str()), pipe_fds[1]);
    close(pipe_fds[1]);
    EXPECT_EQ(wait_status(pid), 0);
    ASSERT_TRUE(std::filesystem::exists(json));
    EXPECT_EQ(read_json(json)["status"], "completed");
    EXPECT_GT(std::filesystem::file_size(trace), 0u);
}

TEST(Signals, Usr1AndUsr2AreForwardedToTheCommand) {
    TempDir dir;
    const auto json = dir.path() / "r.json";
    const auto ready = dir.path() / "ready";
    const auto got = dir.path() / "got";
    // The command counts the signals it receives and exits 0 once it has both (1 after 20 s without).
    const char* const workload =
        "import signal, sys, time\n"
        "got = []\n"
        "signal.signal(signal.SIGUSR1, lambda s, f: got.append('USR1'))\n"
        "signal.signal(signal.SIGUSR2, lambda s, f: got.append('USR2'))\n"
        "open(sys.argv[1], 'w').write('ready')\n"
        "end = time.time() + 20\n"
        "while len(got) < 2 and time.time() < end: time.sleep(0.01)\n"
        "open(sys.argv[2], 'w').write(' '.join(got))\n"
        "sys.exit(0 if len(got) == 2 else 1)\n";
    pid_t pid = start_joulecast({"run", "--quiet", "--json", json.string(), "--", "python3", "-c", workload,
                                 ready.string(), got.string()},
                                test::isolated_env(dir.str()));
    ASSERT_TRUE(wait_for_file(ready, std::chrono::seconds(30)));
    kill(pid, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    kill(pid, SIGUSR2);
    EXPECT_EQ(wait_status(pid), 0);  // before: joulecast died of SIGUSR1 (138)
    EXPECT_EQ(read_text(got), "USR1 USR2");
    EXPECT_EQ(read_json(json)["status"], "completed");
}

TEST(Signals, SigkilledJoulecastTakesItsCommandAlongAndTheNextRunCleansUp) {
    TempDir dir;
    std::filesystem::create_directory(dir.path() / "runtime");
    auto env = test::isolated_env(dir.str());
    env["XDG_RUNTIME_DIR"] = (dir.path() / "runtime").string();
    const auto pid_file = dir.path() / "child.pid";
    pid_t pid = start_joulecast({"run", "--quiet", "--no-store", "--", "sh", "-c",
                                 "echo $$ > \"$0\"; exec sleep 30", pid_file.string()},
                                env);
    ASSERT_TRUE(wait_for_file(pid_file, std::chrono::seconds(30)));
    const pid_t child = static_cast<pid_t>(std::stol(read_text(pid_file)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // exec sleep
    auto leftovers = [&] {
        std::size_t n = 0;
        for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "runtime"))
            n += entry.path().filename().string().rfind("joulecast-", 0) == 0;
        return n;
    };
    EXPECT_EQ(leftovers(), 1u);
    kill(pid, SIGKILL);
    EXPECT_EQ(wait_status(pid), 128 + SIGKILL);
    bool gone = false;
    for (int i = 0; i < 250 && !gone; ++i) {
        gone = process_gone(child);
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(gone) << "the command " << child << " still runs after joulecast was killed";
    if (!gone) kill(child, SIGKILL);
    EXPECT_EQ(leftovers(), 1u);  // a SIGKILL cannot clean up...

    auto next = test::run_process({JOULECAST_BINARY, "run", "--quiet", "--no-store", "--", "true"},
                                  test::ProcessOptions{env, 60});
    EXPECT_EQ(next.exit_code, 0) << next.err;
    EXPECT_EQ(leftovers(), 0u);  // ...the next run does
}

}  // namespace
}  // namespace joulecast
