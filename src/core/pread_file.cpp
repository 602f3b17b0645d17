#include "core/pread_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace joulecast::core {

PreadFile::~PreadFile() {
    close();
}

PreadFile::PreadFile(PreadFile&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)) {}

PreadFile& PreadFile::operator=(PreadFile&& other) noexcept {
    if (this != &other) {
        close();
        m_fd = std::exchange(other.m_fd, -1);
        m_path = std::move(other.m_path);
    }
    return *this;
}

int PreadFile::open(const std::string& path) {
    close();
    m_path = path;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    m_fd = fd;
    return 0;
}

long PreadFile::read_from_start(char* buffer, std::size_t size) const {
    if (m_fd < 0) return -EBADF;
    while (true) {
        ssize_t n = ::pread(m_fd, buffer, size, 0);
        if (n >= 0) return static_cast<long>(n);
        if (errno != EINTR) return -errno;
    }
}

void PreadFile::close() {
    if (m_fd >= 0) {
        // Nothing useful can be done about a failed close of a read-only descriptor.
        (void)::close(m_fd);
        m_fd = -1;
    }
}

}  // namespace joulecast::core
