// Study plans: expansion of the grid, the given and seeded random orders, configuration hashes, command
// templates (filled per argv element, never through a shell), built-in argv and tags.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "study/grid.hpp"
#include "study/plan.hpp"
#include "study/study.hpp"

namespace joulecast::study {
namespace {

StudyGrid grid_of(const std::string& text) {
    return parse_grid(text, "g.toml", "g");
}

const char* const two_by_three = R"(
[study]
order = "given"
repeats = 2
[grid]
models = ["lenet", "mlp"]
batch_sizes = [32, 128, 512]
epochs = 1
)";

std::vector<std::string> labels(const std::vector<PlannedRun>& runs) {
    std::vector<std::string> out;
    for (const auto& r : runs) out.push_back(r.config.label() + " #" + std::to_string(r.repeat));
    return out;
}

TEST(StudyPlan, FnvHashMatchesTheReferenceVectors) {
    EXPECT_EQ(fnv1a_hex(""), "cbf29ce484222325");
    EXPECT_EQ(fnv1a_hex("a"), "af63dc4c8601ec8c");
    EXPECT_EQ(fnv1a_hex("foobar"), "85944171f73967e8");
}

TEST(StudyPlan, ExpansionIsTheCartesianProductFirstAxisSlowest) {
    auto configs = expand(grid_of(two_by_three));
    ASSERT_EQ(configs.size(), 6u);
    EXPECT_EQ(configs[0].label(), "model=lenet batch_size=32 epochs=1");
    EXPECT_EQ(configs[1].label(), "model=lenet batch_size=128 epochs=1");
    EXPECT_EQ(configs[2].label(), "model=lenet batch_size=512 epochs=1");
    EXPECT_EQ(configs[3].label(), "model=mlp batch_size=32 epochs=1");
    EXPECT_EQ(configs[5].label(), "model=mlp batch_size=512 epochs=1");
    std::set<std::string> hashes;
    for (const auto& c : configs) {
        EXPECT_EQ(c.hash.size(), 16u);
        hashes.insert(c.hash);
    }
    EXPECT_EQ(hashes.size(), 6u);
    EXPECT_EQ(*configs[4].find("batch_size"), "128");
    EXPECT_EQ(configs[4].find("threads"), nullptr);
    // Keys with one value are left out of the short label (model always stays).
    auto grid = grid_of(two_by_three);
    EXPECT_EQ(configs[4].label(&grid), "model=mlp batch_size=128");
}

TEST(StudyPlan, HashDependsOnWhatRunsNotOnNameOrderOrRepeats) {
    auto a = expand(grid_of("[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [32]\n"));
    auto b = expand(
        grid_of("[study]\nname = \"other\"\nrepeats = 4\norder = \"given\"\n[grid]\nbatch_sizes = [32]\n"
                "models = [\"lenet\", \"mlp\"]\n"));
    auto c = expand(grid_of("[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [64]\n"));
    EXPECT_EQ(a[0].hash, b[0].hash);
    EXPECT_NE(a[0].hash, c[0].hash);
    // The same configuration run by another command is another measurement.
    auto d =
        expand(grid_of("[study]\nmode = \"command\"\n[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [32]\n"
                       "[command]\nargv = [\"a\", \"{model}\"]\n"));
    auto e =
        expand(grid_of("[study]\nmode = \"command\"\n[grid]\nmodels = [\"lenet\"]\nbatch_sizes = [32]\n"
                       "[command]\nargv = [\"b\", \"{model}\"]\n"));
    EXPECT_NE(a[0].hash, d[0].hash);
    EXPECT_NE(d[0].hash, e[0].hash);
    // Stable across versions: the canonical text is "mode=builtin\nmodel=lenet\nbatch_size=32\n".
    EXPECT_EQ(a[0].hash, fnv1a_hex("mode=builtin\nmodel=lenet\nbatch_size=32\n"));
}

TEST(StudyPlan, GivenOrderRunsTheWholeGridOncePerRepeat) {
    auto runs = plan_runs(grid_of(two_by_three));
    ASSERT_EQ(runs.size(), 12u);
    for (std::size_t i = 0; i < 12; ++i) {
        EXPECT_EQ(runs[i].config_index, i % 6);
        EXPECT_EQ(runs[i].repeat, static_cast<int>(i / 6) + 1);
    }
}

TEST(StudyPlan, RandomOrderIsASeededPermutation) {
    std::string random = two_by_three;
    random.replace(random.find("order = \"given\""), 15, "order = \"random\"");
    auto given = labels(plan_runs(grid_of(two_by_three)));
    auto first = labels(plan_runs(grid_of(random)));
    auto again = labels(plan_runs(grid_of(random)));
    std::string reseeded = random;
    reseeded.replace(reseeded.find("[study]"), 7, "[study]\nseed = 7");
    auto other = labels(plan_runs(grid_of(reseeded)));

    EXPECT_EQ(first, again);
    EXPECT_NE(first, given);
    EXPECT_NE(first, other);
    auto sorted_first = first, sorted_given = given, sorted_other = other;
    std::sort(sorted_first.begin(), sorted_first.end());
    std::sort(sorted_given.begin(), sorted_given.end());
    std::sort(sorted_other.begin(), sorted_other.end());
    EXPECT_EQ(sorted_first, sorted_given);
    EXPECT_EQ(sorted_other, sorted_given);
}

TEST(StudyPlan, RandomOrderIsTheSameOnEveryMachine) {
    // std::mt19937_64 is fully specified and the shuffle is our own: this order must never change.
    auto runs =
        plan_runs(grid_of("[study]\nseed = 1\n[grid]\nmodels = [\"lenet\", \"mlp\", \"vit\", \"vgg19\"]\n"));
    std::vector<std::string> models;
    for (const auto& r : runs) models.push_back(*r.config.find("model"));
    // What std::mt19937_64(1) and the shuffle gave when this test was written.
    const std::vector<std::string> expected = {"mlp", "vit", "vgg19", "lenet"};
    EXPECT_EQ(models, expected);
}

TEST(StudyTemplate, PlaceholdersAndLiteralBraces) {
    auto names = template_placeholders("--x={model}_{batch_size} {{not}} {repeat}");
    ASSERT_TRUE(names.ok()) << names.error();
    EXPECT_EQ(*names, (std::vector<std::string>{"model", "batch_size", "repeat"}));
    auto filled =
        substitute("--x={model}_{batch_size} {{not}} }}", {{"model", "lenet"}, {"batch_size", "32"}});
    ASSERT_TRUE(filled.ok()) << filled.error();
    EXPECT_EQ(*filled, "--x=lenet_32 {not} }");
    EXPECT_FALSE(substitute("{missing}", {}).ok());
    EXPECT_NE(substitute("{missing}", {}).error().find("{missing}"), std::string::npos);
    EXPECT_FALSE(template_placeholders("{open").ok());
    EXPECT_FALSE(template_placeholders("close}").ok());
    EXPECT_FALSE(template_placeholders("{}").ok());
    EXPECT_FALSE(template_placeholders("{a-b}").ok());
}

TEST(StudyTemplate, ValuesWithSpacesAndShellCharactersStayOneLiteralElement) {
    auto grid = grid_of(R"(
[study]
mode = "command"
[grid]
models = ["my model; rm -rf / $(echo x) 'q' \"d\""]
batch_sizes = [16]
[command]
argv = ["prog", "--model", "{model}", "label {model} b{batch_size}", "{study}-{repeat}-{config}"]
env = { LABEL = "{model}!" }
)");
    auto runs = plan_runs(grid);
    ASSERT_EQ(runs.size(), 1u);
    const std::string model = "my model; rm -rf / $(echo x) 'q' \"d\"";
    auto argv = run_argv(grid, runs[0], "/unused/zoo");
    ASSERT_EQ(argv.size(), 5u);
    EXPECT_EQ(argv[0], "prog");
    EXPECT_EQ(argv[2], model);
    EXPECT_EQ(argv[3], "label " + model + " b16");
    EXPECT_EQ(argv[4], "g-1-" + runs[0].config.hash);
    EXPECT_EQ(run_env(grid, runs[0]).at("LABEL"), model + "!");
}

TEST(StudyPlan, BuiltinArgvPassesOnlyTheKeysTheGridSetsAndNeverThePowerLimit) {
    auto grid = grid_of(R"(
[grid]
models = ["resnet18"]
batch_sizes = [64]
learning_rates = [0.05]
power_limits_w = [300]
dataset = "synthetic"
train_samples = 256
precision = "bf16"
optimizer = "adam"
min_steps = 12
)");
    auto runs = plan_runs(grid);
    EXPECT_EQ(
        run_argv(grid, runs[0], "/opt/jc/joulecast-zoo"),
        (std::vector<std::string>{"/opt/jc/joulecast-zoo", "train", "--model", "resnet18", "--dataset",
                                  "synthetic", "--train-samples", "256", "--batch-size", "64", "--lr", "0.05",
                                  "--precision", "bf16", "--optimizer", "adam", "--min-steps", "12"}));
    EXPECT_TRUE(run_env(grid, runs[0]).empty());
}

TEST(StudyPlan, TagsCarryStudyConfigurationRepeatAndHash) {
    auto grid = grid_of(
        "[study]\nname = \"s1\"\nrepeats = 2\norder = \"given\"\n[grid]\nmodels = [\"mlp\"]\n"
        "batch_sizes = [8]\nthreads = 1\npower_limits_w = [250]\n");
    auto runs = plan_runs(grid);
    auto tags = run_tags(grid, runs[1]);
    EXPECT_EQ(tags, (std::map<std::string, std::string>{{"study", "s1"},
                                                        {"model", "mlp"},
                                                        {"batch_size", "8"},
                                                        {"threads", "1"},
                                                        {"power_limit_w", "250"},
                                                        {"repeat", "2"},
                                                        {"config", runs[1].config.hash}}));
}

TEST(StudyPlan, TimeBoundIsRunsTimesLimitAndGracePlusIdleAndCooldowns) {
    // 6 runs x (2 s idle + 8 s limit + 0.5 s grace) + 5 x 3 s cool-down = 63 + 15 = 78 s.
    StudyGrid grid = grid_of(std::string(two_by_three) + "");
    grid.idle = std::chrono::seconds(2);
    grid.time_limit = std::chrono::seconds(8);
    grid.cooldown = std::chrono::seconds(3);
    const std::string bound = plan_time_bound(grid, 6);
    EXPECT_NE(bound.find("at most 1m18s"), std::string::npos) << bound;
    EXPECT_NE(bound.find("6 runs x (2.000 s idle + 8.000 s time_limit + 0.500 s until SIGKILL)"),
              std::string::npos)
        << bound;
    EXPECT_NE(bound.find("5 x 3.000 s cool-down"), std::string::npos) << bound;
    // The calibration study's arithmetic: 60 x (8 + 0.5) s, nothing else.
    grid.idle = grid.cooldown = std::chrono::nanoseconds(0);
    EXPECT_NE(plan_time_bound(grid, 60).find("at most 8m30s = 60 runs x (8.000 s time_limit"),
              std::string::npos);
    grid.time_limit = std::chrono::nanoseconds(0);
    EXPECT_NE(plan_time_bound(grid, 60).find("not bounded"), std::string::npos);
}

}  // namespace
}  // namespace joulecast::study
