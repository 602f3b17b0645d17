#pragma once
// `joulecast mark`: lets shell scripts send one control line, e.g. `joulecast mark end train samples=60000`.
// The logic lives here (in the core library, so tests can drive it); src/cli/mark_command.cpp is the
// command-line entry point.

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace joulecast::control {

/// Connects to the control socket at `socket_path`, sends `line` plus a newline and closes the connection.
/// Gives up after about 2 s if joulecast does not read. Returns the bytes sent, or an error naming the path.
core::Result<std::size_t> send_control_line(const std::string& socket_path, std::string_view line);

/// Runs `joulecast mark VERB [PHASE] [KEY=VALUE ...]`; `args` are the words after "mark". Each KEY=VALUE is
/// one word (the value may hold spaces: `meta "model=ResNet 18"`). The line is stamped with
/// t=<CLOCK_MONOTONIC ns> and validated with the control-line parser. Returns 2 after a message on `err` for
/// bad input; 0 without sending when `socket_path` is empty (not under `joulecast run`); 0 after a warning on
/// `err` when the socket cannot be reached (so scripts do not fail); 0 with usage on `out` for -h/--help.
int run_mark(const std::vector<std::string>& args, const std::string& socket_path, std::ostream& out,
             std::ostream& err);

/// The usage text of `joulecast mark`.
inline constexpr const char* k_mark_usage =
    "usage: joulecast mark VERB [PHASE] [KEY=VALUE ...]\n"
    "\n"
    "Sends one control line to the joulecast run that started this process (JOULECAST_SOCKET); does\n"
    "nothing outside joulecast run, and only warns when joulecast cannot be reached.\n"
    "\n"
    "  joulecast mark begin train\n"
    "  joulecast mark end train samples=60000\n"
    "  joulecast mark epoch n=3 samples=1000\n"
    "  joulecast mark meta model=resnet18 params=11173962 \"dataset=fashion mnist\"\n"
    "  joulecast mark metric accuracy=0.912 loss=0.31\n";

}  // namespace joulecast::control
