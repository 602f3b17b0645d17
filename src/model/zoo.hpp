#pragma once
// The built-in model zoo: where the joulecast-zoo executable (built where libtorch is installed) is, and
// whether a model name means an ONNX file or one of the zoo's built-in models. Used by `joulecast inspect`,
// `joulecast models`, `joulecast estimate` and `joulecast study`.

#include <optional>
#include <string>

namespace joulecast::model {

/// The joulecast-zoo executable: the one beside the running joulecast (/proc/self/exe), else the first in
/// PATH; nullopt when there is none.
std::optional<std::string> find_zoo();
/// Where joulecast-zoo is when it is beside the running joulecast (whether or not it is there).
std::string zoo_beside_this_program();

/// Whether `model` names an ONNX file rather than a built-in model: an existing file, or a name ending in
/// .onnx or holding a '/'.
bool names_file(const std::string& model);

}  // namespace joulecast::model
