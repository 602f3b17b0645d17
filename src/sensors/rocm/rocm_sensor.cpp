#include "sensors/rocm/rocm_sensor.hpp"

#include <chrono>
#include <utility>

namespace joulecast::sensors {

using namespace rocm;

namespace {

ReadStatus classify(rsmi_status_t status) {
    switch (status) {
        case RSMI_STATUS_SUCCESS:
            return ReadStatus::ok;
        case RSMI_STATUS_NOT_FOUND:
        case RSMI_STATUS_INVALID_ARGS:
            return ReadStatus::lost;  // the device index is gone (hot-unplugged, reset off the bus)
        case RSMI_STATUS_NOT_SUPPORTED:
        case RSMI_STATUS_NOT_YET_IMPLEMENTED:
        case JOULECAST_RSMI_FUNCTION_NOT_FOUND:
            return ReadStatus::unsupported;
        default:
            return ReadStatus::error;
    }
}

constexpr std::uint64_t two_to_32 = std::uint64_t{1} << 32;

}  // namespace

std::optional<std::uint64_t> rsmi_counter_delta(std::uint64_t previous, std::uint64_t now) {
    if (now >= previous) return now - previous;
    if (previous < two_to_32) return two_to_32 - previous + now;
    return std::nullopt;
}

RocmSensor::RocmSensor(std::string library_path) : m_library_path(std::move(library_path)) {}

RocmSensor::~RocmSensor() = default;

void RocmSensor::clear() {
    m_table.clear();
    m_notes.clear();
    m_rsmi.reset();
}

Availability RocmSensor::probe() {
    clear();
    auto opened = RsmiLibrary::open(m_library_path);
    if (!opened) return Availability::no(opened.error());
    m_rsmi = std::move(opened).value();
    const RsmiFunctions& api = m_rsmi->api();

    std::uint32_t count = 0;
    const rsmi_status_t count_status = api.num_monitor_devices(&count);
    if (count_status != RSMI_STATUS_SUCCESS || count == 0) {
        const std::string why = count_status != RSMI_STATUS_SUCCESS
                                    ? "rsmi_num_monitor_devices failed: " + m_rsmi->error_string(count_status)
                                    : "ROCm SMI (" + m_library_path + ") sees no GPU";
        clear();
        return Availability::no(why + " (check rocm-smi)");
    }
    for (const auto& symbol : m_rsmi->missing())
        m_notes.push_back(m_library_path + " lacks " + symbol + " (not used)");

    using std::chrono::milliseconds;
    for (std::uint32_t index = 0; index < count; ++index) {
        const std::string device = rocm_device_name(index);
        Gpu gpu;
        gpu.index = index;
        gpu.info.index = index;
        char text[256] = {};
        gpu.info.name = api.dev_name_get(index, text, sizeof text) == RSMI_STATUS_SUCCESS && text[0]
                            ? std::string(text)
                            : "unknown AMD GPU";
        gpu.info.uuid = unique_id_text(api, index);

        GpuChannels<Gpu, Source>::Found found(device);
        bool lost = false;
        auto offer = [&](rsmi_status_t status, Source source, const char* suffix, Quantity quantity,
                         milliseconds min_period) {
            lost = lost || classify(status) == ReadStatus::lost;
            if (status != RSMI_STATUS_SUCCESS) return false;
            found.add(source, suffix, quantity, min_period);
            return true;
        };

        std::uint64_t ticks = 0;
        float resolution = 0;
        std::uint64_t stamp = 0;
        const rsmi_status_t energy_status = api.dev_energy_count_get(index, &ticks, &resolution, &stamp);
        const bool has_energy =
            energy_status == RSMI_STATUS_SUCCESS && resolution > 0 &&
            offer(energy_status, Source::energy_counter, "energy", Quantity::energy, milliseconds(0));
        if (!has_energy) lost = lost || classify(energy_status) == ReadStatus::lost;
        gpu.resolution_uj = resolution;
        gpu.last_ticks = ticks;

        std::uint64_t microwatts = 0;
        std::string power_note;
        if (offer(api.dev_current_socket_power_get_uw(index, &microwatts), Source::power_current, "power",
                  Quantity::power, milliseconds(0)))
            power_note = "power from rsmi_dev_current_socket_power_get (instantaneous)";
        else if (offer(api.dev_power_ave_get_uw(index, 0, &microwatts), Source::power_average, "power",
                       Quantity::power, milliseconds(0)))
            power_note = "power from rsmi_dev_power_ave_get (the SMU's average)";
        else
            power_note = "no power reading";

        const milliseconds state_period(1000);
        std::uint32_t busy = 0;
        offer(api.dev_busy_percent_get(index, &busy), Source::utilisation, "utilisation",
              Quantity::utilisation, state_period);
        std::uint64_t used = 0;
        offer(api.dev_memory_usage_get(index, RSMI_MEM_TYPE_VRAM, &used), Source::memory_used, "memory",
              Quantity::memory, state_period);

        const std::string label = device + " " + gpu.info.name;
        if (lost) {
            m_notes.push_back(label + ": skipped, the device is gone");
            continue;
        }
        const bool has_power = power_note != "no power reading";
        gpu.integrated = !has_energy && has_power;
        std::string note = label + ": energy counter ";
        if (has_energy)
            note += "yes (resolution " + std::to_string(resolution) + " uJ)";
        else
            note += std::string("no (") +
                    (energy_status == JOULECAST_RSMI_FUNCTION_NOT_FOUND
                         ? "the library lacks rsmi_dev_energy_count_get"
                         : m_rsmi->error_string(energy_status)) +
                    (has_power ? "; energy is integrated from power)" : ")");
        note += ", " + power_note;
        if (!has_energy && !has_power) {
            note += "; this GPU's energy is not measured";
            m_table.add_unmeasured(label + ": neither an energy counter nor a power reading");
        }
        m_notes.push_back(std::move(note));

        m_table.add(std::move(gpu), std::move(found));
    }
    if (m_table.empty()) {
        clear();
        return Availability::no("ROCm SMI sees " + std::to_string(count) + " GPU(s) but none answers");
    }
    return Availability::yes();
}

ReadStatus RocmSensor::read(std::size_t channel, double& value) {
    if (!m_rsmi) return ReadStatus::error;
    return m_table.read(channel, value, [this](Gpu& gpu, Source source, double& out) {
        return read_source(gpu, source, out);
    });
}

ReadStatus RocmSensor::read_source(Gpu& gpu, Source source, double& value) {
    const RsmiFunctions& api = m_rsmi->api();
    switch (source) {
        case Source::energy_counter: {
            std::uint64_t ticks = 0;
            float resolution = 0;
            std::uint64_t stamp = 0;
            const rsmi_status_t status = api.dev_energy_count_get(gpu.index, &ticks, &resolution, &stamp);
            if (status != RSMI_STATUS_SUCCESS) return classify(status);
            auto delta = rsmi_counter_delta(gpu.last_ticks, ticks);
            gpu.last_ticks = ticks;  // a reset re-bases: one interval is lost, not every later one
            if (!delta) return ReadStatus::error;
            gpu.joules += static_cast<double>(*delta) * static_cast<double>(gpu.resolution_uj) * 1e-6;
            value = gpu.joules;
            return ReadStatus::ok;
        }
        case Source::power_current:
        case Source::power_average: {
            std::uint64_t microwatts = 0;
            const rsmi_status_t status = source == Source::power_current
                                             ? api.dev_current_socket_power_get_uw(gpu.index, &microwatts)
                                             : api.dev_power_ave_get_uw(gpu.index, 0, &microwatts);
            if (status != RSMI_STATUS_SUCCESS) return classify(status);
            value = static_cast<double>(microwatts) * 1e-6;
            return ReadStatus::ok;
        }
        case Source::utilisation: {
            std::uint32_t busy = 0;
            const rsmi_status_t status = api.dev_busy_percent_get(gpu.index, &busy);
            if (status != RSMI_STATUS_SUCCESS) return classify(status);
            value = busy;
            return ReadStatus::ok;
        }
        case Source::memory_used: {
            std::uint64_t used = 0;
            const rsmi_status_t status = api.dev_memory_usage_get(gpu.index, RSMI_MEM_TYPE_VRAM, &used);
            if (status != RSMI_STATUS_SUCCESS) return classify(status);
            value = static_cast<double>(used);
            return ReadStatus::ok;
        }
    }
    return ReadStatus::error;
}

std::vector<GpuInfo> RocmSensor::gpus() const {
    return m_table.infos();
}

std::vector<std::string> RocmSensor::run_warnings(double ran_s) const {
    (void)ran_s;
    std::vector<std::string> out;
    for (const auto& gpu : m_table.gpus()) {
        const std::string label = gpu.info.device + " (" + gpu.info.name + ")";
        if (gpu.integrated)
            out.push_back(label + ": no ROCm SMI energy counter; its energy is INTEGRATED from power");
        if (gpu.lost)
            out.push_back(label + ": the device disappeared during the run; energy up to then only");
    }
    m_table.unmeasured_warnings(out);
    return out;
}

}  // namespace joulecast::sensors
