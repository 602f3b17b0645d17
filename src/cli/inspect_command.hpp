#pragma once
// joulecast inspect and joulecast models: the characteristics (trainable parameters, forward MACs) of a
// model, read from an ONNX file here, or of a built-in model through the joulecast-zoo executable (built
// where libtorch is installed), to which these commands hand over.

#include <optional>
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

/// The joulecast-zoo executable: the one beside the running joulecast (/proc/self/exe), else the first in
/// PATH; nullopt when there is none.
std::optional<std::string> find_zoo();
/// Where joulecast-zoo is when it is beside the running joulecast (whether or not it is there).
std::string zoo_beside_this_program();

/// Whether `model` names an ONNX file rather than a built-in model: an existing file, or a name ending in
/// .onnx or holding a '/'.
bool names_file(const std::string& model);

}  // namespace joulecast::cli
