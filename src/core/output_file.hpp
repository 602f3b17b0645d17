#pragma once
// Output files named by the user (--json, --trace, --html, --report, --output, --save-calibration, ...): one
// rule for all of them, so that no option replaces what the user did not ask to replace.
//
// - A regular file (or a new one) is written beside itself and renamed over it, so that a reader never sees
//   half a file; the existing file's permissions are kept.
// - A symbolic link is followed: its target is written (the same way), the link stays.
// - A FIFO, a character or block device is written in place as a stream: never replaced by a regular file.
// - A directory is refused with a clear message.

#include <functional>
#include <ostream>
#include <string>

namespace joulecast::core {

/// Checks, before any work is done, that `path` can be written as above: refuses a directory, and for a
/// regular or missing file checks that its folder accepts a new file. Throws UsageError("OPTION: cannot write
/// PATH: reason").
void check_output_path(const std::string& option, const std::string& path);

/// Writes what `write` puts in the stream to `path` as above. Returns "" on success, else the reason ("is a
/// directory", "No space left on device", ...). Never throws for I/O problems; an exception thrown by `write`
/// is caught and returned as the reason, and the target is then left as it was (for regular files).
std::string write_output_file(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace joulecast::core
