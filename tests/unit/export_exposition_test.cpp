#include "export/exposition.hpp"

#include <gtest/gtest.h>

namespace joulecast::exporter {

using sensors::Behaviour;
using sensors::Channel;
using sensors::Method;
using sensors::Quantity;

using meter::ChannelStats;
using meter::TraceChannel;

namespace {

TEST(ExportExposition, RendersKnownReadingsExactly) {
    Snapshot snapshot;
    snapshot.energy = {{"gpu", "gpu0", Method::counter, 1234.5, ""},
                       {"cpu", "package-0", Method::modelled, 10, ""}};
    snapshot.power = {{"gpu", "gpu0", 200.25, ""}};
    snapshot.sensors = {{"rapl", false, "needs root: \"energy_uj\"\nsee docs"}, {"nvml", true, ""}};
    snapshot.self = {42, 1, 0.0025, 1.5};
    const std::string expected =
        "# HELP joulecast_energy_joules_total Energy used since the agent started, in joules: a hardware "
        "counter (method=\"counter\"), measured power integrated over time (\"integrated\") or a model "
        "(\"modelled\").\n"
        "# TYPE joulecast_energy_joules_total counter\n"
        "joulecast_energy_joules_total{domain=\"cpu\",device=\"package-0\",method=\"modelled\"} 10\n"
        "joulecast_energy_joules_total{domain=\"gpu\",device=\"gpu0\",method=\"counter\"} 1234.5\n"
        "# HELP joulecast_power_watts Power at the last reading, in watts.\n"
        "# TYPE joulecast_power_watts gauge\n"
        "joulecast_power_watts{domain=\"gpu\",device=\"gpu0\"} 200.25\n"
        "# HELP joulecast_sensor_up Whether a sensor is available and read (1) or not (0).\n"
        "# TYPE joulecast_sensor_up gauge\n"
        "joulecast_sensor_up{sensor=\"nvml\"} 1\n"
        "joulecast_sensor_up{sensor=\"rapl\"} 0\n"
        "# HELP joulecast_sensor_down_info Why a sensor is down; always 1.\n"
        "# TYPE joulecast_sensor_down_info gauge\n"
        "joulecast_sensor_down_info{sensor=\"rapl\",reason=\"needs root: \\\"energy_uj\\\"\\nsee docs\"} 1\n"
        "# HELP joulecast_agent_readings_total Sensor readings the agent has taken.\n"
        "# TYPE joulecast_agent_readings_total counter\n"
        "joulecast_agent_readings_total 42\n"
        "# HELP joulecast_agent_read_errors_total Sensor reads that failed.\n"
        "# TYPE joulecast_agent_read_errors_total counter\n"
        "joulecast_agent_read_errors_total 1\n"
        "# HELP joulecast_agent_scrape_duration_seconds Time the previous /metrics answer took to build, in "
        "seconds.\n"
        "# TYPE joulecast_agent_scrape_duration_seconds gauge\n"
        "joulecast_agent_scrape_duration_seconds 0.0025\n"
        "# HELP joulecast_agent_cpu_seconds_total CPU time the agent has used, in seconds.\n"
        "# TYPE joulecast_agent_cpu_seconds_total counter\n"
        "joulecast_agent_cpu_seconds_total 1.5\n";
    EXPECT_EQ(render_text(snapshot), expected);
}

TEST(ExportExposition, EscapesLabelValues) {
    EXPECT_EQ(escape_label_value(R"(a\b"c)"
                                 "\nd"),
              R"(a\\b\"c\nd)");
    EXPECT_EQ(escape_label_value("plain-0"), "plain-0");
    EXPECT_EQ(format_value(0.1), "0.1");
    EXPECT_EQ(format_value(1e21), "1e+21");
}

TEST(ExportExposition, WrappingCounterStaysMonotone) {
    MonotoneCounter counter(100);
    EXPECT_DOUBLE_EQ(counter.update(90), 0);
    EXPECT_DOUBLE_EQ(counter.update(98), 8);
    EXPECT_DOUBLE_EQ(counter.update(3), 13);  // wrapped: 2 J to the top, 3 J after it
    EXPECT_DOUBLE_EQ(counter.update(3), 13);  // equal readings add nothing
    EXPECT_DOUBLE_EQ(counter.update(10), 20);
    EXPECT_EQ(counter.fallbacks(), 1u);
}

TEST(ExportExposition, ResetCounterRestartsFromZero) {
    MonotoneCounter counter;
    counter.update(50);
    EXPECT_DOUBLE_EQ(counter.update(60), 10);
    EXPECT_DOUBLE_EQ(counter.update(5), 15);  // a GPU reset: its counter starts again at 0
    EXPECT_DOUBLE_EQ(counter.update(7), 17);
}

Channel make_channel(std::string name, std::string domain, std::string device, Quantity quantity,
                     bool modelled) {
    Channel c;
    c.name = std::move(name);
    c.domain = std::move(domain);
    c.device = std::move(device);
    c.quantity = quantity;
    c.behaviour = quantity == Quantity::energy ? Behaviour::counter : Behaviour::gauge;
    c.modelled = modelled;
    return c;
}

TEST(ExportExposition, CountersFirstIntegrationOtherwiseModelledLabelled) {
    EnergyExport exporter({
        {"nvml", make_channel("gpu0.energy", "gpu", "gpu0", Quantity::energy, false)},
        {"nvml", make_channel("gpu0.power", "gpu", "gpu0", Quantity::power, false)},
        {"nvml", make_channel("gpu1.power", "gpu", "gpu1", Quantity::power, false)},
        {"cpu-model", make_channel("cpu.power", "cpu", "cpu", Quantity::power, true)},
    });
    constexpr std::int64_t s = 1'000'000'000;
    exporter.ingest({{0, 0, 1000}, {0, 1, 150}, {0, 2, 100}, {0, 3, 40}});
    exporter.ingest({{s, 0, 1200}, {s, 1, 250}, {s, 2, 300}, {s, 3, 60}});
    exporter.ingest({{2 * s, 0, 50}, {2 * s, 1, 10}, {2 * s, 2, 300}, {2 * s, 3, 60}});  // gpu0 reset

    auto energy = exporter.energy();
    ASSERT_EQ(energy.size(), 3u);
    EXPECT_EQ(energy[0].domain, "cpu");
    EXPECT_EQ(energy[0].method, Method::modelled);
    EXPECT_DOUBLE_EQ(energy[0].joules, 50 + 60);  // trapezoids of 40→60 and 60→60 W over 1 s each
    EXPECT_EQ(energy[1].device, "gpu0");
    EXPECT_EQ(energy[1].method, Method::counter);
    EXPECT_DOUBLE_EQ(energy[1].joules, 200 + 50);  // the counter, not its power; the reset undone
    EXPECT_EQ(energy[2].device, "gpu1");
    EXPECT_EQ(energy[2].method, Method::integrated);
    EXPECT_DOUBLE_EQ(energy[2].joules, 200 + 300);

    auto power = exporter.power();
    ASSERT_EQ(power.size(), 3u);
    EXPECT_DOUBLE_EQ(power[1].watts, 10);  // gpu0's last reading
    EXPECT_DOUBLE_EQ(power[2].watts, 300);
}

}  // namespace
}  // namespace joulecast::exporter

namespace joulecast::exporter {
namespace {

TEST(ExportExposition, GpuSeriesCarryTheirUuidWhereKnown) {
    EnergyExport exporter({
        {"nvml", make_channel("gpu0.energy", "gpu", "gpu0", Quantity::energy, false)},
        {"nvml", make_channel("gpu0.power", "gpu", "gpu0", Quantity::power, false)},
        {"rapl", make_channel("package-0", "cpu", "package-0", Quantity::energy, false)},
    });
    exporter.set_uuids({{"gpu0", "GPU-8a1b"}});
    constexpr std::int64_t s = 1'000'000'000;
    exporter.ingest({{0, 0, 100}, {0, 1, 200}, {0, 2, 5}});
    exporter.ingest({{s, 0, 300}, {s, 1, 200}, {s, 2, 65}});
    Snapshot snapshot;
    snapshot.energy = exporter.energy();
    snapshot.power = exporter.power();
    const std::string text = render_text(snapshot);
    EXPECT_NE(text.find("joulecast_energy_joules_total{domain=\"gpu\",device=\"gpu0\",uuid=\"GPU-8a1b\","
                        "method=\"counter\"} 200\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("joulecast_power_watts{domain=\"gpu\",device=\"gpu0\",uuid=\"GPU-8a1b\"} 200\n"),
              std::string::npos)
        << text;
    // A device without a known UUID has no uuid label (not an empty one).
    EXPECT_NE(
        text.find(
            "joulecast_energy_joules_total{domain=\"cpu\",device=\"package-0\",method=\"counter\"} 60\n"),
        std::string::npos)
        << text;
}

TEST(ExportExposition, SensorWhoseEveryChannelStoppedIsDown) {
    const std::vector<TraceChannel> channels = {
        {"nvml", make_channel("gpu0.energy", "gpu", "gpu0", Quantity::energy, false)},
        {"nvml", make_channel("gpu0.power", "gpu", "gpu0", Quantity::power, false)},
        {"rapl", make_channel("package-0", "cpu", "package-0", Quantity::energy, false)},
        {"rapl", make_channel("dram-0", "dram", "dram-0", Quantity::energy, false)},
    };
    const std::vector<SensorState> probed = {
        {"nvml", true, ""}, {"rapl", true, ""}, {"hwmon", false, "none"}};
    std::vector<ChannelStats> stats(4);
    stats[0].lost = stats[1].lost = true;  // the only GPU fell off the bus
    stats[3].unsupported = true;           // one RAPL zone of two stopped: the sensor is still up
    const auto states = sensor_states_now(probed, channels, stats);
    ASSERT_EQ(states.size(), 3u);
    EXPECT_FALSE(states[0].up);
    EXPECT_EQ(states[0].reason,
              "every channel stopped while the agent ran: 2 on devices lost, 0 no longer supported");
    EXPECT_TRUE(states[1].up);
    EXPECT_EQ(states[1].reason, "");
    EXPECT_FALSE(states[2].up);
    EXPECT_EQ(states[2].reason, "none");  // down at probe time: its reason kept
    stats[2].unsupported = true;
    EXPECT_FALSE(sensor_states_now(probed, channels, stats)[1].up);
}

TEST(ExportExposition, OpenMetricsNamesCounterFamiliesWithoutTotalAndEndsWithEof) {
    const std::string text =
        "# HELP joulecast_energy_joules_total Energy.\n"
        "# TYPE joulecast_energy_joules_total counter\n"
        "joulecast_energy_joules_total{domain=\"gpu\"} 12.5\n"
        "# HELP joulecast_power_watts Power.\n"
        "# TYPE joulecast_power_watts gauge\n"
        "joulecast_power_watts{domain=\"gpu\"} 200\n";
    EXPECT_EQ(to_openmetrics(text),
              "# HELP joulecast_energy_joules Energy.\n"
              "# TYPE joulecast_energy_joules counter\n"
              "joulecast_energy_joules_total{domain=\"gpu\"} 12.5\n"
              "# HELP joulecast_power_watts Power.\n"
              "# TYPE joulecast_power_watts gauge\n"
              "joulecast_power_watts{domain=\"gpu\"} 200\n"
              "# EOF\n");
    EXPECT_EQ(to_openmetrics(""), "# EOF\n");
}

TEST(ExportExposition, OpenMetricsOnlyWhenTheScraperAsksForIt) {
    EXPECT_TRUE(
        accepts_openmetrics("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
    EXPECT_FALSE(accepts_openmetrics("text/plain;version=0.0.4"));
    EXPECT_FALSE(accepts_openmetrics(""));
}

}  // namespace
}  // namespace joulecast::exporter
