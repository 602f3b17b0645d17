#pragma once
// From a grid to the list of runs: the cartesian product of the axes, times the repeats, in the given or a
// seeded random order; each run's command (built-in joulecast-zoo or the grid's template), environment and
// tags. Command templates are filled element by element: no shell ever sees them.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "study/grid.hpp"

namespace joulecast::study {

/// One point of the grid: a value for every key the grid sets, in canonical key order.
struct GridPoint {
    std::vector<std::pair<std::string, std::string>> values;
    /// 16 hex digits identifying what is run: the mode, every key=value, and (command mode) the templates.
    /// Runs of the same study with the same hash and repeat are the same measurement (`--resume`).
    std::string hash;

    /// The value of `key`, or nullptr when the grid does not set it.
    const std::string* find(std::string_view key) const;
    /// "model=lenet batch_size=32 epochs=1", the keys with one value in the whole grid left out when
    /// `varying_only` is given (a grid with a single configuration keeps the model).
    std::string label(const StudyGrid* varying_only = nullptr) const;
};

struct PlannedRun {
    std::size_t config_index = 0;  ///< position in expand()'s order
    GridPoint config;
    int repeat = 1;  ///< 1-based
};

/// Every configuration: the first axis varies slowest (models, then batch sizes, ...).
std::vector<GridPoint> expand(const StudyGrid& grid);

/// Every run: configurations × repeats. Order::given: the whole grid once per repeat, in expand()'s order;
/// Order::random: the same runs shuffled by a Fisher-Yates shuffle driven by std::mt19937_64(grid.seed), so
/// the same grid and seed give the same order on every machine.
std::vector<PlannedRun> plan_runs(const StudyGrid& grid);

// ---- Templates
// ---------------------------------------------------------------------------------------------

/// The placeholders of a template, in order of appearance: "{model}" gives "model"; "{{" and "}}" are literal
/// braces. Error for an unclosed "{", a lone "}", or an empty or malformed name (letters, digits, '_').
core::Result<std::vector<std::string>> template_placeholders(std::string_view text);

/// Fills a template's placeholders from `values`. Error for a malformed template or a placeholder without a
/// value. The result is one string whatever it contains (spaces, quotes, `;`): it becomes one argv element.
core::Result<std::string> substitute(std::string_view text, const std::map<std::string, std::string>& values);

/// The values a run's templates can use: its configuration plus repeat, study (the grid's name) and config
/// (the hash).
std::map<std::string, std::string> placeholder_values(const StudyGrid& grid, const PlannedRun& run);

/// The run's argv: `zoo_path` train --model ... (built-in mode; only the keys the grid sets are passed, and
/// power_limit_w never, as joulecast applies it) or the filled template (command mode).
std::vector<std::string> run_argv(const StudyGrid& grid, const PlannedRun& run, const std::string& zoo_path);
/// Extra environment of the run's command (command mode's [command] env, filled).
std::map<std::string, std::string> run_env(const StudyGrid& grid, const PlannedRun& run);
/// Tags stored with the run: study, every configuration key, repeat and config (the hash).
std::map<std::string, std::string> run_tags(const StudyGrid& grid, const PlannedRun& run);

/// FNV-1a, 64 bits, as 16 lower-case hex digits (stable across platforms and versions).
std::string fnv1a_hex(std::string_view data);

}  // namespace joulecast::study
