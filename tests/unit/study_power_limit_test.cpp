// The study's power-limit guard against the fake NVML only (never a real GPU): limits checked before any run,
// applied, and restored at the end and when an error unwinds the study.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/result.hpp"
#include "sensors/nvml/nvml_api.hpp"
#include "sensors/rocm/rocm_smi_api.hpp"
#include "study/power_limits.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::study {

using core::InputError;
using core::UsageError;

namespace {

class StudyPowerLimit : public ::testing::Test {
protected:
    // The state file carries limits across NVML sessions, as a driver does: without it, a fresh session would
    // read the script's limits again and a missing restore could not be seen.
    void SetUp() override {
        clear();
        setenv("FAKE_NVML_STATE", (m_dir.str() + "/nvml-state").c_str(), 1);
    }
    void TearDown() override { clear(); }
    test::TempDir m_dir;
    static void clear() {
        unsetenv("FAKE_NVML_SCRIPT");
        unsetenv("FAKE_NVML_T0_NS");
        unsetenv("FAKE_NVML_STATE");
        unsetenv("FAKE_ROCM_SMI_SCRIPT");
        unsetenv("FAKE_ROCM_SMI_STATE");
    }

    /// Every GPU's current limit as another NVML session sees it (while the guard's session is open, the
    /// fake's state is shared in the process; after it closed, the state file is read back).
    static std::vector<double> limits_now() {
        auto nvml = sensors::nvml::NvmlLibrary::open(FAKE_NVML_LIBRARY);
        if (!nvml) throw std::runtime_error(nvml.error());
        unsigned count = 0;
        (*nvml)->api().device_get_count(&count);
        std::vector<double> out;
        for (unsigned gpu = 0; gpu < count; ++gpu)
            out.push_back(sensors::nvml::get_power_limits(**nvml, gpu)->current_w);
        return out;
    }
};

TEST_F(StudyPowerLimit, AppliesToEveryGpuAndRestoresEachOnesOwnLimit) {
    setenv("FAKE_NVML_SCRIPT", "gpus=2;gpu0.power_limit=650;gpu1.power_limit=500", 1);
    {
        PowerLimitGuard guard(FAKE_NVML_LIBRARY, {250, 300});
        ASSERT_EQ(guard.original().size(), 2u);
        EXPECT_DOUBLE_EQ(guard.original()[0].current_w, 650);
        EXPECT_DOUBLE_EQ(guard.original()[1].current_w, 500);
        EXPECT_EQ(limits_now(), (std::vector<double>{650, 500}));  // checking changed nothing

        auto applied = guard.apply(250);
        ASSERT_TRUE(applied.ok()) << applied.error();
        EXPECT_DOUBLE_EQ((*applied)[1].current_w, 250);
        EXPECT_EQ(limits_now(), (std::vector<double>{250, 250}));
        ASSERT_TRUE(guard.apply(300).ok());
        EXPECT_EQ(limits_now(), (std::vector<double>{300, 300}));

        auto lines = guard.restore();
        ASSERT_EQ(lines.size(), 2u);
        EXPECT_EQ(lines[0], "gpu0: power limit restored to 650 W");
        EXPECT_EQ(lines[1], "gpu1: power limit restored to 500 W");
        EXPECT_EQ(limits_now(), (std::vector<double>{650, 500}));
        EXPECT_TRUE(guard.restore().empty());  // nothing changed since

        ASSERT_TRUE(guard.apply(280).ok());
    }  // the destructor restores what was applied after the explicit restore
    EXPECT_EQ(limits_now(), (std::vector<double>{650, 500}));
}

TEST_F(StudyPowerLimit, AnErrorThatUnwindsTheStudyRestoresTheLimits) {
    setenv("FAKE_NVML_SCRIPT", "gpus=1;gpu0.power_limit=600", 1);
    try {
        PowerLimitGuard guard(FAKE_NVML_LIBRARY, {220});
        ASSERT_TRUE(guard.apply(220).ok());
        EXPECT_EQ(limits_now(), std::vector<double>{220});
        throw std::runtime_error("a failure in the middle of the study");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(limits_now(), std::vector<double>{600});
}

TEST_F(StudyPowerLimit, ValuesOutsideTheRangeAreRefusedBeforeAnythingChanges) {
    setenv("FAKE_NVML_SCRIPT", "gpus=2;gpu1.min_limit=300;gpu*.power_limit=650", 1);
    try {
        PowerLimitGuard guard(FAKE_NVML_LIBRARY, {250, 400});
        ADD_FAILURE() << "250 W is below gpu1's range";
    } catch (const UsageError& error) {
        EXPECT_NE(std::string(error.what()).find("250 W is outside gpu1's range 300..700 W"),
                  std::string::npos)
            << error.what();
    }
    EXPECT_EQ(limits_now(), (std::vector<double>{650, 650}));
    EXPECT_THROW(PowerLimitGuard(FAKE_NVML_LIBRARY, {750}), UsageError);
}

TEST_F(StudyPowerLimit, MissingPermissionOrNvmlIsAUsageErrorUpFront) {
    setenv("FAKE_NVML_SCRIPT", "gpus=1;gpu0.set_limit=no_permission", 1);
    try {
        PowerLimitGuard guard(FAKE_NVML_LIBRARY, {300});
        ADD_FAILURE() << "no permission to set limits";
    } catch (const UsageError& error) {
        EXPECT_NE(std::string(error.what()).find("needs root"), std::string::npos) << error.what();
    }
    EXPECT_THROW(PowerLimitGuard("/nonexistent/libnvidia-ml.so.1", {300}), UsageError);
    setenv("FAKE_NVML_SCRIPT", "gpus=0", 1);
    EXPECT_THROW(PowerLimitGuard(FAKE_NVML_LIBRARY, {300}), UsageError);
}

/// Every AMD GPU's power as a new ROCm SMI session reads it (the fake's power is min(draw, cap)).
std::vector<double> rocm_power_now() {
    auto rsmi = sensors::rocm::RsmiLibrary::open(FAKE_ROCM_SMI_LIBRARY);
    if (!rsmi) throw std::runtime_error(rsmi.error());
    std::uint32_t count = 0;
    (*rsmi)->api().num_monitor_devices(&count);
    std::vector<double> out;
    for (std::uint32_t gpu = 0; gpu < count; ++gpu) {
        std::uint64_t uw = 0;
        (*rsmi)->api().dev_power_ave_get_uw(gpu, 0, &uw);
        out.push_back(static_cast<double>(uw) * 1e-6);
    }
    return out;
}

TEST_F(StudyPowerLimit, RocmSmiCapsAmdGpusWhereNvmlIsMissingAndRestoresThemAfterAFailingRun) {
    setenv("FAKE_ROCM_SMI_SCRIPT",
           "gpus=2;gpu0.power=400;gpu0.power_cap=350;gpu1.power=200;gpu1.power_cap=300", 1);
    const std::string state = m_dir.str() + "/rocm-state";
    setenv("FAKE_ROCM_SMI_STATE", state.c_str(), 1);
    const std::string no_nvml = m_dir.str() + "/no-libnvidia-ml.so";
    EXPECT_EQ(rocm_power_now(), (std::vector<double>{350, 200}));
    EXPECT_THROW(PowerLimitGuard(no_nvml, {50}, FAKE_ROCM_SMI_LIBRARY), InputError);  // below the range
    try {
        PowerLimitGuard guard(no_nvml, {250, 300}, FAKE_ROCM_SMI_LIBRARY);
        EXPECT_STREQ(guard.library(), "ROCm SMI");
        ASSERT_EQ(guard.original().size(), 2u);
        EXPECT_DOUBLE_EQ(guard.original()[0].current_w, 350);
        EXPECT_DOUBLE_EQ(guard.original()[1].current_w, 300);
        EXPECT_DOUBLE_EQ(guard.original()[0].min_w, 100);
        EXPECT_DOUBLE_EQ(guard.original()[0].max_w, 1000);
        auto applied = guard.apply(250);
        ASSERT_TRUE(applied.ok()) << applied.error();
        EXPECT_DOUBLE_EQ((*applied)[0].current_w, 250);
        // During the run the cap holds gpu0 at 250 W; gpu1 draws 200 W, under it.
        EXPECT_EQ(rocm_power_now(), (std::vector<double>{250, 200}));
        throw std::runtime_error("the run failed");
    } catch (const std::runtime_error& error) {
        EXPECT_STREQ(error.what(), "the run failed");
    }
    // Unwinding restored each GPU's own cap.
    std::ifstream in(state);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), "gpu0.power_cap_uw=350000000\ngpu1.power_cap_uw=300000000\n");
    EXPECT_EQ(rocm_power_now(), (std::vector<double>{350, 200}));
}

}  // namespace
}  // namespace joulecast::study
