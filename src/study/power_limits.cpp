#include "study/power_limits.hpp"

#include <cstdio>

namespace joulecast::study {

namespace {

std::string watts_text(double watts) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", watts);
    return buffer;
}

}  // namespace

PowerLimitGuard::PowerLimitGuard(const std::string& library_path, const std::vector<double>& planned_w) {
    auto opened = nvml::NvmlLibrary::open(library_path);
    if (!opened) throw UsageError("power limits need NVML: " + opened.error());
    m_nvml = std::move(opened).value();
    unsigned count = 0;
    const nvml::nvmlReturn_t status = m_nvml->api().device_get_count(&count);
    if (status != nvml::NVML_SUCCESS)
        throw UsageError("power limits: cannot count GPUs: " + m_nvml->error_string(status));
    if (count == 0) throw UsageError("power limits: NVML sees no GPU");
    for (unsigned gpu = 0; gpu < count; ++gpu) {
        auto limits = nvml::get_power_limits(*m_nvml, gpu);
        if (!limits) throw UsageError("power limits: " + limits.error());
        for (double watts : planned_w)
            if (watts < limits->min_w || watts > limits->max_w)
                throw UsageError("power limit " + watts_text(watts) + " W is outside gpu" +
                                 std::to_string(gpu) + "'s range " + watts_text(limits->min_w) + ".." +
                                 watts_text(limits->max_w) + " W");
        m_original.push_back(*limits);
    }
    m_changed.assign(count, false);
    // Writing the current limit back changes nothing but proves that we may change it.
    for (unsigned gpu = 0; gpu < count; ++gpu) {
        auto set = nvml::set_power_limit(*m_nvml, gpu, m_original[gpu].current_w);
        if (!set) throw UsageError("power limits: " + set.error());
    }
}

PowerLimitGuard::~PowerLimitGuard() {
    restore();
}

Result<std::vector<nvml::PowerLimits>> PowerLimitGuard::apply(double watts) {
    std::vector<nvml::PowerLimits> now;
    for (unsigned gpu = 0; gpu < m_original.size(); ++gpu) {
        m_changed[gpu] = true;  // a failed set may still have changed something
        auto set = nvml::set_power_limit(*m_nvml, gpu, watts);
        if (!set) return Error{set.error()};
        now.push_back(*set);
    }
    return now;
}

std::vector<std::string> PowerLimitGuard::restore() {
    std::vector<std::string> lines;
    for (unsigned gpu = 0; gpu < m_original.size(); ++gpu) {
        if (!m_changed[gpu]) continue;
        const std::string name = "gpu" + std::to_string(gpu);
        auto set = nvml::set_power_limit(*m_nvml, gpu, m_original[gpu].current_w);
        if (set) {
            lines.push_back(name + ": power limit restored to " + watts_text(m_original[gpu].current_w) +
                            " W");
            m_changed[gpu] = false;
        } else {
            lines.push_back(name + ": cannot restore the power limit to " +
                            watts_text(m_original[gpu].current_w) + " W: " + set.error());
        }
    }
    return lines;
}

}  // namespace joulecast::study
