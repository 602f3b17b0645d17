// End to end: output options never replace what the user did not ask to replace. `report --html` through a
// symlink writes the link's target, to a FIFO writes a stream, and `run --json` / `runs export --output`
// refuse a directory before anything runs.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

namespace fs = std::filesystem;
using test::ProcessOptions;
using test::run_process;
using test::TempDir;

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(OutputPaths, ReportThroughASymlinkWritesItsTargetAndKeepsTheLink) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    fs::create_directory(dir.path() / "site");
    const fs::path target = dir.write("site/report.html", "old page");
    const fs::path link = dir.path() / "report.html";
    fs::create_symlink("site/report.html", link);
    auto r = run_process({JOULECAST_BINARY, "report", "--html", link.string()}, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::is_symlink(link)) << "the link was replaced by a regular file";
    EXPECT_NE(read_text(target).find("<html"), std::string::npos);
}

TEST(OutputPaths, ReportToAFifoIsAStreamAndTheFifoStays) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    const fs::path fifo = dir.path() / "page.fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    // Reads without blocking forever: a joulecast that replaces the FIFO never opens it.
    std::string received;
    std::thread reader([&] {
        const int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        bool writer_seen = false;
        while (fd >= 0 && std::chrono::steady_clock::now() < end) {
            pollfd p{fd, POLLIN, 0};
            poll(&p, 1, 100);
            char buffer[65536];
            const ssize_t n = read(fd, buffer, sizeof buffer);
            if (n > 0) {
                received.append(buffer, static_cast<std::size_t>(n));
                writer_seen = true;
            } else if (n == 0 && writer_seen) {
                break;  // the writer closed it
            }
        }
        if (fd >= 0) close(fd);
    });
    auto r = run_process({JOULECAST_BINARY, "report", "--html", fifo.string()}, options);
    reader.join();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::is_fifo(fifo)) << "the FIFO was replaced by a regular file";
    EXPECT_NE(received.find("<html"), std::string::npos) << received.size() << " bytes received";
}

TEST(OutputPaths, ADirectoryIsRefusedBeforeAnythingRuns) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    fs::create_directory(dir.path() / "out");
    const fs::path marker = dir.path() / "ran";
    auto r = run_process(
        {JOULECAST_BINARY, "run", "--json", (dir.path() / "out").string(), "--", "touch", marker.string()},
        options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--json: cannot write " + (dir.path() / "out").string() + ": is a directory"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(marker));
    r = run_process(
        {JOULECAST_BINARY, "runs", "export", "--format", "csv", "--output", (dir.path() / "out").string()},
        options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::is_directory(dir.path() / "out"));
}

}  // namespace
}  // namespace joulecast

namespace joulecast {
namespace {

/// Runs `joulecast ARGS > /dev/full` through sh; its exit code and stderr.
test::ProcessResult to_full_device(const ProcessOptions& options, const std::string& args) {
    return run_process(
        {"/bin/sh", "-c", std::string("exec '") + JOULECAST_BINARY + "' " + args + " > /dev/full"}, options);
}

TEST(OutputPaths, AStdoutThatCannotBeWrittenIsAFailureNotASilentSuccess) {
    if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    ASSERT_EQ(run_process({JOULECAST_BINARY, "run", "--quiet", "--", "true"}, options).exit_code, 0);
    for (const char* args : {"runs list --json", "runs list", "sensors", "sensors --json", "jobs list",
                             "analyze --json", "--version"}) {
        auto r = to_full_device(options, args);
        EXPECT_EQ(r.exit_code, 1) << args << ": " << r.err;
        EXPECT_NE(r.err.find("writing the output to stdout failed: No space left on device"),
                  std::string::npos)
            << args << ": " << r.err;
    }
}

TEST(OutputPaths, RunWithAnOutputThatCannotBeWrittenExitsOneAndKeepsTheOthers) {
    if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    const auto json = dir.path() / "r.json";
    auto r = run_process(
        {JOULECAST_BINARY, "run", "--quiet", "--trace", "/dev/full", "--json", json.string(), "--", "true"},
        options);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("writing /dev/full failed"), std::string::npos) << r.err;
    EXPECT_GT(fs::file_size(json), 0u);  // the other output is written
    // A failing command keeps its own status.
    r = run_process({JOULECAST_BINARY, "run", "--quiet", "--trace", "/dev/full", "--", "sh", "-c", "exit 3"},
                    options);
    EXPECT_EQ(r.exit_code, 3) << r.err;
}

}  // namespace
}  // namespace joulecast
