#pragma once
// Plain-text tables for the terminal (runs list, runs show's phases, jobs list/show).

#include <ostream>
#include <string>
#include <vector>

namespace joulecast::cli {

/// Prints `rows` (the first one the header) in columns two spaces apart, each as wide as its widest cell,
/// right-aligned where `right_aligned[c]`; no line ends in spaces.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& right_aligned);

}  // namespace joulecast::cli
