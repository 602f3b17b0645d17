// core/output_file: the one rule for every output option. A regular file is replaced whole and keeps its
// permissions; a symlink's target is written and the link stays; a FIFO or device is written as a stream and
// never replaced; a directory is refused.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/output_file.hpp"
#include "core/result.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::core {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

auto text(const std::string& content) {
    return [content](std::ostream& out) { out << content; };
}

std::size_t files_in(const fs::path& dir) {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(OutputFile, NewAndExistingRegularFilesAreReplacedWholeKeepingTheirMode) {
    test::TempDir dir;
    const fs::path path = dir.path() / "out.json";
    check_output_path("--json", path.string());
    EXPECT_FALSE(fs::exists(path));  // the check leaves nothing behind
    EXPECT_EQ(write_output_file(path.string(), text("first\n")), "");
    EXPECT_EQ(read_text(path), "first\n");
    ASSERT_EQ(chmod(path.c_str(), 0640), 0);
    EXPECT_EQ(write_output_file(path.string(), text("second\n")), "");
    EXPECT_EQ(read_text(path), "second\n");
    struct stat info {};
    ASSERT_EQ(stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0640u);
    EXPECT_EQ(files_in(dir.path()), 1u);  // no temporary file left
}

TEST(OutputFile, AFailingWriterLeavesTheOldFileAsItWas) {
    test::TempDir dir;
    const fs::path path = dir.write("out.json", "old\n");
    const std::string failure =
        write_output_file(path.string(), [](std::ostream&) { throw std::runtime_error("bad byte"); });
    EXPECT_EQ(failure, "bad byte");
    EXPECT_EQ(read_text(path), "old\n");
    EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(OutputFile, ASymlinkIsFollowedAndStaysALink) {
    test::TempDir dir;
    fs::create_directory(dir.path() / "real");
    const fs::path target = dir.write("real/report.html", "old");
    const fs::path link = dir.path() / "report.html";
    fs::create_symlink("real/report.html", link);
    check_output_path("--html", link.string());
    EXPECT_EQ(write_output_file(link.string(), text("<html>")), "");
    EXPECT_TRUE(fs::is_symlink(link));
    EXPECT_EQ(read_text(target), "<html>");
    // A dangling link names the file to create.
    const fs::path dangling = dir.path() / "new.csv";
    fs::create_symlink("real/new.csv", dangling);
    EXPECT_EQ(write_output_file(dangling.string(), text("a,b\n")), "");
    EXPECT_TRUE(fs::is_symlink(dangling));
    EXPECT_EQ(read_text(dir.path() / "real/new.csv"), "a,b\n");
}

TEST(OutputFile, AFifoIsWrittenAsAStreamAndStaysAFifo) {
    test::TempDir dir;
    const fs::path fifo = dir.path() / "pipe";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    check_output_path("--trace", fifo.string());
    std::string received;
    std::thread reader([&] {
        const int fd = open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
        char buffer[256];
        ssize_t n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0)
            received.append(buffer, static_cast<std::size_t>(n));
        close(fd);
    });
    EXPECT_EQ(write_output_file(fifo.string(), text("t_s,value\n0,1\n")), "");
    reader.join();
    EXPECT_EQ(received, "t_s,value\n0,1\n");
    EXPECT_TRUE(fs::is_fifo(fifo));
    EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(OutputFile, ACharacterDeviceIsWrittenInPlaceAndItsErrorsReported) {
    if (!fs::exists("/dev/full") || !fs::is_character_file("/dev/full")) GTEST_SKIP() << "no /dev/full";
    check_output_path("--json", "/dev/full");
    const std::string failure = write_output_file("/dev/full", text(std::string(100000, 'x')));
    EXPECT_NE(failure.find("No space left on device"), std::string::npos) << failure;
    EXPECT_TRUE(fs::is_character_file("/dev/full"));  // still the device
    EXPECT_EQ(write_output_file("/dev/null", text("gone\n")), "");
    EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

TEST(OutputFile, ADirectoryIsRefusedWithAClearMessage) {
    test::TempDir dir;
    try {
        check_output_path("--output", dir.str());
        FAIL() << "a directory was accepted";
    } catch (const UsageError& error) {
        EXPECT_EQ(std::string(error.what()), "--output: cannot write " + dir.str() + ": is a directory");
    }
    EXPECT_EQ(write_output_file(dir.str(), text("x")), "is a directory");
    EXPECT_TRUE(fs::is_directory(dir.path()));
    EXPECT_EQ(files_in(dir.path()), 0u);
    EXPECT_THROW(check_output_path("--json", (dir.path() / "missing/x.json").string()), UsageError);
}

}  // namespace
}  // namespace joulecast::core
