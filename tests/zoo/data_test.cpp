// Dataset readers on tiny files written here: IDX (gzip and plain), CIFAR-10 binary batches, synthetic data,
// subsets and shape parsing; plus the real Fashion-MNIST test set when Debian's package is installed.

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "data/datasets.hpp"
#include "support/temp_dir.hpp"

namespace {

using joulecast::core::UsageError;
using joulecast::data::DatasetError;
using joulecast::test::TempDir;
namespace data = joulecast::data;

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

std::string idx(std::uint32_t magic, std::vector<std::uint32_t> dims, const std::string& payload) {
    std::string out = be32(magic);
    for (auto d : dims) out += be32(d);
    return out + payload;
}

void write_gz(const std::filesystem::path& path, const std::string& content) {
    std::filesystem::create_directories(path.parent_path());
    gzFile file = gzopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    ASSERT_EQ(gzwrite(file, content.data(), static_cast<unsigned>(content.size())),
              static_cast<int>(content.size()));
    ASSERT_EQ(gzclose(file), Z_OK);
}

std::string read_raw(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// n images of rows x cols where pixel j of image i is (i * 10 + j) % 256; labels i % 10 unless given.
std::string image_payload(int n, int rows, int cols) {
    std::string out;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < rows * cols; ++j) out += static_cast<char>((i * 10 + j) % 256);
    return out;
}

void write_fashion(const TempDir& dir, const std::string& prefix, int n, int labels_n, int rows = 2,
                   int cols = 3) {
    std::string labels;
    for (int i = 0; i < labels_n; ++i) labels += static_cast<char>(i % 10);
    write_gz(dir.path() / (prefix + "-images-idx3-ubyte.gz"),
             idx(0x803, {std::uint32_t(n), std::uint32_t(rows), std::uint32_t(cols)},
                 image_payload(n, rows, cols)));
    write_gz(dir.path() / (prefix + "-labels-idx1-ubyte.gz"), idx(0x801, {std::uint32_t(labels_n)}, labels));
}

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const DatasetError& error) {
        return error.what();
    }
    ADD_FAILURE() << "no DatasetError";
    return {};
}

double fashion_value(int pixel) {
    return (pixel / 255.0 - 0.2860) / 0.3530;
}

TEST(ZooIdx, ParsesHeaderAndData) {
    auto array = data::parse_idx(idx(0x803, {2, 1, 3}, "abcdef"), "mem", 3);
    EXPECT_EQ(array.dims, (std::vector<std::int64_t>{2, 1, 3}));
    EXPECT_EQ(std::string(array.data.begin(), array.data.end()), "abcdef");
}

TEST(ZooIdx, LoadsGzipFashionFiles) {
    TempDir dir;
    write_fashion(dir, "train", 4, 4);
    write_fashion(dir, "t10k", 3, 3);
    auto train = data::load_fashion_mnist(dir.str(), true);
    auto test = data::load_fashion_mnist(dir.str(), false);
    EXPECT_EQ(train.name, "fashion-mnist");
    EXPECT_EQ(train.classes, 10);
    EXPECT_EQ(train.images.sizes(), (std::vector<std::int64_t>{4, 1, 2, 3}));
    EXPECT_EQ(train.images.dtype(), torch::kFloat32);
    EXPECT_EQ(train.labels.dtype(), torch::kInt64);
    EXPECT_EQ(test.size(), 3);
    // Image 2, pixel (1, 2) = element 5: (2 * 10 + 5) = 25.
    EXPECT_NEAR(train.images[2][0][1][2].item<double>(), fashion_value(25), 1e-5);
    EXPECT_NEAR(train.images[0][0][0][0].item<double>(), fashion_value(0), 1e-5);
    EXPECT_EQ(train.labels[3].item<std::int64_t>(), 3);
    EXPECT_EQ(train.shape().channels, 1);
    EXPECT_EQ(train.shape().height, 2);
    EXPECT_EQ(train.shape().width, 3);
}

TEST(ZooIdx, LoadsUncompressedFilesToo) {
    TempDir dir;
    dir.write("t10k-images-idx3-ubyte", idx(0x803, {2, 2, 2}, image_payload(2, 2, 2)));
    dir.write("t10k-labels-idx1-ubyte", idx(0x801, {2}, std::string("\x07\x01", 2)));
    auto test = data::load_fashion_mnist(dir.str(), false);
    EXPECT_EQ(test.size(), 2);
    EXPECT_EQ(test.labels[0].item<std::int64_t>(), 7);
}

TEST(ZooIdx, RejectsWrongMagicNamingTheFile) {
    TempDir dir;
    write_fashion(dir, "t10k", 2, 2);
    // A labels header (1 dimension) where images (3) belong.
    write_gz(dir.path() / "t10k-images-idx3-ubyte.gz", idx(0x801, {2, 2, 3}, image_payload(2, 2, 3)));
    auto message = error_of([&] { data::load_fashion_mnist(dir.str(), false); });
    EXPECT_NE(message.find("t10k-images-idx3-ubyte.gz"), std::string::npos) << message;
    EXPECT_NE(message.find("magic"), std::string::npos) << message;
    EXPECT_NE(message.find("0x00000803"), std::string::npos) << message;

    message = error_of([] { data::parse_idx(std::string("\x1f\x8b\x08\x00rest", 8), "x.gz", 1); });
    EXPECT_NE(message.find("not an IDX file"), std::string::npos) << message;
    message = error_of([] { data::parse_idx(idx(0x0d03, {1, 1, 1}, "a"), "f", 3); });
    EXPECT_NE(message.find("unsigned bytes"), std::string::npos) << message;
}

TEST(ZooIdx, RejectsTruncatedData) {
    std::string full = idx(0x803, {3, 2, 4}, image_payload(3, 2, 4));
    auto message = error_of([&] { data::parse_idx(full.substr(0, full.size() - 4), "img", 3); });
    EXPECT_NE(message.find("img: truncated"), std::string::npos) << message;
    EXPECT_NE(message.find("3x2x4 = 24 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("has 20"), std::string::npos) << message;

    message = error_of([&] { data::parse_idx(full.substr(0, 10), "img", 3); });
    EXPECT_NE(message.find("header"), std::string::npos) << message;
    message = error_of([&] { data::parse_idx(full + "xx", "img", 3); });
    EXPECT_NE(message.find("2 bytes after"), std::string::npos) << message;
    message = error_of([&] { data::parse_idx(idx(0x801, {0}, ""), "lab", 1); });
    EXPECT_NE(message.find("zero"), std::string::npos) << message;
}

TEST(ZooIdx, RejectsTruncatedGzipStream) {
    TempDir dir;
    auto path = dir.path() / "labels.gz";
    std::string labels(5000, '\x03');
    write_gz(path, idx(0x801, {5000}, labels));
    std::string raw = read_raw(path);
    dir.write("cut.gz", raw.substr(0, raw.size() / 2));
    auto message = error_of([&] { data::read_idx((dir.path() / "cut.gz").string(), 1); });
    EXPECT_NE(message.find("cut.gz"), std::string::npos) << message;
    // The intact file reads back exactly.
    EXPECT_EQ(data::read_idx(path.string(), 1).dims[0], 5000);
}

TEST(ZooIdx, RejectsImageAndLabelCountsThatDiffer) {
    TempDir dir;
    write_fashion(dir, "train", 3, 2);
    auto message = error_of([&] { data::load_fashion_mnist(dir.str(), true); });
    EXPECT_NE(message.find("2 labels"), std::string::npos) << message;
    EXPECT_NE(message.find("3 images"), std::string::npos) << message;
}

TEST(ZooIdx, RejectsLabelOutOfRange) {
    TempDir dir;
    write_fashion(dir, "t10k", 3, 3);
    write_gz(dir.path() / "t10k-labels-idx1-ubyte.gz", idx(0x801, {3}, std::string("\x01\x0c\x02", 3)));
    auto message = error_of([&] { data::load_fashion_mnist(dir.str(), false); });
    EXPECT_NE(message.find("label 12 of item 1"), std::string::npos) << message;
}

TEST(ZooIdx, MissingFilesNameTheDebianPackage) {
    TempDir dir;
    auto message = error_of([&] { data::load_fashion_mnist(dir.str(), true); });
    EXPECT_NE(message.find("train-images-idx3-ubyte.gz"), std::string::npos) << message;
    EXPECT_NE(message.find("dataset-fashion-mnist"), std::string::npos) << message;
    message = error_of([] { data::read_data_file("/nonexistent/joulecast/file.gz"); });
    EXPECT_NE(message.find("/nonexistent/joulecast/file.gz"), std::string::npos) << message;
}

// CIFAR records: label, then R, G, B planes of 32x32. Record r has label r % 10, red = r, green = 100, blue =
// 255.
std::string cifar_records(int count, int first = 0) {
    std::string out;
    for (int r = first; r < first + count; ++r) {
        out += static_cast<char>(r % 10);
        out += std::string(1024, static_cast<char>(r));
        out += std::string(1024, static_cast<char>(100));
        out += std::string(1024, static_cast<char>(255));
    }
    return out;
}

void write_cifar(const TempDir& dir, const std::string& folder = "") {
    for (int i = 1; i <= 5; ++i)
        dir.write(folder + "data_batch_" + std::to_string(i) + ".bin", cifar_records(2, (i - 1) * 2));
    dir.write(folder + "test_batch.bin", cifar_records(3, 7));
}

TEST(ZooCifar, ReadsBinaryBatches) {
    TempDir dir;
    write_cifar(dir);
    auto train = data::load_cifar10(dir.str(), true);
    auto test = data::load_cifar10(dir.str(), false);
    EXPECT_EQ(train.name, "cifar10");
    EXPECT_EQ(train.images.sizes(), (std::vector<std::int64_t>{10, 3, 32, 32}));
    EXPECT_EQ(test.images.sizes(), (std::vector<std::int64_t>{3, 3, 32, 32}));
    EXPECT_EQ(train.labels[7].item<std::int64_t>(), 7);
    EXPECT_EQ(test.labels[0].item<std::int64_t>(), 7);
    EXPECT_EQ(test.labels[2].item<std::int64_t>(), 9);
    EXPECT_NEAR(train.images[5][0][31][31].item<double>(), (5 / 255.0 - 0.4914) / 0.2470, 1e-5);
    EXPECT_NEAR(train.images[5][1][0][7].item<double>(), (100 / 255.0 - 0.4822) / 0.2435, 1e-5);
    EXPECT_NEAR(train.images[5][2][3][0].item<double>(), (1.0 - 0.4465) / 0.2616, 1e-5);
}

TEST(ZooCifar, FindsTheArchiveFolderAndGzipFiles) {
    TempDir dir;
    write_cifar(dir, "cifar-10-batches-bin/");
    std::filesystem::remove(dir.path() / "cifar-10-batches-bin/test_batch.bin");
    write_gz(dir.path() / "cifar-10-batches-bin/test_batch.bin.gz", cifar_records(4));
    EXPECT_EQ(data::load_cifar10(dir.str(), false).size(), 4);
    EXPECT_EQ(data::load_cifar10(dir.str(), true).size(), 10);
}

TEST(ZooCifar, RejectsPartialRecordsBadLabelsAndMissingFiles) {
    TempDir dir;
    write_cifar(dir);
    dir.write("test_batch.bin", cifar_records(2) + "xyz");
    auto message = error_of([&] { data::load_cifar10(dir.str(), false); });
    EXPECT_NE(message.find("test_batch.bin"), std::string::npos) << message;
    EXPECT_NE(message.find("3073"), std::string::npos) << message;

    std::string bad = cifar_records(2);
    bad[3073] = 10;  // the second record's label
    dir.write("data_batch_3.bin", bad);
    message = error_of([&] { data::load_cifar10(dir.str(), true); });
    EXPECT_NE(message.find("data_batch_3.bin: label 10 of record 1"), std::string::npos) << message;

    std::filesystem::remove(dir.path() / "data_batch_4.bin");
    message = error_of([&] { data::load_cifar10(dir.str(), true); });
    EXPECT_NE(message.find("data_batch_4.bin"), std::string::npos) << message;
    EXPECT_NE(message.find("not packaged by Debian"), std::string::npos) << message;
}

TEST(ZooSynthetic, MakesSeededDataOfAnyShape) {
    auto a = data::make_synthetic(6, {2, 5, 7}, 4, 11);
    EXPECT_EQ(a.name, "synthetic");
    EXPECT_EQ(a.classes, 4);
    EXPECT_EQ(a.images.sizes(), (std::vector<std::int64_t>{6, 2, 5, 7}));
    EXPECT_EQ(a.images.dtype(), torch::kFloat32);
    EXPECT_EQ(a.labels.sizes(), (std::vector<std::int64_t>{6}));
    EXPECT_EQ(a.labels.dtype(), torch::kInt64);
    EXPECT_GE(a.labels.min().item<std::int64_t>(), 0);
    EXPECT_LT(a.labels.max().item<std::int64_t>(), 4);
    auto b = data::make_synthetic(6, {2, 5, 7}, 4, 11);
    auto c = data::make_synthetic(6, {2, 5, 7}, 4, 12);
    EXPECT_TRUE(torch::equal(a.images, b.images));
    EXPECT_TRUE(torch::equal(a.labels, b.labels));
    EXPECT_FALSE(torch::equal(a.images, c.images));
    // Roughly standard normal over many values.
    auto big = data::make_synthetic(64, {3, 16, 16}, 10, 1);
    EXPECT_NEAR(big.images.mean().item<double>(), 0.0, 0.05);
    EXPECT_NEAR(big.images.std().item<double>(), 1.0, 0.05);
    EXPECT_THROW(data::make_synthetic(0, {1, 2, 2}, 4, 1), UsageError);
    EXPECT_THROW(data::make_synthetic(3, {0, 2, 2}, 4, 1), UsageError);
    EXPECT_THROW(data::make_synthetic(3, {1, 2, 2}, 1, 1), UsageError);
}

TEST(ZooSubset, FirstRandomAndBalanced) {
    // 30 samples: labels 0 x 20, 1 x 7, 2 x 3.
    std::vector<std::int64_t> raw(30, 0);
    for (int i = 20; i < 27; ++i) raw[i] = 1;
    for (int i = 27; i < 30; ++i) raw[i] = 2;
    data::Dataset set{"t", torch::arange(30, torch::kFloat32).view({30, 1, 1, 1}), torch::tensor(raw), 3};

    data::SubsetSpec first{5, false, true, 0};
    auto head = data::subset(set, first);
    EXPECT_EQ(head.size(), 5);
    EXPECT_TRUE(torch::equal(head.images.flatten(), torch::arange(5, torch::kFloat32)));

    data::SubsetSpec balanced{9, true, true, 42};
    auto indices = data::subset_indices(set.labels, 3, balanced);
    ASSERT_EQ(indices.size(), 9u);
    std::map<std::int64_t, int> per_class;
    for (auto i : indices) ++per_class[raw[static_cast<std::size_t>(i)]];
    EXPECT_EQ(per_class[0], 3);
    EXPECT_EQ(per_class[1], 3);
    EXPECT_EQ(per_class[2], 3);
    EXPECT_TRUE(std::is_sorted(indices.begin(), indices.end()));
    EXPECT_EQ(indices, data::subset_indices(set.labels, 3, balanced));  // same seed, same pick
    balanced.seed = 43;
    EXPECT_NE(indices, data::subset_indices(set.labels, 3, balanced));

    // Class 2 runs out after 3: the remaining 12 - 3 go to classes 0 and 1 in turn.
    data::SubsetSpec larger{15, true, true, 1};
    per_class.clear();
    for (auto i : data::subset_indices(set.labels, 3, larger)) ++per_class[raw[static_cast<std::size_t>(i)]];
    EXPECT_EQ(per_class[2], 3);
    EXPECT_EQ(per_class[1], 6);
    EXPECT_EQ(per_class[0], 6);

    auto picked = data::subset(set, {9, true, true, 42});
    for (std::int64_t k = 0; k < picked.size(); ++k)  // images follow their labels
        EXPECT_EQ(picked.labels[k].item<std::int64_t>(),
                  raw[static_cast<std::size_t>(picked.images[k].item<float>())]);
    EXPECT_EQ(data::subset(set, {0, true, true, 1}).size(), 30);
    EXPECT_EQ(data::subset(set, {100, true, true, 1}).size(), 30);
}

TEST(ZooShape, ParsesShapes) {
    auto s = data::parse_shape("3x32x24");
    EXPECT_EQ(s.channels, 3);
    EXPECT_EQ(s.height, 32);
    EXPECT_EQ(s.width, 24);
    s = data::parse_shape("28x28");
    EXPECT_EQ(s.channels, 1);
    EXPECT_EQ(data::to_string(s), "1x28x28");
    for (const char* bad : {"", "3x", "x3x3", "3x-2x2", "axbxc", "1x2x3x4", "0x4x4", "3x99999x2", "3 x3x3"})
        EXPECT_THROW(data::parse_shape(bad), UsageError) << bad;
}

TEST(ZooFashionMnist, ReadsTheDebianPackageFiles) {
    if (!std::filesystem::exists(std::string(data::fashion_mnist_default_dir) + "/t10k-images-idx3-ubyte.gz"))
        GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
    auto test = data::load_fashion_mnist(data::fashion_mnist_default_dir, false);
    EXPECT_EQ(test.images.sizes(), (std::vector<std::int64_t>{10000, 1, 28, 28}));
    // The test set holds 1000 images of each class; normalisation gives a mean near 0 and sd near 1.
    EXPECT_TRUE(torch::equal(torch::bincount(test.labels), torch::full({10}, 1000, torch::kInt64)));
    EXPECT_NEAR(test.images.mean().item<double>(), 0.0, 0.05);
    EXPECT_NEAR(test.images.std().item<double>(), 1.0, 0.05);
}

}  // namespace
