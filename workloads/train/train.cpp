#include "train/train.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <time.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "core/result.hpp"
#include "core/text.hpp"

namespace joulecast::train {

using core::to_lower;
using core::UsageError;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the process, all threads: with wall time it shows how much of the machine a job really had.
double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

torch::Tensor to_precision(const torch::Tensor& tensor, Precision precision) {
    return precision == Precision::bf16 ? tensor.to(torch::kBFloat16) : tensor;
}

// Sends "end train" if an epoch throws, so that joulecast does not keep the phase open to the end of the run.
class TrainPhase {
public:
    TrainPhase(client::Client& client, std::int64_t n) : m_client(client) {
        m_client.begin("train", "epoch", n);
    }
    ~TrainPhase() {
        if (!m_ended) m_client.end("train");
    }
    void end(std::int64_t n, std::int64_t samples) {
        // The epoch marker goes inside the phase: joulecast starts the first epoch at the enclosing phase.
        m_client.epoch(samples, n);
        m_client.end("train", "samples", samples);
        m_ended = true;
    }

private:
    client::Client& m_client;
    bool m_ended = false;
};

}  // namespace

std::string to_string(Precision precision) {
    return precision == Precision::bf16 ? "bf16" : "fp32";
}

Precision parse_precision(std::string_view text) {
    std::string lower = to_lower(text);
    if (lower == "fp32" || lower == "float32") return Precision::fp32;
    if (lower == "bf16" || lower == "bfloat16") return Precision::bf16;
    throw UsageError("--precision: expected fp32 or bf16, got '" + std::string(text) + "'");
}

std::string to_string(Optimizer optimizer) {
    return optimizer == Optimizer::adam ? "adam" : "sgd";
}

Optimizer parse_optimizer(std::string_view text) {
    std::string lower = to_lower(text);
    if (lower == "sgd") return Optimizer::sgd;
    if (lower == "adam") return Optimizer::adam;
    throw UsageError("--optimizer: expected sgd or adam, got '" + std::string(text) + "'");
}

void check_precision_supported(Precision precision) {
    if (precision != Precision::bf16) return;
    try {
        auto x = torch::randn({2, 1, 6, 6}).to(torch::kBFloat16);
        auto kernel = torch::randn({2, 1, 3, 3}).to(torch::kBFloat16).requires_grad_();
        auto weight = torch::randn({3, 32}).to(torch::kBFloat16).requires_grad_();
        auto y = torch::linear(torch::conv2d(x, kernel).flatten(1), weight);
        y.to(torch::kFloat32).sum().backward();
    } catch (const c10::Error& error) {
        throw UsageError(std::string("--precision bf16 is not supported by this libtorch on this CPU: ") +
                         error.what_without_backtrace());
    }
}

void validate(const TrainOptions& options) {
    if (options.batch_size < 1) throw UsageError("--batch-size must be at least 1");
    if (options.epochs < 0) throw UsageError("--epochs must be 0 (inference only) or more");
    if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate))
        throw UsageError("--lr must be a positive number");
    if (!(options.momentum >= 0 && options.momentum < 1)) throw UsageError("momentum must be in [0, 1)");
    if (options.threads < 0) throw UsageError("--threads must be 0 (libtorch's default) or more");
}

double JobReport::train_seconds() const {
    double total = 0;
    for (const auto& epoch : epochs) total += epoch.seconds;
    return total;
}

double JobReport::train_samples_per_s() const {
    std::int64_t samples = 0;
    for (const auto& epoch : epochs) samples += epoch.samples;
    double seconds = train_seconds();
    return seconds > 0 ? static_cast<double>(samples) / seconds : 0.0;
}

double JobReport::infer_samples_per_s() const {
    return infer.seconds > 0 ? static_cast<double>(infer.samples) / infer.seconds : 0.0;
}

double JobReport::final_loss() const {
    return epochs.empty() ? 0.0 : epochs.back().loss;
}

EpochReport train_epoch(zoo::ZooModel& model, torch::optim::Optimizer& optimizer, const data::Dataset& data,
                        const TrainOptions& options, std::int64_t n, at::Generator& shuffle_generator) {
    auto start = std::chrono::steady_clock::now();
    double cpu_start = process_cpu_seconds();
    model.train();
    std::int64_t count = data.size();
    auto order = options.shuffle ? torch::randperm(count, shuffle_generator, torch::kInt64)
                                 : torch::arange(count, torch::kInt64);
    EpochReport report;
    report.n = n;
    double loss_sum = 0;
    for (std::int64_t first = 0; first < count; first += options.batch_size) {
        std::int64_t size = std::min(options.batch_size, count - first);
        if (size == 1 && count > 1) break;
        auto index = order.narrow(0, first, size);
        auto images = to_precision(data.images.index_select(0, index), options.precision);
        auto labels = data.labels.index_select(0, index);
        optimizer.zero_grad();
        auto logits = model.forward(images).to(torch::kFloat32);
        auto loss = torch::nn::functional::cross_entropy(logits, labels);
        loss.backward();
        optimizer.step();
        loss_sum += loss.item<double>() * static_cast<double>(size);
        report.samples += size;
    }
    report.loss = report.samples > 0 ? loss_sum / static_cast<double>(report.samples) : 0.0;
    report.seconds = seconds_since(start);
    report.cpu_seconds = process_cpu_seconds() - cpu_start;
    return report;
}

InferReport infer(zoo::ZooModel& model, const data::Dataset& data, const TrainOptions& options) {
    auto start = std::chrono::steady_clock::now();
    double cpu_start = process_cpu_seconds();
    c10::InferenceMode guard;
    model.eval();
    InferReport report;
    double loss_sum = 0;
    std::int64_t count = data.size();
    for (std::int64_t first = 0; first < count; first += options.batch_size) {
        std::int64_t size = std::min(options.batch_size, count - first);
        auto images = to_precision(data.images.narrow(0, first, size), options.precision);
        auto labels = data.labels.narrow(0, first, size);
        auto logits = model.forward(images).to(torch::kFloat32);
        loss_sum +=
            torch::nn::functional::cross_entropy(logits, labels).item<double>() * static_cast<double>(size);
        report.correct += logits.argmax(1).eq(labels).sum().item<std::int64_t>();
        report.samples += size;
    }
    if (report.samples > 0) {
        report.accuracy = static_cast<double>(report.correct) / static_cast<double>(report.samples);
        report.loss = loss_sum / static_cast<double>(report.samples);
    }
    report.seconds = seconds_since(start);
    report.cpu_seconds = process_cpu_seconds() - cpu_start;
    return report;
}

JobReport run_job(const std::string& model_name, const data::Dataset& train, const data::Dataset& test,
                  const TrainOptions& options, client::Client& client, const EpochCallback& on_epoch) {
    validate(options);
    if (train.size() < 1 && options.epochs > 0) throw UsageError("no training samples");
    if (test.size() < 1) throw UsageError("no test samples");
    if (options.epochs > 0) {
        auto a = train.shape(), b = test.shape();
        if (a.channels != b.channels || a.height != b.height || a.width != b.width ||
            train.classes != test.classes)
            throw UsageError("training data (" + data::to_string(a) + ", " + std::to_string(train.classes) +
                             " classes) and test data (" + data::to_string(b) + ", " +
                             std::to_string(test.classes) + " classes) disagree");
    }
    check_precision_supported(options.precision);
    if (options.threads > 0) torch::set_num_threads(options.threads);

    JobReport report;
    report.options = options;
    report.options.threads = torch::get_num_threads();
    report.dataset = test.name;
    report.input = test.shape();
    report.classes = test.classes;
    report.train_samples = options.epochs > 0 ? train.size() : 0;
    report.test_samples = test.size();

    torch::manual_seed(options.seed);
    auto model = zoo::make_model(model_name, report.input, report.classes);
    report.model = to_lower(model_name);
    report.stats = zoo::model_stats(*model, report.input);
    if (options.precision == Precision::bf16) model->to(torch::kBFloat16);

    client.meta("model", report.model, "params", report.stats.params, "macs", report.stats.macs,
                "macs_per_param", report.stats.macs_per_param(), "activations", report.stats.activations,
                "mac_layers", report.stats.mac_layers, "batch_size", options.batch_size, "learning_rate",
                options.learning_rate, "optimizer", to_string(options.optimizer), "momentum",
                options.momentum, "dataset", report.dataset, "input", data::to_string(report.input),
                "classes", report.classes, "precision", to_string(options.precision), "threads",
                report.options.threads, "epochs", options.epochs, "train_samples", report.train_samples,
                "test_samples", report.test_samples, "seed", options.seed, "framework", "libtorch",
                "framework_version", TORCH_VERSION);

    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (options.optimizer == Optimizer::adam)
        optimizer = std::make_unique<torch::optim::Adam>(model->parameters(),
                                                         torch::optim::AdamOptions(options.learning_rate));
    else
        optimizer = std::make_unique<torch::optim::SGD>(
            model->parameters(), torch::optim::SGDOptions(options.learning_rate).momentum(options.momentum));
    auto shuffle_generator = at::detail::createCPUGenerator(options.seed);
    for (std::int64_t n = 1; n <= options.epochs; ++n) {
        TrainPhase phase(client, n);
        EpochReport epoch = train_epoch(*model, *optimizer, train, options, n, shuffle_generator);
        phase.end(n, epoch.samples);
        client.metric("loss", epoch.loss);
        report.epochs.push_back(epoch);
        if (on_epoch) on_epoch(epoch);
    }

    {
        client::phase phase(client, "infer");
        report.infer = infer(*model, test, options);
        phase.set_samples(report.infer.samples);
    }
    client.metric("accuracy", report.infer.accuracy, "test_loss", report.infer.loss);
    if (!report.epochs.empty()) client.metric("train_samples_per_s", report.train_samples_per_s());
    client.metric("infer_samples_per_s", report.infer_samples_per_s());
    return report;
}

}  // namespace joulecast::train
