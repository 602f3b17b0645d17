// The job's share of CPU energy: a fake /proc (the job's process tree, an outside hog, /proc/stat) advanced
// by known CPU ticks per second, and a fake package and DRAM energy counter, accounted as a run would.

#include "meter/attribution.hpp"
#include "sensors/job/job_cpu_sensor.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace joulecast::meter {

using sensors::Behaviour;
using sensors::busy_cpu_ticks;
using sensors::Channel;
using sensors::JobCpuSensor;
using sensors::process_tree_ticks;
using sensors::Quantity;
using sensors::ReadStatus;

namespace {

using test::TempDir;

/// A fake proc tree: processes with ticks, and /proc/stat whose busy ticks are the sum of every process's.
class FakeProc {
public:
    explicit FakeProc(const TempDir& dir) : m_dir(dir) { write(); }
    void spawn(int pid, int ppid, const std::string& comm) {
        m_processes[pid] = {ppid, comm, 0, 0};
        write();
    }
    /// Each process in `rates` runs rate ticks per second for `seconds`; the idle CPUs add idle ticks.
    void run(const std::map<int, double>& rates, double seconds) {
        for (const auto& [pid, rate] : rates) {
            m_processes.at(pid).own += rate * seconds;
            m_busy += rate * seconds;
        }
        m_idle += 400.0 * seconds;
        write();
    }
    /// `pid` exits and its parent waits for it: its ticks move to the parent's cutime.
    void reap(int pid) {
        Process child = m_processes.at(pid);
        m_processes.at(child.ppid).children += child.own + child.children;
        m_processes.erase(pid);
        std::filesystem::remove_all(m_dir.path() / "proc" / std::to_string(pid));
        write();
    }
    std::string root() const { return m_dir.str() + "/proc"; }

private:
    struct Process {
        int ppid;
        std::string comm;
        double own;       ///< utime + stime
        double children;  ///< cutime + cstime
    };
    void write() {
        auto ticks = [](double t) { return std::to_string(static_cast<long long>(std::llround(t))); };
        for (const auto& [pid, p] : m_processes) {
            // utime and stime split the own ticks; cutime and cstime the children's. Fields 18 on are
            // padding.
            const std::string stat = std::to_string(pid) + " (" + p.comm + ") S " + std::to_string(p.ppid) +
                                     " 1 1 0 -1 4194304 100 0 0 0 " + ticks(p.own / 2) + " " +
                                     ticks(p.own - std::llround(p.own / 2)) + " " + ticks(p.children) +
                                     " 0 20 0 1 0 "
                                     "100 1000 100\n";
            m_dir.write("proc/" + std::to_string(pid) + "/stat", stat);
        }
        m_dir.write("proc/stat", "cpu  " + ticks(m_busy * 0.7) + " 0 " +
                                     ticks(m_busy - std::llround(m_busy * 0.7)) + " " + ticks(m_idle) +
                                     " 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n");
    }
    const TempDir& m_dir;
    std::map<int, Process> m_processes;
    double m_busy = 1000;
    double m_idle = 50000;
};

TEST(Attribution, ProcessTreeTicksIncludeDescendantsAndReapedChildren) {
    TempDir dir;
    FakeProc proc(dir);
    proc.spawn(100, 1, "python train.py");  // a comm with spaces
    proc.spawn(101, 100, "worker (1)");     // and with parentheses
    proc.spawn(102, 101, "grandchild");
    proc.spawn(200, 1, "hog");
    proc.run({{100, 10}, {101, 20}, {102, 30}, {200, 100}}, 1.0);
    EXPECT_EQ(process_tree_ticks(proc.root(), 100), 60u);
    EXPECT_EQ(process_tree_ticks(proc.root(), 101), 50u);
    proc.reap(102);
    EXPECT_EQ(process_tree_ticks(proc.root(), 100), 60u);  // now in 101's cutime
    EXPECT_EQ(process_tree_ticks(proc.root(), 200), 100u);
    EXPECT_FALSE(process_tree_ticks(proc.root(), 999).has_value());
    EXPECT_EQ(busy_cpu_ticks(proc.root()), 1000u + 160u);
}

TEST(Attribution, MissingProcStatIsUnavailable) {
    TempDir dir;
    JobCpuSensor sensor(dir.str() + "/proc");
    auto availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("cannot measure the job's CPU share"), std::string::npos);
}

TEST(Attribution, JobOnOneCoreBesideAHogOnAnotherGetsHalfThePackageEnergy) {
    TempDir dir;
    FakeProc proc(dir);
    proc.spawn(200, 1, "hog");
    JobCpuSensor sensor(proc.root());
    ASSERT_TRUE(sensor.probe().available);

    // Channels: the share, and a package and DRAM counter of known power (60 W and 8 W).
    std::vector<TraceChannel> channels{{"job-cpu", sensor.channels()[0]}};
    Channel package{"package-0.energy", "cpu", "package-0", Quantity::energy,
                    Behaviour::counter, false, {},          true};
    Channel dram{"package-0.dram.energy", "dram", "package-0", Quantity::energy,
                 Behaviour::counter,      false,  {},          true};
    channels.push_back({"rapl", package});
    channels.push_back({"rapl", dram});
    std::vector<Reading> readings;
    auto sample = [&](double t) {
        double share = -1;
        EXPECT_EQ(sensor.read(0, share), ReadStatus::ok);
        const auto t_ns = static_cast<std::int64_t>(std::llround(t * 1e9));
        readings.push_back({t_ns, 0, share});
        readings.push_back({t_ns, 1, 60.0 * t});
        readings.push_back({t_ns, 2, 8.0 * t});
    };

    const double dt = 0.2;
    sample(0);  // before the command starts: no root yet
    proc.spawn(100, 1, "job");
    sensor.set_root_pid(100);
    // 0..5 s: the job (one core, 100 ticks/s, half in a child that exits at 3 s) beside a hog on another
    // core.
    proc.spawn(101, 100, "child");
    int k = 1;
    for (; k <= 25; ++k) {
        if (k <= 15)
            proc.run({{100, 50}, {101, 50}, {200, 100}}, dt);
        else
            proc.run({{100, 100}, {200, 100}}, dt);
        if (k == 15) proc.reap(101);
        sample(k * dt);
    }
    // 5..10 s: the hog takes three cores, the job still one: a quarter.
    for (; k <= 50; ++k) {
        proc.run({{100, 100}, {200, 300}}, dt);
        sample(k * dt);
    }
    EXPECT_NEAR(readings[3 * 10].value, 50.0, 1e-9);  // the share at 2 s

    Timeline timeline(channels, readings);
    const std::int64_t end_ns = 10'000'000'000;
    AttributedEnergy a = attribute_cpu_energy(timeline, channels, readings, 0, end_ns);
    ASSERT_TRUE(a.measurable) << a.reason;
    EXPECT_NEAR(a.gross_cpu_j, 600.0, 1e-6);
    EXPECT_NEAR(a.gross_dram_j, 80.0, 1e-6);
    const double expected_cpu = 60.0 * (5 * 0.5 + 5 * 0.25);  // 225 J
    const double expected_dram = 8.0 * (5 * 0.5 + 5 * 0.25);  // 30 J
    EXPECT_NEAR(a.cpu_j, expected_cpu, 0.1 * expected_cpu);
    EXPECT_NEAR(a.dram_j, expected_dram, 0.1 * expected_dram);
    EXPECT_NEAR(a.cpu_j, expected_cpu, 1e-6);  // and in fact exactly, ticks being whole here

    // The first half alone: half the package.
    AttributedEnergy first = attribute_cpu_energy(timeline, channels, readings, 0, end_ns / 2);
    EXPECT_NEAR(first.cpu_j, 150.0, 1e-6);
}

TEST(Attribution, AJoinedProcessAddsItsTreeOnceFromItsFirstReading) {
    TempDir dir;
    FakeProc proc(dir);
    proc.spawn(100, 1, "command");
    proc.spawn(101, 100, "rank 0");  // in the command's tree: its hello adds nothing
    proc.spawn(300, 1, "joined rank");
    proc.spawn(301, 300, "its worker");  // says hello too, inside the joined tree
    proc.spawn(200, 1, "hog");
    proc.run({{300, 500}}, 1.0);  // before it joined: not the job's
    JobCpuSensor sensor(proc.root());
    ASSERT_TRUE(sensor.probe().available);
    sensor.set_root_pid(100);
    double share = -1;
    ASSERT_EQ(sensor.read(0, share), ReadStatus::ok);
    for (int pid : {101, 300, 301, 999}) sensor.add_job_root(pid);  // 999: gone before it was read
    // The adopting reading counts no time from before it: rank 0 ran 100 ticks, the hog 300.
    proc.run({{101, 100}, {200, 300}}, 1.0);
    ASSERT_EQ(sensor.read(0, share), ReadStatus::ok);
    EXPECT_NEAR(share, 25.0, 1e-9);
    // From then on: rank 0 (100) + joined rank (100) + its worker (100) of 400 busy ticks.
    proc.run({{101, 100}, {300, 100}, {301, 100}, {200, 100}}, 1.0);
    ASSERT_EQ(sensor.read(0, share), ReadStatus::ok);
    EXPECT_NEAR(share, 75.0, 1e-9);
    // The joined rank exits (its ticks are lost with it, as a command's last interval is); the hog alone.
    proc.run({{300, 100}, {200, 100}}, 1.0);
    proc.reap(301);
    std::filesystem::remove_all(dir.path() / "proc" / "300");
    ASSERT_EQ(sensor.read(0, share), ReadStatus::ok);
    EXPECT_NEAR(share, 0.0, 1e-9);
    // Its PID taken by an unrelated process: no longer the job's.
    proc.spawn(300, 1, "someone else");
    proc.run({{300, 100}, {101, 100}}, 1.0);
    ASSERT_EQ(sensor.read(0, share), ReadStatus::ok);
    EXPECT_NEAR(share, 50.0, 1e-9);
}

TEST(Attribution, WithoutShareReadingsItSaysUnmeasurableRatherThanGuess) {
    Channel package{"package-0.energy", "cpu", "package-0", Quantity::energy,
                    Behaviour::counter, false, {},          true};
    std::vector<TraceChannel> channels{{"rapl", package}};
    std::vector<Reading> readings{{0, 0, 0.0}, {1'000'000'000, 0, 50.0}};
    Timeline timeline(channels, readings);
    AttributedEnergy a = attribute_cpu_energy(timeline, channels, readings, 0, 1'000'000'000);
    EXPECT_FALSE(a.measurable);
    EXPECT_EQ(a.cpu_j, 0.0);
    EXPECT_NE(a.reason.find("unmeasurable"), std::string::npos);
    EXPECT_NEAR(a.gross_cpu_j, 50.0, 1e-9);
}

TEST(Attribution, RealProcessTreeCountsABusyGrandchild) {
    // The command forks a grandchild that burns ~0.4 s of CPU and then waits; the command itself sleeps.
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        setpgid(0, 0);
        if (fork() == 0) {
            // 0.4 s of its own CPU time, however loaded the machine is.
            timespec used{};
            volatile unsigned long spin = 0;
            do {
                for (int i = 0; i < 100000; ++i) spin = spin + 1;
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
            } while (used.tv_sec * 1000000000L + used.tv_nsec < 400000000L);
            if (write(ready[1], "x", 1) != 1) _exit(1);
            pause();
            _exit(0);
        }
        pause();
        _exit(0);
    }
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    auto ticks = process_tree_ticks("/proc", child);
    kill(-child, SIGKILL);  // the test's own process group: the command and its grandchild
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    ASSERT_TRUE(ticks.has_value());
    const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    EXPECT_GE(static_cast<double>(*ticks) / hz,
              0.25);  // 0.4 s of CPU, less a tick of rounding and scheduling
    EXPECT_LE(static_cast<double>(*ticks) / hz, 0.6);
}

}  // namespace
}  // namespace joulecast::meter

namespace joulecast::meter {
namespace {

TEST(Attribution, SensorFollowsARealTreeThroughItsOpenFilesUntilTheRootIsReaped) {
    // As in `joulecast run`: the sensor follows the command (which sleeps) through the descriptors it keeps
    // open on the root's stat and children files; a grandchild burns ~0.4 s of CPU between two readings.
    JobCpuSensor sensor("/proc");
    ASSERT_TRUE(sensor.probe().available);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        setpgid(0, 0);
        if (fork() == 0) {
            char go = 0;
            if (read(ready[0], &go, 1) != 1) _exit(1);
            timespec used{};
            volatile unsigned long spin = 0;
            do {
                for (int i = 0; i < 100000; ++i) spin = spin + 1;
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
            } while (used.tv_sec * 1000000000L + used.tv_nsec < 400000000L);
            if (write(ready[1], "x", 1) != 1) _exit(1);
            pause();
            _exit(0);
        }
        pause();
        _exit(0);
    }
    setpgid(child, child);
    sensor.set_root_pid(child);
    double share = -1;
    // Once the grandchild exists (it waits for the go byte), the first reading sets the job's reference.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(sensor.read(0, share), ReadStatus::ok);
    ASSERT_EQ(write(ready[1], "g", 1), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the grandchild takes the go byte first
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    ASSERT_EQ(byte, 'x');
    ASSERT_EQ(sensor.read(0, share), ReadStatus::ok);
    // At least 0.25 s of job CPU over at most two CPUs' busy time while it ran: well above 5%; 0 if the
    // grandchild were missed.
    EXPECT_GT(share, 5.0);
    EXPECT_LE(share, 100.0);

    kill(-child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_EQ(sensor.read(0, share), ReadStatus::ok);
    EXPECT_EQ(share, 0.0);  // the root is reaped: its open stat no longer reads, the job adds no time
}

}  // namespace
}  // namespace joulecast::meter
