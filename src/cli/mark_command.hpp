#pragma once
// `joulecast mark VERB [PHASE] [KEY=VALUE ...]`: sends one control line to $JOULECAST_SOCKET
// (the logic is run_mark() in control/mark.hpp).

#include <string>
#include <vector>

namespace joulecast::cli {

/// `args` are the words after "mark". Exit status: 0 when sent, when JOULECAST_SOCKET is unset (nothing to
/// do) and when joulecast cannot be reached (a warning on stderr); 2 for bad input (message on stderr).
int mark_command(const std::vector<std::string>& args);

extern const char* const mark_usage;

}  // namespace joulecast::cli
