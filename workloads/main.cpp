// joulecast-zoo: the libtorch model zoo as a program. `train` runs one instrumented training-and-inference
// job (the measured child that `joulecast study` starts for each configuration); `models` and `inspect`
// report parameters and MACs without training.
//
// Exit status: 0 success, 1 a failure (missing or malformed dataset files, libtorch errors), 2 a usage error.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/args.hpp"
#include "core/format.hpp"
#include "core/result.hpp"
#include "core/text.hpp"
#include "data/datasets.hpp"
#include "models/zoo.hpp"
#include "report/summary.hpp"
#include "train/train.hpp"

namespace {

using joulecast::core::Args;
using joulecast::core::format_fixed;
using joulecast::core::number_option;
using joulecast::core::UsageError;
using joulecast::core::whole_number_option;
using nlohmann::json;
namespace data = joulecast::data;
namespace train = joulecast::train;
namespace zoo = joulecast::zoo;

const char* const main_usage = R"(usage: joulecast-zoo COMMAND [options]

commands:
  train --model NAME [options]     train and evaluate one zoo model (run it under `joulecast run`)
  models [--json]                  list the models with params and MACs at 3x32x32, 10 classes
  inspect NAME [options]           params, MACs, MACs per param, activations and MAC layers of one model
  help [COMMAND]                   show help
)";

const char* const train_usage = R"(usage: joulecast-zoo train --model NAME [options]

Trains NAME with SGD (momentum 0.9) or Adam and cross-entropy, then infers over the test set. Under
`joulecast run` it reports meta, a "train" phase and an epoch marker per epoch, an "infer" phase, and metrics
loss and accuracy.

options:
  --model NAME                 a model from `joulecast-zoo models` (required)
  --dataset NAME               fashion-mnist (default), cifar10 or synthetic
  --data-dir DIR               dataset folder (fashion-mnist default: /usr/share/datasets/fashion-mnist, from
                               Debian's dataset-fashion-mnist; cifar10: the binary version, no default)
  --train-samples N            training subset size (default: all; synthetic: 1024)
  --test-samples N             test subset size (default: all; synthetic: 256)
  --min-steps N                at least N optimiser steps per epoch: a --train-samples subset grows to
                               N x batch size where that is more (default 0: no minimum)
  --subset random|first        seeded class-balanced random subset (default) or the first N samples
  --batch-size B               samples per step and per inference batch (default 128)
  --epochs E                   training epochs (default 1; 0 = inference only)
  --lr X                       learning rate (default 0.01)
  --optimizer sgd|adam         SGD with momentum (default) or Adam (betas 0.9, 0.999)
  --momentum X                 SGD momentum (default 0.9)
  --threads T                  libtorch intra-op threads (default: libtorch's choice)
  --precision fp32|bf16        fp32 (default) or bf16 (model and inputs cast to bfloat16)
  --seed S                     model initialisation, subset and shuffling (default 1)
  --input CxHxW                synthetic only: sample shape (default 3x32x32)
  --classes K                  synthetic only: number of classes (default 10)
  --json                       print the result as one JSON line on stdout
  --quiet                      no per-epoch progress on stderr
)";

const char* const models_usage = R"(usage: joulecast-zoo models [--json]

Lists the built-in models with their trainable parameters and forward MACs per sample at 3x32x32, 10 classes;
--json adds macs_per_param, activations (per sample) and mac_layers.
)";

const char* const inspect_usage =
    R"(usage: joulecast-zoo inspect NAME [--input CxHxW] [--classes N] [--layers] [--json]

Prints a model's trainable parameters, forward MACs per sample, MACs per parameter, activations (elements of
the outputs of the conv, linear and attention calls per sample) and MAC layers (the number of those calls)
for an input shape (default 3x32x32) and class count (default 10); --layers adds the per-layer breakdown.
)";

// 1814073344 -> "1,814,073,344".
std::string grouped_count(std::int64_t n) {
    return joulecast::core::format_number(static_cast<double>(n), 0);
}

// The canonical name of a zoo model, or a UsageError that lists them all.
std::string find_model(const std::string& name) {
    std::string lower = joulecast::core::to_lower(name);
    std::string names;
    for (const auto& entry : zoo::models()) {
        if (entry.name == lower) return entry.name;
        names += (names.empty() ? "" : ", ") + entry.name;
    }
    throw UsageError("unknown model '" + name + "'; the models are: " + names);
}

std::string compact(double value) {
    const char* units[] = {"", "K", "M", "G", "T"};
    int unit = 0;
    while (std::fabs(value) >= 1000 && unit < 4) {
        value /= 1000;
        ++unit;
    }
    return format_fixed(value, unit == 0 ? 0 : (value < 10 ? 2 : 1)) + units[unit];
}

struct TrainArgs {
    std::string model;
    std::string dataset = "fashion-mnist";
    std::string data_dir;
    std::optional<std::int64_t> train_samples, test_samples;
    std::int64_t min_steps = 0;  ///< --min-steps: the training subset grows to min_steps x batch size
    bool random_subset = true;
    std::optional<zoo::InputShape> input;
    std::optional<std::int64_t> classes;
    train::TrainOptions options;
    bool json = false;
    bool quiet = false;
};

TrainArgs parse_train(const std::vector<std::string>& raw) {
    TrainArgs parsed;
    Args args(raw);
    std::string text;
    while (!args.done()) {
        if (args.value("--model", parsed.model)) {
        } else if (args.value("--dataset", text)) {
            std::string lower = joulecast::core::to_lower(text);
            if (lower == "fashion-mnist" || lower == "fashion_mnist" || lower == "fashionmnist")
                parsed.dataset = "fashion-mnist";
            else if (lower == "cifar10" || lower == "cifar-10")
                parsed.dataset = "cifar10";
            else if (lower == "synthetic")
                parsed.dataset = "synthetic";
            else
                throw UsageError("--dataset: expected fashion-mnist, cifar10 or synthetic, got '" + text +
                                 "'");
        } else if (args.value("--data-dir", parsed.data_dir)) {
            if (parsed.data_dir.empty()) throw UsageError("--data-dir needs a folder");
        } else if (args.value("--train-samples", text)) {
            parsed.train_samples = whole_number_option("--train-samples", text, 0, 1'000'000'000);
        } else if (args.value("--min-steps", text)) {
            parsed.min_steps = whole_number_option("--min-steps", text, 0, 1'000'000);
        } else if (args.value("--test-samples", text)) {
            parsed.test_samples = whole_number_option("--test-samples", text, 0, 1'000'000'000);
        } else if (args.value("--subset", text)) {
            if (text != "random" && text != "first") throw UsageError("--subset: expected random or first");
            parsed.random_subset = text == "random";
        } else if (args.value("--batch-size", text)) {
            parsed.options.batch_size = whole_number_option("--batch-size", text, 1, 1'000'000);
        } else if (args.value("--epochs", text)) {
            parsed.options.epochs = whole_number_option("--epochs", text, 0, 100'000);
        } else if (args.value("--lr", text)) {
            parsed.options.learning_rate = number_option("--lr", text);
        } else if (args.value("--optimizer", text)) {
            parsed.options.optimizer = train::parse_optimizer(text);
        } else if (args.value("--momentum", text)) {
            parsed.options.momentum = number_option("--momentum", text);
        } else if (args.value("--threads", text)) {
            parsed.options.threads = static_cast<int>(whole_number_option("--threads", text, 0, 4096));
        } else if (args.value("--precision", text)) {
            parsed.options.precision = train::parse_precision(text);
        } else if (args.value("--seed", text)) {
            parsed.options.seed =
                static_cast<std::uint64_t>(whole_number_option("--seed", text, 0, INT64_MAX));
        } else if (args.value("--input", text)) {
            parsed.input = data::parse_shape(text);
        } else if (args.value("--classes", text)) {
            parsed.classes = whole_number_option("--classes", text, 2, 100'000);
        } else if (args.flag("--json")) {
            parsed.json = true;
        } else if (args.flag("--quiet") || args.flag("-q")) {
            parsed.quiet = true;
        } else {
            throw UsageError("unknown option '" + args.peek() + "'");
        }
    }
    if (parsed.model.empty()) throw UsageError("--model is required (see `joulecast-zoo models`)");
    parsed.model = find_model(parsed.model);
    bool synthetic = parsed.dataset == "synthetic";
    if (!synthetic && (parsed.input || parsed.classes))
        throw UsageError("--input and --classes apply to --dataset synthetic only");
    if (synthetic && !parsed.data_dir.empty())
        throw UsageError("--data-dir does not apply to --dataset synthetic");
    train::validate(parsed.options);
    return parsed;
}

// --train-samples, raised to --min-steps x --batch-size where that is more (a subset only: 0 stays all).
std::optional<std::int64_t> train_count(const TrainArgs& parsed) {
    if (parsed.min_steps <= 0 || parsed.train_samples.value_or(0) <= 0) return parsed.train_samples;
    return std::max(*parsed.train_samples, parsed.min_steps * parsed.options.batch_size);
}

// Loads (or makes) the training and test sets the arguments ask for.
std::pair<data::Dataset, data::Dataset> load_datasets(const TrainArgs& parsed) {
    std::uint64_t seed = parsed.options.seed;
    if (parsed.dataset == "synthetic") {
        auto shape = parsed.input.value_or(zoo::InputShape{});
        auto classes = parsed.classes.value_or(10);
        auto train_samples = train_count(parsed).value_or(0) > 0 ? *train_count(parsed) : 1024;
        auto test_count = parsed.test_samples.value_or(0) > 0 ? *parsed.test_samples : 256;
        return {data::make_synthetic(train_samples, shape, classes, seed),
                data::make_synthetic(test_count, shape, classes, seed + 1)};
    }
    data::Dataset train_set, test_set;
    bool need_train = parsed.options.epochs > 0;
    if (parsed.dataset == "fashion-mnist") {
        std::string dir = parsed.data_dir.empty() ? data::fashion_mnist_default_dir : parsed.data_dir;
        if (need_train) train_set = data::load_fashion_mnist(dir, true);
        test_set = data::load_fashion_mnist(dir, false);
    } else {
        if (parsed.data_dir.empty())
            throw data::DatasetError(
                "CIFAR-10 is not packaged by Debian: pass --data-dir DIR with its binary version "
                "(data_batch_1..5.bin, test_batch.bin)");
        if (need_train) train_set = data::load_cifar10(parsed.data_dir, true);
        test_set = data::load_cifar10(parsed.data_dir, false);
    }
    data::SubsetSpec spec;
    spec.random = parsed.random_subset;
    spec.seed = seed;
    spec.count = train_count(parsed).value_or(0);
    if (need_train) train_set = data::subset(train_set, spec);
    spec.count = parsed.test_samples.value_or(0);
    spec.seed = seed + 1;
    test_set = data::subset(test_set, spec);
    return {std::move(train_set), std::move(test_set)};
}

int train_command(const std::vector<std::string>& raw) {
    TrainArgs parsed = parse_train(raw);
    train::check_precision_supported(parsed.options.precision);
    auto [train_set, test_set] = load_datasets(parsed);

    if (!parsed.quiet)
        std::cerr << parsed.model << " on " << test_set.name << " (" << data::to_string(test_set.shape())
                  << ", " << test_set.classes
                  << " classes): " << (parsed.options.epochs > 0 ? train_set.size() : 0) << " train / "
                  << test_set.size() << " test samples, batch " << parsed.options.batch_size << ", "
                  << train::to_string(parsed.options.precision) << '\n';
    auto progress = [&](const train::EpochReport& epoch) {
        if (parsed.quiet) return;
        std::cerr << "  epoch " << epoch.n << "/" << parsed.options.epochs << "  loss "
                  << format_fixed(epoch.loss, 4) << "  " << epoch.samples << " samples in "
                  << format_fixed(epoch.seconds, 2) << " s ("
                  << format_fixed(epoch.seconds > 0 ? epoch.samples / epoch.seconds : 0.0, 0)
                  << " samples/s)\n";
    };
    train::JobReport report = train::run_job(parsed.model, train_set, test_set, parsed.options,
                                             joulecast::client::default_client(), progress);

    if (parsed.json) {
        json epochs = json::array();
        for (const auto& epoch : report.epochs)
            epochs.push_back({{"n", epoch.n},
                              {"samples", epoch.samples},
                              {"loss", epoch.loss},
                              {"seconds", epoch.seconds},
                              {"cpu_s", epoch.cpu_seconds}});
        json out = {{"model", report.model},
                    {"dataset", report.dataset},
                    {"input", data::to_string(report.input)},
                    {"classes", report.classes},
                    {"params", report.stats.params},
                    {"macs", report.stats.macs},
                    {"macs_per_param", report.stats.macs_per_param()},
                    {"activations", report.stats.activations},
                    {"mac_layers", report.stats.mac_layers},
                    {"batch_size", report.options.batch_size},
                    {"learning_rate", report.options.learning_rate},
                    {"optimizer", train::to_string(report.options.optimizer)},
                    {"momentum", report.options.momentum},
                    {"epochs", report.options.epochs},
                    {"precision", train::to_string(report.options.precision)},
                    {"threads", report.options.threads},
                    {"seed", report.options.seed},
                    {"train_samples", report.train_samples},
                    {"test_samples", report.test_samples},
                    {"accuracy", report.infer.accuracy},
                    {"loss", report.final_loss()},
                    {"test_loss", report.infer.loss},
                    {"train_s", report.train_seconds()},
                    {"infer_s", report.infer.seconds},
                    {"infer_cpu_s", report.infer.cpu_seconds},
                    {"train_samples_per_s", report.train_samples_per_s()},
                    {"infer_samples_per_s", report.infer_samples_per_s()},
                    {"per_epoch", epochs}};
        std::cout << out.dump() << '\n';
    } else {
        std::cout << "accuracy " << format_fixed(report.infer.accuracy, 4) << "  loss "
                  << format_fixed(report.final_loss(), 4) << "  train "
                  << format_fixed(report.train_seconds(), 2) << " s ("
                  << format_fixed(report.train_samples_per_s(), 0) << " samples/s)  infer "
                  << format_fixed(report.infer.seconds, 2) << " s ("
                  << format_fixed(report.infer_samples_per_s(), 0) << " samples/s)\n";
    }
    return 0;
}

int models_command(const std::vector<std::string>& raw) {
    Args args(raw);
    bool as_json = false;
    while (!args.done()) {
        if (args.flag("--json"))
            as_json = true;
        else
            throw UsageError("unknown option '" + args.peek() + "'");
    }
    zoo::InputShape input{3, 32, 32};
    json out = json::array();
    if (!as_json) std::printf("%-16s %12s %14s  %s\n", "model", "params", "MACs", "description");
    for (const auto& entry : zoo::models()) {
        torch::manual_seed(0);
        auto model = entry.make(input, 10);
        auto stats = zoo::model_stats(*model, input);
        if (as_json)
            out.push_back({{"name", entry.name},
                           {"description", entry.description},
                           {"params", stats.params},
                           {"macs", stats.macs},
                           {"macs_per_param", stats.macs_per_param()},
                           {"activations", stats.activations},
                           {"mac_layers", stats.mac_layers}});
        else
            std::printf("%-16s %12s %14s  %s\n", entry.name.c_str(),
                        compact(static_cast<double>(stats.params)).c_str(),
                        compact(static_cast<double>(stats.macs)).c_str(), entry.description.c_str());
    }
    if (as_json) std::cout << out.dump() << '\n';
    return 0;
}

int inspect_command(const std::vector<std::string>& raw) {
    Args args(raw);
    std::string name, text;
    zoo::InputShape input{3, 32, 32};
    std::int64_t classes = 10;
    bool as_json = false, layers = false;
    while (!args.done()) {
        if (args.value("--input", text)) {
            input = data::parse_shape(text);
        } else if (args.value("--classes", text)) {
            classes = whole_number_option("--classes", text, 2, 100'000);
        } else if (args.flag("--json")) {
            as_json = true;
        } else if (args.flag("--layers")) {
            layers = true;
        } else if (!args.peek().empty() && args.peek()[0] == '-') {
            throw UsageError("unknown option '" + args.peek() + "'");
        } else if (name.empty()) {
            name = args.next();
        } else {
            throw UsageError("one model at a time (got '" + name + "' and '" + args.peek() + "')");
        }
    }
    if (name.empty()) throw UsageError("which model? (see `joulecast-zoo models`)");
    name = find_model(name);
    torch::manual_seed(0);
    auto model = zoo::make_model(name, input, classes);
    auto stats = zoo::model_stats(*model, input);

    if (as_json) {
        json out = {{"model", name},
                    {"input", data::to_string(input)},
                    {"classes", classes},
                    {"params", stats.params},
                    {"macs", stats.macs},
                    {"macs_per_param", stats.macs_per_param()},
                    {"activations", stats.activations},
                    {"mac_layers", stats.mac_layers}};
        if (layers) {
            json list = json::array();
            for (const auto& layer : stats.layers)
                list.push_back({{"name", layer.name},
                                {"kind", layer.kind},
                                {"output", layer.output},
                                {"params", layer.params},
                                {"macs", layer.macs}});
            out["layers"] = list;
        }
        std::cout << out.dump() << '\n';
        return 0;
    }
    std::cout << name << " at " << data::to_string(input) << ", " << classes << " classes\n"
              << "  params          " << grouped_count(stats.params) << '\n'
              << "  macs            " << grouped_count(stats.macs) << " per sample (forward)\n"
              << "  macs_per_param  " << format_fixed(stats.macs_per_param(), 1) << '\n'
              << "  activations     " << grouped_count(stats.activations)
              << " per sample (outputs of the conv, linear and attention calls)\n"
              << "  mac_layers      " << stats.mac_layers << " (conv, linear and attention calls)\n";
    if (layers) {
        std::printf("\n%-32s %-10s %-14s %12s %14s\n", "layer", "kind", "output", "params", "MACs");
        for (const auto& layer : stats.layers)
            std::printf("%-32s %-10s %-14s %12s %14s\n", layer.name.c_str(), layer.kind.c_str(),
                        layer.output.c_str(), grouped_count(layer.params).c_str(),
                        grouped_count(layer.macs).c_str());
    }
    return 0;
}

struct Command {
    const char* name;
    int (*function)(const std::vector<std::string>&);
    const char* usage;
};

const Command commands[] = {
    {"train", train_command, train_usage},
    {"models", models_command, models_usage},
    {"inspect", inspect_command, inspect_usage},
};

const Command* find_command(const std::string& name) {
    for (const auto& command : commands)
        if (name == command.name) return &command;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
        (args.empty() ? std::cerr : std::cout) << main_usage;
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "help") {
        const Command* command = args.size() > 1 ? find_command(args[1]) : nullptr;
        std::cout << (command ? command->usage : main_usage);
        return 0;
    }
    const Command* command = find_command(args[0]);
    if (!command) {
        std::cerr << "joulecast-zoo: unknown command '" << args[0] << "'\n\n" << main_usage;
        return 2;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (!rest.empty() && (rest[0] == "-h" || rest[0] == "--help")) {
        std::cout << command->usage;
        return 0;
    }
    try {
        return command->function(rest);
    } catch (const UsageError& error) {
        std::cerr << "joulecast-zoo " << command->name << ": " << error.what() << "\n\n" << command->usage;
        return 2;
    } catch (const data::DatasetError& error) {
        std::cerr << "joulecast-zoo " << command->name << ": error: " << error.what() << '\n';
        return 1;
    } catch (const c10::Error& error) {
        std::cerr << "joulecast-zoo " << command->name
                  << ": libtorch error: " << error.what_without_backtrace() << '\n';
        return 1;
    } catch (const std::exception& error) {
        std::cerr << "joulecast-zoo " << command->name << ": error: " << error.what() << '\n';
        return 1;
    }
}
