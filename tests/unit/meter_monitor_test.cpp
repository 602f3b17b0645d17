// Monitor's in-process marks (begin_phase, end_phase, epoch, meta, metric, the RAII Phase) reach the run's
// result through PhaseRecorder's typed calls, numbers as numbers.

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "meter/monitor.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::meter {

using sensors::SensorConfig;

namespace {

TEST(Monitor, InProcessMarksBecomeThePhasesEpochsMetaAndMetricsOfTheRun) {
    test::TempDir empty;  // no sysfs sensors and no GPU library: the CPU model over /proc/stat measures
    MonitorOptions options;
    options.sensors = SensorConfig{};
    options.sensors.sysfs_root = empty.str();
    options.sensors.nvml_library = empty.str() + "/none.so";
    options.sensors.rocm_smi_library = empty.str() + "/none.so";
    options.sampler.interval = std::chrono::milliseconds(10);
    Monitor monitor(options);
    monitor.start();
    {
        auto train = monitor.phase("train");
        monitor.epoch(64);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        monitor.epoch(32, 7);
        monitor.metric("loss", 0.1234567890123456789);
        monitor.metric("loss", std::nan(""));  // not a number: ignored, with a warning
        monitor.meta("model", "resnet 18");
        train.set_samples(96);
    }
    monitor.begin_phase("infer");
    monitor.end_phase("infer", -3);  // a negative count is no count
    monitor.end_phase("never-begun");
    const RunResult result = monitor.stop();

    ASSERT_EQ(result.phases.size(), 2u);
    EXPECT_EQ(result.phases[0].name, "train");
    EXPECT_EQ(result.phases[0].samples, 96);
    EXPECT_TRUE(result.phases[0].closed);
    EXPECT_EQ(result.phases[1].name, "infer");
    EXPECT_FALSE(result.phases[1].samples.has_value());
    ASSERT_EQ(result.epochs.size(), 2u);
    EXPECT_EQ(result.epochs[0].n, 1);
    EXPECT_EQ(result.epochs[0].samples, 64);
    EXPECT_EQ(result.epochs[1].n, 7);
    EXPECT_EQ(result.epochs[1].samples, 32);
    EXPECT_EQ(result.meta.at("model"), "resnet 18");
    ASSERT_EQ(result.metrics.at("loss").points.size(), 1u);
    EXPECT_EQ(result.metrics.at("loss").last(), 0.1234567890123456789);  // exactly: no text in between
    bool warned = false;
    for (const auto& warning : result.warnings)
        warned = warned || warning.rfind("2 control messages made no sense", 0) == 0;
    EXPECT_TRUE(warned);  // the NaN and the end without its begin
}

}  // namespace
}  // namespace joulecast::meter
