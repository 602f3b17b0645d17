#include "core/stderr_capture.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace joulecast::core {
namespace {

void write_fd2(const std::string& text) {
    ASSERT_EQ(::write(STDERR_FILENO, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

TEST(StderrCapture, ReleaseReturnsWhatWasWrittenToDescriptorTwoAndRestoresIt) {
    ::testing::internal::CaptureStderr();
    std::string captured;
    {
        StderrCapture capture;
        write_fd2("first line\n");
        std::fprintf(stderr, "second line\n");
        captured = capture.release();
        write_fd2("after\n");
    }
    EXPECT_EQ(captured, "first line\nsecond line");
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "after\n");
}

TEST(StderrCapture, AnUnreleasedCaptureHandsItsTextBackToStderr) {
    ::testing::internal::CaptureStderr();
    {
        StderrCapture capture;
        write_fd2("kept\n");
    }
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "kept\n");
}

}  // namespace
}  // namespace joulecast::core
