#pragma once
// What the analysis' own sources share (analysis.cpp builds the aggregates, guidelines.cpp the advice): not
// part of the module's interface.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analysis.hpp"
#include "analysis/common.hpp"

namespace joulecast::analysis::detail {

/// A number as an exact key ("" when absent).
std::string key_number(std::optional<double> value);
double mean(const std::vector<double>& values);
/// Sample standard deviation; nullopt below two values.
std::optional<double> stddev(const std::vector<double>& values);

/// Mean of the values present; nullopt when none.
template <typename Get>
std::optional<double> mean_of(const std::vector<const RunRow*>& rows, Get get) {
    std::vector<double> values;
    for (const RunRow* r : rows)
        if (auto v = finite_or_null(get(*r))) values.push_back(*v);
    if (values.empty()) return std::nullopt;
    return mean(values);
}

/// The method behind a row's figure on a given basis.
const EnergyMethod& basis_method(const RunRow& r, const std::string& basis);
/// Human names of variables for guideline text.
std::string human(std::string_view variable);
std::string runs_text(std::size_t n);
/// The |rho| a correlation needs to count: Options::min_abs_rho or the 5% significance level, whichever is
/// larger.
double rho_threshold(std::size_t n, const Options& options);

/// Energy per sample of rows grouped by one setting (batch size, power limit) within a model.
struct SettingGroups {
    std::string basis;
    std::map<double, std::vector<const RunRow*>> by_value;
    std::map<double, std::vector<double>> energy;
};
SettingGroups group_by_setting(const std::vector<const RunRow*>& rows,
                               const std::function<std::optional<double>(const RunRow&)>& setting);

// Guidelines and warnings, added to the analysis in this order by analyze().
void batch_guidelines(Analysis& a);
void power_limit_guidelines(Analysis& a);
void driver_guidelines(Analysis& a);
void pareto_guidelines(Analysis& a);
void inference_guidelines(Analysis& a);
void run_warnings(Analysis& a);

}  // namespace joulecast::analysis::detail
