// End to end: a workload that opens more phases than the control channel's limit, and sends more distinct
// metric names than it, gets a result bounded by the limits, with the dropped markers counted in `control`.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

TEST(ControlLimitsEndToEnd, DroppedPhasesAndMetricNamesAreCountedInTheResult) {
    test::TempDir dir;
    test::ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    const auto json = dir.path() / "r.json";
    // 1005 nested phases (limit 1000) closed again, and 1005 distinct metric names (limit 1000).
    const char* const workload =
        "import os, socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect(os.environ['JOULECAST_SOCKET'])\n"
        "lines = ['begin p'] * 1005 + ['end p'] * 1005 + ['metric m%d=1' % i for i in range(1005)]\n"
        "s.sendall(('\\n'.join(lines) + '\\n').encode())\n"
        "s.close()\n";
    auto r = test::run_process({JOULECAST_BINARY, "run", "--quiet", "--no-store", "--json", json.string(),
                                "--", "python3", "-c", workload},
                               options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = test::read_json(json);
    EXPECT_EQ(result["phases"].size(), 1000u);
    for (const auto& phase : result["phases"]) EXPECT_TRUE(phase["closed"].get<bool>());
    EXPECT_EQ(result["metrics"].size(), 1000u);
    EXPECT_EQ(result["control"]["dropped_phases"], 5);
    EXPECT_EQ(result["control"]["dropped_metric_points"], 5);
    bool warned = false;
    for (const auto& w : result["warnings"])
        warned = warned || w.get<std::string>().find("were dropped") != std::string::npos;
    EXPECT_TRUE(warned) << result["warnings"];
}

}  // namespace
}  // namespace joulecast
