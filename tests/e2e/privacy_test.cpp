// End to end: what a run stores is private to its user. The store's folders are created 0700 and its files
// 0600, and secrets on the command line are masked in what is stored while the command gets them intact.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {
namespace {

using test::ProcessOptions;
using test::run_process;
using test::TempDir;

unsigned mode_of(const std::filesystem::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
}

TEST(Privacy, ANewStoreAndItsFoldersAreReadableByItsUserOnly) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    const auto store = dir.path() / "home" / "share" / "joulecast" / "runs.db";
    options.env["JOULECAST_DB"] = store.string();
    ::umask(022);
    auto r = run_process({JOULECAST_BINARY, "run", "--quiet", "--", "true"}, options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(mode_of(dir.path() / "home"), 0700u);
    EXPECT_EQ(mode_of(dir.path() / "home" / "share"), 0700u);
    EXPECT_EQ(mode_of(store.parent_path()), 0700u);
    EXPECT_EQ(mode_of(store), 0600u);
    // SQLite keeps its WAL and shared-memory files beside the store with the store's permissions.
    for (const char* suffix : {"-wal", "-shm"}) {
        const std::filesystem::path side = store.string() + suffix;
        if (std::filesystem::exists(side)) {
            EXPECT_EQ(mode_of(side), 0600u) << side;
        }
    }
}

TEST(Privacy, SecretArgumentsAreMaskedInTheStoreAndResultButReachTheCommand) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    const auto json = dir.path() / "r.json";
    // The command prints the arguments it got: they must be intact.
    auto r = run_process({JOULECAST_BINARY, "run", "--quiet", "--json", json.string(), "--redact", "*dsn*",
                          "--", "sh", "-c", "echo \"$@\"", "sh", "--api-token=abc123", "--password",
                          "hunter2", "--db-dsn=pg://u:p@h", "--epochs", "3"},
                         options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "--api-token=abc123 --password hunter2 --db-dsn=pg://u:p@h --epochs 3\n");

    const std::vector<std::string> stored = {
        "sh",         "-c",  "echo \"$@\"",  "sh",       "--api-token=***",
        "--password", "***", "--db-dsn=***", "--epochs", "3"};
    auto result = test::read_json(json);
    EXPECT_EQ(result["command"].get<std::vector<std::string>>(), stored);
    bool warned = false;
    for (const auto& w : result["warnings"])
        warned = warned || w.get<std::string>().find("masks 3 value(s)") != std::string::npos;
    EXPECT_TRUE(warned) << result["warnings"];

    auto shown =
        run_process({JOULECAST_BINARY, "runs", "show", "--json", result["id"].get<std::string>()}, options);
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_EQ(shown.out.find("hunter2"), std::string::npos);
    EXPECT_EQ(shown.out.find("abc123"), std::string::npos);
    EXPECT_NE(shown.out.find("--api-token=***"), std::string::npos) << shown.out;
}

TEST(Privacy, AnEmptyRedactPatternIsAUsageError) {
    TempDir dir;
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());
    auto r = run_process({JOULECAST_BINARY, "run", "--redact", "", "--", "true"}, options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--redact"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace joulecast
