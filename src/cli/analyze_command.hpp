#pragma once
// `joulecast analyze [FILTERS] [--inferences N] [--json]`: correlations, drivers, Pareto front, optimal batch
// size, inference share and guidelines over the stored runs (the logic is in analysis/analysis.hpp).

#include <string>
#include <vector>

namespace joulecast::cli {

/// `args` are the words after "analyze". Exit status: 0 analysed (also when too few runs allow no
/// conclusion: the output says why); 1 a store that cannot be used; 2 bad options (UsageError).
int analyze_command(const std::vector<std::string>& args);

extern const char* const analyze_usage;

}  // namespace joulecast::cli
