// The helpers every command shares: the option reader and its number parsers (core/args), the duration
// formatters (report/summary; format_energy is tested with the analysis), and a sensor's warnings about a
// run it could not fully cover (replay).

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/args.hpp"
#include "core/format.hpp"
#include "core/text.hpp"
#include "report/summary.hpp"
#include "sensors/replay/replay_sensor.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using core::Args;
using core::format_clock;
using core::format_duration;
using core::number_option;
using core::UsageError;
using core::whole_number_option;

using sensors::ReplaySensor;
using sensors::trace_csv_header;

namespace {

std::string usage_error(const std::function<void()>& call) {
    try {
        call();
    } catch (const UsageError& error) {
        return error.what();
    }
    return "(no error)";
}

TEST(SharedArgs, ValuesFlagsAndWhatWasConsumed) {
    Args args({"--db", "a.db", "--json", "--name=x=y", "--tag", "k=v", "rest"});
    std::string db, name, tag;
    EXPECT_FALSE(args.value("--name", name));  // not the next argument
    ASSERT_TRUE(args.value("--db", db));
    EXPECT_EQ(db, "a.db");
    EXPECT_TRUE(args.flag("--json"));
    const std::size_t before = args.position();
    ASSERT_TRUE(args.value("--name", name));
    EXPECT_EQ(name, "x=y");  // split at the first '='
    ASSERT_TRUE(args.value("--tag", tag));
    EXPECT_EQ(args.consumed_since(before), (std::vector<std::string>{"--name=x=y", "--tag", "k=v"}));
    EXPECT_EQ(args.rest(), std::vector<std::string>{"rest"});
    EXPECT_TRUE(args.done());

    Args empty({"--db", ""});
    EXPECT_EQ(usage_error([&] { empty.value("--db", db); }), "--db needs a value, and got an empty one");
    Args missing({"--db"});
    EXPECT_EQ(usage_error([&] { missing.value("--db", db); }), "--db needs a value");
}

TEST(SharedArgs, WholeNumbersInTheirRange) {
    EXPECT_EQ(whole_number_option("--limit", "40"), 40);
    EXPECT_EQ(whole_number_option("--samples", "4e4"), 40000);
    EXPECT_EQ(whole_number_option("--epochs", "0", 0, 10), 0);
    // Integer text is exact over all 64 bits, where a double would round.
    EXPECT_EQ(whole_number_option("--seed", "9007199254740993", 0), 9007199254740993LL);
    EXPECT_EQ(whole_number_option("--seed", "9223372036854775807", 0),
              std::numeric_limits<std::int64_t>::max());
    for (const char* bad : {"0", "-3", "1.5", "ten", "", "1e300", "nan"})
        EXPECT_EQ(usage_error([&] { whole_number_option("--limit", bad); }),
                  std::string("--limit: expected a positive whole number, got '") + bad + "'");
    EXPECT_EQ(usage_error([] { whole_number_option("--forecast-epochs", "1001", 1, 1000); }),
              "--forecast-epochs: expected a whole number from 1 to 1000, got '1001'");
    EXPECT_EQ(usage_error([] { whole_number_option("--seed", "-1", 0); }),
              "--seed: expected a whole number >= 0, got '-1'");
    EXPECT_DOUBLE_EQ(number_option("--pue", "1.25"), 1.25);
    EXPECT_EQ(usage_error([] { number_option("--pue", "high"); }), "--pue: 'high' is not a number");
}

TEST(SharedFormatting, DurationsFromMillisecondsToDays) {
    EXPECT_EQ(format_duration(0.000122), "0.122 ms");
    EXPECT_EQ(format_duration(0.5), "500 ms");
    EXPECT_EQ(format_duration(0.9996), "1.0 s");  // not "1e+03 ms"
    EXPECT_EQ(format_duration(42), "42.0 s");
    EXPECT_EQ(format_duration(246), "4.1 min");
    EXPECT_EQ(format_duration(3 * 86400), "3.0 d");
    EXPECT_EQ(format_clock(12.34), "12.3s");
    EXPECT_EQ(format_clock(59.96), "1m00s");  // not "60.0s"
    EXPECT_EQ(format_clock(65), "1m05s");
    EXPECT_EQ(format_clock(3599.6), "1h00m");  // not "60m00s"
    EXPECT_EQ(format_clock(7380), "2h03m");
}

TEST(SharedSensorWarnings, AReplayShorterThanTheRunSaysSo) {
    test::TempDir dir;
    const std::string path = dir.write("trace.csv", std::string(trace_csv_header) +
                                                        "\n0.0,x,p,cpu,cpu,power,gauge,0,W,10\n"
                                                        "2.0,x,p,cpu,cpu,power,gauge,0,W,10\n")
                                 .string();
    ReplaySensor replay(path);
    ASSERT_TRUE(replay.probe().available);
    EXPECT_TRUE(replay.run_warnings(2.0).empty());
    EXPECT_TRUE(replay.run_warnings(2.05).empty());  // within one sampling period of its end
    const auto warnings = replay.run_warnings(3.25);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              "the replayed trace " + path +
                  " ends after 2.00 s but the run lasted 3.25 s: its last readings are held for the "
                  "rest");
}

}  // namespace
}  // namespace joulecast
