// End to end: `joulecast runs` through the real binary, on a store filled here with known runs.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "meter/run_json.hpp"
#include "store/run_store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using core::CsvTable;
using core::parse_csv;
using core::split;
using core::starts_with;

using sensors::Channel;
using sensors::Quantity;

using meter::parse_run_status;
using meter::Reading;
using meter::RunResult;
using meter::to_json;

using store::RunStore;

namespace {

using test::isolated_env;
using test::ProcessOptions;
using test::ProcessResult;
using test::run_process;
using test::TempDir;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class RunsCli : public ::testing::Test {
protected:
    void SetUp() override {
        m_options.env = isolated_env(m_dir.str());
        m_options.env["JOULECAST_DB"] = "";  // --db is the way in, unless a test says otherwise
        auto probe = run_process({JOULECAST_BINARY, "runs", "--db", db(), "list"}, m_options);
        if (probe.exit_code == 2 && contains(probe.err, "unknown command"))
            GTEST_SKIP() << "this joulecast binary has no 'runs' command yet";
        fill();
    }

    std::string db() const { return m_dir.str() + "/store/runs.db"; }

    ProcessResult runs(std::vector<std::string> args) {
        std::vector<std::string> argv = {JOULECAST_BINARY, "runs"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(argv, m_options);
    }

    /// Three finished runs (a 150 J measured and modelled one, a failed one, a tagged one) and one whose
    /// joulecast died after storing 100 W for 2 s.
    void fill() {
        RunStore store(db());
        auto add = [&](const std::string& id, const std::string& name, const std::string& started,
                       const std::string& status, double energy, std::map<std::string, std::string> tags) {
            RunResult r;
            r.id = id;
            r.name = name;
            r.command = {"python3", "train.py"};
            r.started_at = started;
            r.status = parse_run_status(status).value();
            r.exit_code = status == "failed" ? 1 : 0;
            r.duration_s = 83;
            r.energy.total_j = energy;
            r.energy.domain_j = {{"gpu", energy * 0.8}, {"cpu", energy * 0.2}};
            r.energy.domain_method = {{"gpu", "counter"}, {"cpu", "modelled"}};
            r.energy.measured_j = energy * 0.8;
            r.energy.modelled_j = energy * 0.2;
            r.tags = std::move(tags);
            store.finish_run(r, to_json(r));
        };
        add("a1b2c3d4e5f60001", "resnet18-b32", "2026-11-20T08:00:00Z", "completed", 150,
            {{"model", "resnet18"}});
        add("a1b2c3d4e5f60002", "resnet18-b128", "2026-11-21T08:00:00Z", "failed", 90,
            {{"model", "resnet18"}});
        add("b700000000000003", "vgg16-b128", "2026-11-22T08:00:00Z", "completed", 12350,
            {{"model", "vgg16"}});

        Channel c;
        c.name = "gpu0.power";
        c.domain = "gpu";
        c.device = "gpu0";
        c.quantity = Quantity::power;
        RunResult killed;
        killed.id = "c900000000000004";
        killed.name = "killed";
        killed.command = {"sleep", "100"};
        killed.started_at = "2026-11-23T08:00:00Z";
        pid_t gone = fork();
        if (gone == 0) _exit(0);
        waitpid(gone, nullptr, 0);
        store.begin_run(killed, {{"scripted", c}}, 0, gone);
        std::vector<Reading> readings;
        for (int i = 0; i <= 20; ++i) readings.push_back({i * 100'000'000LL, 0, 100.0});
        store.append_readings(killed.id, readings, 0);
    }

    TempDir m_dir;
    ProcessOptions m_options;
};

TEST_F(RunsCli, ListShowsATableNewestFirst) {
    auto r = runs({"--db", db(), "list"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = split(r.out, '\n');
    ASSERT_GE(lines.size(), 5u) << r.out;
    EXPECT_TRUE(starts_with(lines[0], "ID")) << r.out;
    EXPECT_TRUE(starts_with(lines[1], "c9000000")) << r.out;  // newest first, ids shortened to 8
    EXPECT_TRUE(contains(lines[1], "interrupted") && contains(lines[1], "200.0 J") &&
                contains(lines[1], "partial"))
        << lines[1];
    EXPECT_TRUE(contains(lines[2], "vgg16-b128") && contains(lines[2], "12.35 kJ") &&
                contains(lines[2], "20% modelled"))
        << lines[2];
    EXPECT_TRUE(contains(lines[4], "resnet18-b32") && contains(lines[4], "150.0 J") &&
                contains(lines[4], "1m23s"))
        << lines[4];
    // `runs` alone lists too, and --db may come after the subcommand.
    auto alone = runs({"--db", db()});
    EXPECT_EQ(alone.out, r.out);
    EXPECT_EQ(runs({"list", "--db", db()}).out, r.out);
}

TEST_F(RunsCli, ListFiltersAndJson) {
    auto ids = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--db", db(), "list", "--json"});
        auto r = runs(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::vector<std::string> out;
        for (const auto& run : nlohmann::json::parse(r.out))
            out.push_back(run.at("id").get<std::string>().substr(0, 2));
        return out;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(ids({}), (V{"c9", "b7", "a1", "a1"}));
    EXPECT_EQ(ids({"--name", "resnet"}), (V{"a1", "a1"}));
    EXPECT_EQ(ids({"--name", "*-b128"}), (V{"b7", "a1"}));
    EXPECT_EQ(ids({"--tag", "model=vgg16"}), (V{"b7"}));
    EXPECT_EQ(ids({"--tag", "model=resnet18", "--status", "failed"}), (V{"a1"}));
    EXPECT_EQ(ids({"--since", "2026-11-21T12:00Z", "--until", "2026-11-22T12:00:00Z"}), (V{"b7"}));
    EXPECT_EQ(ids({"--since", "2h"}), V{});  // every run here is older
    EXPECT_EQ(ids({"--limit", "1"}), (V{"c9"}));

    auto r = runs({"--db", db(), "list", "--json", "--name", "vgg"});
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0].at("energy_j").at("total"), 12350.0);
    EXPECT_EQ(j[0].at("status"), "completed");
}

TEST_F(RunsCli, ShowByPrefixInTextAndJson) {
    auto r = runs({"--db", db(), "show", "b7", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("id"), "b700000000000003");
    EXPECT_EQ(j.at("schema"), "joulecast.run/2");

    r = runs({"--db", db(), "show", "c9"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "interrupted")) << r.out;
    EXPECT_TRUE(contains(r.out, "200.0 J")) << r.out;
    EXPECT_TRUE(contains(r.out, "warning: joulecast stopped before this run finished")) << r.out;

    r = runs({"--db", db(), "show", "a1b2c3d4e5f60001"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "resnet18-b32") && contains(r.out, "completed (exit 0)")) << r.out;
    EXPECT_TRUE(contains(r.out, "cpu") && contains(r.out, "(modelled)")) << r.out;
}

TEST_F(RunsCli, UnknownOrAmbiguousIdsExit1BadOptionsExit2) {
    auto r = runs({"--db", db(), "show", "ffff"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, "no run with id 'ffff'")) << r.err;
    r = runs({"--db", db(), "show", "a1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, "ambiguous")) << r.err;
    for (auto args : std::vector<std::vector<std::string>>{
             {"--db", db(), "list", "--bogus"},
             {"--db", db(), "list", "--since", "last tuesday"},
             {"--db", db(), "list", "--limit", "0"},
             {"--db", db(), "list", "--status", "sleeping"},
             {"--db", db(), "show"},
             {"--db", db(), "export"},
             {"--db", db(), "export", "--format", "xml"},
             {"--db", db(), "frobnicate"},
             {"--db"},
         }) {
        r = runs(args);
        EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
        EXPECT_TRUE(contains(r.err, "usage")) << r.err;
    }
}

TEST_F(RunsCli, HelpAnywhereInTheSubcommandsPrintsTheUsage) {
    for (auto args : std::vector<std::vector<std::string>>{
             {"list", "--help"},
             {"show", "--help"},
             {"show", "-h"},
             {"--db", db(), "export", "--format", "csv", "--help"},
             {"rm", "--help"},
             {"--help"},
         }) {
        auto r = runs(args);
        EXPECT_EQ(r.exit_code, 0) << args.back() << ": " << r.err;
        EXPECT_TRUE(contains(r.out, "usage: joulecast runs")) << r.out;
        EXPECT_TRUE(r.err.empty()) << r.err;
    }
}

TEST_F(RunsCli, AnUnwritableExportOutputSaysWhy) {
    // A folder that does not exist: the system's reason, and the file as given.
    const std::string missing = m_dir.str() + "/no-such-folder/x.csv";
    auto r = runs({"--db", db(), "export", "--format", "csv", "--output", missing});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "cannot write " + missing + ": No such file or directory")) << r.err;
    // A folder in the way.
    r = runs({"--db", db(), "export", "--format", "csv", "--output", m_dir.str()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "cannot write " + m_dir.str() + ": is a directory")) << r.err;
}

TEST_F(RunsCli, ExportCsvJsonAndReadings) {
    auto r = runs({"--db", db(), "export", "--format", "csv", "--tag", "model=resnet18"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    CsvTable table = parse_csv(r.out);
    ASSERT_EQ(table.rows.size(), 2u);
    EXPECT_EQ(table.rows[0][table.column("name")], "resnet18-b128");
    EXPECT_EQ(table.rows[0][table.column("energy_j")], "90");

    r = runs({"--db", db(), "export", "--format", "csv", "--readings", "--name", "killed"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    table = parse_csv(r.out);
    EXPECT_EQ(table.rows.size(), 21u);
    EXPECT_EQ(table.rows[20][table.column("t_s")], "2.000000000");

    const std::string file = m_dir.str() + "/out.json";
    r = runs({"--db", db(), "export", "--format", "json", "--output", file, "--readings"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.empty());
    std::ifstream in(file);
    auto j = nlohmann::json::parse(in);
    ASSERT_EQ(j.size(), 4u);
    EXPECT_EQ(j[0].at("id"), "c900000000000004");
    EXPECT_TRUE(j[0].at("partial").get<bool>());
    EXPECT_NEAR(j[0].at("energy_j").at("total").get<double>(), 200.0, 1e-9);
    EXPECT_EQ(j[0].at("trace").at("readings").size(), 21u);
    EXPECT_EQ(j[1].at("trace").at("readings").size(), 0u);
}

TEST_F(RunsCli, RmNeedsYesWithoutATerminalAndRemovesByPrefix) {
    // The test's stdin is /dev/null: no one to ask.
    auto r = runs({"--db", db(), "rm", "b7"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.err, "--yes")) << r.err;
    EXPECT_EQ(runs({"--db", db(), "show", "b7", "--json"}).exit_code, 0);  // still there

    r = runs({"--db", db(), "rm", "b7", "zzzz", "--yes"});  // one unknown id: nothing removed
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(runs({"--db", db(), "show", "b7", "--json"}).exit_code, 0);

    r = runs({"--db", db(), "rm", "b7", "c9", "--yes"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "removed b700000000000003")) << r.out;
    auto list = nlohmann::json::parse(runs({"--db", db(), "list", "--json"}).out);
    EXPECT_EQ(list.size(), 2u);
    EXPECT_EQ(runs({"--db", db(), "show", "b7"}).exit_code, 1);
}

TEST_F(RunsCli, JoulecastDbIsTheDefaultAndAMissingStoreIsNotCreated) {
    m_options.env["JOULECAST_DB"] = db();
    auto r = runs({"list", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).size(), 4u);

    const std::string missing = m_dir.str() + "/nowhere/runs.db";
    r = runs({"--db", missing, "list"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "no runs yet")) << r.out;
    EXPECT_EQ(runs({"--db", missing, "show", "abc"}).exit_code, 1);
    EXPECT_FALSE(std::filesystem::exists(m_dir.str() + "/nowhere"));

    std::filesystem::create_directories(m_dir.str() + "/a-folder");
    r = runs({"--db", m_dir.str() + "/a-folder", "list"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, "is a folder")) << r.err;
}

}  // namespace
}  // namespace joulecast
