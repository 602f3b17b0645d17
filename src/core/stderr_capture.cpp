#include "core/stderr_capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace joulecast::core {

StderrCapture::StderrCapture() {
    std::fflush(stderr);
    std::cerr.flush();
    char path[] = "/tmp/joulecast-stderr-XXXXXX";
    m_file = ::mkostemp(path, O_CLOEXEC);
    if (m_file < 0) return;
    ::unlink(path);
    m_saved = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
    if (m_saved < 0 || ::dup2(m_file, STDERR_FILENO) < 0) {
        if (m_saved >= 0) ::close(m_saved);
        ::close(m_file);
        m_saved = m_file = -1;
    }
}

StderrCapture::~StderrCapture() {
    const std::string left = release();
    if (!left.empty()) std::fprintf(stderr, "%s\n", left.c_str());
}

std::string StderrCapture::release() {
    if (m_file < 0) return {};
    std::fflush(stderr);
    std::cerr.flush();
    ::dup2(m_saved, STDERR_FILENO);
    ::close(m_saved);
    std::string text;
    char buffer[4096];
    ssize_t n;
    ::lseek(m_file, 0, SEEK_SET);
    while ((n = ::read(m_file, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
    ::close(m_file);
    m_saved = m_file = -1;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

}  // namespace joulecast::core
