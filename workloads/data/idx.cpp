#include "data/idx.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace joulecast::data {

namespace {

struct GzCloser {
    void operator()(gzFile_s* file) const { gzclose_r(file); }
};

std::string hex32(std::uint32_t value) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "0x%08x", value);
    return buffer;
}

std::uint32_t big_endian_u32(std::string_view bytes, std::size_t offset) {
    auto b = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[offset + i]));
    };
    return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace

std::string read_data_file(const std::string& path) {
    errno = 0;
    std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
    if (!file) {
        int error = errno;
        throw DatasetError("cannot open " + path + ": " + (error ? std::strerror(error) : "out of memory"));
    }
    gzbuffer(file.get(), 1 << 18);
    std::string out;
    std::vector<char> chunk(1 << 20);
    for (;;) {
        int n = gzread(file.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
        if (n < 0) {
            int code = 0;
            const char* message = gzerror(file.get(), &code);
            throw DatasetError("cannot read " + path + ": " +
                               (code == Z_ERRNO ? std::string(std::strerror(errno)) : std::string(message)) +
                               " (a corrupt or truncated gzip file?)");
        }
        if (n == 0) break;
        out.append(chunk.data(), static_cast<std::size_t>(n));
    }
    // zlib reports a gzip stream that stops mid-way only at close (Z_BUF_ERROR), not as a read error.
    int code = gzclose_r(file.release());
    if (code == Z_BUF_ERROR)
        throw DatasetError("cannot read " + path + ": the gzip stream ends early (a truncated download?)");
    if (code != Z_OK) throw DatasetError("cannot read " + path + ": zlib error " + std::to_string(code));
    return out;
}

IdxArray parse_idx(std::string_view bytes, const std::string& file, int expected_dims) {
    if (bytes.size() < 4)
        throw DatasetError(file + ": too short for an IDX file (" + std::to_string(bytes.size()) + " bytes)");
    std::uint32_t magic = big_endian_u32(bytes, 0);
    std::uint32_t expected_magic = 0x0800u | static_cast<std::uint32_t>(expected_dims);
    if (magic != expected_magic) {
        std::string why;
        if ((magic >> 16) != 0)
            why = "not an IDX file";
        else if (((magic >> 8) & 0xff) != 0x08)
            why = "element type 0x" + hex32((magic >> 8) & 0xff).substr(8) + " is not unsigned bytes (0x08)";
        else
            why = std::to_string(magic & 0xff) + " dimensions where " + std::to_string(expected_dims) +
                  " are expected";
        throw DatasetError(file + ": wrong magic number " + hex32(magic) + ", expected " +
                           hex32(expected_magic) + ": " + why);
    }
    std::size_t header = 4 + 4 * static_cast<std::size_t>(expected_dims);
    if (bytes.size() < header)
        throw DatasetError(file + ": truncated IDX header (" + std::to_string(bytes.size()) + " bytes, " +
                           std::to_string(header) + " needed)");
    IdxArray array;
    std::uint64_t total = 1;
    std::string shape;
    for (int d = 0; d < expected_dims; ++d) {
        std::uint32_t size = big_endian_u32(bytes, 4 + 4 * static_cast<std::size_t>(d));
        shape += (d ? "x" : "") + std::to_string(size);
        if (size == 0) throw DatasetError(file + ": dimension " + std::to_string(d) + " is zero");
        // Each size fits 32 bits; stop before the product could overflow 64 bits (no real file is that big).
        if (total > (std::uint64_t{1} << 40)) throw DatasetError(file + ": implausible IDX sizes " + shape);
        total *= size;
        array.dims.push_back(static_cast<std::int64_t>(size));
    }
    std::uint64_t available = bytes.size() - header;
    if (available < total)
        throw DatasetError(file + ": truncated: the header promises " + shape + " = " +
                           std::to_string(total) + " bytes of data, the file has " +
                           std::to_string(available));
    if (available > total)
        throw DatasetError(file + ": " + std::to_string(available - total) + " bytes after the " + shape +
                           " data the header declares (a wrong item count?)");
    array.data.assign(reinterpret_cast<const std::uint8_t*>(bytes.data()) + header,
                      reinterpret_cast<const std::uint8_t*>(bytes.data()) + bytes.size());
    return array;
}

IdxArray read_idx(const std::string& path, int expected_dims) {
    return parse_idx(read_data_file(path), path, expected_dims);
}

}  // namespace joulecast::data
