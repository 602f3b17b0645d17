#pragma once
// joulecast study [options] [GRID.toml]: run a grid of training configurations, each measured and stored.

#include <string>
#include <vector>

namespace joulecast::cli {

int study_command(const std::vector<std::string>& args);
extern const char* const study_usage;

}  // namespace joulecast::cli
