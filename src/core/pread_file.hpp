#pragma once
// A read-only file descriptor kept open and re-read from offset 0 with pread(2): the cheap way to poll sysfs
// and procfs files (RAPL energy_uj, /proc/stat), which regenerate their content on a read at offset 0.
// Used by the RAPL and hwmon sensors, the CPU model and the job-cpu sensor.

#include <cstddef>
#include <string>

namespace joulecast::core {

class PreadFile {
public:
    PreadFile() = default;
    ~PreadFile();
    PreadFile(PreadFile&& other) noexcept;
    PreadFile& operator=(PreadFile&& other) noexcept;
    PreadFile(const PreadFile&) = delete;
    PreadFile& operator=(const PreadFile&) = delete;

    /// Opens `path` read-only (O_CLOEXEC), closing any file held before. Returns 0 or the errno value.
    int open(const std::string& path);
    bool is_open() const { return m_fd >= 0; }
    const std::string& path() const { return m_path; }

    /// Reads up to `size` bytes from offset 0 into `buffer`. Returns the byte count, or -errno on failure.
    long read_from_start(char* buffer, std::size_t size) const;

    void close();

private:
    int m_fd = -1;
    std::string m_path;
};

}  // namespace joulecast::core
