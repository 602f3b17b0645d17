// process_stat / process_alive / this_boot_id against a fake /proc tree in a temporary directory. The pids
// are real (this test's own, or a child that has been reaped), since process_alive asks kill() first.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "core/process_liveness.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::core {
namespace {

using test::TempDir;

// A /proc/PID/stat line with state `state` and start time `start` (field 22); the command name holds a space
// and parentheses, as real ones may.
std::string stat_line(pid_t pid, char state, long long start) {
    std::string line = std::to_string(pid) + " (my (odd) cmd) " + state;
    for (int field = 4; field <= 21; ++field) line += " " + std::to_string(field * 10);
    line += " " + std::to_string(start) + " 4096 7\n";
    return line;
}

std::string stat_file(pid_t pid) {
    return std::to_string(pid) + "/stat";
}

// A pid that existed and is gone: a child that exited and was reaped.
pid_t reaped_pid() {
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status = 0;
    waitpid(pid, &status, 0);
    return pid;
}

TEST(ProcessStat, ParsesStateAndStartTimeAfterTheLastParenthesis) {
    TempDir proc;
    proc.write(stat_file(4242), stat_line(4242, 'S', 987654));
    auto stat = process_stat(4242, proc.str());
    ASSERT_TRUE(stat.has_value());
    EXPECT_EQ(stat->state, 'S');
    EXPECT_EQ(stat->start_ticks, 987654);
}

TEST(ProcessStat, MissingOrShortFileIsNullopt) {
    TempDir proc;
    EXPECT_FALSE(process_stat(4242, proc.str()).has_value());
    proc.write(stat_file(4243), "4243 (cmd) S 1 2 3\n");
    EXPECT_FALSE(process_stat(4243, proc.str()).has_value());
    proc.write(stat_file(4244), "4244 no parenthesis\n");
    EXPECT_FALSE(process_stat(4244, proc.str()).has_value());
}

TEST(ProcessAlive, LiveProcessWithMatchingOrUnknownStartTime) {
    TempDir proc;
    const pid_t self = getpid();
    proc.write(stat_file(self), stat_line(self, 'R', 5000));
    EXPECT_TRUE(process_alive(self, 5000, proc.str()));
    EXPECT_TRUE(process_alive(self, 0, proc.str()));
}

TEST(ProcessAlive, ReusedPidWithAnotherStartTimeIsNotTheRun) {
    TempDir proc;
    const pid_t self = getpid();
    proc.write(stat_file(self), stat_line(self, 'S', 5001));
    EXPECT_FALSE(process_alive(self, 5000, proc.str()));
}

TEST(ProcessAlive, ZombieOrDeadStateIsGone) {
    TempDir proc;
    const pid_t self = getpid();
    proc.write(stat_file(self), stat_line(self, 'Z', 5000));
    EXPECT_FALSE(process_alive(self, 5000, proc.str()));
    proc.write(stat_file(self), stat_line(self, 'X', 5000));
    EXPECT_FALSE(process_alive(self, 5000, proc.str()));
}

TEST(ProcessAlive, NoStatFileTrustsKill) {
    TempDir proc;  // empty: no /proc entry to say more
    EXPECT_TRUE(process_alive(getpid(), 5000, proc.str()));
}

TEST(ProcessAlive, ExitedProcessOrBadPidIsGoneWhateverTheTreeSays) {
    TempDir proc;
    const pid_t gone = reaped_pid();
    ASSERT_GT(gone, 0);
    proc.write(stat_file(gone), stat_line(gone, 'R', 5000));
    EXPECT_FALSE(process_alive(gone, 5000, proc.str()));
    EXPECT_FALSE(process_alive(0, 0, proc.str()));
    EXPECT_FALSE(process_alive(-1, 0, proc.str()));
}

TEST(BootId, TrimmedFromTheTreeAndEmptyWithoutIt) {
    TempDir proc;
    EXPECT_EQ(this_boot_id(proc.str()), "");
    proc.write("sys/kernel/random/boot_id", "0f1e2d3c-aaaa-bbbb-cccc-123456789abc\n");
    EXPECT_EQ(this_boot_id(proc.str()), "0f1e2d3c-aaaa-bbbb-cccc-123456789abc");
}

}  // namespace
}  // namespace joulecast::core
