#include "core/host.hpp"

#include <unistd.h>

#include "core/text.hpp"

namespace joulecast::core {

HostInfo read_host_info(const std::string& proc_root) {
    HostInfo host;
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) == 0) host.hostname = name;
    if (auto cpuinfo = read_text_file(proc_root + "/cpuinfo")) {
        for (const auto& line : split(*cpuinfo, '\n')) {
            auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            auto key = trim(std::string_view(line).substr(0, colon));
            if (key == "processor") ++host.cores;
            if (key == "model name" && host.cpu_model.empty())
                host.cpu_model = std::string(trim(std::string_view(line).substr(colon + 1)));
        }
    }
    if (host.cores == 0) host.cores = static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    if (auto meminfo = read_text_file(proc_root + "/meminfo")) {
        for (const auto& line : split(*meminfo, '\n')) {
            if (!starts_with(line, "MemTotal:")) continue;
            auto fields = split(std::string(trim(std::string_view(line).substr(9))), ' ');
            if (auto kib = parse_int(fields.front()))
                host.memory_bytes = static_cast<std::uint64_t>(*kib) * 1024;
        }
    }
    return host;
}

}  // namespace joulecast::core
