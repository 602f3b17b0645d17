#include "sensors/model/cpu_tdp.hpp"

#include <gtest/gtest.h>

namespace joulecast {
namespace {

TEST(CpuTdp, NormalisesProcCpuinfoNames) {
    EXPECT_EQ(normalise_cpu_name("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"), "intel xeon gold 6248");
    EXPECT_EQ(normalise_cpu_name("AMD EPYC 7763 64-Core Processor"), "amd epyc 7763");
    EXPECT_EQ(normalise_cpu_name("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"), "intel core i7-8700");
    EXPECT_EQ(normalise_cpu_name("  Intel  Xeon   Gold 6248 "), "intel xeon gold 6248");
    EXPECT_EQ(normalise_cpu_name("AMD Ryzen 3 4300G (OEM Only)"), "amd ryzen 3 4300g");
    EXPECT_EQ(normalise_cpu_name("Intel\xC2\xAE Xeon\xC2\xAE Platinum 8480+"), "intel xeon platinum 8480+");
    EXPECT_EQ(normalise_cpu_name("Intel Xeon 2.80GHz"), "intel xeon");
    EXPECT_EQ(normalise_cpu_name("AMD EPYC"), "amd epyc");
}

TEST(CpuTdp, FindsServerPartsInTheBuiltinTables) {
    const auto tables = CpuTdpTables::builtin();

    auto gold = tables.find("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
    ASSERT_TRUE(gold);
    EXPECT_DOUBLE_EQ(gold->tdp_w, 150.0);
    ASSERT_TRUE(gold->cores);
    EXPECT_EQ(*gold->cores, 20u);
    EXPECT_EQ(gold->name, "Intel Xeon Gold 6248");
    EXPECT_EQ(gold->table, "cpu_tdp.csv");
    EXPECT_TRUE(gold->exact);

    // The R part is a different chip; "6248" inside "6248r" is not a whole word.
    auto gold_r = tables.find("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz");
    ASSERT_TRUE(gold_r);
    EXPECT_DOUBLE_EQ(gold_r->tdp_w, 205.0);
    EXPECT_EQ(gold_r->cores.value_or(0), 24u);

    auto epyc = tables.find("AMD EPYC 7763 64-Core Processor");
    ASSERT_TRUE(epyc);
    EXPECT_DOUBLE_EQ(epyc->tdp_w, 280.0);
    EXPECT_EQ(epyc->cores.value_or(0), 64u);
    EXPECT_EQ(epyc->name, "AMD EPYC 7763");

    // "v4" must not be lost to the shorter "Intel Xeon E5-2690".
    auto broadwell = tables.find("Intel(R) Xeon(R) CPU E5-2690 v4 @ 2.60GHz");
    ASSERT_TRUE(broadwell);
    EXPECT_EQ(broadwell->name, "Intel Xeon E5-2690 v4");
    EXPECT_EQ(broadwell->cores.value_or(0), 14u);
}

TEST(CpuTdp, FindsDesktopAndLaptopParts) {
    const auto tables = CpuTdpTables::builtin();
    auto desktop = tables.find("Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz");
    ASSERT_TRUE(desktop);
    EXPECT_DOUBLE_EQ(desktop->tdp_w, 95.0);
    EXPECT_EQ(desktop->cores.value_or(0), 8u);

    // Longer strings than the table's: found as a run of whole words.
    auto laptop = tables.find("12th Gen Intel(R) Core(TM) i7-12700H");
    ASSERT_TRUE(laptop);
    EXPECT_EQ(laptop->name, "Intel Core i7-12700H");
    EXPECT_DOUBLE_EQ(laptop->tdp_w, 45.0);
    EXPECT_FALSE(laptop->exact);

    auto ryzen = tables.find("AMD Ryzen 7 5800H with Radeon Graphics");
    ASSERT_TRUE(ryzen);
    EXPECT_EQ(ryzen->name, "AMD Ryzen 7 5800H");  // not "5800HS"
    EXPECT_DOUBLE_EQ(ryzen->tdp_w, 45.0);

    // Only cpu_tdp_cores.csv has the "APU" spelling, and it is the longer match.
    auto apu = tables.find("AMD A10-4600M APU with Radeon(tm) HD Graphics");
    ASSERT_TRUE(apu);
    EXPECT_EQ(apu->name, "AMD A10-4600M APU");
    EXPECT_EQ(apu->table, "cpu_tdp_cores.csv");
    EXPECT_DOUBLE_EQ(apu->tdp_w, 35.0);
    EXPECT_EQ(apu->cores.value_or(0), 2u);
}

TEST(CpuTdp, GenericNamesFindNothing) {
    const auto tables = CpuTdpTables::builtin();
    EXPECT_FALSE(tables.find("AMD EPYC"));  // this development machine's model name
    EXPECT_FALSE(tables.find("Intel(R) Xeon(R) CPU @ 2.20GHz"));
    EXPECT_FALSE(tables.find("Intel Xeon"));
    EXPECT_FALSE(tables.find(""));
    EXPECT_FALSE(tables.find("QEMU Virtual CPU version 2.5+"));
}

TEST(CpuTdp, BareNumbersMatchOnlyExactly) {
    const CpuTdpTables tables("name,tdp_w\n3280,65\nFoo Chip 9000,10\n", "Name,Cores,TDP\n");
    EXPECT_FALSE(tables.find("Acme Turbo 3280 Processor"));
    auto exact = tables.find("3280");
    ASSERT_TRUE(exact);
    EXPECT_DOUBLE_EQ(exact->tdp_w, 65.0);
    auto contained = tables.find("Foo(R) Chip(TM) 9000 Extra Edition");
    ASSERT_TRUE(contained);
    EXPECT_DOUBLE_EQ(contained->tdp_w, 10.0);
    EXPECT_FALSE(contained->exact);
    EXPECT_FALSE(contained->cores);
}

TEST(CpuTdp, BadRowsAreIgnoredAndTheMedianPerCoreIsComputed) {
    const CpuTdpTables tables("name,tdp_w\nGood 1,10\nBad 2,27.29.5\nZero 3,0\n",
                              "Name,Cores,TDP\nA 1,2,10\nB 2,3,30\nC 3,2,40\nBad 4,x,40\n");
    EXPECT_TRUE(tables.find("Good 1"));
    EXPECT_FALSE(tables.find("Bad 2"));
    EXPECT_FALSE(tables.find("Zero 3"));
    EXPECT_EQ(tables.cores_rows(), 3u);
    EXPECT_DOUBLE_EQ(tables.median_watts_per_core(), 10.0);  // of 5, 10, 20
    auto no_cores = tables.find("Bad 4");
    ASSERT_TRUE(no_cores);
    EXPECT_FALSE(no_cores->cores);
}

TEST(CpuTdp, BuiltinMedianWattsPerCore) {
    // The per-core default of the CPU model; pinned so that a table update is noticed and documented.
    const auto tables = CpuTdpTables::builtin();
    EXPECT_EQ(tables.cores_rows(), 3735u);
    EXPECT_NEAR(tables.median_watts_per_core(), 13.3333, 1e-3);
}

}  // namespace
}  // namespace joulecast
