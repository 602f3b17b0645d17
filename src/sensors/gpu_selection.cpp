#include "sensors/gpu_selection.hpp"

#include "core/text.hpp"

namespace joulecast::sensors {

using core::Error;
using core::Result;
using core::split;
using core::starts_with;
using core::trim;

namespace {

bool is_index(const std::string& item) {
    return !item.empty() && item.size() <= 4 && item.find_first_not_of("0123456789") == std::string::npos;
}

bool is_uuid(const std::string& item) {
    return starts_with(item, "GPU-") || starts_with(item, "MIG-");
}

/// An item names this GPU: its index, its UUID, or a prefix of its UUID longer than "GPU-".
bool names(const std::string& item, unsigned index, const std::string& uuid) {
    if (is_index(item)) return std::to_string(index) == item;
    return item.size() > 4 && starts_with(uuid, item);
}

std::vector<std::string> trimmed_items(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& part : split(text, ',')) out.emplace_back(trim(part));
    return out;
}

}  // namespace

bool GpuSelection::selects(unsigned index, const std::string& uuid) const {
    if (all) return true;
    for (const auto& item : items)
        if (names(item, index, uuid)) return true;
    return false;
}

std::vector<std::string> GpuSelection::unmatched(
    const std::vector<std::pair<unsigned, std::string>>& gpus) const {
    std::vector<std::string> out;
    if (all) return out;
    for (const auto& item : items) {
        if (starts_with(item, "MIG-")) continue;
        bool found = false;
        for (const auto& [index, uuid] : gpus) found = found || names(item, index, uuid);
        if (!found) out.push_back(item);
    }
    return out;
}

GpuSelection gpu_selection_from_environment(const char* cuda, const char* nvidia) {
    GpuSelection selection;
    if (cuda) {
        selection.all = false;
        selection.origin = "CUDA_VISIBLE_DEVICES=" + std::string(cuda);
        for (const auto& item : trimmed_items(cuda)) {
            if (!is_index(item) && !is_uuid(item)) break;  // CUDA ignores the rest of the list
            selection.items.push_back(item);
        }
        return selection;
    }
    if (nvidia) {
        std::vector<std::string> uuids;
        for (const auto& item : trimmed_items(nvidia))
            if (is_uuid(item)) uuids.push_back(item);
        if (!uuids.empty()) {
            selection.all = false;
            selection.items = std::move(uuids);
            selection.origin = "NVIDIA_VISIBLE_DEVICES=" + std::string(nvidia);
        }
    }
    return selection;
}

Result<GpuSelection> parse_gpus_option(const std::string& text, const GpuSelection& visible) {
    if (text == "all") return GpuSelection{};
    if (text == "visible") return visible;
    if (text == "used") {
        GpuSelection used = visible;
        used.used_only = true;
        used.origin = "--gpus used, among " + visible.origin;
        return used;
    }
    GpuSelection selection;
    selection.all = false;
    selection.origin = "--gpus " + text;
    for (const auto& item : trimmed_items(text)) {
        if (!is_index(item) && !(is_uuid(item) && item.size() > 4))
            return Error{"--gpus: '" + item +
                         "' is neither a GPU index nor a GPU-/MIG- UUID (expected all, "
                         "visible, used, or a list such as 0,2)"};
        selection.items.push_back(item);
    }
    if (selection.items.empty()) return Error{"--gpus: expected all, visible, used, or a list such as 0,2"};
    return selection;
}

}  // namespace joulecast::sensors
