#include "sensors/rapl/rapl_sensor.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "core/text.hpp"

namespace joulecast::sensors {

using core::read_text_file;
using core::split;
using core::starts_with;
using core::trim;

namespace {

namespace fs = std::filesystem;

/// A powercap zone directory name: intel-rapl:N, intel-rapl:N:M, intel-rapl-mmio:N[:M].
struct ZoneId {
    bool mmio = false;
    unsigned package = 0;
    std::optional<unsigned> sub;
    std::string text;

    std::tuple<bool, unsigned, int> key() const { return {mmio, package, sub ? static_cast<int>(*sub) : -1}; }
    std::string parent_text() const {
        return (mmio ? "intel-rapl-mmio:" : "intel-rapl:") + std::to_string(package);
    }
};

std::optional<unsigned> parse_index(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<ZoneId> parse_zone_id(std::string_view dir_name) {
    ZoneId id;
    id.text = std::string(dir_name);
    std::string_view rest;
    if (starts_with(dir_name, "intel-rapl-mmio:")) {
        id.mmio = true;
        rest = dir_name.substr(16);
    } else if (starts_with(dir_name, "intel-rapl:")) {
        rest = dir_name.substr(11);
    } else {
        return std::nullopt;
    }
    auto parts = split(rest, ':');
    if (parts.size() > 2) return std::nullopt;
    auto package = parse_index(parts[0]);
    if (!package) return std::nullopt;
    id.package = *package;
    if (parts.size() == 2) {
        id.sub = parse_index(parts[1]);
        if (!id.sub) return std::nullopt;
    }
    return id;
}

std::optional<std::uint64_t> parse_uj(std::string_view text) {
    text = trim(text);
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string permission_reason(const std::string& path) {
    return "needs root or read access to " + path +
           " (energy_uj is root-only since Linux 5.10; e.g. sudo chmod o+r " + path + ")";
}

bool is_permission_error(int error) {
    return error == EACCES || error == EPERM;
}

/// A zone that passed name matching, before its energy_uj is opened.
struct Candidate {
    ZoneId id;
    std::string path;
    std::string zone_name;
    Channel channel;
    std::string parent_name;  ///< package the subzone belongs to ("" for top-level zones)
};

}  // namespace

RaplSensor::RaplSensor(std::string sysfs_root) : m_root(std::move(sysfs_root)) {}

Availability RaplSensor::probe() {
    m_channels.clear();
    m_zones.clear();
    m_notes.clear();

    const std::string dir = m_root + "/class/powercap";
    std::error_code ec;
    const auto status = fs::status(dir, ec);
    if (ec && status.type() != fs::file_type::not_found)
        return Availability::no("cannot read " + dir + ": " + ec.message());
    if (!fs::is_directory(status))
        return Availability::no(
            "no RAPL: " + dir +
            " does not exist (virtual machines and non-Intel/AMD CPUs usually have none)");

    // class/powercap lists every zone flat (as symlinks); fake trees may nest subzones inside their package
    // instead, so look one level down too. The map orders zones by (mmio, package, subzone).
    std::map<std::tuple<bool, unsigned, int>, std::pair<ZoneId, std::string>> found;
    auto add = [&](const fs::path& path) {
        auto id = parse_zone_id(path.filename().string());
        if (id) found.try_emplace(id->key(), *id, path.string());
        return id;
    };
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto id = add(it->path());
        if (!id || id->sub) continue;
        std::error_code inner;
        for (fs::directory_iterator sub(it->path(), inner); !inner && sub != end; sub.increment(inner))
            add(sub->path());
    }
    if (ec) return Availability::no("cannot list " + dir + ": " + ec.message());

    // Match by name. Top-level names first, so that subzones can name their package.
    std::map<std::string, std::string> top_names;  // zone id text -> name
    std::set<std::string> msr_top_names;           // names of intel-rapl:N zones, to drop mmio duplicates
    std::set<std::string> skipped_tops;            // ids of top-level zones not read (their subzones neither)
    for (auto& [key, entry] : found) {
        auto& [id, path] = entry;
        if (id.sub) continue;
        auto name = read_text_file(path + "/name");
        if (!name) continue;
        top_names[id.text] = std::string(trim(*name));
        if (!id.mmio) msr_top_names.insert(top_names[id.text]);
    }

    std::vector<Candidate> candidates;
    for (auto& [key, entry] : found) {
        auto& [id, path] = entry;
        auto name_text = read_text_file(path + "/name");
        if (!name_text) {
            m_notes.push_back(id.text + ": no readable name file; not read");
            if (!id.sub) skipped_tops.insert(id.text);
            continue;
        }
        const std::string zone_name(trim(*name_text));
        Candidate candidate{id, path, zone_name, {}, {}};
        Channel& channel = candidate.channel;
        channel.quantity = Quantity::energy;
        channel.behaviour = Behaviour::counter;
        channel.min_period = std::chrono::milliseconds(0);

        if (!id.sub) {
            if (id.mmio && msr_top_names.count(zone_name)) {
                m_notes.push_back(id.text + " (" + zone_name +
                                  "): the same package as the intel-rapl zone named " + zone_name +
                                  " (read through MMIO); not read, so it is not counted twice");
                skipped_tops.insert(id.text);
                continue;
            }
            if (starts_with(zone_name, "package-")) {
                channel.domain = "cpu";
                channel.device = zone_name;
            } else if (zone_name == "psys") {
                channel.domain = "psys";
                channel.device = "psys";
            } else if (zone_name == "dram") {
                channel.domain = "dram";
                channel.device = "dram";
            } else {
                m_notes.push_back(id.text + " (" + zone_name + "): unknown zone name; not read");
                skipped_tops.insert(id.text);
                continue;
            }
            channel.name = zone_name + ".energy";
        } else {
            const std::string parent = id.parent_text();
            auto parent_name = top_names.find(parent);
            if (skipped_tops.count(parent) || parent_name == top_names.end()) {
                m_notes.push_back(id.text + " (" + zone_name + "): its zone " + parent +
                                  " is not read; not read");
                continue;
            }
            candidate.parent_name = parent_name->second;
            if (zone_name == "dram") {
                channel.domain = "dram";
            } else if (zone_name == "core" || zone_name == "uncore") {
                channel.domain = zone_name;
                channel.accounted = false;
            } else {
                m_notes.push_back(id.text + " (" + zone_name + "): unknown subzone name; not read");
                continue;
            }
            channel.device = candidate.parent_name;
            channel.name = candidate.parent_name + "." + zone_name + ".energy";
        }
        candidates.push_back(std::move(candidate));
    }

    // Open every energy_uj and take the origin reading. A permission error makes the whole sensor
    // unavailable: counting only the readable zones would silently under-report.
    std::set<std::string> channel_names;
    std::vector<std::string> labels;  // "intel-rapl:0 (package-0)" per channel, for notes()
    for (auto& candidate : candidates) {
        const std::string energy_path = candidate.path + "/energy_uj";
        Zone zone;
        int error = zone.energy.open(energy_path);
        char buffer[32];
        long n = error == 0 ? zone.energy.read_from_start(buffer, sizeof buffer) : -error;
        if (n < 0 && is_permission_error(static_cast<int>(-n))) {
            m_channels.clear();
            m_zones.clear();
            return Availability::no(permission_reason(energy_path));
        }
        std::optional<std::uint64_t> origin;
        if (n >= 0) origin = parse_uj(std::string_view(buffer, static_cast<std::size_t>(n)));
        if (!origin) {
            std::string why = n < 0 ? std::strerror(static_cast<int>(-n)) : "not a number";
            m_notes.push_back(candidate.id.text + " (" + candidate.zone_name + "): cannot read " +
                              energy_path + ": " + why + "; not read");
            continue;
        }
        if (!channel_names.insert(candidate.channel.name).second) {
            m_notes.push_back(candidate.id.text + " (" + candidate.zone_name +
                              "): a second zone for channel " + candidate.channel.name + "; not read");
            continue;
        }

        std::uint64_t max_range_uj = 0;
        auto max_text = read_text_file(candidate.path + "/max_energy_range_uj");
        if (max_text) max_range_uj = parse_uj(*max_text).value_or(0);
        if (max_range_uj == 0)
            m_notes.push_back(candidate.id.text + ": max_energy_range_uj unreadable; a wrap-around of " +
                              candidate.channel.name + " will be counted as a read error");
        zone.counter = WrapCounter(max_range_uj);
        zone.counter.update(*origin);
        m_zones.push_back(std::move(zone));
        m_channels.push_back(candidate.channel);
        labels.push_back(candidate.id.text + " (" + candidate.zone_name + ")");
    }

    // psys covers the packages (and more); count it only where no package zone is read.
    bool has_package = false;
    for (const auto& channel : m_channels) has_package = has_package || channel.domain == "cpu";
    for (auto& channel : m_channels)
        if (channel.domain == "psys") channel.accounted = !has_package;
    // Zones outside the totals are for information: once a second is enough (still far inside any wrap
    // period).
    for (auto& channel : m_channels)
        if (!channel.accounted) channel.min_period = std::chrono::milliseconds(1000);

    std::vector<std::string> found_notes;
    for (std::size_t i = 0; i < m_channels.size(); ++i) {
        const Channel& channel = m_channels[i];
        std::string note = labels[i] + " -> " + channel.name + " (domain " + channel.domain + "): ";
        if (channel.accounted)
            note += "counted in totals";
        else if (channel.domain == "psys")
            note += "not counted, psys covers the package zones, which are counted";
        else
            note += "not counted, contained in " + channel.device;
        found_notes.push_back(std::move(note));
    }
    m_notes.insert(m_notes.begin(), found_notes.begin(), found_notes.end());

    if (m_channels.empty()) {
        std::string why = "no usable RAPL zone in " + dir;
        for (std::size_t i = 0; i < m_notes.size(); ++i) why += (i == 0 ? ": " : "; ") + m_notes[i];
        return Availability::no(why);
    }
    return Availability::yes();
}

ReadStatus RaplSensor::read(std::size_t channel, double& value) {
    if (channel >= m_zones.size()) return ReadStatus::error;
    Zone& zone = m_zones[channel];
    char buffer[32];
    long n = zone.energy.read_from_start(buffer, sizeof buffer);
    if (n <= 0) return ReadStatus::error;
    auto raw = parse_uj(std::string_view(buffer, static_cast<std::size_t>(n)));
    if (!raw || !zone.counter.update(*raw)) return ReadStatus::error;
    value = zone.counter.joules();
    return ReadStatus::ok;
}

}  // namespace joulecast::sensors
