// End to end: `joulecast study` runs small grids of a shell "workload" that marks phases with `joulecast
// mark`, under the fake NVML (constant power, so every energy is known): stored runs and tags, the summary,
// --resume, templates that never reach a shell, power limits applied and restored (fake NVML only), a failing
// configuration, SIGINT, the built-in mode's argv, --dry-run and grid errors.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "store/run_store.hpp"
#include "support/fake_gpu.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast {

using core::read_text_file;

using meter::RunStatus;

using store::RunFilter;
using store::RunStore;
using store::RunSummary;

namespace {

using test::isolated_env;
using test::ProcessOptions;
using test::read_json;
using test::run_process;
using test::TempDir;

// A file the study wrote; a missing one fails the test.
std::string read_text(const std::filesystem::path& path) {
    return read_text_file(path.string()).value();
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The fake GPU is the only energy source; its limits persist in `nvml-state` like a driver's.
ProcessOptions fake_gpu(const TempDir& dir, const std::string& script) {
    ProcessOptions options = test::fake_gpu_options(dir, script);
    options.env["FAKE_NVML_STATE"] = dir.str() + "/nvml-state";
    return options;
}

// A workload: args MODEL BATCH LABEL. Appends LABEL to labels.txt, trains for 0.2 s ("slow": 0.4 s) on
// 100 x BATCH samples, infers 50 samples for 0.1 s, reports accuracy 0.BATCH. Model "bad" fails at once.
std::filesystem::path write_workload(const TempDir& dir) {
    const std::string mark = std::string("'") + JOULECAST_BINARY + "' mark";
    return dir.write("work.sh",
                     "#!/bin/sh\n"
                     "printf '%s\\n' \"$3\" >> '" +
                         dir.str() +
                         "/labels.txt'\n"
                         "[ \"$1\" = bad ] && exit 3\n"
                         "d=0.2; [ \"$1\" = slow ] && d=0.4\n" +
                         mark + " meta model=\"$1\" batch_size=\"$2\"\n" + mark + " begin train\n" +
                         "sleep $d\n" + mark + " end train samples=$((100 * $2))\n" + mark +
                         " begin infer\nsleep 0.1\n" + mark + " end infer samples=50\n" + mark +
                         " metric accuracy=0.$2\n");
}

std::string command_grid(const std::filesystem::path& workload, const std::string& study,
                         const std::string& grid, const std::string& label = "{model}") {
    return "[study]\nname = \"" + study + "\"\nmode = \"command\"\norder = \"given\"\n\n[grid]\n" + grid +
           "\n[command]\nargv = [\"sh\", \"" + workload.string() + "\", \"{model}\", \"{batch_size}\", \"" +
           label + "\"]\n";
}

std::vector<RunSummary> stored_runs(const std::string& db, const std::string& study) {
    RunStore store(db);
    RunFilter filter;
    filter.tags = {{"study", study}};
    return store.list(filter);
}

/// The power-limit studies' runs (models "fast" and "bad" at two limits, a fake GPU drawing 400 W): the "bad"
/// ones failed (exit 3), the two others completed with a mean GPU power at their limit within `tolerance`.
void expect_capped_runs(const std::string& db, const std::string& study, double tolerance) {
    auto runs = stored_runs(db, study);
    ASSERT_EQ(runs.size(), 4u);
    RunStore store(db);
    int completed = 0;
    for (const auto& run : runs) {
        if (run.tags.at("model") == "bad") {
            EXPECT_EQ(run.status, RunStatus::failed);
            EXPECT_EQ(run.exit_code, 3);
            continue;
        }
        ++completed;
        EXPECT_EQ(run.status, RunStatus::completed);
        const double limit = std::stod(run.tags.at("power_limit_w"));
        const auto result = nlohmann::json::parse(store.get_document(run.id).dump());
        const double mean_w = result["energy_j"]["gpu"].get<double>() / result["duration_s"].get<double>();
        EXPECT_NEAR(mean_w, limit, tolerance * limit) << study << " " << run.tags.at("power_limit_w");
    }
    EXPECT_EQ(completed, 2);
}

const nlohmann::json& phase(const nlohmann::json& result, const std::string& name) {
    for (const auto& p : result["phases"])
        if (p["name"] == name) return p;
    throw std::runtime_error("no phase " + name);
}

TEST(StudyEndToEnd, CommandModeStoresEveryRunWithTagsAndSummarisesThem) {
    TempDir dir;
    auto workload = write_workload(dir);
    // The label holds spaces, quotes and a command substitution: it must arrive as one literal argument.
    const std::string label = "label {model} b{batch_size}; $(touch " + dir.str() + "/pwned) 'q'";
    auto grid = dir.write(
        "g.toml",
        command_grid(workload, "e2e", "models = [\"fast\", \"slow\"]\nbatch_sizes = [2, 4]", label));
    auto options = fake_gpu(dir, "gpus=1;gpu0.power=200");
    const std::string db = dir.str() + "/runs.db";
    const std::string json = dir.str() + "/study.json";

    auto r = run_process(
        {JOULECAST_BINARY, "study", "--db", db, "--json", json, "--intensity", "500", grid.string()},
        options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("[4/4] model=slow batch_size=4"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ETA"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("train mJ/sample"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("4 of 4 runs completed"), std::string::npos) << r.err;

    // Templates are filled per element: no shell ever ran the label.
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "pwned"));
    const std::string tail = "; $(touch " + dir.str() + "/pwned) 'q'";
    EXPECT_EQ(lines_of(dir.path() / "labels.txt"),
              (std::vector<std::string>{"label fast b2" + tail, "label fast b4" + tail,
                                        "label slow b2" + tail, "label slow b4" + tail}));

    auto runs = stored_runs(db, "e2e");
    ASSERT_EQ(runs.size(), 4u);
    RunStore store(db);
    std::set<std::string> configs;
    for (const auto& run : runs) {
        EXPECT_EQ(run.status, RunStatus::completed);
        EXPECT_EQ(run.tags.at("repeat"), "1");
        EXPECT_EQ(run.tags.at("config").size(), 16u);
        EXPECT_EQ(run.tags.count("epochs"), 0u);  // the grid does not set it
        configs.insert(run.tags.at("model") + "/" + run.tags.at("batch_size"));
        // E_tr / samples: 200 W over the train phase, 100 x batch samples.
        const auto result = nlohmann::json::parse(store.get_document(run.id).dump());
        const double batch = std::stod(run.tags.at("batch_size"));
        const auto& train = phase(result, "train");
        const double expected = 200.0 * train["duration_s"].get<double>() / (100 * batch);
        EXPECT_NEAR(train["energy_per_sample_j"].get<double>(), expected, 0.02 * expected);
        EXPECT_GT(train["duration_s"].get<double>(), run.tags.at("model") == "slow" ? 0.39 : 0.19);
        EXPECT_EQ(result["meta"]["model"], run.tags.at("model"));
    }
    EXPECT_EQ(configs, (std::set<std::string>{"fast/2", "fast/4", "slow/2", "slow/4"}));

    auto summary = read_json(json);
    EXPECT_EQ(summary["schema"], "joulecast.study/1");
    EXPECT_EQ(summary["name"], "e2e");
    EXPECT_EQ(summary["totals"]["completed"], 4);
    EXPECT_EQ(summary["totals"]["planned"], 4);
    ASSERT_EQ(summary["rows"].size(), 4u);
    double total = 0;
    for (const auto& row : summary["rows"]) {
        const std::string batch = row["config"]["batch_size"];
        EXPECT_EQ(row["n"], 1);
        EXPECT_DOUBLE_EQ(row["accuracy"].get<double>(), std::stod("0." + batch));
        // The slow model trains twice as long on the same samples: about twice the energy per sample.
        const double seconds = row["config"]["model"] == "slow" ? 0.4 : 0.2;
        const double per_sample = row["train_energy_per_sample_j"].get<double>();
        EXPECT_GT(per_sample, 200.0 * seconds / (100 * std::stod(batch)));
        EXPECT_LT(per_sample, 200.0 * (seconds + 0.3) / (100 * std::stod(batch)));
        EXPECT_GT(row["infer_energy_per_sample_j"].get<double>(), 200.0 * 0.1 / 50);
        EXPECT_LT(row["infer_energy_per_sample_j"].get<double>(), 200.0 * 0.4 / 50);
        total += row["energy_j"].get<double>();
    }
    EXPECT_NEAR(summary["totals"]["energy_j"].get<double>(), total, 1e-6 * total);
    EXPECT_NEAR(summary["totals"]["co2e_g"].get<double>(), total / 3.6e6 * 500, 1e-6);
}

TEST(StudyEndToEnd, ResumeSkipsCompletedRunsAndRunsOnlyWhatIsMissing) {
    TempDir dir;
    auto workload = write_workload(dir);
    auto grid =
        dir.write("g.toml", command_grid(workload, "res", "models = [\"fast\"]\nbatch_sizes = [2, 4]"));
    auto options = fake_gpu(dir, "gpus=1;gpu0.power=100");
    const std::string db = dir.str() + "/runs.db";
    const std::string json = dir.str() + "/study.json";
    ASSERT_EQ(run_process({JOULECAST_BINARY, "study", "--db", db, grid.string()}, options).exit_code, 0);
    ASSERT_EQ(lines_of(dir.path() / "labels.txt").size(), 2u);

    auto r = run_process({JOULECAST_BINARY, "study", "--resume", "--db", db, "--json", json, grid.string()},
                         options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("2 of 2 runs already completed"), std::string::npos) << r.err;
    EXPECT_EQ(lines_of(dir.path() / "labels.txt").size(), 2u);  // nothing ran
    EXPECT_EQ(stored_runs(db, "res").size(), 2u);
    auto summary = read_json(json);
    EXPECT_EQ(summary["totals"]["resumed"], 2);
    EXPECT_EQ(summary["totals"]["completed"], 2);
    EXPECT_EQ(summary["rows"][1]["n"], 1);

    // Without the batch-4 run, --resume runs it alone.
    std::string removed;
    for (const auto& run : stored_runs(db, "res"))
        if (run.tags.at("batch_size") == "4") removed = run.id;
    ASSERT_TRUE(RunStore(db).remove(removed));
    auto dry =
        run_process({JOULECAST_BINARY, "study", "--resume", "--dry-run", "--db", db, grid.string()}, options);
    EXPECT_NE(dry.out.find("batch_size=2 repeat=1 config="), std::string::npos) << dry.out;
    EXPECT_NE(dry.out.find("  done"), std::string::npos) << dry.out;
    r = run_process({JOULECAST_BINARY, "study", "--resume", "--db", db, "--json", json, grid.string()},
                    options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(lines_of(dir.path() / "labels.txt"), (std::vector<std::string>{"fast", "fast", "fast"}));
    EXPECT_EQ(stored_runs(db, "res").size(), 2u);
    summary = read_json(json);
    EXPECT_EQ(summary["totals"]["resumed"], 1);
    EXPECT_EQ(summary["totals"]["completed"], 2);
}

TEST(StudyEndToEnd, PowerLimitsCapTheFakeGpuAndAreRestoredAfterAFailingRun) {
    TempDir dir;
    auto workload = write_workload(dir);
    auto grid = dir.write("g.toml", command_grid(workload, "pl",
                                                 "models = [\"fast\", \"bad\"]\nbatch_sizes = [2]\n"
                                                 "power_limits_w = [250, 300]"));
    auto options = fake_gpu(dir, "gpus=1;gpu0.power=400;gpu0.power_limit=650");
    const std::string db = dir.str() + "/runs.db";
    auto r =
        run_process({JOULECAST_BINARY, "study", "--allow-power-limit", "--db", db, grid.string()}, options);
    EXPECT_EQ(r.exit_code, 1) << r.err;  // the "bad" runs failed; the study went on
    EXPECT_NE(r.err.find("power limit before the study: 650 W"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("gpu0: power limit restored to 650 W"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("2 failed"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(dir.path() / "nvml-state"), "gpu0.power_limit_mw=650000\n");

    // The fake draws 400 W but is capped by the limit for the whole run.
    expect_capped_runs(db, "pl", 0.02);
}

TEST(StudyEndToEnd, RocmPowerCapsCapTheFakeAmdGpuAndAreRestoredAfterAFailingRun) {
    TempDir dir;
    auto workload = write_workload(dir);
    auto grid = dir.write("g.toml", command_grid(workload, "rocm",
                                                 "models = [\"fast\", \"bad\"]\nbatch_sizes = [2]\n"
                                                 "power_limits_w = [250, 300]"));
    ProcessOptions options;
    options.env = test::isolated_env(dir.str());  // no NVML: the limits go through ROCm SMI
    options.env["JOULECAST_ROCM_SMI_LIBRARY"] = FAKE_ROCM_SMI_LIBRARY;
    options.env["FAKE_ROCM_SMI_SCRIPT"] = "gpus=1;gpu0.power=400;gpu0.power_cap=650";
    options.env["FAKE_ROCM_SMI_STATE"] = dir.str() + "/rocm-state";
    const std::string db = dir.str() + "/runs.db";
    auto r =
        run_process({JOULECAST_BINARY, "study", "--allow-power-limit", "--db", db, grid.string()}, options);
    EXPECT_EQ(r.exit_code, 1) << r.err;  // the "bad" runs failed; the study went on
    EXPECT_NE(r.err.find("power limit before the study: 650 W"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("amdgpu0: power limit restored to 650 W"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(dir.path() / "rocm-state"), "gpu0.power_cap_uw=650000000\n");

    // The fake draws 400 W but is capped for the whole run: its energy counter follows the cap.
    expect_capped_runs(db, "rocm", 0.03);
}

TEST(StudyEndToEnd, PowerLimitsWithoutPermissionFlagAreRefusedBeforeAnythingRuns) {
    TempDir dir;
    auto workload = write_workload(dir);
    auto grid = dir.write("g.toml", command_grid(workload, "refused",
                                                 "models = [\"fast\"]\nbatch_sizes = [2]\n"
                                                 "power_limits_w = [250]"));
    auto options = fake_gpu(dir, "gpus=1;gpu0.power=400");
    auto r = run_process({JOULECAST_BINARY, "study", "--db", dir.str() + "/runs.db", grid.string()}, options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(grid.string() + ":9: the grid sets power_limits_w"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--allow-power-limit"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "labels.txt"));
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "nvml-state"));
}

TEST(StudyEndToEnd, SigintStopsAfterTheCurrentRunWithStatus130AndRestoresTheLimit) {
    TempDir dir;
    auto workload =
        dir.write("wait.sh", "#!/bin/sh\ntouch '" + dir.str() + "/started-'\"$1\"\nexec sleep 5\n");
    auto grid = dir.write("g.toml",
                          "[study]\nname = \"sig\"\nmode = \"command\"\norder = \"given\"\n[grid]\n"
                          "models = [\"a\", \"b\", \"c\"]\npower_limits_w = [300]\n[command]\n"
                          "argv = [\"sh\", \"" +
                              workload.string() + "\", \"{model}\"]\n");
    auto options = fake_gpu(dir, "gpus=1;gpu0.power=400;gpu0.power_limit=650");
    const std::string db = dir.str() + "/runs.db";
    std::vector<std::string> argv = {JOULECAST_BINARY, "study", "--allow-power-limit",
                                     "--db",           db,      grid.string()};

    const std::string err_path = dir.str() + "/err.txt";
    const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(err_fd, 0);
    pid_t pid = test::start_process(argv, options, err_fd);
    close(err_fd);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::filesystem::exists(dir.path() / "started-a") && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(std::filesystem::exists(dir.path() / "started-a"));
    EXPECT_EQ(read_text(dir.path() / "nvml-state"),
              "gpu0.power_limit_mw=300000\n");  // applied during the run
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    kill(pid, SIGINT);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 130);
    const std::string err = read_text(err_path);
    EXPECT_NE(err.find("stopped by signal 2"), std::string::npos) << err;
    EXPECT_NE(err.find("restored to 650 W"), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "started-b"));
    EXPECT_EQ(read_text(dir.path() / "nvml-state"), "gpu0.power_limit_mw=650000\n");

    auto runs = stored_runs(db, "sig");
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, RunStatus::interrupted);
    EXPECT_EQ(runs[0].tags.at("model"), "a");
    EXPECT_EQ(runs[0].exit_code, 130);
}

TEST(StudyEndToEnd, BuiltinModeRunsTheZooWithTheConfigurationAsOptions) {
    TempDir dir;
    const std::string mark = std::string("'") + JOULECAST_BINARY + "' mark";
    auto zoo = dir.write("fake-zoo", "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" +
                                         dir.str() + "/argv.txt'\n" + mark + " begin train\n" + mark +
                                         " end train samples=64\n" + mark + " metric accuracy=0.75\n");
    std::filesystem::permissions(zoo, std::filesystem::perms::owner_all);
    auto grid = dir.write("b.toml",
                          "[grid]\nmodels = [\"resnet18\"]\nbatch_sizes = [16]\nlearning_rates = [0.1]\n"
                          "dataset = \"synthetic\"\ntrain_samples = 64\n");
    auto options = fake_gpu(dir, "gpus=1;gpu0.power=100");
    auto r = run_process(
        {JOULECAST_BINARY, "study", "--zoo", zoo.string(), "--db", dir.str() + "/runs.db", grid.string()},
        options);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(lines_of(dir.path() / "argv.txt"),
              (std::vector<std::string>{"train", "--model", "resnet18", "--dataset", "synthetic",
                                        "--train-samples", "64", "--batch-size", "16", "--lr", "0.1"}));
    auto runs = stored_runs(dir.str() + "/runs.db", "b");  // the study is named after the file
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].tags.at("learning_rate"), "0.1");

    // Without the zoo, built-in mode is refused before anything runs.
    r = run_process({JOULECAST_BINARY, "study", "--zoo", dir.str() + "/missing-zoo", grid.string()}, options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("joulecast-zoo"), std::string::npos) << r.err;
}

TEST(StudyEndToEnd, TimeLimitStopsEachRunAndTheDryRunStatesTheBound) {
    TempDir dir;
    auto options = fake_gpu(dir, "gpus=1;gpu0.power=100");
    // "stubborn" ignores SIGINT (ignored dispositions survive exec): only the SIGKILL 0.5 s later ends it.
    auto grid =
        dir.write("limit.toml",
                  "[study]\nname = \"limit\"\nmode = \"command\"\norder = \"given\"\ntime_limit = \"400ms\"\n"
                  "[grid]\nmodels = [\"plain\", \"stubborn\"]\n[command]\n"
                  "argv = [\"sh\", \"-c\", \"[ {model} = stubborn ] && trap '' INT; exec sleep 20\"]\n");
    auto plan = run_process({JOULECAST_BINARY, "study", "--dry-run", grid.string()}, options);
    EXPECT_EQ(plan.exit_code, 0) << plan.err;
    EXPECT_NE(plan.out.find("time: at most 1.8s = 2 runs x (0.400 s time_limit + 0.500 s until SIGKILL)"),
              std::string::npos)
        << plan.out;

    const std::string db = dir.str() + "/runs.db";
    const auto start = std::chrono::steady_clock::now();
    auto r = run_process({JOULECAST_BINARY, "study", "--db", db, grid.string()}, options);
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.exit_code, 1) << r.err;  // both runs failed
    EXPECT_LT(wall_s, 10.0) << r.err;    // not the 2 x 20 s of the command
    EXPECT_NE(r.err.find("stopped at its time limit of 0.400 s"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("0 of 2 runs completed, 2 failed"), std::string::npos) << r.err;

    RunStore store(db);
    auto runs = stored_runs(db, "limit");
    ASSERT_EQ(runs.size(), 2u);
    for (const auto& run : runs) {
        const auto result = nlohmann::json::parse(store.get_document(run.id).dump());
        EXPECT_EQ(run.status, RunStatus::failed);
        const bool stubborn = run.tags.at("model") == "stubborn";
        // SIGINT ends "plain" at 0.4 s (status 130); "stubborn" dies of the SIGKILL at 0.9 s (status 137).
        EXPECT_EQ(result["exit_code"], stubborn ? 128 + SIGKILL : 128 + SIGINT) << result.dump();
        const double duration = result["duration_s"].get<double>();
        EXPECT_GT(duration, stubborn ? 0.85 : 0.35);
        EXPECT_LT(duration, stubborn ? 2.0 : 1.5);
        bool warned = false;
        for (const auto& w : result["warnings"])
            warned = warned || w.get<std::string>().find("time limit") != std::string::npos;
        EXPECT_TRUE(warned) << result["warnings"].dump();
    }
}

TEST(StudyEndToEnd, DryRunPrintsThePlanAndBadGridsNameTheLine) {
    TempDir dir;
    auto options = fake_gpu(dir, "gpus=1");
    // The plan is printed even though this zoo does not exist; the status says the study would not start.
    auto r = run_process({JOULECAST_BINARY, "study", "--dry-run", "--zoo", "/opt/zoo"}, options);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.out.find("error: built-in mode runs joulecast-zoo, which is not at /opt/zoo"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("study \"default\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("12. model="), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("/opt/zoo train --model"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "runs.db"));

    auto bad =
        dir.write("bad.toml", "[study]\nrepeats = 2\n[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [32, -8]\n");
    r = run_process({JOULECAST_BINARY, "study", bad.string()}, options);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(bad.string() + ":5:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("-8 is not allowed"), std::string::npos) << r.err;

    r = run_process({JOULECAST_BINARY, "study", "--print-default"}, options);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("[grid]"), std::string::npos);
}

}  // namespace
}  // namespace joulecast
