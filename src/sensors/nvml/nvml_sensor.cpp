#include "sensors/nvml/nvml_sensor.hpp"

#include "core/text.hpp"

#include <chrono>
#include <utility>

namespace joulecast::sensors {

using core::starts_with;

using namespace nvml;

namespace {

// A field value in whatever type NVML chose, as a double.
bool field_as_double(const nvmlFieldValue_t& field, double& out) {
    switch (field.valueType) {
        case NVML_VALUE_TYPE_DOUBLE:
            out = field.value.dVal;
            return true;
        case NVML_VALUE_TYPE_UNSIGNED_INT:
            out = field.value.uiVal;
            return true;
        case NVML_VALUE_TYPE_UNSIGNED_LONG:
            out = static_cast<double>(field.value.ulVal);
            return true;
        case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
            out = static_cast<double>(field.value.ullVal);
            return true;
        case NVML_VALUE_TYPE_SIGNED_LONG_LONG:
            out = static_cast<double>(field.value.sllVal);
            return true;
        case NVML_VALUE_TYPE_SIGNED_INT:
            out = field.value.siVal;
            return true;
        case NVML_VALUE_TYPE_UNSIGNED_SHORT:
            out = field.value.usVal;
            return true;
    }
    return false;
}

std::string text_or(const char* buffer, nvmlReturn_t status, std::string fallback) {
    return status == NVML_SUCCESS && buffer[0] ? std::string(buffer) : std::move(fallback);
}

}  // namespace

NvmlSensor::NvmlSensor(std::string library_path, GpuSelection selection)
    : m_library_path(std::move(library_path)), m_selection(std::move(selection)) {}

NvmlSensor::~NvmlSensor() = default;

void NvmlSensor::clear() {
    m_table.clear();
    m_notes.clear();
    m_nvml.reset();
}

Availability NvmlSensor::probe() {
    clear();
    auto opened = NvmlLibrary::open(m_library_path);
    if (!opened) return Availability::no(opened.error());
    m_nvml = std::move(opened).value();
    const NvmlFunctions& api = m_nvml->api();

    unsigned int count = 0;
    const nvmlReturn_t count_status = api.device_get_count(&count);
    if (count_status != NVML_SUCCESS) {
        const std::string why = m_nvml->error_string(count_status);
        m_nvml.reset();
        return Availability::no("nvmlDeviceGetCount_v2 failed: " + why + " (check nvidia-smi)");
    }
    if (count == 0) {
        m_nvml.reset();
        return Availability::no("NVML (" + m_library_path + ") sees no GPU (check nvidia-smi)");
    }

    std::vector<std::string> skipped;
    std::vector<std::pair<unsigned, std::string>> seen;  // (index, uuid) of every GPU, for the selection
    unsigned unselected = 0;
    for (unsigned index = 0; index < count; ++index) {
        const std::string device_name = nvml_device_name(index);
        auto handle = m_nvml->device(index);
        if (!handle) {
            skipped.push_back(handle.error());
            m_notes.push_back(device_name + ": skipped, " + handle.error());
            continue;
        }
        Gpu gpu;
        gpu.device = *handle;
        gpu.info.index = index;

        char text[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
        nvmlReturn_t status = api.device_get_name(gpu.device, text, sizeof text);
        bool lost = status == NVML_ERROR_GPU_IS_LOST;
        gpu.info.name = text_or(text, status, "unknown GPU");
        char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
        status = api.device_get_uuid(gpu.device, uuid, sizeof uuid);
        lost = lost || status == NVML_ERROR_GPU_IS_LOST;
        gpu.info.uuid = text_or(uuid, status, "");
        seen.emplace_back(index, gpu.info.uuid);
        if (!m_selection.selects(index, gpu.info.uuid)) {
            ++unselected;
            m_notes.push_back(device_name + " " + gpu.info.name + ": not measured, not selected by " +
                              m_selection.origin);
            continue;
        }

        // Each optional reading is tried once; only what answers now becomes a channel.
        GpuChannels<Gpu, Source>::Found found(device_name);
        auto offer = [&](nvmlReturn_t result, Source source, const char* suffix, Quantity quantity,
                         std::chrono::milliseconds min_period) {
            lost = lost || result == NVML_ERROR_GPU_IS_LOST;
            if (result != NVML_SUCCESS) return false;
            found.add(source, suffix, quantity, min_period);
            return true;
        };
        using std::chrono::milliseconds;

        unsigned long long energy_mj = 0;
        const nvmlReturn_t energy_status = api.device_get_total_energy_consumption_mj(gpu.device, &energy_mj);
        const bool has_energy =
            offer(energy_status, Source::energy_counter, "energy", Quantity::energy, milliseconds(1000));
        gpu.energy_at_probe_mj = energy_mj;
        gpu.energy_last_mj = energy_mj;

        nvmlFieldValue_t field{};
        field.fieldId = NVML_FI_DEV_POWER_INSTANT;
        nvmlReturn_t instant_status = api.device_get_field_values(gpu.device, 1, &field);
        if (instant_status == NVML_SUCCESS) instant_status = field.nvmlReturn;
        double ignored = 0;
        if (instant_status == NVML_SUCCESS && !field_as_double(field, ignored))
            instant_status = NVML_ERROR_UNKNOWN;
        std::string power_note;
        if (offer(instant_status, Source::power_instant, "power", Quantity::power, milliseconds(0))) {
            power_note = "power from instantaneous field";
        } else {
            unsigned int milliwatts = 0;
            const nvmlReturn_t usage_status = api.device_get_power_usage_mw(gpu.device, &milliwatts);
            if (offer(usage_status, Source::power_average, "power", Quantity::power, milliseconds(0)))
                power_note = "power from nvmlDeviceGetPowerUsage (1 s moving average on recent GPUs)";
            else
                power_note = "no power reading (" + m_nvml->error_string(usage_status) + ")";
        }

        // State gauges change slowly and each read is a driver call: once a second is plenty, and it keeps
        // the sampler's per-tick work to the power readings.
        const milliseconds state_period(1000);
        nvmlUtilization_t utilisation{};
        offer(api.device_get_utilization_rates(gpu.device, &utilisation), Source::utilisation, "utilisation",
              Quantity::utilisation, state_period);
        nvmlMemory_t memory{};
        offer(api.device_get_memory_info(gpu.device, &memory), Source::memory_used, "memory",
              Quantity::memory, state_period);
        unsigned int value = 0;
        offer(api.device_get_clock_info_mhz(gpu.device, NVML_CLOCK_SM, &value), Source::sm_clock, "sm_clock",
              Quantity::clock, state_period);
        offer(api.device_get_temperature_c(gpu.device, NVML_TEMPERATURE_GPU, &value), Source::temperature,
              "temperature", Quantity::temperature, state_period);
        unsigned int limit_mw = 0;
        if (offer(api.device_get_enforced_power_limit_mw(gpu.device, &limit_mw), Source::enforced_power_limit,
                  "power_limit", Quantity::power_limit, state_period))
            gpu.info.power_limit_w = static_cast<double>(limit_mw) * 1e-3;

        const std::string label = device_name + " " + gpu.info.name;
        if (lost) {
            skipped.push_back(label + " was lost");
            m_notes.push_back(label + ": skipped, the GPU is lost (NVML_ERROR_GPU_IS_LOST)");
            continue;
        }
        const bool has_power = power_note.rfind("power from", 0) == 0;
        std::string note = label + ": energy counter ";
        note += has_energy ? "yes" : has_power ? "no (energy is integrated from power)" : "no";
        note += ", " + power_note;
        if (!has_energy && !has_power) {
            note += "; this GPU's energy is not measured";
            m_table.add_unmeasured(label + ": neither an energy counter (" +
                                   m_nvml->error_string(energy_status) + ") nor a power reading (" +
                                   power_note + ")");
        }
        unsigned int mig_mode = 0, mig_pending = 0;
        if (api.device_get_mig_mode(gpu.device, &mig_mode, &mig_pending) == NVML_SUCCESS &&
            mig_mode == NVML_DEVICE_MIG_ENABLE) {
            gpu.info.mig = true;
            note += "; MIG mode: energy and power are the whole board's, every instance together";
        }
        m_notes.push_back(std::move(note));

        m_table.add(std::move(gpu), std::move(found));
    }

    for (const auto& item : m_selection.unmatched(seen))
        m_notes.push_back(m_selection.origin + " names '" + item + "', which NVML does not see");
    for (const auto& item : m_selection.items)
        if (starts_with(item, "MIG-"))
            m_notes.push_back(item +
                              " is a MIG instance: NVML gives energy per GPU, not per instance; select its "
                              "GPU (its index or GPU- UUID) to measure the whole GPU");
    if (m_table.empty() && unselected > 0) {
        std::string why =
            "none of NVML's " + std::to_string(count) + " GPU(s) is selected by " + m_selection.origin;
        clear();
        return Availability::no(why);
    }
    if (m_table.empty()) {
        std::string why = "NVML sees " + std::to_string(count) + " GPU(s) but none could be opened";
        if (!skipped.empty()) why += ": " + skipped.front();
        clear();
        return Availability::no(why);
    }
    return Availability::yes();
}

ReadStatus NvmlSensor::read(std::size_t channel, double& value) {
    if (!m_nvml) return ReadStatus::error;
    return m_table.read(channel, value, [this](Gpu& gpu, Source source, double& out) {
        return read_source(gpu, source, out);
    });
}

ReadStatus NvmlSensor::read_source(Gpu& gpu, Source source, double& value) {
    const NvmlFunctions& api = m_nvml->api();
    switch (source) {
        case Source::energy_counter: {
            unsigned long long now_mj = 0;
            const nvmlReturn_t status = api.device_get_total_energy_consumption_mj(gpu.device, &now_mj);
            if (status != NVML_SUCCESS) return read_status_of(status);
            // The counter only restarts with the driver; a smaller value is not a reading to trust.
            if (now_mj < gpu.energy_last_mj) return ReadStatus::error;
            gpu.energy_last_mj = now_mj;
            value = static_cast<double>(now_mj - gpu.energy_at_probe_mj) * 1e-3;
            return ReadStatus::ok;
        }
        case Source::power_instant: {
            nvmlFieldValue_t field{};
            field.fieldId = NVML_FI_DEV_POWER_INSTANT;
            nvmlReturn_t status = api.device_get_field_values(gpu.device, 1, &field);
            if (status == NVML_SUCCESS) status = field.nvmlReturn;
            if (status != NVML_SUCCESS) return read_status_of(status);
            double milliwatts = 0;
            if (!field_as_double(field, milliwatts)) return ReadStatus::error;
            value = milliwatts * 1e-3;
            return ReadStatus::ok;
        }
        case Source::power_average: {
            unsigned int milliwatts = 0;
            const nvmlReturn_t status = api.device_get_power_usage_mw(gpu.device, &milliwatts);
            if (status != NVML_SUCCESS) return read_status_of(status);
            value = static_cast<double>(milliwatts) * 1e-3;
            return ReadStatus::ok;
        }
        case Source::utilisation: {
            nvmlUtilization_t rates{};
            const nvmlReturn_t status = api.device_get_utilization_rates(gpu.device, &rates);
            if (status != NVML_SUCCESS) return read_status_of(status);
            value = rates.gpu;
            return ReadStatus::ok;
        }
        case Source::memory_used: {
            nvmlMemory_t memory{};
            const nvmlReturn_t status = api.device_get_memory_info(gpu.device, &memory);
            if (status != NVML_SUCCESS) return read_status_of(status);
            value = static_cast<double>(memory.used);
            return ReadStatus::ok;
        }
        case Source::sm_clock: {
            unsigned int mhz = 0;
            const nvmlReturn_t status = api.device_get_clock_info_mhz(gpu.device, NVML_CLOCK_SM, &mhz);
            if (status != NVML_SUCCESS) return read_status_of(status);
            value = mhz;
            return ReadStatus::ok;
        }
        case Source::temperature: {
            unsigned int celsius = 0;
            const nvmlReturn_t status =
                api.device_get_temperature_c(gpu.device, NVML_TEMPERATURE_GPU, &celsius);
            if (status != NVML_SUCCESS) return read_status_of(status);
            value = celsius;
            return ReadStatus::ok;
        }
        case Source::enforced_power_limit: {
            unsigned int milliwatts = 0;
            const nvmlReturn_t status = api.device_get_enforced_power_limit_mw(gpu.device, &milliwatts);
            if (status != NVML_SUCCESS) return read_status_of(status);
            value = static_cast<double>(milliwatts) * 1e-3;
            return ReadStatus::ok;
        }
    }
    return ReadStatus::error;
}

std::vector<GpuInfo> NvmlSensor::gpus() const {
    return m_table.infos();
}

std::vector<std::string> NvmlSensor::run_warnings(double ran_s) const {
    (void)ran_s;
    std::vector<std::string> out;
    m_table.unmeasured_warnings(out);
    return out;
}

}  // namespace joulecast::sensors
