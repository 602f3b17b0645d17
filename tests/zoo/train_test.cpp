// Training and inference loops: the control-channel lines a job sends (read back from a Unix socket of our
// own), options, precision, determinism, and one real short run on a Fashion-MNIST subset.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "data/datasets.hpp"
#include "support/temp_dir.hpp"
#include "train/train.hpp"

namespace {

using joulecast::core::UsageError;
namespace client = joulecast::client;
namespace data = joulecast::data;
namespace train = joulecast::train;

// A listening Unix socket; the connection the client makes waits in the backlog, so everything it sent can be
// read after the client has closed.
class Listener {
public:
    explicit Listener(const std::string& path) : m_path(path) {
        m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        EXPECT_EQ(::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::listen(m_fd, 4), 0);
    }
    ~Listener() { ::close(m_fd); }

    /// The lines of the one connection after its opening `hello` (checked here), each without its "t=<ns> "
    /// prefix.
    std::vector<std::string> lines() {
        int connection = ::accept(m_fd, nullptr, nullptr);
        EXPECT_GE(connection, 0);
        std::string all;
        char buffer[4096];
        ssize_t n;
        while ((n = ::read(connection, buffer, sizeof buffer)) > 0)
            all.append(buffer, static_cast<std::size_t>(n));
        ::close(connection);
        std::vector<std::string> out;
        std::istringstream in(all);
        std::string hello;
        std::getline(in, hello);
        EXPECT_EQ(hello.rfind("hello ", 0), 0u) << all;
        EXPECT_NE(hello.find("pid=" + std::to_string(::getpid())), std::string::npos) << hello;
        for (std::string line; std::getline(in, line);) {
            EXPECT_EQ(line.rfind("t=", 0), 0u) << line;
            out.push_back(line.substr(line.find(' ') + 1));
        }
        return out;
    }

private:
    std::string m_path;
    int m_fd = -1;
};

std::string verb_of(const std::string& line) {
    return line.substr(0, line.find(' '));
}

bool has(const std::string& line, const std::string& part) {
    return line.find(part) != std::string::npos;
}

train::TrainOptions small_options() {
    train::TrainOptions options;
    options.batch_size = 16;
    options.epochs = 2;
    options.learning_rate = 0.01;
    options.threads = 1;
    options.seed = 3;
    return options;
}

TEST(ZooTrain, SendsMetaPhasesEpochsAndMetrics) {
    joulecast::test::TempDir dir;
    std::string socket_path = dir.str() + "/control.sock";
    Listener listener(socket_path);
    auto train_set = data::make_synthetic(64, {1, 8, 8}, 4, 1);
    auto test_set = data::make_synthetic(40, {1, 8, 8}, 4, 2);
    train::JobReport report;
    {
        client::Client channel(socket_path);
        report = train::run_job("mlp", train_set, test_set, small_options(), channel);
    }
    auto lines = listener.lines();

    std::vector<std::string> verbs;
    for (const auto& line : lines) verbs.push_back(verb_of(line));
    std::vector<std::string> expected = {"meta", "begin",  "epoch", "end", "metric", "begin",  "epoch",
                                         "end",  "metric", "begin", "end", "metric", "metric", "metric"};
    ASSERT_EQ(verbs, expected) << ::testing::PrintToString(lines);

    const std::string& meta = lines[0];
    for (const char* key : {"model=mlp", "dataset=synthetic", "input=1x8x8", "classes=4", "batch_size=16",
                            "learning_rate=0.01", "precision=fp32", "threads=1", "epochs=2",
                            "train_samples=64", "test_samples=40", "macs_per_param="})
        EXPECT_TRUE(has(meta, key)) << key << " in " << meta;
    EXPECT_TRUE(has(meta, "params=" + std::to_string(report.stats.params) + " ")) << meta;
    EXPECT_TRUE(has(meta, "macs=" + std::to_string(report.stats.macs) + " ")) << meta;
    // MLP at 1x8x8, 4 classes: linear outputs 512 + 512 + 4 = 1,028 elements in 3 calls.
    EXPECT_EQ(report.stats.activations, 1'028);
    EXPECT_EQ(report.stats.mac_layers, 3);
    EXPECT_TRUE(has(meta, "activations=1028 ")) << meta;
    EXPECT_TRUE(has(meta, "mac_layers=3 ")) << meta;
    EXPECT_GT(report.stats.params, 0);
    EXPECT_GT(report.stats.macs, 0);

    EXPECT_EQ(lines[1], "begin train epoch=1");
    EXPECT_EQ(lines[2], "epoch n=1 samples=64");
    EXPECT_EQ(lines[3], "end train samples=64");
    EXPECT_TRUE(has(lines[4], "metric loss="));
    EXPECT_EQ(lines[5], "begin train epoch=2");
    EXPECT_EQ(lines[6], "epoch n=2 samples=64");
    EXPECT_EQ(lines[9], "begin infer");
    EXPECT_EQ(lines[10], "end infer samples=40");
    EXPECT_TRUE(has(lines[11], "metric accuracy=")) << lines[11];
    EXPECT_TRUE(has(lines[11], "test_loss=")) << lines[11];

    ASSERT_EQ(report.epochs.size(), 2u);
    EXPECT_EQ(report.epochs[1].n, 2);
    EXPECT_EQ(report.epochs[0].samples, 64);
    EXPECT_TRUE(std::isfinite(report.epochs[0].loss));
    EXPECT_GT(report.epochs[0].cpu_seconds, 0);
    EXPECT_GT(report.epochs[0].seconds, 0);
    EXPECT_EQ(report.infer.samples, 40);
    EXPECT_GE(report.infer.accuracy, 0.0);
    EXPECT_LE(report.infer.accuracy, 1.0);
    EXPECT_DOUBLE_EQ(report.infer.accuracy, static_cast<double>(report.infer.correct) / 40.0);
    EXPECT_GT(report.train_samples_per_s(), 0);
}

TEST(ZooTrain, InferenceOnlyJobSendsNoTrainPhase) {
    joulecast::test::TempDir dir;
    std::string socket_path = dir.str() + "/control.sock";
    Listener listener(socket_path);
    auto options = small_options();
    options.epochs = 0;
    train::JobReport report;
    {
        client::Client channel(socket_path);
        report = train::run_job("mlp", data::Dataset{}, data::make_synthetic(20, {1, 8, 8}, 4, 2), options,
                                channel);
    }
    auto lines = listener.lines();
    for (const auto& line : lines) EXPECT_FALSE(has(line, "train epoch")) << line;
    EXPECT_TRUE(report.epochs.empty());
    EXPECT_EQ(report.train_samples, 0);
    EXPECT_EQ(report.train_samples_per_s(), 0.0);
    EXPECT_EQ(report.infer.samples, 20);
}

TEST(ZooTrain, SkipsATrailingBatchOfOneAndIsDeterministic) {
    client::Client off("");
    auto train_set = data::make_synthetic(33, {1, 6, 6}, 3, 5);
    auto test_set = data::make_synthetic(10, {1, 6, 6}, 3, 6);
    auto options = small_options();  // batch 16: 16 + 16 + 1
    auto a = train::run_job("mlp", train_set, test_set, options, off);
    auto b = train::run_job("mlp", train_set, test_set, options, off);
    EXPECT_EQ(a.epochs[0].samples, 32);
    EXPECT_EQ(a.epochs[1].loss, b.epochs[1].loss);
    EXPECT_EQ(a.infer.correct, b.infer.correct);
    options.seed = 4;
    auto c = train::run_job("mlp", train_set, test_set, options, off);
    EXPECT_NE(a.epochs[0].loss, c.epochs[0].loss);
}

TEST(ZooTrain, ValidatesOptionsAndData) {
    client::Client off("");
    auto options = small_options();
    EXPECT_NO_THROW(train::validate(options));
    options.batch_size = 0;
    EXPECT_THROW(train::validate(options), UsageError);
    options = small_options();
    options.learning_rate = -1;
    EXPECT_THROW(train::validate(options), UsageError);
    options = small_options();
    options.epochs = -1;
    EXPECT_THROW(train::validate(options), UsageError);
    options = small_options();
    options.momentum = 1.0;
    EXPECT_THROW(train::validate(options), UsageError);

    EXPECT_EQ(train::parse_precision("BF16"), train::Precision::bf16);
    EXPECT_EQ(train::parse_precision("float32"), train::Precision::fp32);
    EXPECT_THROW(train::parse_precision("fp16"), UsageError);
    EXPECT_EQ(train::parse_optimizer("Adam"), train::Optimizer::adam);
    EXPECT_EQ(train::parse_optimizer("sgd"), train::Optimizer::sgd);
    EXPECT_THROW(train::parse_optimizer("rmsprop"), UsageError);

    auto a = data::make_synthetic(8, {1, 8, 8}, 4, 1);
    auto b = data::make_synthetic(8, {1, 8, 9}, 4, 1);
    EXPECT_THROW(train::run_job("mlp", a, b, small_options(), off), UsageError);
    EXPECT_THROW(train::run_job("no-such-model", a, a, small_options(), off), UsageError);
}

TEST(ZooTrain, Bf16CastsModelAndInputs) {
    try {
        train::check_precision_supported(train::Precision::bf16);
    } catch (const UsageError& error) {
        GTEST_SKIP() << error.what();
    }
    client::Client off("");
    auto options = small_options();
    options.precision = train::Precision::bf16;
    options.epochs = 1;
    auto report = train::run_job("mlp", data::make_synthetic(32, {1, 8, 8}, 4, 1),
                                 data::make_synthetic(16, {1, 8, 8}, 4, 2), options, off);
    EXPECT_EQ(report.options.precision, train::Precision::bf16);
    EXPECT_EQ(report.epochs.at(0).samples, 32);
    EXPECT_TRUE(std::isfinite(report.epochs[0].loss));
    EXPECT_EQ(report.infer.samples, 16);
}

TEST(ZooTrain, LearnsAFashionMnistSubset) {
    std::string dir = data::fashion_mnist_default_dir;
    if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz"))
        GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
    auto train_set = data::subset(data::load_fashion_mnist(dir, true), {512, true, true, 1});
    auto test_set = data::subset(data::load_fashion_mnist(dir, false), {1000, true, true, 2});
    train::TrainOptions options;
    options.batch_size = 32;
    options.epochs = 2;
    options.learning_rate = 0.01;
    options.threads = 1;  // two threads crawl on a loaded machine (OpenMP barriers), one does not
    options.seed = 1;
    client::Client off("");
    auto report = train::run_job("mlp", train_set, test_set, options, off);
    ASSERT_EQ(report.epochs.size(), 2u);
    EXPECT_EQ(report.epochs[0].samples, 512);
    EXPECT_LT(report.epochs[1].loss, report.epochs[0].loss);
    EXPECT_EQ(report.infer.samples, 1000);
    EXPECT_GT(report.infer.accuracy, 0.3) << "chance is 0.1";
}

// The default study's recipe (docs/study.md, "Why the default study learns"): Adam at 0.003 and 12 steps at
// batch 512 learn where SGD at lr 0.01 (momentum 0.9), the zoo's default, stays at chance.
TEST(ZooTrain, LearnsAtBatch512WithTheDefaultStudyRecipe) {
    std::string dir = data::fashion_mnist_default_dir;
    if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz"))
        GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
    auto train_set = data::subset(data::load_fashion_mnist(dir, true), {12 * 512, true, true, 1});
    auto test_set = data::subset(data::load_fashion_mnist(dir, false), {1000, true, true, 2});
    train::TrainOptions options;
    options.batch_size = 512;
    options.epochs = 1;
    options.threads = 1;
    options.seed = 1;
    client::Client off("");
    auto sgd = train::run_job("lenet", train_set, test_set, options, off);
    EXPECT_LT(sgd.infer.accuracy, 0.2) << "SGD at lr 0.01 after 12 steps";
    options.optimizer = train::Optimizer::adam;
    options.learning_rate = 0.003;
    auto adam = train::run_job("lenet", train_set, test_set, options, off);
    ASSERT_EQ(adam.epochs.size(), 1u);
    EXPECT_EQ(adam.epochs[0].samples, 12 * 512);
    EXPECT_GT(adam.infer.accuracy, 0.5) << "chance is 0.1";
}

}  // namespace
