#include "study/grid.hpp"

// toml++ used header-only: Debian's pkg-config file asks for its shared library (TOML_SHARED_LIB=1), which
// the portable joulecast binary must not need. Only this file includes it.
#define TOML_HEADER_ONLY 1
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <span>

#include "core/result.hpp"
#include "core/text.hpp"
#include "study/plan.hpp"

namespace joulecast::study {

using core::InputError;
using core::parse_duration;
using core::read_text_file;
using core::trim;

const Axis* StudyGrid::axis(std::string_view key) const {
    for (const auto& a : axes)
        if (a.key == key) return &a;
    return nullptr;
}

std::size_t StudyGrid::configuration_count() const {
    std::size_t count = 1;
    for (const auto& a : axes) count *= a.values.size();
    return count;
}

namespace {

/// The most runs one study may plan: far more than a study can measure, far less than memory allows.
constexpr std::size_t k_max_planned_runs = 100'000;

enum class Kind { text, integer, real };

struct KeySpec {
    std::string_view grid_key;  // as written in [grid]
    std::string_view key;       // configuration key
    Kind kind;
    double min;                                 // smallest allowed number
    bool min_exclusive;                         // min itself is not allowed
    std::span<const std::string_view> choices;  // text values allowed in built-in mode; empty: any
    std::string_view meaning;                   // for messages
};

// In canonical key order (grid.hpp's configuration_keys).
const KeySpec key_specs[] = {
    {"models", "model", Kind::text, 0, false, zoo_models, "model names"},
    {"batch_sizes", "batch_size", Kind::integer, 1, false, {}, "positive integers"},
    {"epochs", "epochs", Kind::integer, 0, false, {}, "integers >= 0"},
    {"learning_rates", "learning_rate", Kind::real, 0, true, {}, "positive numbers"},
    {"threads", "threads", Kind::integer, 0, false, {}, "integers >= 0 (0: the workload's default)"},
    {"power_limits_w", "power_limit_w", Kind::real, 0, true, {}, "positive numbers of watts"},
    {"dataset", "dataset", Kind::text, 0, false, zoo_datasets, "dataset names"},
    {"train_samples", "train_samples", Kind::integer, 0, false, {}, "integers >= 0 (0: all)"},
    {"test_samples", "test_samples", Kind::integer, 0, false, {}, "integers >= 0 (0: all)"},
    {"precision", "precision", Kind::text, 0, false, zoo_precisions, "precisions"},
    {"optimizer", "optimizer", Kind::text, 0, false, zoo_optimizers, "optimizers"},
    {"min_steps", "min_steps", Kind::integer, 0, false, {}, "integers >= 0 (0: no minimum)"},
};

std::string join(std::span<const std::string_view> items) {
    std::string out;
    for (auto item : items) out += (out.empty() ? "" : ", ") + std::string(item);
    return out;
}

std::string format_real(double value) {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

// Collects the context of one parse so that every message names the file and place.
class Parser {
public:
    Parser(std::string source, std::string default_name) : m_source(std::move(source)) {
        m_grid.source = m_source;
        m_grid.name = std::move(default_name);
    }

    StudyGrid parse(std::string_view text) {
        toml::table doc;
        try {
            doc = toml::parse(text, m_source);
        } catch (const toml::parse_error& error) {
            fail(error.source(), std::string(error.description()));
        }
        for (auto&& [key, node] : doc) {
            const std::string name(key.str());
            if (name != "study" && name != "grid" && name != "command") {
                if (node.is_table())
                    fail(key.source(),
                         "unknown table [" + name + "]; a grid has [study], [grid] and [command]");
                fail(key.source(), "unknown key '" + name +
                                       "' outside any table; keys go in [study], [grid] or "
                                       "[command]");
            }
            if (!node.is_table()) fail(key.source(), "'" + name + "' must be a table: [" + name + "]");
        }
        // [study] first: its mode decides what [grid] and [command] may hold.
        if (auto* study = doc.get_as<toml::table>("study")) parse_study(*study);
        auto* grid = doc.get_as<toml::table>("grid");
        if (!grid) fail_at(1, 1, "no [grid] table: a study needs at least [grid] models = [...]");
        parse_grid_table(*grid);
        check_size(grid->source());
        auto* command = doc.get_as<toml::table>("command");
        if (m_grid.mode == Mode::command) {
            if (!command)
                fail_at(m_mode_line, 1, "mode = \"command\" needs a [command] table with argv = [...]");
            parse_command(*command);
        } else if (command) {
            fail(doc.get("command")->source(),
                 "[command] is used only with mode = \"command\" in [study] (this study runs joulecast-zoo)");
        }
        return std::move(m_grid);
    }

private:
    // A grid too large to plan is refused here (exit 2, one message) rather than exhausting memory in the
    // planner: the product of the axes' sizes times the repeats, counted without overflow.
    void check_size(const toml::source_region& where) const {
        std::size_t runs = static_cast<std::size_t>(std::max(m_grid.repeats, 1));
        std::string sizes;
        for (const auto& axis : m_grid.axes) {
            sizes += (sizes.empty() ? "" : " x ") + std::to_string(axis.values.size());
            const std::size_t n = axis.values.size();
            runs = n > 0 && runs > k_max_planned_runs / n ? k_max_planned_runs + 1 : runs * n;
        }
        if (runs > k_max_planned_runs)
            fail(where, "the grid plans more than " + std::to_string(k_max_planned_runs) + " runs (" + sizes +
                            " values, " + std::to_string(m_grid.repeats) +
                            " repeats); split it into smaller studies");
    }
    [[noreturn]] void fail_at(int line, int column, const std::string& message) const {
        throw InputError(m_source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         message);
    }
    [[noreturn]] void fail(const toml::source_region& where, const std::string& message) const {
        fail_at(static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), message);
    }

    std::string text_value(const toml::node& node, const std::string& what) const {
        auto* s = node.as_string();
        if (!s) fail(node.source(), what + ": expected a string, got " + type_name(node));
        return s->get();
    }

    static std::string type_name(const toml::node& node) {
        switch (node.type()) {
            case toml::node_type::string:
                return "a string";
            case toml::node_type::integer:
                return "an integer";
            case toml::node_type::floating_point:
                return "a number";
            case toml::node_type::boolean:
                return "a boolean";
            case toml::node_type::array:
                return "an array";
            case toml::node_type::table:
                return "a table";
            default:
                return "a date or time";
        }
    }

    std::chrono::nanoseconds duration_value(const toml::node& node, const std::string& what) const {
        if (auto* s = node.as_string()) {
            auto parsed = parse_duration(s->get());
            if (!parsed) fail(node.source(), what + ": " + parsed.error());
            return *parsed;
        }
        if (node.is_number()) {
            double seconds = node.value<double>().value_or(-1);
            if (!(seconds >= 0) || !std::isfinite(seconds))
                fail(node.source(),
                     what + ": expected a duration >= 0 (e.g. \"5s\"), got " + format_real(seconds));
            return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(seconds * 1e9)));
        }
        fail(node.source(),
             what + ": expected a duration such as \"5s\" or \"500ms\", got " + type_name(node));
    }

    std::int64_t integer_value(const toml::node& node, const std::string& what, std::int64_t min,
                               std::int64_t max) const {
        auto* i = node.as_integer();
        if (!i) fail(node.source(), what + ": expected an integer, got " + type_name(node));
        const std::int64_t value = i->get();
        if (value < min || value > max)
            fail(node.source(), what + ": " + std::to_string(value) + " is out of range (" +
                                    std::to_string(min) + " to " + std::to_string(max) + ")");
        return value;
    }

    void parse_study(const toml::table& table) {
        for (auto&& [key, node] : table) {
            const std::string name(key.str());
            const std::string what = "[study] " + name;
            if (name == "name") {
                m_grid.name = text_value(node, what);
                if (trim(m_grid.name).empty()) fail(node.source(), what + ": must not be empty");
                for (char c : m_grid.name)
                    if (static_cast<unsigned char>(c) < 0x20)
                        fail(node.source(), what + ": must not contain control characters");
            } else if (name == "repeats") {
                m_grid.repeats = static_cast<int>(integer_value(node, what, 1, 1000));
            } else if (name == "order") {
                std::string order = text_value(node, what);
                if (order == "random")
                    m_grid.order = Order::random;
                else if (order == "given")
                    m_grid.order = Order::given;
                else
                    fail(node.source(), what + ": expected \"random\" or \"given\", got \"" + order + "\"");
            } else if (name == "seed") {
                m_grid.seed = static_cast<std::uint64_t>(
                    integer_value(node, what, 0, std::numeric_limits<std::int64_t>::max()));
            } else if (name == "cooldown") {
                m_grid.cooldown = duration_value(node, what);
            } else if (name == "idle") {
                m_grid.idle = duration_value(node, what);
            } else if (name == "time_limit") {
                m_grid.time_limit = duration_value(node, what);
            } else if (name == "mode") {
                std::string mode = text_value(node, what);
                m_mode_line = static_cast<int>(node.source().begin.line);
                if (mode == "builtin")
                    m_grid.mode = Mode::builtin;
                else if (mode == "command")
                    m_grid.mode = Mode::command;
                else
                    fail(node.source(), what + ": expected \"builtin\" or \"command\", got \"" + mode + "\"");
            } else {
                fail(
                    key.source(),
                    "unknown key '" + name +
                        "' in [study] (known: name, repeats, order, seed, cooldown, idle, time_limit, mode)");
            }
        }
    }

    std::string axis_value(const toml::node& node, const KeySpec& spec) const {
        const std::string what = "[grid] " + std::string(spec.grid_key);
        switch (spec.kind) {
            case Kind::text: {
                std::string value = text_value(node, what);
                if (value.empty()) fail(node.source(), what + ": a value must not be empty");
                if (m_grid.mode == Mode::builtin && !spec.choices.empty() &&
                    std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end())
                    fail(node.source(), what + ": unknown " + std::string(spec.key) + " \"" + value +
                                            "\" for joulecast-zoo (known: " + join(spec.choices) + ")");
                return value;
            }
            case Kind::integer: {
                auto* i = node.as_integer();
                if (!i)
                    fail(node.source(),
                         what + ": expected " + std::string(spec.meaning) + ", got " + type_name(node));
                if (static_cast<double>(i->get()) < spec.min)
                    fail(node.source(), what + ": " + std::to_string(i->get()) + " is not allowed (" +
                                            std::string(spec.meaning) + ")");
                return std::to_string(i->get());
            }
            case Kind::real: {
                if (!node.is_number())
                    fail(node.source(),
                         what + ": expected " + std::string(spec.meaning) + ", got " + type_name(node));
                const double value = node.value<double>().value_or(0);
                if (!std::isfinite(value) || value < spec.min || (spec.min_exclusive && value == spec.min))
                    fail(node.source(), what + ": " + format_real(value) + " is not allowed (" +
                                            std::string(spec.meaning) + ")");
                return node.is_integer() ? std::to_string(node.as_integer()->get()) : format_real(value);
            }
        }
        return {};
    }

    void parse_grid_table(const toml::table& table) {
        std::map<std::string_view, Axis> found;
        for (auto&& [key, node] : table) {
            const std::string name(key.str());
            const KeySpec* spec = nullptr;
            for (const auto& s : key_specs)
                if (s.grid_key == name) spec = &s;
            if (!spec) {
                std::string hint;
                for (const auto& s : key_specs)
                    if (s.key == name) hint = " (did you mean " + std::string(s.grid_key) + "?)";
                std::string known;
                for (const auto& s : key_specs)
                    known += (known.empty() ? "" : ", ") + std::string(s.grid_key);
                fail(key.source(), "unknown key '" + name + "' in [grid]" + hint + " (known: " + known + ")");
            }
            Axis axis;
            axis.key = spec->key;
            axis.grid_key = spec->grid_key;
            axis.line = static_cast<int>(key.source().begin.line);
            if (auto* array = node.as_array()) {
                if (array->empty())
                    fail(node.source(), "[grid] " + name + ": the axis is empty; give at least one value");
                for (const auto& element : *array) {
                    std::string value = axis_value(element, *spec);
                    if (std::find(axis.values.begin(), axis.values.end(), value) != axis.values.end())
                        fail(element.source(), "[grid] " + name + ": " + value + " is given twice");
                    axis.values.push_back(std::move(value));
                }
            } else {
                axis.values.push_back(axis_value(node, *spec));
            }
            found[spec->key] = std::move(axis);
        }
        if (!found.count("model"))
            fail(table.source(), "[grid] needs models = [...] (the summary groups runs by model)");
        for (auto key : configuration_keys)
            if (auto it = found.find(key); it != found.end()) m_grid.axes.push_back(std::move(it->second));
    }

    void check_template(const toml::node& node, const std::string& text, const std::string& what) const {
        auto names = template_placeholders(text);
        if (!names) fail(node.source(), what + ": " + names.error());
        for (const auto& name : *names) {
            if (m_grid.axis(name)) continue;
            if (std::find(std::begin(extra_placeholders), std::end(extra_placeholders), name) !=
                std::end(extra_placeholders))
                continue;
            const bool known_key = std::find(std::begin(configuration_keys), std::end(configuration_keys),
                                             name) != std::end(configuration_keys);
            std::string available;
            for (const auto& a : m_grid.axes) available += (available.empty() ? "" : ", ") + a.key;
            for (auto extra : extra_placeholders) available += ", " + std::string(extra);
            fail(node.source(), what + ": {" + name + "} " +
                                    (known_key ? "is not set by [grid]" : "is not a known placeholder") +
                                    " (available: " + available + ")");
        }
    }

    void parse_command(const toml::table& table) {
        const toml::array* argv = nullptr;
        for (auto&& [key, node] : table) {
            const std::string name(key.str());
            if (name == "argv") {
                argv = node.as_array();
                if (!argv)
                    fail(node.source(),
                         "[command] argv: expected an array of strings, got " + type_name(node));
                if (argv->empty()) fail(node.source(), "[command] argv: must name a program");
                for (const auto& element : *argv) {
                    std::string value = text_value(element, "[command] argv");
                    check_template(element, value, "[command] argv");
                    m_grid.argv.push_back(std::move(value));
                }
                if (m_grid.argv.front().empty())
                    fail((*argv)[0].source(), "[command] argv: the program is empty");
            } else if (name == "env") {
                auto* env = node.as_table();
                if (!env)
                    fail(node.source(),
                         "[command] env: expected a table, e.g. env = { CUDA_VISIBLE_DEVICES = \"0\" }");
                for (auto&& [env_key, env_node] : *env) {
                    const std::string variable(env_key.str());
                    bool valid = !variable.empty() && !std::isdigit(static_cast<unsigned char>(variable[0]));
                    for (char c : variable)
                        valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
                    if (!valid)
                        fail(env_key.source(), "[command] env: '" + variable + "' is not a variable name");
                    std::string value = text_value(env_node, "[command] env " + variable);
                    check_template(env_node, value, "[command] env " + variable);
                    m_grid.env[variable] = std::move(value);
                }
            } else {
                fail(key.source(), "unknown key '" + name + "' in [command] (known: argv, env)");
            }
        }
        if (!argv) fail(table.source(), "[command] needs argv = [\"program\", \"arg\", ...]");
    }

    std::string m_source;
    StudyGrid m_grid;
    int m_mode_line = 1;
};

}  // namespace

StudyGrid parse_grid(std::string_view text, const std::string& source, const std::string& default_name) {
    return Parser(source, default_name).parse(text);
}

StudyGrid load_grid(const std::string& path) {
    auto text = read_text_file(path);
    if (!text) throw InputError(text.error());
    return parse_grid(*text, path, std::filesystem::path(path).stem().string());
}

StudyGrid default_grid() {
    return parse_grid(default_grid_text(), "<default study>", "default");
}

}  // namespace joulecast::study
