#include "sensors/rapl/rapl_sensor.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.hpp"
#include "support/unprivileged.hpp"

namespace joulecast::sensors {
namespace {

using test::TempDir;

constexpr std::uint64_t real_range_uj = 262'143'328'850;

/// Writes a fake zone <root>/class/powercap/<relative>/{name,energy_uj,max_energy_range_uj}; relative may
/// nest a subzone inside its package ("intel-rapl:1/intel-rapl:1:0"). max_range 0 leaves that file out.
std::string zone(const TempDir& dir, const std::string& relative, const std::string& name,
                 std::uint64_t energy_uj, std::uint64_t max_range_uj = real_range_uj) {
    const std::string base = "class/powercap/" + relative;
    dir.write(base + "/name", name + "\n");
    dir.write(base + "/energy_uj", std::to_string(energy_uj) + "\n");
    if (max_range_uj != 0) dir.write(base + "/max_energy_range_uj", std::to_string(max_range_uj) + "\n");
    return base;
}

void set_energy(const TempDir& dir, const std::string& relative, std::uint64_t energy_uj) {
    dir.write("class/powercap/" + relative + "/energy_uj", std::to_string(energy_uj) + "\n");
}

const Channel* find_channel(const RaplSensor& sensor, const std::string& name, std::size_t* index = nullptr) {
    const auto& channels = sensor.channels();
    for (std::size_t i = 0; i < channels.size(); ++i)
        if (channels[i].name == name) {
            if (index) *index = i;
            return &channels[i];
        }
    return nullptr;
}

double read_channel(RaplSensor& sensor, const std::string& name) {
    std::size_t index = 0;
    EXPECT_NE(find_channel(sensor, name, &index), nullptr) << name;
    double value = -1;
    EXPECT_EQ(sensor.read(index, value), ReadStatus::ok) << name;
    return value;
}

bool notes_mention(const RaplSensor& sensor, const std::string& text) {
    for (const auto& note : sensor.notes())
        if (note.find(text) != std::string::npos) return true;
    return false;
}

TEST(RaplSensor, MissingPowercapIsUnavailableWithAReason) {
    TempDir dir;
    RaplSensor sensor(dir.str());
    EXPECT_EQ(sensor.name(), "rapl");
    auto availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_EQ(availability.reason,
              "no RAPL: " + dir.str() +
                  "/class/powercap does not exist (virtual machines and non-Intel/AMD CPUs "
                  "usually have none)");
    EXPECT_TRUE(sensor.channels().empty());
}

TEST(RaplSensor, EmptyPowercapIsUnavailable) {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "class/powercap/intel-rapl");  // control type, no zone
    RaplSensor sensor(dir.str());
    auto availability = sensor.probe();
    EXPECT_FALSE(availability.available);
    EXPECT_NE(availability.reason.find("no usable RAPL zone"), std::string::npos) << availability.reason;
}

TEST(RaplSensor, KnownEnergyBetweenReadsIsExact) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "package-0", 1'000'000);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    ASSERT_EQ(sensor.channels().size(), 1u);
    const Channel& channel = sensor.channels()[0];
    EXPECT_EQ(channel.name, "package-0.energy");
    EXPECT_EQ(channel.domain, "cpu");
    EXPECT_EQ(channel.device, "package-0");
    EXPECT_EQ(channel.quantity, Quantity::energy);
    EXPECT_EQ(channel.behaviour, Behaviour::counter);
    EXPECT_EQ(channel.min_period.count(), 0);
    EXPECT_TRUE(channel.accounted);
    EXPECT_FALSE(channel.modelled);

    double value = -1;
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 0.0);  // nothing since probe
    set_energy(dir, "intel-rapl:0", 3'500'000);
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 2.5);
    set_energy(dir, "intel-rapl:0", 3'500'000);
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 2.5);
    set_energy(dir, "intel-rapl:0", 10'000'000);
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 9.0);
}

TEST(RaplSensor, OneWrapBetweenReads) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "package-0", 999'000'000, 1'000'000'000);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    set_energy(dir, "intel-rapl:0", 500'000);
    double value = -1;
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 1.5);  // (1e9 - 999e6 + 5e5) uJ
    set_energy(dir, "intel-rapl:0", 2'500'000);
    ASSERT_EQ(sensor.read(0, value), ReadStatus::ok);
    EXPECT_DOUBLE_EQ(value, 3.5);
}

TEST(RaplSensor, DecreaseWithoutMaxRangeIsAReadErrorNotNegativeEnergy) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "package-0", 5'000'000, 0);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_TRUE(notes_mention(sensor, "max_energy_range_uj unreadable"));
    set_energy(dir, "intel-rapl:0", 6'000'000);
    EXPECT_DOUBLE_EQ(read_channel(sensor, "package-0.energy"), 1.0);
    set_energy(dir, "intel-rapl:0", 1'000);
    double value = -1;
    EXPECT_EQ(sensor.read(0, value), ReadStatus::error);
    set_energy(dir, "intel-rapl:0", 2'001'000);
    EXPECT_DOUBLE_EQ(read_channel(sensor, "package-0.energy"), 3.0);
}

TEST(RaplSensor, GarbageInEnergyFileIsAReadError) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "package-0", 1'000);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    dir.write("class/powercap/intel-rapl:0/energy_uj", "not a number\n");
    double value = -1;
    EXPECT_EQ(sensor.read(0, value), ReadStatus::error);
    EXPECT_EQ(sensor.read(7, value), ReadStatus::error);  // no such channel
}

TEST(RaplSensor, SeveralPackagesAndSubzonesMatchedByName) {
    TempDir dir;
    // Flat layout, as /sys/class/powercap lists them; the subzone indices deliberately differ between
    // packages.
    zone(dir, "intel-rapl:0", "package-0", 1'000'000);
    zone(dir, "intel-rapl:0:0", "dram", 2'000'000);
    zone(dir, "intel-rapl:0:1", "core", 3'000'000);
    // Nested layout for the second package.
    zone(dir, "intel-rapl:1", "package-1", 4'000'000);
    zone(dir, "intel-rapl:1/intel-rapl:1:0", "core", 5'000'000);
    zone(dir, "intel-rapl:1/intel-rapl:1:1", "uncore", 6'000'000);
    zone(dir, "intel-rapl:1/intel-rapl:1:2", "dram", 7'000'000);
    std::filesystem::create_directories(dir.path() / "class/powercap/intel-rapl");  // control type: ignored

    RaplSensor sensor(dir.str());
    auto availability = sensor.probe();
    ASSERT_TRUE(availability.available) << availability.reason;
    ASSERT_EQ(sensor.channels().size(), 7u);

    struct Expected {
        const char* name;
        const char* domain;
        const char* device;
        bool accounted;
    };
    const Expected expected[] = {
        {"package-0.energy", "cpu", "package-0", true},
        {"package-0.dram.energy", "dram", "package-0", true},
        {"package-0.core.energy", "core", "package-0", false},
        {"package-1.energy", "cpu", "package-1", true},
        {"package-1.core.energy", "core", "package-1", false},
        {"package-1.uncore.energy", "uncore", "package-1", false},
        {"package-1.dram.energy", "dram", "package-1", true},
    };
    for (const auto& want : expected) {
        const Channel* channel = find_channel(sensor, want.name);
        ASSERT_NE(channel, nullptr) << want.name;
        EXPECT_EQ(channel->domain, want.domain) << want.name;
        EXPECT_EQ(channel->device, want.device) << want.name;
        EXPECT_EQ(channel->accounted, want.accounted) << want.name;
        EXPECT_EQ(channel->quantity, Quantity::energy);
        EXPECT_EQ(channel->behaviour, Behaviour::counter);
    }

    set_energy(dir, "intel-rapl:0", 1'250'000);
    set_energy(dir, "intel-rapl:0:0", 2'500'000);
    set_energy(dir, "intel-rapl:1/intel-rapl:1:2", 7'125'000);
    EXPECT_DOUBLE_EQ(read_channel(sensor, "package-0.energy"), 0.25);
    EXPECT_DOUBLE_EQ(read_channel(sensor, "package-0.dram.energy"), 0.5);
    EXPECT_DOUBLE_EQ(read_channel(sensor, "package-1.dram.energy"), 0.125);
    EXPECT_DOUBLE_EQ(read_channel(sensor, "package-1.energy"), 0.0);

    EXPECT_TRUE(notes_mention(sensor, "intel-rapl:0:1 (core) -> package-0.core.energy"));
    EXPECT_TRUE(notes_mention(sensor, "not counted, contained in package-1"));
}

TEST(RaplSensor, PsysBesidePackagesIsNotCounted) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "package-0", 1'000);
    zone(dir, "intel-rapl:1", "psys", 2'000);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    const Channel* psys = find_channel(sensor, "psys.energy");
    const Channel* package = find_channel(sensor, "package-0.energy");
    ASSERT_NE(psys, nullptr);
    ASSERT_NE(package, nullptr);
    EXPECT_EQ(psys->domain, "psys");
    EXPECT_FALSE(psys->accounted);
    EXPECT_TRUE(package->accounted);
    EXPECT_TRUE(notes_mention(sensor, "psys covers the package zones"));
    set_energy(dir, "intel-rapl:1", 3'002'000);
    EXPECT_DOUBLE_EQ(read_channel(sensor, "psys.energy"), 3.0);  // still read, only excluded from totals
}

TEST(RaplSensor, PsysAloneIsCounted) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "psys", 2'000);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    ASSERT_EQ(sensor.channels().size(), 1u);
    EXPECT_EQ(sensor.channels()[0].name, "psys.energy");
    EXPECT_TRUE(sensor.channels()[0].accounted);
}

TEST(RaplSensor, MmioZoneOfTheSamePackageIsNotCountedTwice) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "package-0", 1'000);
    zone(dir, "intel-rapl-mmio:0", "package-0", 9'000);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    ASSERT_EQ(sensor.channels().size(), 1u);
    EXPECT_EQ(sensor.channels()[0].name, "package-0.energy");
    set_energy(dir, "intel-rapl:0", 2'001'000);
    set_energy(dir, "intel-rapl-mmio:0", 99'000'000);
    EXPECT_DOUBLE_EQ(read_channel(sensor, "package-0.energy"), 2.0);  // the MSR zone, not the MMIO one
    EXPECT_TRUE(notes_mention(sensor, "intel-rapl-mmio:0 (package-0)"));
}

TEST(RaplSensor, MmioZoneAloneIsUsed) {
    TempDir dir;
    zone(dir, "intel-rapl-mmio:0", "package-0", 1'000);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    ASSERT_EQ(sensor.channels().size(), 1u);
    EXPECT_EQ(sensor.channels()[0].domain, "cpu");
    EXPECT_TRUE(sensor.channels()[0].accounted);
}

TEST(RaplSensor, UnknownZoneNamesAreSkippedWithANote) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "package-0", 1'000);
    zone(dir, "intel-rapl:0:0", "gpu-thing", 1'000);
    RaplSensor sensor(dir.str());
    ASSERT_TRUE(sensor.probe().available);
    EXPECT_EQ(sensor.channels().size(), 1u);
    EXPECT_TRUE(notes_mention(sensor, "intel-rapl:0:0 (gpu-thing): unknown subzone name"));
}

/// Probes as user nobody when this process is root (root reads a chmod 000 file anyway): 'S' + why when the
/// check cannot be made, else 'Y' or 'N' followed by the reason.
std::string probe_unprivileged(const std::string& root) {
    const std::string result = test::run_unprivileged([&root] {
        RaplSensor sensor(root);
        const auto availability = sensor.probe();
        return (availability.available ? "Y" : "N") + availability.reason;
    });
    return result[0] == 'R' ? result.substr(1) : result;
}

TEST(RaplSensor, PermissionDeniedNamesTheFileAndIsNotSkipped) {
    TempDir dir;
    zone(dir, "intel-rapl:0", "package-0", 1'000);
    const std::string denied_zone = zone(dir, "intel-rapl:1", "package-1", 1'000);
    const std::string denied = dir.str() + "/" + denied_zone + "/energy_uj";
    // As on Linux >= 5.10: energy_uj readable by root only. The tree must be traversable by the child's user.
    std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
    std::filesystem::permissions(
        denied, geteuid() == 0 ? std::filesystem::perms(0400) : std::filesystem::perms::none);
    if (geteuid() != 0) {
        std::ifstream probe_open(denied);
        if (probe_open.good())
            GTEST_SKIP() << "this user can read a mode-000 file; cannot test permission denied";
    }

    const std::string result = probe_unprivileged(dir.str());
    ASSERT_FALSE(result.empty());
    if (result[0] == 'S') GTEST_SKIP() << result.substr(1);
    EXPECT_EQ(result[0], 'N') << "expected unavailable; got: " << result;
    EXPECT_EQ(result.substr(1), "needs root or read access to " + denied +
                                    " (energy_uj is root-only since Linux 5.10; e.g. sudo chmod o+r " +
                                    denied + ")");
}

}  // namespace
}  // namespace joulecast::sensors
