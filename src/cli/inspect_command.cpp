// joulecast inspect MODEL [--json] [--layers] [--batch N] [--dim NAME=N]: parameters, buffers, MACs,
// activations and MAC layers of an ONNX file; built-in models and `joulecast models` are handed to
// joulecast-zoo.

#include "cli/inspect_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "core/format.hpp"
#include "core/text.hpp"
#include "model/onnx_inspect.hpp"
#include "model/zoo.hpp"
#include "report/summary.hpp"

namespace joulecast::cli {

using core::Args;
using core::format_fixed;
using core::format_number;
using core::Result;
using core::UsageError;
using core::whole_number_option;

const char* const inspect_usage =
    R"(usage: joulecast inspect MODEL.onnx [--json] [--layers] [--batch N] [--dim NAME=N]
       joulecast inspect NAME [options]      a built-in model (handed to joulecast-zoo)

Counts what joulecast's estimator needs from a model: trainable parameters, buffers (BatchNorm running
statistics, not parameters), forward multiply-accumulates (MACs), MACs per parameter, activations (elements
of the outputs of the MAC layers: Conv, ConvTranspose, Gemm, MatMul and their quantized forms) and the
number of MAC layers; normalisation and element-wise operations are counted apart from MACs, and data
movement (Reshape, Concat, MaxPool, ...) as none.

  --json        print JSON: params, buffers, macs, macs_per_param, activations, mac_layers, norm_ops,
                elementwise_ops, input, batch, source ("onnx"), notes, layers (one entry per node); macs,
                activations and the ops are for the --batch samples (per sample at batch 1), params,
                buffers and mac_layers do not depend on it
  --layers      also print one line per node: name, operator, kind, output shape, parameters, MACs or ops
  --batch N     size of the symbolic batch dimension of the inputs (default 1: counts per sample)
  --dim NAME=N  size of another symbolic input dimension, e.g. --dim sequence=128 (repeatable)

A NAME that is not a file (e.g. resnet18) is a built-in model: `joulecast-zoo inspect NAME ...` runs in
joulecast's place with the same arguments (e.g. --input 1x28x28 --classes 10).
)";

const char* const models_usage = R"(usage: joulecast models [--json]

Lists the built-in models (with their parameters and MACs) by running `joulecast-zoo models`, which is built
where libtorch is installed.
)";

namespace {

// 1814073344 -> "1,814,073,344".
std::string grouped_count(std::int64_t n) {
    return format_number(static_cast<double>(n), 0);
}

const char* const zoo_missing =
    "built-in models need joulecast-zoo, which is built where libtorch is installed (Debian's libtorch-dev)";

// Replaces this process with joulecast-zoo; returns only when that fails.
int exec_zoo(const std::string& command, const std::vector<std::string>& args) {
    auto zoo = model::find_zoo();
    if (!zoo) {
        std::cerr << "joulecast " << command << ": " << zoo_missing << '\n';
        return 1;
    }
    std::vector<std::string> argv = {*zoo, command};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (auto& a : argv) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    std::cout.flush();
    std::cerr.flush();
    execv(zoo->c_str(), pointers.data());
    std::cerr << "joulecast " << command << ": cannot run " << *zoo << ": " << std::strerror(errno) << '\n';
    return 1;
}

// 1814073344 -> " (1.81 G)"; nothing below 1000, where it would only repeat the number.
std::string si(double n) {
    if (std::abs(n) < 1000) return "";
    const char* units[] = {"", " k", " M", " G", " T", " P"};
    int u = 0;
    while (std::abs(n) >= 1000 && u < 5) {
        n /= 1000;
        ++u;
    }
    std::ostringstream out;
    out << " (" << std::setprecision(3) << n << units[u] << ")";
    return out.str();
}

void print_layers(const model::OnnxStats& stats) {
    std::vector<std::vector<std::string>> rows = {{"node", "op", "kind", "output", "params", "MACs / ops"}};
    for (const auto& l : stats.layers) {
        std::string work = l.kind == "mac" ? grouped_count(l.macs)
                           : l.ops > 0     ? grouped_count(l.ops) + " ops"
                                           : "0";
        rows.push_back({l.node, l.op, l.kind, l.output_shape, grouped_count(l.params), work});
    }
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            bool numeric = c >= 4;  // right-align the counts
            std::string pad(width[c] - row[c].size(), ' ');
            line += (c ? "  " : "") + (numeric ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : ""));
        }
        std::cout << line << '\n';
    }
}

void print_text(const std::string& path, const model::OnnxStats& stats, bool layers) {
    std::string per = stats.batch == 1 ? "per sample" : "for a batch of " + std::to_string(stats.batch);
    std::cout << "model:             " << path << " (ONNX, opset " << stats.opset << ")\n"
              << "input:             " << (stats.input_shape.empty() ? "(none)" : stats.input_shape) << '\n'
              << "parameters:        " << grouped_count(stats.params) << si(static_cast<double>(stats.params))
              << '\n'
              << "buffers:           " << grouped_count(stats.buffers) << " (BatchNorm running statistics)\n"
              << "MACs:              " << grouped_count(stats.macs) << si(static_cast<double>(stats.macs))
              << ' ' << per << '\n'
              << "MACs per param:    " << format_fixed(stats.macs_per_param(), 1) << '\n'
              << "activations:       "
              << (stats.activations > 0 || stats.mac_layers == 0
                      ? grouped_count(stats.activations) + si(static_cast<double>(stats.activations)) + ' ' +
                            per + " (outputs of MAC layers)"
                      : std::string("unknown (see the notes)"))
              << '\n'
              << "MAC layers:        " << grouped_count(stats.mac_layers) << '\n'
              << "norm ops:          " << grouped_count(stats.norm_ops) << '\n'
              << "element-wise ops:  " << grouped_count(stats.elementwise_ops) << '\n';
    for (const auto& note : stats.notes) std::cout << "note: " << note << '\n';
    if (layers) {
        std::cout << '\n';
        print_layers(stats);
    }
}

void print_json(const std::string& path, const model::OnnxStats& stats) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const auto& l : stats.layers)
        layers.push_back({{"node", l.node},
                          {"op", l.op},
                          {"kind", l.kind},
                          {"output", l.output_shape},
                          {"params", l.params},
                          {"macs", l.macs},
                          {"ops", l.ops}});
    nlohmann::ordered_json out = {{"source", "onnx"},
                                  {"model", path},
                                  {"opset", stats.opset},
                                  {"input", stats.input_shape},
                                  {"batch", stats.batch},
                                  {"params", stats.params},
                                  {"buffers", stats.buffers},
                                  {"macs", stats.macs},
                                  {"macs_per_param", stats.macs_per_param()},
                                  {"activations", stats.activations},
                                  {"mac_layers", stats.mac_layers},
                                  {"norm_ops", stats.norm_ops},
                                  {"elementwise_ops", stats.elementwise_ops},
                                  {"notes", stats.notes},
                                  {"layers", layers}};
    std::cout << out.dump(2) << '\n';
}

}  // namespace

int inspect_command(const std::vector<std::string>& raw) {
    // The model is the first argument that is neither an option nor an option's value.
    std::optional<std::size_t> model_at;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == "--batch" || raw[i] == "--dim") {
            ++i;
            continue;
        }
        if (!raw[i].empty() && raw[i][0] == '-') continue;
        model_at = i;
        break;
    }
    if (!model_at) throw UsageError("needs a model: an ONNX file or the name of a built-in model");
    std::string model = raw[*model_at];
    if (!model::names_file(model)) return exec_zoo("inspect", raw);

    std::vector<std::string> options = raw;
    options.erase(options.begin() + static_cast<std::ptrdiff_t>(*model_at));
    Args args(options);
    bool json = false, layers = false;
    model::OnnxOptions onnx;
    std::string text;
    while (!args.done()) {
        if (args.flag("--json"))
            json = true;
        else if (args.flag("--layers"))
            layers = true;
        else if (args.value("--batch", text))
            onnx.batch = whole_number_option("--batch", text);
        else if (args.value("--dim", text)) {
            auto eq = text.find('=');
            if (eq == std::string::npos || eq == 0) throw UsageError("--dim: '" + text + "' is not NAME=N");
            onnx.dims[text.substr(0, eq)] = whole_number_option("--dim", text.substr(eq + 1));
        } else {
            throw UsageError("unknown argument '" + args.peek() + "'");
        }
    }

    Result<model::OnnxStats> stats = model::inspect_onnx(model, onnx);
    if (!stats) {
        std::cerr << "joulecast inspect: error: " << stats.error() << '\n';
        return 1;
    }
    if (json)
        print_json(model, *stats);
    else
        print_text(model, *stats, layers);
    return 0;
}

int models_command(const std::vector<std::string>& raw) {
    Args args(raw);
    while (!args.done())
        if (!args.flag("--json")) throw UsageError("unknown argument '" + args.peek() + "'");
    return exec_zoo("models", raw);
}

}  // namespace joulecast::cli
