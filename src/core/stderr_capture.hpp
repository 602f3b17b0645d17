#pragma once
// Vendor libraries (ROCm SMI among them) print their own complaints straight to file descriptor 2 while
// they initialise, e.g. "Failed to open drm root directory" on a machine without an AMD GPU. joulecast's
// user should see joulecast's reason, not a library's stray lines, so the probe captures them and puts them
// in its message instead.

#include <string>

namespace joulecast::core {

/// While alive, file descriptor 2 writes into a temporary file. `release()` restores the real stderr and
/// returns what was written (also done, discarding nothing, by the destructor: the text is then written to
/// the real stderr). When no temporary file can be made, nothing is captured and stderr stays as it was.
class StderrCapture {
public:
    StderrCapture();
    ~StderrCapture();
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;

    /// Restores stderr and returns the captured text (trailing newlines trimmed). Safe to call once only;
    /// later calls return "".
    std::string release();

private:
    int m_saved = -1;
    int m_file = -1;
};

}  // namespace joulecast::core
