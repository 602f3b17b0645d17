#include "data/datasets.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <numeric>
#include <random>

namespace joulecast::data {

using core::UsageError;

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t cifar_record_bytes = 1 + 3 * 32 * 32;

// Published training-set statistics (pixel / 255): Fashion-MNIST mean 0.2860, sd 0.3530; CIFAR-10 per
// channel.
constexpr double fashion_mean = 0.2860, fashion_std = 0.3530;
constexpr double cifar_mean[3] = {0.4914, 0.4822, 0.4465};
constexpr double cifar_std[3] = {0.2470, 0.2435, 0.2616};

// The gzip file when present, else the uncompressed one, else a DatasetError saying where the files come
// from.
std::string find_fashion_file(const std::string& dir, const std::string& name) {
    fs::path gz = fs::path(dir) / (name + ".gz");
    fs::path plain = fs::path(dir) / name;
    std::error_code ignored;
    if (fs::exists(gz, ignored)) return gz.string();
    if (fs::exists(plain, ignored)) return plain.string();
    std::string message = "Fashion-MNIST file " + gz.string() + " is missing: ";
    if (fs::path(dir) == fs::path(fashion_mnist_default_dir))
        message += std::string("install Debian's ") + fashion_mnist_package + " package (apt-get install " +
                   fashion_mnist_package + "), or give a folder holding the files";
    else
        message +=
            std::string("the folder needs {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, as Debian's ") +
            fashion_mnist_package + " package installs them in " + fashion_mnist_default_dir;
    throw DatasetError(message);
}

void check_labels(const torch::Tensor& labels, std::int64_t classes, const std::string& file) {
    if (labels.numel() == 0) return;
    auto max = labels.max().item<std::int64_t>();
    if (max >= classes) {
        auto at = labels.ge(classes).nonzero()[0][0].item<std::int64_t>();
        throw DatasetError(file + ": label " + std::to_string(labels[at].item<std::int64_t>()) + " of item " +
                           std::to_string(at) + " is outside 0.." + std::to_string(classes - 1));
    }
}

std::int64_t checked_dim(std::int64_t value, const char* what) {
    if (value < 1 || value > 4096)
        throw UsageError(std::string(what) + " must be between 1 and 4096, got " + std::to_string(value));
    return value;
}

}  // namespace

zoo::InputShape Dataset::shape() const {
    if (!images.defined() || images.dim() != 4) return {};
    return {images.size(1), images.size(2), images.size(3)};
}

Dataset load_fashion_mnist(const std::string& dir, bool train) {
    std::string prefix = train ? "train" : "t10k";
    std::string images_path = find_fashion_file(dir, prefix + "-images-idx3-ubyte");
    std::string labels_path = find_fashion_file(dir, prefix + "-labels-idx1-ubyte");
    IdxArray images = read_idx(images_path, 3);
    IdxArray labels = read_idx(labels_path, 1);
    if (images.dims[0] != labels.dims[0])
        throw DatasetError(labels_path + " holds " + std::to_string(labels.dims[0]) + " labels but " +
                           images_path + " holds " + std::to_string(images.dims[0]) + " images");

    Dataset out;
    out.name = "fashion-mnist";
    out.classes = 10;
    std::int64_t n = images.dims[0], rows = images.dims[1], cols = images.dims[2];
    // from_blob borrows the vector; to() copies, so the tensors own their memory.
    out.images = torch::from_blob(images.data.data(), {n, 1, rows, cols}, torch::kUInt8).to(torch::kFloat32);
    out.images.div_(255.0).sub_(fashion_mean).div_(fashion_std);
    out.labels = torch::from_blob(labels.data.data(), {n}, torch::kUInt8).to(torch::kInt64);
    check_labels(out.labels, out.classes, labels_path);
    return out;
}

Dataset load_cifar10(const std::string& dir, bool train) {
    fs::path root(dir);
    std::error_code ignored;
    if (fs::is_directory(root / "cifar-10-batches-bin", ignored)) root /= "cifar-10-batches-bin";
    std::vector<std::string> names;
    if (train)
        for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
    else
        names.push_back("test_batch.bin");

    std::string bytes;
    std::vector<std::pair<std::string, std::int64_t>> files;  // path and first record, for label errors
    for (const auto& name : names) {
        fs::path path = root / name;
        if (!fs::exists(path, ignored) && fs::exists(fs::path(path.string() + ".gz"), ignored))
            path = path.string() + ".gz";
        if (!fs::exists(path, ignored))
            throw DatasetError(
                "CIFAR-10 file " + path.string() +
                " is missing: CIFAR-10 is not packaged by Debian; give a folder holding the binary "
                "version (data_batch_1..5.bin, test_batch.bin)");
        std::string content = read_data_file(path.string());
        if (content.empty() || content.size() % cifar_record_bytes != 0)
            throw DatasetError(
                path.string() + ": " + std::to_string(content.size()) +
                " bytes is not a whole number of 3073-byte records (1 label + 3x32x32 pixels)");
        files.emplace_back(path.string(), static_cast<std::int64_t>(bytes.size()) / cifar_record_bytes);
        bytes += content;
    }

    std::int64_t n = static_cast<std::int64_t>(bytes.size()) / cifar_record_bytes;
    auto records = torch::from_blob(bytes.data(), {n, cifar_record_bytes}, torch::kUInt8);
    Dataset out;
    out.name = "cifar10";
    out.classes = 10;
    out.labels = records.select(1, 0).to(torch::kInt64);
    if (n > 0 && out.labels.max().item<std::int64_t>() >= out.classes) {
        auto at = out.labels.ge(out.classes).nonzero()[0][0].item<std::int64_t>();
        std::size_t f = files.size() - 1;
        while (f > 0 && files[f].second > at) --f;
        throw DatasetError(files[f].first + ": label " + std::to_string(out.labels[at].item<std::int64_t>()) +
                           " of record " + std::to_string(at - files[f].second) + " is outside 0..9");
    }
    out.images = records.narrow(1, 1, cifar_record_bytes - 1).reshape({n, 3, 32, 32}).to(torch::kFloat32);
    auto mean =
        torch::tensor({cifar_mean[0], cifar_mean[1], cifar_mean[2]}, torch::kFloat32).view({1, 3, 1, 1});
    auto sd = torch::tensor({cifar_std[0], cifar_std[1], cifar_std[2]}, torch::kFloat32).view({1, 3, 1, 1});
    out.images.div_(255.0).sub_(mean).div_(sd);
    return out;
}

Dataset make_synthetic(std::int64_t count, zoo::InputShape shape, std::int64_t classes, std::uint64_t seed) {
    if (count < 1) throw UsageError("synthetic data needs at least one sample, got " + std::to_string(count));
    if (classes < 2 || classes > 100000)
        throw UsageError("synthetic data needs between 2 and 100000 classes, got " + std::to_string(classes));
    checked_dim(shape.channels, "channels");
    checked_dim(shape.height, "height");
    checked_dim(shape.width, "width");
    auto generator = at::detail::createCPUGenerator(seed);
    Dataset out;
    out.name = "synthetic";
    out.classes = classes;
    out.images = torch::randn({count, shape.channels, shape.height, shape.width}, generator, torch::kFloat32);
    out.labels = torch::randint(classes, {count}, generator, torch::kInt64);
    return out;
}

std::vector<std::int64_t> subset_indices(const torch::Tensor& labels, std::int64_t classes,
                                         const SubsetSpec& spec) {
    std::int64_t n = labels.size(0);
    std::int64_t keep = spec.count <= 0 || spec.count >= n ? n : spec.count;
    std::vector<std::int64_t> all(static_cast<std::size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    if (keep == n || !spec.random) {
        all.resize(static_cast<std::size_t>(keep));
        return all;
    }
    // Our own Fisher-Yates over mt19937_64 so that a seed picks the same samples with any standard library.
    std::mt19937_64 rng(spec.seed);
    for (std::size_t i = all.size() - 1; i > 0; --i) std::swap(all[i], all[rng() % (i + 1)]);

    std::vector<std::int64_t> chosen;
    if (!spec.balanced || classes < 1) {
        chosen.assign(all.begin(), all.begin() + keep);
    } else {
        auto flat = labels.to(torch::kInt64).contiguous();
        const std::int64_t* label = flat.data_ptr<std::int64_t>();
        std::vector<std::vector<std::int64_t>> by_class(static_cast<std::size_t>(classes));
        for (std::int64_t i : all) {
            std::int64_t c = label[i];
            if (c < 0 || c >= classes)
                throw std::invalid_argument("subset: label outside the dataset's classes");
            by_class[static_cast<std::size_t>(c)].push_back(i);
        }
        std::vector<std::size_t> next(by_class.size(), 0);
        while (static_cast<std::int64_t>(chosen.size()) < keep) {
            for (std::size_t c = 0; c < by_class.size() && static_cast<std::int64_t>(chosen.size()) < keep;
                 ++c)
                if (next[c] < by_class[c].size()) chosen.push_back(by_class[c][next[c]++]);
        }
    }
    std::sort(chosen.begin(), chosen.end());
    return chosen;
}

Dataset subset(const Dataset& dataset, const SubsetSpec& spec) {
    std::int64_t n = dataset.size();
    if (spec.count <= 0 || spec.count >= n) return dataset;
    auto indices = subset_indices(dataset.labels, dataset.classes, spec);
    auto index = torch::tensor(indices, torch::kInt64);
    Dataset out;
    out.name = dataset.name;
    out.classes = dataset.classes;
    out.images = dataset.images.index_select(0, index);
    out.labels = dataset.labels.index_select(0, index);
    return out;
}

zoo::InputShape parse_shape(const std::string& text) {
    std::vector<std::int64_t> sizes;
    std::size_t start = 0;
    for (;;) {
        std::size_t x = text.find_first_of("xX", start);
        std::string part = text.substr(start, x == std::string::npos ? std::string::npos : x - start);
        std::size_t used = 0;
        long long value = 0;
        try {
            value = std::stoll(part, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (part.empty() || used != part.size() || !std::isdigit(static_cast<unsigned char>(part[0])))
            throw UsageError("input shape '" + text + "': expected CxHxW such as 3x32x32");
        sizes.push_back(value);
        if (x == std::string::npos) break;
        start = x + 1;
    }
    if (sizes.size() != 2 && sizes.size() != 3)
        throw UsageError("input shape '" + text + "': expected CxHxW such as 3x32x32");
    zoo::InputShape shape;
    shape.channels = sizes.size() == 3 ? sizes[0] : 1;
    shape.height = sizes[sizes.size() - 2];
    shape.width = sizes.back();
    checked_dim(shape.channels, "channels");
    checked_dim(shape.height, "height");
    checked_dim(shape.width, "width");
    return shape;
}

std::string to_string(const zoo::InputShape& shape) {
    return std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" +
           std::to_string(shape.width);
}

}  // namespace joulecast::data
