// joulecast mark VERB [PHASE] [KEY=VALUE ...]: one control line from a shell script.

#include "cli/mark_command.hpp"

#include <cstdlib>
#include <iostream>

#include "control/mark.hpp"

namespace joulecast::cli {

using control::k_mark_usage;
using control::run_mark;

const char* const mark_usage = k_mark_usage;

int mark_command(const std::vector<std::string>& args) {
    const char* socket = std::getenv("JOULECAST_SOCKET");
    return run_mark(args, socket ? socket : "", std::cout, std::cerr);
}

}  // namespace joulecast::cli
