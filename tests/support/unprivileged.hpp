#pragma once
// Runs a check as an unprivileged user, for tests of permission errors that root would not see (root reads
// and writes mode-000 files).

#include <functional>
#include <string>

namespace joulecast::test {

/// Runs `check` in a forked child: as user and group nobody (65534) when this process is root, else as
/// this user. Returns 'R' followed by what `check` returned, or 'S' followed by why the check could not be
/// made (fork failed, root could not be dropped, the child reported nothing). The child ends with _exit, so
/// the parent's objects (a TempDir) are not destroyed twice; paths the check uses must be traversable by
/// nobody.
std::string run_unprivileged(const std::function<std::string()>& check);

}  // namespace joulecast::test
