// Study grids: what parses, what each axis becomes, and every validation error, each naming file and line.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "study/grid.hpp"
#include "support/process.hpp"

namespace joulecast::study {

using core::UsageError;

namespace {

StudyGrid parse(const std::string& text) {
    return parse_grid(text, "g.toml", "stem");
}

// Parsing must fail with a message that starts with "g.toml:<line>:" and contains `part`.
void expect_error(const std::string& text, int line, const std::string& part) {
    try {
        parse(text);
        ADD_FAILURE() << "no error for:\n" << text;
    } catch (const UsageError& error) {
        const std::string message = error.what();
        EXPECT_EQ(message.rfind("g.toml:" + std::to_string(line) + ":", 0), 0u) << message;
        EXPECT_NE(message.find(part), std::string::npos) << message;
    }
}

TEST(StudyGrid, MinimalGridTakesTheDefaults) {
    auto grid = parse("[grid]\nmodels = [\"lenet\"]\n");
    EXPECT_EQ(grid.name, "stem");
    EXPECT_EQ(grid.source, "g.toml");
    EXPECT_EQ(grid.repeats, 1);
    EXPECT_EQ(grid.order, Order::random);
    EXPECT_EQ(grid.seed, 1u);
    EXPECT_EQ(grid.mode, Mode::builtin);
    EXPECT_EQ(grid.cooldown.count(), 0);
    EXPECT_EQ(grid.idle.count(), 0);
    ASSERT_EQ(grid.axes.size(), 1u);
    EXPECT_EQ(grid.axes[0].key, "model");
    EXPECT_EQ(grid.axes[0].values, std::vector<std::string>{"lenet"});
    EXPECT_EQ(grid.configuration_count(), 1u);
}

TEST(StudyGrid, EveryKeyIsReadWithItsTextInCanonicalOrder) {
    auto grid = parse(R"(
[study]
name = "sweep"
repeats = 3
order = "given"
seed = 42
cooldown = "1.5s"
idle = 2
time_limit = "8s"
mode = "builtin"

[grid]
precision = "bf16"
optimizer = "adam"
min_steps = 12
learning_rates = [0.01, 1e-5, 1]
power_limits_w = [250, 312.5]
threads = 2
test_samples = 100
train_samples = [0, 1000]
dataset = "synthetic"
epochs = [1, 2]
batch_sizes = [32, 128, 512]
models = ["lenet", "resnet18"]
)");
    EXPECT_EQ(grid.name, "sweep");
    EXPECT_EQ(grid.repeats, 3);
    EXPECT_EQ(grid.order, Order::given);
    EXPECT_EQ(grid.seed, 42u);
    EXPECT_EQ(grid.cooldown, std::chrono::milliseconds(1500));
    EXPECT_EQ(grid.idle, std::chrono::seconds(2));
    EXPECT_EQ(grid.time_limit, std::chrono::seconds(8));
    std::vector<std::string> keys;
    for (const auto& a : grid.axes) keys.push_back(a.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"model", "batch_size", "epochs", "learning_rate", "threads",
                                              "power_limit_w", "dataset", "train_samples", "test_samples",
                                              "precision", "optimizer", "min_steps"}));
    EXPECT_EQ(grid.axis("learning_rate")->values, (std::vector<std::string>{"0.01", "1e-05", "1"}));
    EXPECT_EQ(grid.axis("power_limit_w")->values, (std::vector<std::string>{"250", "312.5"}));
    EXPECT_EQ(grid.axis("batch_size")->values, (std::vector<std::string>{"32", "128", "512"}));
    EXPECT_EQ(grid.axis("threads")->values, (std::vector<std::string>{"2"}));
    EXPECT_EQ(grid.axis("batch_size")->line, 23);
    EXPECT_EQ(grid.axis("optimizer")->values, (std::vector<std::string>{"adam"}));
    EXPECT_EQ(grid.configuration_count(), 2u * 3 * 2 * 3 * 2 * 2);
    EXPECT_EQ(grid.axis("nothing"), nullptr);
}

TEST(StudyGrid, CommandModeReadsArgvAndEnvAndAcceptsAnyModelName) {
    auto grid = parse(R"(
[study]
mode = "command"
[grid]
models = ["my-net", "other net"]
batch_sizes = [8]
[command]
argv = ["python3", "train.py", "--model", "{model}", "--tag", "b{batch_size}-r{repeat}", "{{literal}}"]
env = { CUDA_VISIBLE_DEVICES = "0", RUN_LABEL = "{study}/{config}" }
)");
    EXPECT_EQ(grid.mode, Mode::command);
    ASSERT_EQ(grid.argv.size(), 7u);
    EXPECT_EQ(grid.argv[3], "{model}");
    EXPECT_EQ(grid.env.at("CUDA_VISIBLE_DEVICES"), "0");
    EXPECT_EQ(grid.env.at("RUN_LABEL"), "{study}/{config}");
    EXPECT_EQ(grid.axis("model")->values[1], "other net");
}

TEST(StudyGrid, SyntaxErrorsNameTheLine) {
    expect_error("[grid]\nmodels = [\"lenet\"\nbatch_sizes = [1]\n", 3, "");
    expect_error("[grid]\nmodels = \"lenet\n", 2, "");
}

TEST(StudyGrid, UnknownTablesAndKeysNameTheLine) {
    expect_error("[grid]\nmodels = [\"lenet\"]\n[extra]\nx = 1\n", 3, "unknown table [extra]");
    expect_error("name = \"x\"\n[grid]\nmodels = [\"lenet\"]\n", 1, "outside any table");
    expect_error("[study]\nnmae = \"x\"\n[grid]\nmodels = [\"lenet\"]\n", 2, "unknown key 'nmae' in [study]");
    expect_error("[grid]\nmodels = [\"lenet\"]\nbatch_size = [32]\n", 3, "did you mean batch_sizes?");
    expect_error("[grid]\nmodels = [\"lenet\"]\nwidth = 3\n", 3, "unknown key 'width' in [grid]");
    expect_error(
        "[study]\nmode = \"command\"\n[grid]\nmodels = [\"a\"]\n[command]\nargv = [\"x\"]\nshell = true\n", 7,
        "unknown key 'shell' in [command]");
}

TEST(StudyGrid, WrongTypesNameTheLine) {
    expect_error("[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [\"32\"]\n", 3,
                 "expected positive integers, got a string");
    expect_error("[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [32.0]\n", 3, "got a number");
    expect_error("[grid]\nmodels = [\"lenet\"]\nlearning_rates = [true]\n", 3, "got a boolean");
    expect_error("[grid]\nmodels = [3]\n", 2, "expected a string, got an integer");
    expect_error("[study]\nrepeats = 1.5\n[grid]\nmodels = [\"lenet\"]\n", 2, "expected an integer");
    expect_error("[study]\nname = 3\n[grid]\nmodels = [\"lenet\"]\n", 2, "[study] name: expected a string");
    expect_error("[study]\norder = \"sorted\"\n[grid]\nmodels = [\"lenet\"]\n", 2, "\"random\" or \"given\"");
    expect_error("[study]\nmode = \"shell\"\n[grid]\nmodels = [\"lenet\"]\n", 2,
                 "\"builtin\" or \"command\"");
    expect_error("[study]\ncooldown = \"5 parsecs\"\n[grid]\nmodels = [\"lenet\"]\n", 2, "is not a duration");
    expect_error("[study]\nidle = [1]\n[grid]\nmodels = [\"lenet\"]\n", 2, "expected a duration");
    expect_error("[grid]\nmodels = [\"lenet\"]\n[study]\nrepeats = 0\n", 4, "out of range");
    expect_error("study = 1\n[grid]\nmodels = [\"lenet\"]\n", 1, "");
}

TEST(StudyGrid, EmptyAxesDuplicatesAndBadNumbersNameTheLine) {
    expect_error("[grid]\nmodels = []\n", 2, "the axis is empty");
    expect_error("[grid]\nmodels = [\"lenet\"]\n\nbatch_sizes = []\n", 4, "the axis is empty");
    expect_error("[grid]\nmodels = [\"lenet\", \"mlp\", \"lenet\"]\n", 2, "lenet is given twice");
    expect_error("[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [32, -1]\n", 3, "-1 is not allowed");
    expect_error("[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [0]\n", 3, "0 is not allowed");
    expect_error("[grid]\nmodels = [\"lenet\"]\nepochs = -2\n", 3, "-2 is not allowed");
    expect_error("[grid]\nmodels = [\"lenet\"]\nthreads = [-1]\n", 3, "-1 is not allowed");
    expect_error("[grid]\nmodels = [\"lenet\"]\nlearning_rates = [0.1, -0.01]\n", 3, "-0.01 is not allowed");
    expect_error("[grid]\nmodels = [\"lenet\"]\nlearning_rates = [0]\n", 3, "0 is not allowed");
    expect_error("[grid]\nmodels = [\"lenet\"]\npower_limits_w = [300, -5]\n", 3, "-5 is not allowed");
    expect_error("[grid]\nmodels = [\"lenet\"]\ntrain_samples = -100\n", 3, "-100 is not allowed");
    expect_error("[grid]\nmodels = [\"lenet\"]\nlearning_rates = [nan]\n", 3, "is not allowed");
    expect_error("[study]\ncooldown = -1\n[grid]\nmodels = [\"lenet\"]\n", 2, "expected a duration >= 0");
}

TEST(StudyGrid, BuiltinModeChecksModelsDatasetsAndPrecisions) {
    expect_error("[grid]\nmodels = [\"lenet\", \"resnet\"]\n", 2,
                 "unknown model \"resnet\" for joulecast-zoo");
    expect_error("[grid]\nmodels = [\"lenet\"]\ndataset = \"mnist\"\n", 3, "unknown dataset \"mnist\"");
    expect_error("[grid]\nmodels = [\"lenet\"]\nprecision = [\"fp32\", \"fp16\"]\n", 3,
                 "unknown precision \"fp16\"");
    expect_error("[grid]\nmodels = [\"lenet\"]\noptimizer = \"rmsprop\"\n", 3,
                 "unknown optimizer \"rmsprop\"");
    for (auto model : zoo_models)
        EXPECT_NO_THROW(parse("[grid]\nmodels = [\"" + std::string(model) + "\"]\n"));
}

TEST(StudyGrid, MissingPartsAreNamed) {
    expect_error("[study]\nname = \"x\"\n", 1, "no [grid] table");
    expect_error("[study]\nname = \"x\"\n\n[grid]\nbatch_sizes = [1]\n", 4, "needs models");
    expect_error("[study]\nmode = \"command\"\n[grid]\nmodels = [\"a\"]\n", 2, "needs a [command] table");
    expect_error("[grid]\nmodels = [\"lenet\"]\n[command]\nargv = [\"x\"]\n", 3,
                 "only with mode = \"command\"");
    expect_error("[study]\nmode = \"command\"\n[grid]\nmodels = [\"a\"]\n[command]\nenv = {}\n", 5,
                 "needs argv");
    expect_error("[study]\nmode = \"command\"\n[grid]\nmodels = [\"a\"]\n[command]\nargv = []\n", 6,
                 "must name a program");
    expect_error("[study]\nmode = \"command\"\n[grid]\nmodels = [\"a\"]\n[command]\nargv = [\"sh\", 3]\n", 6,
                 "expected a string, got an integer");
    expect_error("[study]\nname = \"\"\n[grid]\nmodels = [\"lenet\"]\n", 2, "must not be empty");
}

TEST(StudyGrid, TemplatePlaceholdersAreCheckedBeforeAnythingRuns) {
    const std::string head =
        "[study]\nmode = \"command\"\n[grid]\nmodels = [\"a\"]\nbatch_sizes = [1]\n[command]\n";
    expect_error(head + "argv = [\"run\", \"--x\", \"{modle}\"]\n", 7, "{modle} is not a known placeholder");
    expect_error(head + "argv = [\"run\", \"{threads}\"]\n", 7, "{threads} is not set by [grid]");
    expect_error(head + "argv = [\"run\", \"{model\"]\n", 7, "unclosed '{'");
    expect_error(head + "argv = [\"run\", \"model}\"]\n", 7, "lone '}'");
    expect_error(head + "argv = [\"run\", \"{a b}\"]\n", 7, "bad placeholder");
    expect_error(head + "argv = [\"run\"]\nenv = { X = \"{nope}\" }\n", 8, "{nope}");
    expect_error(head + "argv = [\"run\"]\nenv = { \"1X\" = \"v\" }\n", 8, "not a variable name");
    EXPECT_NO_THROW(
        parse(head + "argv = [\"run\", \"{model}{batch_size}\", \"{repeat}\", \"{study}\", \"{config}\"]\n"));
}

TEST(StudyGrid, LoadGridUsesTheFileStemAsNameAndReportsAMissingFile) {
    EXPECT_THROW(load_grid("/nonexistent/grid.toml"), UsageError);
    auto grid = load_grid(std::string(PROJECT_SOURCE_DIR) + "/examples/grids/gpu.toml");
    EXPECT_EQ(grid.mode, Mode::command);
    EXPECT_EQ(grid.axis("batch_size")->values, (std::vector<std::string>{"32", "128", "512"}));
    EXPECT_EQ(grid.axis("model")->values.size(), 3u);
}

TEST(StudyGrid, DefaultGridMatchesExampleFileAndCoversFourModelsByThreeBatchSizes) {
    std::ifstream in(std::string(PROJECT_SOURCE_DIR) + "/examples/grids/default.toml");
    std::stringstream file;
    file << in.rdbuf();
    EXPECT_EQ(file.str(), std::string(default_grid_text()));
    auto grid = default_grid();
    EXPECT_EQ(grid.name, "default");
    EXPECT_EQ(grid.mode, Mode::builtin);
    EXPECT_GE(grid.axis("model")->values.size(), 4u);
    EXPECT_GE(grid.axis("batch_size")->values.size(), 3u);
    EXPECT_EQ(grid.axis("dataset")->values, std::vector<std::string>{"fashion-mnist"});
    // The recipe that makes every configuration learn (docs/study.md, "Why the default study learns").
    EXPECT_EQ(grid.axis("optimizer")->values, std::vector<std::string>{"adam"});
    EXPECT_EQ(grid.axis("min_steps")->values, std::vector<std::string>{"12"});
}

TEST(StudyGrid, ZooModelListMatchesJoulecastZoo) {
    // The list is compiled in so that grids validate without libtorch; where joulecast-zoo is built (beside
    // joulecast), it must name the same models in the same order.
    const auto zoo = std::filesystem::path(JOULECAST_BINARY).parent_path() / "joulecast-zoo";
    if (!std::filesystem::exists(zoo)) GTEST_SKIP() << "joulecast-zoo is not built (no libtorch)";
    auto r = test::run_process({zoo.string(), "models", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> names;
    for (const auto& model : nlohmann::json::parse(r.out)) names.push_back(model["name"]);
    EXPECT_EQ(names, std::vector<std::string>(std::begin(zoo_models), std::end(zoo_models)));
}

// A command-mode grid of `models` x `batches` x `threads` values and `repeats` repeats; [grid] is on line 4.
std::string sized_grid(int models, int batches, int threads, int repeats) {
    auto list = [](int n, bool quoted) {
        std::string out = "[";
        for (int i = 1; i <= n; ++i)
            out += (i > 1 ? ", " : "") + (quoted ? "\"m" + std::to_string(i) + "\"" : std::to_string(i));
        return out + "]";
    };
    return "[study]\nmode = \"command\"\nrepeats = " + std::to_string(repeats) +
           "\n[grid]\nmodels = " + list(models, true) + "\nbatch_sizes = " + list(batches, false) +
           "\nthreads = " + list(threads, false) + "\n[command]\nargv = [\"true\"]\n";
}

TEST(StudyGrid, AGridTooLargeToPlanIsRefusedWithoutPlanningIt) {
    EXPECT_EQ(parse(sized_grid(100, 100, 10, 1)).configuration_count(), 100'000u);  // the limit itself
    expect_error(sized_grid(100, 100, 10, 2), 4,
                 "the grid plans more than 100000 runs (100 x 100 x 10 values, 2");
    expect_error(sized_grid(100, 100, 11, 1), 4, "split it into smaller studies");
    // 10^9 configurations: refused at once, where planning them ran out of memory.
    expect_error(sized_grid(1000, 1000, 1000, 1), 4, "more than 100000 runs");
}

}  // namespace
}  // namespace joulecast::study
