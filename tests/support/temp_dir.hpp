#pragma once
// An RAII temporary directory for fake sysfs/proc trees, stores and outputs.

#include <filesystem>
#include <string>

namespace joulecast::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return m_path; }
    std::string str() const { return m_path.string(); }
    /// Writes `content` to `relative` (creating parent folders) and returns the full path.
    std::filesystem::path write(const std::string& relative, const std::string& content) const;

private:
    std::filesystem::path m_path;
};

}  // namespace joulecast::test
