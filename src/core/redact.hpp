#pragma once
// Secrets in stored command lines. A run keeps its command line in the store and its result; a token passed
// as `--api-token abc` would then be readable by anyone who can read those. The values of arguments whose
// name looks like a secret are masked before anything is kept (the command itself runs with them intact).

#include <string>
#include <vector>

namespace joulecast::core {

/// The names masked by default: glob patterns, matched case-insensitively against an option's name without
/// its leading dashes, or a `NAME=value` assignment's name.
const std::vector<std::string>& default_redact_patterns();

/// What `redact_command` masks a value with.
inline constexpr const char* redacted_value = "***";

struct RedactedCommand {
    std::vector<std::string> argv;
    int masked = 0;  ///< how many values were masked
};

/// `argv` with the value of every argument named like one of `patterns` masked:
///   `--api-token=abc`  -> `--api-token=***`
///   `--password abc`   -> `--password ***` (the next argument, unless it is itself an option)
///   `API_KEY=abc`      -> `API_KEY=***` (an environment assignment, e.g. after `env`)
/// argv[0] (the program) is never masked.
RedactedCommand redact_command(const std::vector<std::string>& argv,
                               const std::vector<std::string>& patterns);

}  // namespace joulecast::core
