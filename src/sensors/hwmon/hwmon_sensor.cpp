#include "sensors/hwmon/hwmon_sensor.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include "core/text.hpp"

namespace joulecast::sensors {

using core::parse_int;
using core::PreadFile;
using core::read_text_file;
using core::starts_with;
using core::trim;

namespace {

namespace fs = std::filesystem;
using Kind = HwmonSensor::Input::Kind;

enum class Driver { amd_gpu, intel_gpu, amd_cpu, board, node, unknown };

Driver classify(const std::string& name) {
    if (name == "amdgpu") return Driver::amd_gpu;
    if (name == "i915" || name == "xe") return Driver::intel_gpu;
    if (name == "amd_energy") return Driver::amd_cpu;
    if (name == "ina3221" || starts_with(name, "ina2")) return Driver::board;
    if (name == "power_meter") return Driver::node;
    return Driver::unknown;
}

/// The inputs one hwmon directory offers, by index.
struct DeviceFiles {
    std::string id;                                                 ///< "hwmon3"
    std::string dir;                                                ///< its path
    std::string driver;                                             ///< contents of `name`
    std::map<unsigned, std::string> energy;                         ///< N -> label ("" when none)
    std::map<unsigned, std::pair<std::string, std::string>> power;  ///< N -> {file name, label}
    std::map<unsigned, std::string> volt_amp;  ///< N -> label, where inN_input and currN_input both exist
};

/// "power12_average" -> {"power", 12, "average"}.
bool split_input_name(const std::string& file, std::string& type, unsigned& index, std::string& suffix) {
    std::size_t digits = 0;
    while (digits < file.size() && std::isalpha(static_cast<unsigned char>(file[digits]))) ++digits;
    std::size_t end = digits;
    while (end < file.size() && std::isdigit(static_cast<unsigned char>(file[end]))) ++end;
    if (digits == 0 || end == digits || end >= file.size() || file[end] != '_') return false;
    type = file.substr(0, digits);
    suffix = file.substr(end + 1);
    auto [ptr, ec] = std::from_chars(file.data() + digits, file.data() + end, index);
    return ec == std::errc() && ptr == file.data() + end;
}

std::string read_trimmed(const std::string& path) {
    auto text = read_text_file(path);
    return text ? std::string(trim(*text)) : std::string();
}

DeviceFiles scan(const std::string& id, const std::string& dir) {
    DeviceFiles files{id, dir, read_trimmed(dir + "/name"), {}, {}, {}};
    std::map<std::pair<std::string, unsigned>, std::vector<std::string>> present;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string type, suffix;
        unsigned index = 0;
        if (split_input_name(it->path().filename().string(), type, index, suffix))
            present[{type, index}].push_back(suffix);
    }
    auto has = [&](const std::string& type, unsigned index, const std::string& suffix) {
        auto it = present.find({type, index});
        return it != present.end() &&
               std::find(it->second.begin(), it->second.end(), suffix) != it->second.end();
    };
    auto label = [&](const std::string& type, unsigned index) {
        return has(type, index, "label") ? read_trimmed(dir + "/" + type + std::to_string(index) + "_label")
                                         : std::string();
    };
    for (const auto& [key, suffixes] : present) {
        const auto& [type, index] = key;
        const std::string n = std::to_string(index);
        if (type == "energy" && has(type, index, "input")) {
            files.energy[index] = label(type, index);
        } else if (type == "power") {
            // The instantaneous input where the driver has one; its own average otherwise.
            if (has(type, index, "input"))
                files.power[index] = {"power" + n + "_input", label(type, index)};
            else if (has(type, index, "average"))
                files.power[index] = {"power" + n + "_average", label(type, index)};
        } else if (type == "in" && has(type, index, "input") && has("curr", index, "input")) {
            files.volt_amp[index] = label(type, index);
        }
    }
    return files;
}

/// "VDD_GPU_SOC" -> "vdd_gpu_soc": a label usable in channel names.
std::string slug(std::string_view label) {
    std::string out;
    for (char c : label)
        out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    return out;
}

/// A board rail that carries the whole board's input rather than one component's.
bool is_input_rail(const std::string& label) {
    std::string upper;
    for (char c : label) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const bool ends_in = upper.size() >= 3 && upper.compare(upper.size() - 3, 3, "_IN") == 0;
    return ends_in || starts_with(upper, "VIN") || upper == "IN" || upper.find("TOTAL") != std::string::npos;
}

struct Plan {
    Channel channel;
    Kind kind = Kind::power_uw;
    std::string path;
    std::string current_path;  ///< volt_amp only
    std::string what;          ///< "hwmon3 (amdgpu) power1_input"
};

Channel make_channel(const std::string& device, const std::string& domain, Quantity quantity,
                     bool accounted) {
    Channel channel;
    channel.device = device;
    channel.domain = domain;
    channel.quantity = quantity;
    channel.behaviour = quantity == Quantity::energy ? Behaviour::counter : Behaviour::gauge;
    channel.name = device + (quantity == Quantity::energy ? ".energy" : ".power");
    channel.accounted = accounted;
    // What is not counted is for information: once a second is enough.
    if (!accounted) channel.min_period = std::chrono::milliseconds(1000);
    return channel;
}

std::optional<long long> read_number(const PreadFile& file, int& error) {
    char buffer[48];
    long n = file.read_from_start(buffer, sizeof buffer);
    if (n < 0) {
        error = static_cast<int>(-n);
        return std::nullopt;
    }
    error = 0;
    return parse_int(std::string_view(buffer, static_cast<std::size_t>(n)));
}

}  // namespace

HwmonSensor::HwmonSensor(std::string sysfs_root, HwmonOptions options)
    : m_root(std::move(sysfs_root)), m_options(options) {}

Availability HwmonSensor::probe() {
    m_channels.clear();
    m_inputs.clear();
    m_notes.clear();

    const std::string dir = m_root + "/class/hwmon";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return Availability::no("no hwmon: " + dir + " does not exist");

    // hwmon<N> in numeric order, so that device numbers (amdgpu0, intel-gpu0, ...) are stable.
    std::vector<std::pair<unsigned, std::string>> ids;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string id = it->path().filename().string();
        unsigned index = 0;
        if (!starts_with(id, "hwmon")) continue;
        auto [ptr, perr] = std::from_chars(id.data() + 5, id.data() + id.size(), index);
        if (perr != std::errc() || ptr != id.data() + id.size()) continue;
        ids.emplace_back(index, id);
    }
    if (ec) return Availability::no("cannot list " + dir + ": " + ec.message());
    std::sort(ids.begin(), ids.end());

    std::vector<Plan> plans;
    std::map<std::string, unsigned> numbering;  // device prefix -> next number
    for (const auto& [index, id] : ids) {
        DeviceFiles files = scan(id, dir + "/" + id);
        const std::string who = id + " (" + (files.driver.empty() ? "no name" : files.driver) + ")";
        if (files.energy.empty() && files.power.empty() && files.volt_amp.empty()) continue;
        auto plan = [&](Channel channel, Kind kind, const std::string& file,
                        const std::string& current = {}) {
            plans.push_back({std::move(channel), kind, files.dir + "/" + file,
                             current.empty() ? std::string() : files.dir + "/" + current, who + " " + file});
        };
        auto energy_file = [](unsigned n) { return "energy" + std::to_string(n) + "_input"; };
        auto next = [&](const std::string& prefix) { return prefix + std::to_string(numbering[prefix]++); };

        switch (classify(files.driver)) {
            case Driver::amd_gpu:
            case Driver::intel_gpu: {
                const bool amd = classify(files.driver) == Driver::amd_gpu;
                if (amd && m_options.amd_gpus_elsewhere) {
                    m_notes.push_back(who + ": not read, ROCm SMI measures AMD GPUs");
                    break;
                }
                const std::string device = next(amd ? "amdgpu" : "intel-gpu");
                // One total per GPU: the card's counter (xe labels it "card", i915 leaves it unlabelled).
                std::optional<unsigned> card;
                for (const auto& [n, label] : files.energy)
                    if (label == "card" || label.empty()) card = card ? card : n;
                if (!card && !files.energy.empty()) card = files.energy.begin()->first;
                for (const auto& [n, label] : files.energy) {
                    if (n == *card) {
                        plan(make_channel(device, "gpu", Quantity::energy, true), Kind::energy_uj,
                             energy_file(n));
                    } else {
                        plan(make_channel(device + "-" + slug(label.empty() ? std::to_string(n) : label),
                                          "gpu", Quantity::energy, false),
                             Kind::energy_uj, energy_file(n));
                        m_notes.push_back(who + " " + energy_file(n) + " (" + label +
                                          "): not counted, contained in the card's counter");
                    }
                }
                if (!files.power.empty()) {
                    const auto& [n, entry] = *files.power.begin();
                    plan(make_channel(device, "gpu", Quantity::power, true), Kind::power_uw, entry.first);
                    if (files.power.size() > 1)
                        m_notes.push_back(who + ": only power" + std::to_string(n) +
                                          " is read (one power per GPU)");
                }
                break;
            }
            case Driver::amd_cpu: {
                if (m_options.cpu_elsewhere) {
                    m_notes.push_back(who + ": not read, RAPL measures the CPU packages");
                    break;
                }
                unsigned cores = 0;
                for (const auto& [n, label] : files.energy) {
                    if (starts_with(label, "Esocket")) {
                        plan(make_channel("amd-socket" + label.substr(7), "cpu", Quantity::energy, true),
                             Kind::energy_uj, energy_file(n));
                    } else {
                        ++cores;
                    }
                }
                if (cores > 0)
                    m_notes.push_back(who + ": " + std::to_string(cores) +
                                      " core counters not read (contained in the socket counters)");
                break;
            }
            case Driver::board: {
                auto rail = [&](const std::string& label, unsigned n) {
                    const std::string name =
                        label.empty() ? files.driver + "-" + id + "-" + std::to_string(n) : slug(label);
                    const bool input = is_input_rail(label);
                    if (input)
                        m_notes.push_back(who + " rail " + label +
                                          ": the board's input, reported as node and not counted");
                    return make_channel(name, input ? "node" : "board", Quantity::power, !input);
                };
                for (const auto& [n, entry] : files.power)
                    plan(rail(entry.second, n), Kind::power_uw, entry.first);
                for (const auto& [n, label] : files.volt_amp) {
                    if (files.power.count(n)) continue;
                    const std::string k = std::to_string(n);
                    plan(rail(label, n), Kind::volt_amp, "in" + k + "_input", "curr" + k + "_input");
                }
                break;
            }
            case Driver::node: {
                const std::string device = next("node");
                if (!files.power.empty())
                    plan(make_channel(device, "node", Quantity::power, false), Kind::power_uw,
                         files.power.begin()->second.first);
                for (const auto& [n, label] : files.energy)
                    plan(make_channel(
                             device + (n == files.energy.begin()->first ? "" : "-" + std::to_string(n)),
                             "node", Quantity::energy, false),
                         Kind::energy_uj, energy_file(n));
                m_notes.push_back(who + ": the whole node, reported and not counted (its components are)");
                break;
            }
            case Driver::unknown: {
                const std::string device = next((files.driver.empty() ? "hwmon" : slug(files.driver)) + "-");
                for (const auto& [n, label] : files.energy)
                    plan(make_channel(device + "-e" + std::to_string(n), "other", Quantity::energy, false),
                         Kind::energy_uj, energy_file(n));
                for (const auto& [n, entry] : files.power)
                    plan(make_channel(device + "-p" + std::to_string(n), "other", Quantity::power, false),
                         Kind::power_uw, entry.first);
                m_notes.push_back(who + ": driver not recognised; available, not counted");
                break;
            }
        }
    }

    // Open every file and take a first reading; an unreadable input is skipped with its reason.
    for (Plan& plan : plans) {
        Input input;
        input.kind = plan.kind;
        int error = input.file.open(plan.path);
        if (error == 0 && plan.kind == Kind::volt_amp) error = input.current.open(plan.current_path);
        std::optional<long long> first;
        if (error == 0) first = read_number(input.file, error);
        if (first && plan.kind == Kind::volt_amp) first = read_number(input.current, error);
        if (!first || (plan.kind == Kind::energy_uj && *first < 0)) {
            std::string why = error == 0 ? "not a number" : std::strerror(error);
            if (error == EACCES || error == EPERM) why += "; needs root or read access to " + plan.path;
            m_notes.push_back(plan.what + ": cannot read (" + why + "); not read");
            continue;
        }
        if (plan.kind == Kind::energy_uj) input.counter.update(static_cast<std::uint64_t>(*first));
        m_notes.push_back(plan.what + " -> " + plan.channel.name + " (domain " + plan.channel.domain +
                          "): " + (plan.channel.accounted ? "counted in totals" : "not counted"));
        m_inputs.push_back(std::move(input));
        m_channels.push_back(std::move(plan.channel));
    }

    if (m_channels.empty()) {
        std::string why = "no readable hwmon energy or power input in " + dir;
        for (std::size_t i = 0; i < m_notes.size(); ++i) why += (i == 0 ? ": " : "; ") + m_notes[i];
        return Availability::no(why);
    }
    return Availability::yes();
}

ReadStatus HwmonSensor::read(std::size_t channel, double& value) {
    if (channel >= m_inputs.size()) return ReadStatus::error;
    Input& input = m_inputs[channel];
    int error = 0;
    auto raw = read_number(input.file, error);
    if (!raw) return error == ENODEV || error == ENXIO ? ReadStatus::lost : ReadStatus::error;
    switch (input.kind) {
        case Kind::energy_uj:
            // The drivers keep 64-bit totals: a decrease is a reset, re-based and counted as an error.
            if (*raw < 0 || !input.counter.update(static_cast<std::uint64_t>(*raw))) return ReadStatus::error;
            value = input.counter.joules();
            return ReadStatus::ok;
        case Kind::power_uw:
            value = static_cast<double>(*raw) * 1e-6;
            return ReadStatus::ok;
        case Kind::volt_amp: {
            auto milliamps = read_number(input.current, error);
            if (!milliamps) return ReadStatus::error;
            value = static_cast<double>(*raw) * static_cast<double>(*milliamps) * 1e-6;
            return ReadStatus::ok;
        }
    }
    return ReadStatus::error;
}

}  // namespace joulecast::sensors
