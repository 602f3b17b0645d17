#include "sensors/model/cpu_model.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "support/temp_dir.hpp"

namespace joulecast::sensors {
namespace {

using test::TempDir;

/// A /proc/stat with the aggregate line and `cpus` per-CPU lines (whose values do not matter to the model).
std::string stat_text(const std::string& aggregate, unsigned cpus) {
    std::string text = "cpu  " + aggregate + "\n";
    for (unsigned i = 0; i < cpus; ++i) text += "cpu" + std::to_string(i) + " 1 0 1 10 0 0 0 0 0 0\n";
    text += "intr 12345 0 0\nctxt 999\nbtime 1700000000\n";
    return text;
}

std::string cpuinfo_text(const std::string& model, unsigned processors, unsigned packages = 1) {
    std::string text;
    for (unsigned i = 0; i < processors; ++i) {
        text += "processor\t: " + std::to_string(i) + "\nvendor_id\t: Whatever\n";
        if (!model.empty()) text += "model name\t: " + model + "\n";
        text += "physical id\t: " + std::to_string(i % packages) + "\n\n";
    }
    return text;
}

/// Fields: user nice system idle iowait irq softirq steal guest guest_nice.
TEST(CpuModel, ParsesTheAggregateStatLine) {
    auto times = parse_proc_stat_cpu("cpu  10 20 30 400 50 6 7 8 90 100\ncpu0 1 1 1 1 1 1 1 1 1 1\n");
    ASSERT_TRUE(times);
    EXPECT_EQ(times->total, 10u + 20 + 30 + 400 + 50 + 6 + 7 + 8);  // guest time is already in user/nice
    EXPECT_EQ(times->idle, 450u);
    EXPECT_EQ(times->busy(), 81u);
    auto old_kernel = parse_proc_stat_cpu("cpu 1 2 3 4\n");
    ASSERT_TRUE(old_kernel);
    EXPECT_EQ(old_kernel->total, 10u);
    EXPECT_EQ(old_kernel->idle, 4u);
    EXPECT_FALSE(parse_proc_stat_cpu("cpu0 1 2 3 4\n"));
    EXPECT_FALSE(parse_proc_stat_cpu("cpu  1 2 x 4\n"));
    EXPECT_FALSE(parse_proc_stat_cpu("cpu  1 2\n"));
    EXPECT_EQ(count_stat_cpus(stat_text("1 0 0 1 0 0 0 0 0 0", 6)), 6u);
}

TEST(CpuModel, UtilisationBetweenSnapshots) {
    CpuTimes before{1000, 600};
    EXPECT_DOUBLE_EQ(utilisation_between(before, CpuTimes{1400, 700}).value(), 0.75);
    EXPECT_DOUBLE_EQ(utilisation_between(before, CpuTimes{1400, 1000}).value(), 0.0);
    EXPECT_DOUBLE_EQ(utilisation_between(before, CpuTimes{1400, 600}).value(), 1.0);
    EXPECT_DOUBLE_EQ(utilisation_between(before, CpuTimes{1400, 500}).value(), 1.0);  // iowait went backwards
    EXPECT_FALSE(utilisation_between(before, before));                                // no tick passed
    EXPECT_FALSE(utilisation_between(before, CpuTimes{900, 600}));                    // went backwards
}

TEST(CpuModel, ModelArithmetic) {
    EXPECT_DOUBLE_EQ(modelled_cpu_power_w(100, 0.2, 0.0), 20.0);
    EXPECT_DOUBLE_EQ(modelled_cpu_power_w(100, 0.2, 0.5), 60.0);
    EXPECT_DOUBLE_EQ(modelled_cpu_power_w(100, 0.2, 1.0), 100.0);
    EXPECT_DOUBLE_EQ(modelled_cpu_power_w(100, 0.2, 1.7), 100.0);
    EXPECT_DOUBLE_EQ(modelled_cpu_power_w(100, 0.2, -0.1), 20.0);
    EXPECT_DOUBLE_EQ(modelled_cpu_power_w(250, 0.2, 0.25), 50.0 + 200.0 * 0.25);
    EXPECT_DOUBLE_EQ(cpu_idle_share, 0.2);
}

TEST(CpuModel, ParsesCpuinfo) {
    auto info = parse_cpuinfo(cpuinfo_text("AMD EPYC 7763 64-Core Processor", 8, 2));
    EXPECT_EQ(info.model_name, "AMD EPYC 7763 64-Core Processor");
    EXPECT_EQ(info.processors, 8u);
    EXPECT_EQ(info.packages, 2u);
    auto arm = parse_cpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\n");
    EXPECT_TRUE(arm.model_name.empty());
    EXPECT_EQ(arm.packages, 1u);
}

TEST(CpuModel, FakeProcStatGivesExactPower) {
    TempDir proc;
    proc.write("stat", stat_text("1000 0 500 8000 500 0 0 0 0 0", 4));
    proc.write("cpuinfo", cpuinfo_text("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 4));
    CpuModelSensor sensor(proc.str(), 100.0);
    EXPECT_EQ(sensor.name(), "cpu-model");
    auto availability = sensor.probe();
    ASSERT_TRUE(availability.available) << availability.reason;
    ASSERT_EQ(sensor.channels().size(), 2u);
    const Channel& power = sensor.channels()[0];
    EXPECT_EQ(power.name, "cpu.power");
    EXPECT_EQ(power.domain, "cpu");
    EXPECT_EQ(power.device, "cpu");
    EXPECT_EQ(power.quantity, Quantity::power);
    EXPECT_EQ(power.behaviour, Behaviour::gauge);
    EXPECT_TRUE(power.modelled);
    const Channel& utilisation = sensor.channels()[1];
    EXPECT_EQ(utilisation.name, "cpu.utilisation");
    EXPECT_EQ(utilisation.domain, "cpu");
    EXPECT_EQ(utilisation.quantity, Quantity::utilisation);
    EXPECT_FALSE(utilisation.modelled);

    // +300 user, +50 system, +100 idle, +50 iowait: 500 ticks, 350 busy -> 70%.
    proc.write("stat", stat_text("1300 0 550 8100 550 0 0 0 0 0", 4));
    double value = -1;
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 20.0 + 80.0 * 0.7);
    ASSERT_EQ(sensor.read(1, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 70.0);

    // No tick since: the same values again.
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 76.0);

    // +400 idle only: idle power.
    proc.write("stat", stat_text("1300 0 550 8500 550 0 0 0 0 0", 4));
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 20.0);
    ASSERT_EQ(sensor.read(1, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 0.0);

    // +100 user of which +100 guest (counted once), +100 steal, +200 idle: 400 ticks, 200 busy -> 50%.
    proc.write("stat", stat_text("1400 0 550 8700 550 0 0 100 100 0", 4));
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 60.0);

    // Counters going backwards: an error, then normal again from the new reference.
    proc.write("stat", stat_text("10 0 10 100 0 0 0 0 0 0", 4));
    EXPECT_EQ(sensor.read(0, value), ReadStatus::error);
    proc.write("stat", stat_text("110 0 10 100 0 0 0 0 0 0", 4));
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 100.0);
    EXPECT_EQ(sensor.read(2, value), ReadStatus::error);
}

TEST(CpuModel, KnownModelUsesTheTableTdp) {
    TempDir proc;
    proc.write("stat", stat_text("100 0 0 900 0 0 0 0 0 0", 40));
    proc.write("cpuinfo", cpuinfo_text("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 40));
    CpuModelSensor sensor(proc.str(), std::nullopt);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_DOUBLE_EQ(sensor.tdp_w(), 150.0);  // 40 logical CPUs >= 20 cores: the whole package
    bool noted = false;
    for (const auto& note : sensor.notes())
        noted = noted || note.find("\"Intel Xeon Gold 6248\" in cpu_tdp.csv") != std::string::npos;
    EXPECT_TRUE(noted);

    proc.write("stat", stat_text("100 0 0 1900 0 0 0 0 0 0", 40));
    double value = -1;
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 30.0);  // idle: 20% of 150 W
}

TEST(CpuModel, TwoPackagesDoubleTheTdp) {
    TempDir proc;
    proc.write("stat", stat_text("100 0 0 900 0 0 0 0 0 0", 80));
    proc.write("cpuinfo", cpuinfo_text("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 80, 2));
    CpuModelSensor sensor(proc.str(), std::nullopt);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_DOUBLE_EQ(sensor.tdp_w(), 300.0);
}

TEST(CpuModel, SmallVmOnALargePartIsChargedItsShare) {
    TempDir proc;
    proc.write("stat", stat_text("100 0 0 900 0 0 0 0 0 0", 2));
    proc.write("cpuinfo", cpuinfo_text("AMD EPYC 7763 64-Core Processor", 2));
    CpuModelSensor sensor(proc.str(), std::nullopt);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_DOUBLE_EQ(sensor.tdp_w(), 280.0 * 2 / 64);  // 8.75 W
}

TEST(CpuModel, UnknownModelFallsToThePerCoreDefault) {
    TempDir proc;
    proc.write("stat", stat_text("100 0 0 900 0 0 0 0 0 0", 2));
    proc.write("cpuinfo", cpuinfo_text("AMD EPYC", 2));  // what this development machine reports
    CpuModelSensor sensor(proc.str(), std::nullopt);
    ASSERT_TRUE(sensor.probe().available);
    const double per_cpu = CpuTdpTables::builtin().median_watts_per_core();
    EXPECT_NEAR(per_cpu, 13.3333, 1e-3);
    EXPECT_DOUBLE_EQ(sensor.tdp_w(), per_cpu * 2);
    bool noted = false;
    for (const auto& note : sensor.notes())
        noted = noted || note.find("no table entry: default 13.33 W per logical CPU") != std::string::npos;
    EXPECT_TRUE(noted);
}

TEST(CpuModel, MissingCpuinfoFallsToTheDefault) {
    TempDir proc;
    proc.write("stat", stat_text("100 0 0 900 0 0 0 0 0 0", 3));
    CpuModelSensor sensor(proc.str(), std::nullopt);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_DOUBLE_EQ(sensor.tdp_w(), CpuTdpTables::builtin().median_watts_per_core() * 3);
}

TEST(CpuModel, OverrideWins) {
    TempDir proc;
    proc.write("stat", stat_text("100 0 0 900 0 0 0 0 0 0", 40));
    proc.write("cpuinfo", cpuinfo_text("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 40));
    CpuModelSensor sensor(proc.str(), 42.5);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_DOUBLE_EQ(sensor.tdp_w(), 42.5);
    bool noted = false;
    for (const auto& note : sensor.notes())
        noted = noted || note.find("--cpu-tdp 42.5 W") != std::string::npos;
    EXPECT_TRUE(noted);
}

TEST(CpuModel, UnusableInputsAreUnavailableWithAReason) {
    TempDir proc;
    CpuModelSensor missing(proc.str(), std::nullopt);
    auto availability = missing.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find(proc.str() + "/stat"), std::string::npos) << availability.reason;

    proc.write("stat", stat_text("100 0 0 900 0 0 0 0 0 0", 1));
    CpuModelSensor negative(proc.str(), -5.0);
    availability = negative.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("--cpu-tdp"), std::string::npos);

    proc.write("stat", "intr 1 2 3\n");
    CpuModelSensor no_cpu_line(proc.str(), std::nullopt);
    EXPECT_FALSE(no_cpu_line.probe().available);
}

TEST(CpuModel, ChooseTdpRule) {
    CpuTdpMatch match{280, 64u, "AMD EPYC 7763", "cpu_tdp.csv", true};
    EXPECT_DOUBLE_EQ(choose_cpu_tdp(std::nullopt, match, 128, 1, 13).tdp_w, 280.0);
    EXPECT_DOUBLE_EQ(choose_cpu_tdp(std::nullopt, match, 256, 2, 13).tdp_w, 560.0);
    EXPECT_DOUBLE_EQ(choose_cpu_tdp(std::nullopt, match, 16, 1, 13).tdp_w, 70.0);
    EXPECT_DOUBLE_EQ(choose_cpu_tdp(std::nullopt, match, 96, 2, 13).tdp_w, 420.0);  // 1.5 packages' worth
    match.cores.reset();
    EXPECT_DOUBLE_EQ(choose_cpu_tdp(std::nullopt, match, 2, 1, 13).tdp_w,
                     280.0);  // cores unknown: no scaling
    EXPECT_DOUBLE_EQ(choose_cpu_tdp(std::nullopt, std::nullopt, 4, 1, 12.5).tdp_w, 50.0);
    EXPECT_DOUBLE_EQ(choose_cpu_tdp(99.0, match, 4, 1, 12.5).tdp_w, 99.0);
}

TEST(CpuModel, ReadsTheRealProcWhenPresent) {
    CpuModelSensor sensor("/proc", std::nullopt);
    auto availability = sensor.probe();
    if (!availability.available) GTEST_SKIP() << availability.reason;
    EXPECT_GT(sensor.tdp_w(), 0.0);
    double value = -1;
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_GE(value, cpu_idle_share * sensor.tdp_w() - 1e-9);
    EXPECT_LE(value, sensor.tdp_w() + 1e-9);
    ASSERT_EQ(sensor.read(1, value), ReadStatus::ok);
    EXPECT_GE(value, 0.0);
    EXPECT_LE(value, 100.0);
}

TEST(ProcStat, ReadersOfOneTickShareOneReadAndAReaderReadingAgainSeesTheFileAfresh) {
    TempDir proc;
    proc.write("stat", stat_text("100 0 0 900 0 0 0 0 0 0", 2));
    ProcStatCpu stat(proc.str(), std::chrono::hours(1));  // a tick that lasts: every share is deterministic
    const std::size_t a = stat.add_reader(), b = stat.add_reader(), c = stat.add_reader();
    ASSERT_EQ(stat.open(), 0);
    EXPECT_EQ(stat.read(a)->busy(), 100u);
    proc.write("stat", stat_text("200 0 0 1800 0 0 0 0 0 0", 2));
    EXPECT_EQ(stat.read(b)->busy(), 100u);  // a's snapshot, not read again
    EXPECT_EQ(stat.read(c)->busy(), 100u);
    EXPECT_EQ(stat.read(a)->busy(), 200u);  // a used it already: a fresh read
    EXPECT_EQ(stat.read(b)->busy(), 200u);
    EXPECT_EQ(stat.read(b)->total, 2000u);  // b again: afresh, same file

    ProcStatCpu none(proc.str() + "/missing");
    EXPECT_NE(none.open(), 0);
    EXPECT_FALSE(none.read(none.add_reader()));
}

TEST(CpuModel, BothChannelsShareTheReaderGivenAndReadEvery200Ms) {
    TempDir proc;
    proc.write("stat", stat_text("0 0 0 1000 0 0 0 0 0 0", 2));
    proc.write("cpuinfo", cpuinfo_text("", 2));
    auto shared = std::make_shared<ProcStatCpu>(proc.str(), std::chrono::hours(1));
    const std::size_t other = shared->add_reader();  // as the job-cpu sensor
    CpuModelSensor sensor(proc.str(), 100.0, shared);
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_EQ(sensor.channels()[0].min_period, std::chrono::milliseconds(200));
    EXPECT_EQ(sensor.channels()[1].min_period, std::chrono::milliseconds(200));
    proc.write("stat", stat_text("500 0 0 1500 0 0 0 0 0 0", 2));  // 1000 ticks, 500 busy
    double value = -1;
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 20.0 + 80.0 * 0.5);
    proc.write("stat", stat_text("1500 0 0 1500 0 0 0 0 0 0", 2));
    ASSERT_EQ(sensor.read(1, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 50.0);                 // channel 0's snapshot of this tick
    EXPECT_EQ(shared->read(other)->busy(), 500u);  // and the other sensor's
}

}  // namespace
}  // namespace joulecast::sensors
