#pragma once
// joulecast inspect and joulecast models: the characteristics (trainable parameters, forward MACs) of a
// model, read from an ONNX file here, or of a built-in model through the joulecast-zoo executable (built
// where libtorch is installed), to which these commands hand over.

#include <string>
#include <vector>

namespace joulecast::cli {

/// joulecast inspect MODEL [options]: an ONNX file (an existing file, or a name ending in .onnx or holding a
/// '/') is read here; any other name is a built-in model, and the process becomes `joulecast-zoo inspect
/// ARGS...` (exec), so its exit status is joulecast-zoo's. Returns the exit status; UsageError for bad
/// options.
int inspect_command(const std::vector<std::string>& args);
/// joulecast models [--json]: becomes `joulecast-zoo models ARGS...`.
int models_command(const std::vector<std::string>& args);

extern const char* const inspect_usage;
extern const char* const models_usage;

}  // namespace joulecast::cli
