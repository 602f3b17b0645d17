#pragma once
// One function per command; main.cpp only dispatches. Each returns the process exit status and throws
// UsageError for bad options (main prints it with the command's usage and exits 2).

#include <string>
#include <vector>

namespace joulecast::cli {

int run_command(const std::vector<std::string>& args);
int sensors_command(const std::vector<std::string>& args);
int runs_command(const std::vector<std::string>& args);
int jobs_command(const std::vector<std::string>& args);

extern const char* const run_usage;
extern const char* const sensors_usage;
extern const char* const runs_usage;
extern const char* const jobs_usage;

}  // namespace joulecast::cli
