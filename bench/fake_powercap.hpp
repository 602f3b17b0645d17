#pragma once
// Shared by the benchmarks: a fake powercap (RAPL) tree in a temporary folder.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace joulecast::bench {

/// A fake powercap tree with two packages, each with core and dram subzones.
class FakePowercap {
public:
    FakePowercap() {
        std::string pattern = (std::filesystem::temp_directory_path() / "joulecast-bench-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        m_root = pattern;
        for (int p = 0; p < 2; ++p) {
            zone("intel-rapl:" + std::to_string(p), "package-" + std::to_string(p));
            zone("intel-rapl:" + std::to_string(p) + ":0", "core");
            zone("intel-rapl:" + std::to_string(p) + ":1", "dram");
        }
    }
    ~FakePowercap() { std::filesystem::remove_all(m_root); }
    std::string root() const { return m_root.string(); }

private:
    void zone(const std::string& dir, const std::string& name) {
        auto path = m_root / "class/powercap" / dir;
        std::filesystem::create_directories(path);
        std::ofstream(path / "name") << name << '\n';
        std::ofstream(path / "energy_uj") << 123456789 << '\n';
        std::ofstream(path / "max_energy_range_uj") << 262143328850 << '\n';
    }
    std::filesystem::path m_root;
};

}  // namespace joulecast::bench
