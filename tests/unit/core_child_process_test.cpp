// capture_output: the standard output of a command run without a shell, and its failures.

#include <gtest/gtest.h>

#include "core/child_process.hpp"

namespace joulecast::core {
namespace {

TEST(CaptureOutput, ReturnsWhatTheCommandWroteToStandardOutput) {
    auto out = capture_output({"/bin/sh", "-c", "printf 'one\\ntwo'; echo ignored >&2"});
    ASSERT_TRUE(out.ok()) << out.error();
    EXPECT_EQ(out.value(), "one\ntwo");
}

TEST(CaptureOutput, OutputLargerThanAPipeBufferArrivesWhole) {
    auto out = capture_output({"/bin/sh", "-c", "head -c 200000 /dev/zero"});
    ASSERT_TRUE(out.ok()) << out.error();
    EXPECT_EQ(out.value().size(), 200000u);
}

TEST(CaptureOutput, NonZeroExitIsAnErrorWithTheStatus) {
    auto out = capture_output({"/bin/sh", "-c", "echo partial; exit 3"});
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error(), "/bin/sh exited with status 3");
}

TEST(CaptureOutput, AProgramThatCannotBeExecutedExits127) {
    auto out = capture_output({"/nonexistent/joulecast-no-such-program"});
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error(), "/nonexistent/joulecast-no-such-program exited with status 127");
}

TEST(CaptureOutput, NoCommandIsAnError) {
    EXPECT_FALSE(capture_output({}).ok());
}

}  // namespace
}  // namespace joulecast::core
