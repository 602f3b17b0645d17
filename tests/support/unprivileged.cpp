#include "support/unprivileged.hpp"

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <exception>

namespace joulecast::test {

std::string run_unprivileged(const std::function<std::string()>& check) {
    int fds[2];
    if (pipe(fds) != 0) return "Spipe failed";
    const pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return "Sfork failed";
    }
    if (pid == 0) {
        close(fds[0]);
        std::string message;
        if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
            message = "Scannot drop root (setuid 65534 failed)";
        } else {
            try {
                message = "R" + check();
            } catch (const std::exception& error) {
                message = std::string("Rexception: ") + error.what();
            }
        }
        const char* data = message.data();
        std::size_t left = message.size();
        while (left > 0) {
            const ssize_t n = write(fds[1], data, left);
            if (n <= 0) break;
            data += n;
            left -= static_cast<std::size_t>(n);
        }
        _exit(0);
    }
    close(fds[1]);
    std::string out;
    char buffer[512];
    ssize_t n = 0;
    while ((n = read(fds[0], buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return out.empty() ? "Sthe child reported nothing" : out;
}

}  // namespace joulecast::test
