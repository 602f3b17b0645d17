#pragma once
// Raw dataset files: whole-file reads through zlib (gzip-compressed or plain, told apart by zlib itself) and
// the IDX format of MNIST and Fashion-MNIST, validated before anything is trusted. No libtorch here.
//
// IDX layout (big-endian): two zero bytes, a type byte (0x08 = unsigned byte, the only type accepted), a byte
// with the number of dimensions D, then D 32-bit sizes, then the product of the sizes in bytes, nothing more.
// Images are magic 0x00000803 [count, rows, cols], labels 0x00000801 [count].

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace joulecast::data {

/// A dataset file that is missing, unreadable or malformed. The message names the file and, for a missing
/// packaged dataset, the Debian package that provides it. The CLI turns it into exit status 1.
class DatasetError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Reads a whole file, decompressing it when it is gzip (plain files pass through unchanged). Throws
/// DatasetError naming `path` when it cannot be opened, or when the gzip stream is corrupt or truncated.
std::string read_data_file(const std::string& path);

/// One IDX array of unsigned bytes: its dimensions and its data in row-major order.
struct IdxArray {
    std::vector<std::int64_t> dims;
    std::vector<std::uint8_t> data;  ///< exactly the product of `dims` bytes
};

/// Parses IDX bytes, requiring the unsigned-byte type and `expected_dims` dimensions (e.g. 3 for images,
/// 1 for labels). `file` only names the source in error messages. Throws DatasetError for a wrong magic
/// number, a wrong number of dimensions, a zero size, or data shorter or longer than the sizes promise.
IdxArray parse_idx(std::string_view bytes, const std::string& file, int expected_dims);

/// read_data_file() then parse_idx().
IdxArray read_idx(const std::string& path, int expected_dims);

}  // namespace joulecast::data
