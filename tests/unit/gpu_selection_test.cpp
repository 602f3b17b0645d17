#include "sensors/gpu_selection.hpp"

#include <gtest/gtest.h>

namespace joulecast::sensors {
namespace {

const std::vector<std::pair<unsigned, std::string>> three = {
    {0, "GPU-aaaa1111-0000"}, {1, "GPU-bbbb2222-0000"}, {2, "GPU-cccc3333-0000"}};

std::vector<unsigned> selected(const GpuSelection& s) {
    std::vector<unsigned> out;
    for (const auto& [index, uuid] : three)
        if (s.selects(index, uuid)) out.push_back(index);
    return out;
}

TEST(GpuSelection, UnsetVariablesSelectEveryGpu) {
    auto s = gpu_selection_from_environment(nullptr, nullptr);
    EXPECT_TRUE(s.all);
    EXPECT_EQ(selected(s), (std::vector<unsigned>{0, 1, 2}));
}

TEST(GpuSelection, CudaVisibleDevicesTakesIndicesUuidsAndPrefixesAndStopsAtAnInvalidEntry) {
    EXPECT_EQ(selected(gpu_selection_from_environment("0,2", nullptr)), (std::vector<unsigned>{0, 2}));
    EXPECT_EQ(selected(gpu_selection_from_environment("GPU-bbbb2222-0000", nullptr)),
              (std::vector<unsigned>{1}));
    EXPECT_EQ(selected(gpu_selection_from_environment(" GPU-cccc , 0", nullptr)),
              (std::vector<unsigned>{0, 2}));
    // CUDA ignores everything from the first entry it cannot parse: here only GPU 1 is visible.
    EXPECT_EQ(selected(gpu_selection_from_environment("1,x,2", nullptr)), (std::vector<unsigned>{1}));
    // Empty: no GPU at all (and it wins over NVIDIA_VISIBLE_DEVICES).
    auto none = gpu_selection_from_environment("", "GPU-aaaa1111-0000");
    EXPECT_FALSE(none.all);
    EXPECT_TRUE(selected(none).empty());
    EXPECT_EQ(none.origin, "CUDA_VISIBLE_DEVICES=");
}

TEST(GpuSelection, NvidiaVisibleDevicesCountsOnlyForUuids) {
    EXPECT_TRUE(gpu_selection_from_environment(nullptr, "all").all);
    EXPECT_TRUE(gpu_selection_from_environment(nullptr, "0,1").all);  // a container's NVML sees only those
    EXPECT_EQ(selected(gpu_selection_from_environment(nullptr, "GPU-aaaa1111-0000")),
              (std::vector<unsigned>{0}));
}

TEST(GpuSelection, GpusOptionOverridesAndRejectsGarbage) {
    const auto visible = gpu_selection_from_environment("1", nullptr);
    EXPECT_TRUE(parse_gpus_option("all", visible).value().all);
    EXPECT_EQ(selected(parse_gpus_option("visible", visible).value()), (std::vector<unsigned>{1}));
    auto listed = parse_gpus_option("2,GPU-aaaa", visible);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(selected(listed.value()), (std::vector<unsigned>{0, 2}));
    EXPECT_EQ(listed.value().origin, "--gpus 2,GPU-aaaa");
    for (const char* bad : {"", "gpu0", "0,,1", "GPU-", "-1"})
        EXPECT_FALSE(parse_gpus_option(bad, visible).ok()) << bad;
}

TEST(GpuSelection, ItemsThatNameNoGpuAreReportedButMigInstancesAreLeftToTheSensor) {
    auto s = parse_gpus_option("0,7,GPU-ffff,MIG-1234", GpuSelection{}).value();
    EXPECT_EQ(s.unmatched(three), (std::vector<std::string>{"7", "GPU-ffff"}));
    EXPECT_TRUE(GpuSelection{}.unmatched(three).empty());
}

}  // namespace
}  // namespace joulecast::sensors
