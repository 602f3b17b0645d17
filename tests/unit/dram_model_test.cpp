#include "sensors/model/dram_model.hpp"

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace joulecast::sensors {
namespace {

using test::TempDir;

TEST(DramModel, ParsesMemTotal) {
    EXPECT_EQ(parse_meminfo_total_bytes("MemTotal:       16777216 kB\nMemFree: 1 kB\n").value(), 16ull << 30);
    EXPECT_EQ(parse_meminfo_total_bytes("MemFree: 1 kB\nMemTotal: 1024 kB\n").value(), 1024u * 1024u);
    EXPECT_FALSE(parse_meminfo_total_bytes("MemFree: 1 kB\n"));
    EXPECT_FALSE(parse_meminfo_total_bytes("MemTotal: lots\n"));
    EXPECT_FALSE(parse_meminfo_total_bytes("MemTotal: 1024\n"));
}

TEST(DramModel, WattsPerGib) {
    EXPECT_DOUBLE_EQ(dram_watts_per_gib, 0.375);
    EXPECT_DOUBLE_EQ(modelled_dram_power_w(8ull << 30), 3.0);
    EXPECT_DOUBLE_EQ(modelled_dram_power_w(0), 0.0);
}

TEST(DramModel, FakeMeminfoGivesExactWatts) {
    TempDir proc;
    proc.write("meminfo",
               "MemTotal:       16777216 kB\nMemFree:         1000000 kB\nMemAvailable:   2000000 kB\n");
    DramModelSensor sensor(proc.str());
    EXPECT_EQ(sensor.name(), "dram-model");
    auto availability = sensor.probe();
    ASSERT_TRUE(availability.available) << availability.reason;
    ASSERT_EQ(sensor.channels().size(), 1u);
    const Channel& channel = sensor.channels()[0];
    EXPECT_EQ(channel.name, "dram.power");
    EXPECT_EQ(channel.domain, "dram");
    EXPECT_EQ(channel.device, "dram");
    EXPECT_EQ(channel.quantity, Quantity::power);
    EXPECT_EQ(channel.behaviour, Behaviour::gauge);
    EXPECT_TRUE(channel.modelled);
    double value = -1;
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 6.0);  // 16 GiB x 0.375 W/GiB
    EXPECT_EQ(sensor.read(1, value), ReadStatus::error);
    bool cited = false;
    for (const auto& note : sensor.notes()) cited = cited || note.find("CodeCarbon") != std::string::npos;
    EXPECT_TRUE(cited);

    // A machine with 251.5 GiB visible.
    proc.write("meminfo", "MemTotal:       263716864 kB\n");
    DramModelSensor big(proc.str());
    ASSERT_TRUE(big.probe().available);
    ASSERT_EQ(big.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 263716864.0 / 1048576.0 * 0.375);
}

TEST(DramModel, UnreadableMeminfoIsUnavailableWithAReason) {
    TempDir proc;
    DramModelSensor sensor(proc.str());
    auto availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find(proc.str() + "/meminfo"), std::string::npos) << availability.reason;
    EXPECT_TRUE(sensor.channels().empty());

    proc.write("meminfo", "MemFree: 12 kB\n");
    DramModelSensor no_total(proc.str());
    availability = no_total.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("MemTotal"), std::string::npos);
}

}  // namespace
}  // namespace joulecast::sensors
