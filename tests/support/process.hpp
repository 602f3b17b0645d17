#pragma once
// Runs a program (normally the joulecast binary) as a real child process for end-to-end tests.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace joulecast::test {

struct ProcessResult {
    int exit_code = -1;  ///< exit status, or 128+N when signal N ended it
    std::string out;     ///< standard output
    std::string err;     ///< standard error
};

struct ProcessOptions {
    /// Added to (or replacing) the inherited environment; an empty value unsets the variable.
    std::map<std::string, std::string> env;
    /// Seconds after which the child is killed with SIGKILL (the test then fails on exit_code 137).
    double timeout_s = 60;
};

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

/// Starts argv[0] in the background with options.env applied as run_process applies it (an empty value
/// removes the variable) and its stderr on `stderr_fd` (-1: inherited); returns its pid for the test to
/// signal and reap.
pid_t start_process(const std::vector<std::string>& argv, const ProcessOptions& options = {},
                    int stderr_fd = -1);

/// Environment that isolates joulecast from this machine's hardware: an empty sysfs and a missing NVML unless
/// the test sets them, and a private store.
std::map<std::string, std::string> isolated_env(const std::string& temp_root);

}  // namespace joulecast::test
