#include "core/output_file.hpp"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/result.hpp"

namespace joulecast::core {

namespace {

struct Target {
    std::string path;  ///< the file that is written: `path` itself or what its links lead to
    bool exists = false;
    struct stat info {};
    std::string error;  ///< a reason it cannot be written, or ""
};

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

/// Follows symbolic links (a dangling one names the file to create) and says what the target is.
Target resolve(const std::string& path) {
    Target target;
    target.path = path;
    for (int depth = 0;; ++depth) {
        if (depth > 40) {
            target.error = std::strerror(ELOOP);
            return target;
        }
        struct stat link {};
        if (lstat(target.path.c_str(), &link) != 0) {
            if (errno != ENOENT) target.error = std::strerror(errno);
            return target;  // a new file
        }
        if (!S_ISLNK(link.st_mode)) {
            target.exists = true;
            target.info = link;
            if (S_ISDIR(link.st_mode)) target.error = "is a directory";
            return target;
        }
        char buffer[PATH_MAX];
        const ssize_t n = readlink(target.path.c_str(), buffer, sizeof buffer - 1);
        if (n < 0) {
            target.error = std::strerror(errno);
            return target;
        }
        std::string next(buffer, static_cast<std::size_t>(n));
        target.path = next.front() == '/' ? next : parent_of(target.path) + "/" + next;
    }
}

bool is_stream(const Target& target) {
    return target.exists && !S_ISREG(target.info.st_mode);
}

std::string temporary_for(const Target& target) {
    return target.path + ".joulecast-" + std::to_string(getpid()) + ".tmp";
}

std::string write_stream(const std::string& path, const std::function<void(std::ostream&)>& write) {
    errno = 0;
    std::ofstream out(path, std::ios::binary | std::ios::out);  // no truncation: a device or FIFO
    if (!out) return errno ? std::strerror(errno) : "cannot open it";
    errno = 0;  // a failed write keeps the system's reason here
    try {
        write(out);
    } catch (const std::exception& error) {
        return error.what();
    }
    out.flush();
    out.close();
    if (!out) return errno ? std::strerror(errno) : "write failed";
    return "";
}

}  // namespace

void check_output_path(const std::string& option, const std::string& path) {
    auto fail = [&](const std::string& reason) {
        throw UsageError(option + ": cannot write " + path + ": " + reason);
    };
    if (path.empty()) fail("no path given");
    const Target target = resolve(path);
    if (!target.error.empty()) fail(target.error);
    if (is_stream(target)) {
        if (S_ISSOCK(target.info.st_mode)) fail("is a socket");
        if (access(target.path.c_str(), W_OK) != 0) fail(std::strerror(errno));
        return;
    }
    // A regular or new file: its folder must take the temporary file that is renamed over it.
    const std::string temporary = temporary_for(target);
    const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) fail(std::strerror(errno));
    close(fd);
    unlink(temporary.c_str());
    if (target.exists && access(target.path.c_str(), W_OK) != 0) fail(std::strerror(errno));
}

std::string write_output_file(const std::string& path, const std::function<void(std::ostream&)>& write) {
    const Target target = resolve(path);
    if (!target.error.empty()) return target.error;
    if (is_stream(target)) return write_stream(target.path, write);

    const std::string temporary = temporary_for(target);
    auto discard = [&](std::string reason) {
        unlink(temporary.c_str());
        return reason;
    };
    {
        errno = 0;
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) return discard(errno ? std::strerror(errno) : "cannot create " + temporary);
        errno = 0;
        try {
            write(out);
        } catch (const std::exception& error) {
            return discard(error.what());
        }
        out.flush();
        out.close();
        if (!out) return discard(errno ? std::strerror(errno) : "write failed (disk full?)");
    }
    if (target.exists) chmod(temporary.c_str(), target.info.st_mode & 07777);
    if (std::rename(temporary.c_str(), target.path.c_str()) != 0) return discard(std::strerror(errno));
    return "";
}

}  // namespace joulecast::core
