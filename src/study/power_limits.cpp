#include "study/power_limits.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace joulecast::study {

using core::Error;
using core::InputError;
using core::Result;
using core::UsageError;

namespace {

std::string watts_text(double watts) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", watts);
    return buffer;
}

}  // namespace

PowerLimitGuard::PowerLimitGuard(const std::string& library_path, const std::vector<double>& planned_w,
                                 const std::string& rocm_library_path) {
    unsigned count = 0;
    std::string nvml_reason;
    if (auto opened = sensors::nvml::NvmlLibrary::open(library_path); !opened) {
        nvml_reason = opened.error();
    } else {
        m_nvml = std::move(opened).value();
        const sensors::nvml::nvmlReturn_t status = m_nvml->api().device_get_count(&count);
        if (status != sensors::nvml::NVML_SUCCESS)
            nvml_reason = "cannot count GPUs: " + m_nvml->error_string(status);
        else if (count == 0)
            nvml_reason = "NVML sees no GPU";
        if (!nvml_reason.empty()) m_nvml.reset();
    }
    if (!m_nvml) {
        // AMD GPUs: ROCm SMI's power cap, where NVML has none to offer.
        std::string rocm_reason = "no ROCm SMI library given";
        if (!rocm_library_path.empty()) {
            if (auto opened = sensors::rocm::RsmiLibrary::open(rocm_library_path); !opened) {
                rocm_reason = opened.error();
            } else if (!(*opened)->has("rsmi_dev_power_cap_set") ||
                       !(*opened)->has("rsmi_dev_power_cap_get")) {
                rocm_reason = "the library lacks rsmi_dev_power_cap_get/_set";
            } else {
                std::uint32_t n = 0;
                const sensors::rocm::rsmi_status_t status = (*opened)->api().num_monitor_devices(&n);
                if (status != sensors::rocm::RSMI_STATUS_SUCCESS)
                    rocm_reason = "cannot count GPUs: " + (*opened)->error_string(status);
                else if (n == 0)
                    rocm_reason = "ROCm SMI sees no GPU";
                else
                    m_rocm = std::move(opened).value(), count = n, rocm_reason.clear();
            }
        }
        if (!m_rocm)
            throw UsageError("power limits need NVML or ROCm SMI: NVML: " + nvml_reason +
                             "; ROCm SMI: " + rocm_reason);
    }
    for (unsigned gpu = 0; gpu < count; ++gpu) {
        auto limits = get(gpu);
        if (!limits) throw UsageError("power limits: " + limits.error());
        for (double watts : planned_w)
            if (watts < limits->min_w || watts > limits->max_w)
                throw InputError("power limit " + watts_text(watts) + " W is outside gpu" +
                                 std::to_string(gpu) + "'s range " + watts_text(limits->min_w) + ".." +
                                 watts_text(limits->max_w) + " W");
        m_original.push_back(*limits);
    }
    m_changed.assign(count, false);
    // Writing the current limit back changes nothing but proves that we may change it.
    for (unsigned gpu = 0; gpu < count; ++gpu) {
        auto set_now = set(gpu, m_original[gpu].current_w);
        if (!set_now) throw UsageError("power limits: " + set_now.error());
    }
}

std::string PowerLimitGuard::device_name(unsigned gpu) const {
    return m_nvml ? sensors::nvml_device_name(gpu) : sensors::rocm_device_name(gpu);
}

Result<sensors::nvml::PowerLimits> PowerLimitGuard::get(unsigned gpu) const {
    if (m_nvml) return sensors::nvml::get_power_limits(*m_nvml, gpu);
    const auto& api = m_rocm->api();
    std::uint64_t cap_uw = 0, max_uw = 0, min_uw = 0;
    sensors::rocm::rsmi_status_t status = api.dev_power_cap_get_uw(gpu, 0, &cap_uw);
    if (status != sensors::rocm::RSMI_STATUS_SUCCESS)
        return Error{device_name(gpu) + ": rsmi_dev_power_cap_get: " + m_rocm->error_string(status)};
    sensors::nvml::PowerLimits limits;
    limits.current_w = static_cast<double>(cap_uw) * 1e-6;
    status = api.dev_power_cap_range_get_uw(gpu, 0, &max_uw, &min_uw);
    if (status == sensors::rocm::RSMI_STATUS_SUCCESS && max_uw >= min_uw) {
        limits.min_w = static_cast<double>(min_uw) * 1e-6;
        limits.max_w = static_cast<double>(max_uw) * 1e-6;
    } else {
        // Without the range, only the cap in force is known to be settable.
        limits.min_w = limits.max_w = limits.current_w;
    }
    return limits;
}

Result<sensors::nvml::PowerLimits> PowerLimitGuard::set(unsigned gpu, double watts) {
    if (m_nvml) return sensors::nvml::set_power_limit(*m_nvml, gpu, watts);
    const std::string name = device_name(gpu);
    const auto uw = static_cast<std::uint64_t>(std::llround(watts * 1e6));
    const sensors::rocm::rsmi_status_t status = m_rocm->api().dev_power_cap_set_uw(gpu, 0, uw);
    if (status == sensors::rocm::RSMI_STATUS_PERMISSION)
        return Error{name + ": setting the power cap needs root (" + m_rocm->error_string(status) + ")"};
    if (status != sensors::rocm::RSMI_STATUS_SUCCESS)
        return Error{name + ": rsmi_dev_power_cap_set " + watts_text(watts) +
                     " W: " + m_rocm->error_string(status)};
    return get(gpu);
}

PowerLimitGuard::~PowerLimitGuard() {
    restore();
}

Result<std::vector<sensors::nvml::PowerLimits>> PowerLimitGuard::apply(double watts) {
    std::vector<sensors::nvml::PowerLimits> now;
    for (unsigned gpu = 0; gpu < m_original.size(); ++gpu) {
        m_changed[gpu] = true;  // a failed set may still have changed something
        auto set_now = set(gpu, watts);
        if (!set_now) return Error{set_now.error()};
        now.push_back(*set_now);
    }
    return now;
}

std::vector<std::string> PowerLimitGuard::restore() {
    std::vector<std::string> lines;
    for (unsigned gpu = 0; gpu < m_original.size(); ++gpu) {
        if (!m_changed[gpu]) continue;
        const std::string name = device_name(gpu);
        auto restored = set(gpu, m_original[gpu].current_w);
        if (restored) {
            lines.push_back(name + ": power limit restored to " + watts_text(m_original[gpu].current_w) +
                            " W");
            m_changed[gpu] = false;
        } else {
            lines.push_back(name + ": cannot restore the power limit to " +
                            watts_text(m_original[gpu].current_w) + " W: " + restored.error());
        }
    }
    return lines;
}

}  // namespace joulecast::study
