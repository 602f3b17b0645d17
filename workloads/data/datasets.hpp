#pragma once
// Datasets as in-memory tensors for the zoo's training and inference loops: Fashion-MNIST (IDX files from
// Debian's dataset-fashion-mnist package), CIFAR-10 (the binary version, for users who have it) and seeded
// synthetic data of any shape for energy-only runs.
//
// Every dataset holds images as float32 [N, C, H, W], normalised per channel to zero mean and unit standard
// deviation with the dataset's published training-set statistics, and labels as int64 [N] in [0, classes).
// Loaders throw DatasetError (data/idx.hpp) naming the file at fault.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "data/idx.hpp"
#include "models/zoo.hpp"

namespace joulecast::data {

struct Dataset {
    std::string name;      ///< "fashion-mnist", "cifar10" or "synthetic"
    torch::Tensor images;  ///< float32 [N, C, H, W], normalised
    torch::Tensor labels;  ///< int64 [N], each in [0, classes)
    std::int64_t classes = 0;

    std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
    zoo::InputShape shape() const;
};

/// Where Debian's dataset-fashion-mnist package installs the four .gz files.
inline constexpr const char* fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";
inline constexpr const char* fashion_mnist_package = "dataset-fashion-mnist";

/// Fashion-MNIST from `dir`: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (or the same names without
/// .gz, uncompressed). [N, 1, 28, 28] images (any rows x cols the files declare), 10 classes. Throws
/// DatasetError for a missing file (naming the Debian package when `dir` is the package's directory), bad
/// magic numbers or sizes, an image count that differs from the label count, or a label above 9.
Dataset load_fashion_mnist(const std::string& dir, bool train);

/// CIFAR-10, binary version, from `dir` or `dir`/cifar-10-batches-bin: data_batch_1..5.bin (train) or
/// test_batch.bin (test); each record is 1 label byte and 3x32x32 pixel bytes (channel planes, row-major),
/// optionally gzip-compressed. [N, 3, 32, 32] images, 10 classes. Throws DatasetError for a missing file, a
/// size that is not a whole number of 3073-byte records, or a label above 9.
Dataset load_cifar10(const std::string& dir, bool train);

/// Seeded random data: images drawn from N(0, 1) (already "normalised"), labels uniform in [0, classes).
/// The same (count, shape, classes, seed) always gives the same tensors. Throws joulecast::core::UsageError
/// for a non-positive count, dimension or class count.
Dataset make_synthetic(std::int64_t count, zoo::InputShape shape, std::int64_t classes, std::uint64_t seed);

/// Which part of a dataset to keep.
struct SubsetSpec {
    std::int64_t count = 0;  ///< samples to keep; 0 (or >= the dataset's size) keeps all
    bool random = true;      ///< false: the first `count` samples; true: a seeded random subset
    bool balanced = true;    ///< random only: take classes in turn so each gets count/classes (±1) samples
    std::uint64_t seed = 0;
};

/// The samples `spec` selects, kept in their original order. A balanced subset falls back to the remaining
/// classes when one runs out of samples.
Dataset subset(const Dataset& dataset, const SubsetSpec& spec);

/// The indices subset() would keep, ascending (exposed for tests).
std::vector<std::int64_t> subset_indices(const torch::Tensor& labels, std::int64_t classes,
                                         const SubsetSpec& spec);

/// Parses "CxHxW" (e.g. "3x32x32") or "HxW" (one channel), each size 1..4096; throws
/// joulecast::core::UsageError.
zoo::InputShape parse_shape(const std::string& text);
std::string to_string(const zoo::InputShape& shape);

}  // namespace joulecast::data
