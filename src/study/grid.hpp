#pragma once
// A study grid: the TOML file that `joulecast study` reads (format in docs/study.md). Parsing checks
// everything a user can get wrong before any run starts, and every error names the file, line and column.
//
//   [study]   name, repeats, order ("random" | "given"), seed, cooldown, idle, time_limit,
//             mode ("builtin" | "command")
//   [grid]    models, batch_sizes, epochs, learning_rates, threads, power_limits_w, dataset, train_samples,
//             test_samples, precision, optimizer, min_steps: each a value or a non-empty array of values (an
//             array is an axis)
//   [command] argv = [...] with {key} placeholders, env = { NAME = "..." }   (mode = "command" only)

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joulecast::study {

enum class Order { random, given };
enum class Mode { builtin, command };

/// One key of the configuration, with every value it takes in the grid (one value for a scalar). Values are
/// kept as the text that is passed on (argv, tags): integers in decimal, reals in their shortest round-trip
/// form ("0.01", "1e-05").
struct Axis {
    std::string key;                  ///< configuration key: "model", "batch_size", "learning_rate", ...
    std::string grid_key;             ///< as written in [grid]: "models", "batch_sizes", ...
    std::vector<std::string> values;  ///< at least one, no duplicates
    int line = 0;                     ///< where the grid sets it
};

struct StudyGrid {
    std::string source;  ///< the file's path as given, or "<default study>"
    std::string name;    ///< [study] name; default: the file's stem
    int repeats = 1;
    Order order = Order::random;
    std::uint64_t seed = 1;  ///< seeds the random order
    std::chrono::nanoseconds cooldown{0};
    std::chrono::nanoseconds idle{0};  ///< idle baseline measured before each run; zero for none
    /// Each run's command is stopped this long after its start (SIGINT, then SIGKILL after
    /// runner::time_limit_grace) and the run fails; zero for none. Bounds the study's time (print_plan).
    std::chrono::nanoseconds time_limit{0};
    Mode mode = Mode::builtin;
    /// Axes in the canonical key order (configuration_keys below), only those the grid sets.
    std::vector<Axis> axes;
    /// mode = "command": the argv template and extra environment, with {key} placeholders.
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;

    const Axis* axis(std::string_view key) const;
    /// Number of configurations (the product of the axes' sizes), repeats not counted.
    std::size_t configuration_count() const;
};

/// Configuration keys in their canonical order (tags, hashes and tables follow it).
inline constexpr std::string_view configuration_keys[] = {
    "model",   "batch_size",    "epochs",       "learning_rate", "threads",   "power_limit_w",
    "dataset", "train_samples", "test_samples", "precision",     "optimizer", "min_steps"};

/// The placeholders a command template may use besides the grid's own keys.
inline constexpr std::string_view extra_placeholders[] = {"repeat", "study", "config"};

/// Parses a grid. `source` names the text in messages ("grid.toml:12:5: ..."); `default_name` is the study's
/// name when [study] gives none. Throws UsageError for a TOML syntax error, an unknown table or key, a value
/// of the wrong type, an empty or duplicated axis value, a negative or zero number where it is not allowed,
/// an unknown model, dataset or precision (built-in mode), a missing or empty [command] argv (command mode),
/// an unknown {placeholder} or unbalanced brace in the template.
StudyGrid parse_grid(std::string_view text, const std::string& source, const std::string& default_name);

/// Reads and parses a grid file; its stem is the default name. Throws UsageError when it cannot be read.
StudyGrid load_grid(const std::string& path);

/// The default study (examples/grids/default.toml, compiled in).
StudyGrid default_grid();
/// Its TOML text.
std::string_view default_grid_text();

/// The models `joulecast-zoo` builds (workloads/models/zoo.cpp), for checking a built-in grid without
/// starting libtorch. Kept in sync by hand; StudyGrid's tests compare it with `joulecast-zoo models` where
/// that binary is built.
inline constexpr std::string_view zoo_models[] = {"lenet",
                                                  "vgg19",
                                                  "resnet18",
                                                  "preactresnet18",
                                                  "mobilenet",
                                                  "mobilenetv2",
                                                  "efficientnetb0",
                                                  "simpledla",
                                                  "googlenet",
                                                  "densenet121",
                                                  "resnext29_2x64d",
                                                  "senet18",
                                                  "regnetx_200mf",
                                                  "dpn26",
                                                  "mlp",
                                                  "vit"};

inline constexpr std::string_view zoo_datasets[] = {"fashion-mnist", "cifar10", "synthetic"};
inline constexpr std::string_view zoo_precisions[] = {"fp32", "bf16"};
inline constexpr std::string_view zoo_optimizers[] = {"sgd", "adam"};

}  // namespace joulecast::study
