#include "study/plan.hpp"

#include <cctype>
#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>

namespace joulecast::study {

using core::Error;
using core::Result;

const std::string* GridPoint::find(std::string_view key) const {
    for (const auto& [k, v] : values)
        if (k == key) return &v;
    return nullptr;
}

std::string GridPoint::label(const StudyGrid* varying_only) const {
    std::string out;
    for (const auto& [key, value] : values) {
        if (varying_only && key != "model") {
            const Axis* axis = varying_only->axis(key);
            if (axis && axis->values.size() < 2) continue;
        }
        out += (out.empty() ? "" : " ") + key + "=" + value;
    }
    return out;
}

std::string fnv1a_hex(std::string_view data) {
    std::uint64_t hash = 14695981039346656037ULL;
    for (unsigned char c : data) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
    return buffer;
}

namespace {

std::string configuration_hash(const StudyGrid& grid, const GridPoint& config) {
    // Unit separators keep "a","bc" apart from "ab","c".
    std::string canonical = grid.mode == Mode::builtin ? "mode=builtin\n" : "mode=command\n";
    for (const auto& [key, value] : config.values) canonical += key + "=" + value + "\n";
    if (grid.mode == Mode::command) {
        canonical += "argv=";
        for (const auto& element : grid.argv) canonical += element + '\x1f';
        canonical += "\nenv=";
        for (const auto& [key, value] : grid.env) canonical += key + '=' + value + '\x1f';
        canonical += '\n';
    }
    return fnv1a_hex(canonical);
}

}  // namespace

std::vector<GridPoint> expand(const StudyGrid& grid) {
    std::vector<GridPoint> configs;
    const std::size_t count = grid.configuration_count();
    configs.reserve(count);
    for (std::size_t index = 0; index < count; ++index) {
        // Mixed-radix digits of index, the last axis varying fastest.
        GridPoint config;
        config.values.resize(grid.axes.size());
        std::size_t rest = index;
        for (std::size_t a = grid.axes.size(); a-- > 0;) {
            const auto& axis = grid.axes[a];
            config.values[a] = {axis.key, axis.values[rest % axis.values.size()]};
            rest /= axis.values.size();
        }
        config.hash = configuration_hash(grid, config);
        configs.push_back(std::move(config));
    }
    return configs;
}

std::vector<PlannedRun> plan_runs(const StudyGrid& grid) {
    const auto configs = expand(grid);
    std::vector<PlannedRun> runs;
    for (int repeat = 1; repeat <= grid.repeats; ++repeat)
        for (std::size_t i = 0; i < configs.size(); ++i) runs.push_back({i, configs[i], repeat});
    if (grid.order == Order::random && runs.size() > 1) {
        // Our own Fisher-Yates: std::shuffle's use of the engine differs between standard libraries.
        std::mt19937_64 engine(grid.seed);
        for (std::size_t i = runs.size() - 1; i > 0; --i) {
            const std::size_t j = static_cast<std::size_t>(engine() % (i + 1));
            std::swap(runs[i], runs[j]);
        }
    }
    return runs;
}

namespace {

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Walks a template: literal text goes to `literal`, each placeholder name to `placeholder`.
template <typename Literal, typename Placeholder>
std::optional<std::string> walk_template(std::string_view text, Literal&& literal,
                                         Placeholder&& placeholder) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            literal('{');
            ++i;
        } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
            literal('}');
            ++i;
        } else if (c == '{') {
            const std::size_t close = text.find('}', i + 1);
            if (close == std::string_view::npos)
                return "unclosed '{' in \"" + std::string(text) + "\" (write {{ for a literal brace)";
            std::string_view name = text.substr(i + 1, close - i - 1);
            bool valid = !name.empty();
            for (char n : name) valid = valid && name_char(n);
            if (!valid)
                return "bad placeholder {" + std::string(name) + "} in \"" + std::string(text) +
                       "\" (names use letters, digits and _; write {{ for a literal brace)";
            placeholder(std::string(name));
            i = close;
        } else if (c == '}') {
            return "lone '}' in \"" + std::string(text) + "\" (write }} for a literal brace)";
        } else {
            literal(c);
        }
    }
    return std::nullopt;
}

}  // namespace

Result<std::vector<std::string>> template_placeholders(std::string_view text) {
    std::vector<std::string> names;
    auto error = walk_template(
        text, [](char) {}, [&](std::string name) { names.push_back(std::move(name)); });
    if (error) return Error{*error};
    return names;
}

Result<std::string> substitute(std::string_view text, const std::map<std::string, std::string>& values) {
    std::string out;
    std::string missing;
    auto error = walk_template(
        text, [&](char c) { out += c; },
        [&](const std::string& name) {
            auto it = values.find(name);
            if (it == values.end()) {
                if (missing.empty()) missing = name;
            } else {
                out += it->second;
            }
        });
    if (error) return Error{*error};
    if (!missing.empty()) return Error{"no value for {" + missing + "} in \"" + std::string(text) + "\""};
    return out;
}

std::map<std::string, std::string> placeholder_values(const StudyGrid& grid, const PlannedRun& run) {
    std::map<std::string, std::string> values(run.config.values.begin(), run.config.values.end());
    values["repeat"] = std::to_string(run.repeat);
    values["study"] = grid.name;
    values["config"] = run.config.hash;
    return values;
}

std::vector<std::string> run_argv(const StudyGrid& grid, const PlannedRun& run, const std::string& zoo_path) {
    std::vector<std::string> argv;
    if (grid.mode == Mode::builtin) {
        argv = {zoo_path, "train"};
        const std::pair<std::string_view, std::string_view> options[] = {{"model", "--model"},
                                                                         {"dataset", "--dataset"},
                                                                         {"train_samples", "--train-samples"},
                                                                         {"test_samples", "--test-samples"},
                                                                         {"batch_size", "--batch-size"},
                                                                         {"epochs", "--epochs"},
                                                                         {"learning_rate", "--lr"},
                                                                         {"threads", "--threads"},
                                                                         {"precision", "--precision"},
                                                                         {"optimizer", "--optimizer"},
                                                                         {"min_steps", "--min-steps"}};
        for (const auto& [key, option] : options)
            if (const std::string* value = run.config.find(key)) {
                argv.emplace_back(option);
                argv.push_back(*value);
            }
        return argv;
    }
    const auto values = placeholder_values(grid, run);
    for (const auto& element : grid.argv) {
        auto filled = substitute(element, values);
        // parse_grid checked every placeholder; a failure here is a bug, not a user error.
        if (!filled) throw std::logic_error("study template: " + filled.error());
        argv.push_back(std::move(*filled));
    }
    return argv;
}

std::map<std::string, std::string> run_env(const StudyGrid& grid, const PlannedRun& run) {
    std::map<std::string, std::string> env;
    if (grid.mode != Mode::command) return env;
    const auto values = placeholder_values(grid, run);
    for (const auto& [key, value] : grid.env) {
        auto filled = substitute(value, values);
        if (!filled) throw std::logic_error("study template: " + filled.error());
        env[key] = std::move(*filled);
    }
    return env;
}

std::map<std::string, std::string> run_tags(const StudyGrid& grid, const PlannedRun& run) {
    std::map<std::string, std::string> tags(run.config.values.begin(), run.config.values.end());
    tags["study"] = grid.name;
    tags["repeat"] = std::to_string(run.repeat);
    tags["config"] = run.config.hash;
    return tags;
}

}  // namespace joulecast::study
