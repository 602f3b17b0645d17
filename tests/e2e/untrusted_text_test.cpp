// End to end: bytes from outside that are not valid UTF-8 (in --name, --tag, the command's argv and control
// lines) must not destroy the result: they are stored and written as U+FFFD with a warning, every output is
// written, the run is `completed` in the store, and the exit status follows the command.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::ProcessOptions;
using test::read_json;
using test::run_process;
using test::TempDir;

const std::string fffd = "\xEF\xBF\xBD";

bool has_warning(const nlohmann::json& result, const std::string& part) {
    for (const auto& w : result["warnings"])
        if (w.get<std::string>().find(part) != std::string::npos) return true;
    return false;
}

TEST(UntrustedText, InvalidUtf8InArgvIsRepairedAndTheResultIsWritten) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    const auto json = dir.path() / "a.json";
    const auto trace = dir.path() / "a.csv";
    // The reproduction: printf prints the byte; the command line that holds it is stored.
    auto r =
        run_process({JOULECAST_BINARY, "run", "--quiet", "--json", json.string(), "--trace", trace.string(),
                     "--name", "n\xFF", "--tag", "k=v\xFE", "--", "printf", "%s", "\xFF"},
                    options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "\xFF");  // the command itself got its bytes unchanged
    ASSERT_GT(std::filesystem::file_size(json), 0u);
    EXPECT_GT(std::filesystem::file_size(trace), 0u);
    auto result = read_json(json);
    EXPECT_EQ(result["status"], "completed");
    EXPECT_EQ(result["name"], "n" + fffd);
    EXPECT_EQ(result["tags"]["k"], "v" + fffd);
    EXPECT_EQ(result["command"][2], fffd);
    EXPECT_TRUE(has_warning(result, "--name is not valid UTF-8")) << result["warnings"];
    EXPECT_TRUE(has_warning(result, "argument 2 is not valid UTF-8")) << result["warnings"];

    auto listed = run_process({JOULECAST_BINARY, "runs", "list", "--json"}, options);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    auto runs = nlohmann::json::parse(listed.out);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0]["status"], "completed");
    EXPECT_EQ(runs[0]["name"], "n" + fffd);
}

TEST(UntrustedText, InvalidUtf8ControlLinesAreRepairedAndCounted) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    const auto json = dir.path() / "c.json";
    // A stray byte, and a euro sign cut after two of its three bytes (a truncated write), then exit 3.
    const char* const workload =
        "import os, socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect(os.environ['JOULECAST_SOCKET'])\n"
        "s.sendall(b'meta k=\\xff\\nmeta cut=\\xe2\\x82\\nmeta fine=1\\n')\n"
        "s.close()\n"
        "sys.exit(3)\n";
    auto r = run_process(
        {JOULECAST_BINARY, "run", "--quiet", "--json", json.string(), "--", "python3", "-c", workload},
        options);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    auto result = read_json(json);
    EXPECT_EQ(result["exit_code"], 3);
    EXPECT_EQ(result["meta"]["k"], fffd);
    EXPECT_EQ(result["meta"]["cut"], fffd);
    EXPECT_EQ(result["meta"]["fine"], "1");
    EXPECT_EQ(result["control"]["invalid_utf8"], 2);
    EXPECT_EQ(result["control"]["accepted"], 3);
    EXPECT_TRUE(has_warning(result, "2 control lines were not valid UTF-8")) << result["warnings"];
}

}  // namespace
}  // namespace joulecast
