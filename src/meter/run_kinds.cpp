#include "meter/run_kinds.hpp"

#include <array>
#include <utility>

namespace joulecast::meter {

namespace {

template <typename Enum, std::size_t N>
const char* name_of(const std::array<std::pair<Enum, const char*>, N>& names, Enum value) {
    for (const auto& [e, name] : names)
        if (e == value) return name;
    return "";
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, const char*>, N>& names,
                             std::string_view text) {
    for (const auto& [e, name] : names)
        if (text == name) return e;
    return std::nullopt;
}

constexpr std::array<std::pair<RunStatus, const char*>, 5> status_names{
    {{RunStatus::running, "running"},
     {RunStatus::completed, "completed"},
     {RunStatus::failed, "failed"},
     {RunStatus::interrupted, "interrupted"},
     {RunStatus::profiled, "profiled"}}};
constexpr std::array<std::pair<PhaseBoundary, const char*>, 4> boundary_names{
    {{PhaseBoundary::counter, "counter"},
     {PhaseBoundary::interpolated, "interpolated"},
     {PhaseBoundary::integrated, "integrated"},
     {PhaseBoundary::modelled, "modelled"}}};
constexpr std::array<std::pair<TargetKind, const char*>, 3> target_names{
    {{TargetKind::epochs, "epochs"}, {TargetKind::samples, "samples"}, {TargetKind::duration, "duration"}}};
constexpr std::array<std::pair<ForecastBasis, const char*>, 2> basis_names{
    {{ForecastBasis::epochs, "epochs"}, {ForecastBasis::windows, "windows"}}};

}  // namespace

const char* to_string(RunStatus status) {
    return name_of(status_names, status);
}
const char* to_string(PhaseBoundary boundary) {
    return name_of(boundary_names, boundary);
}
const char* to_string(TargetKind kind) {
    return name_of(target_names, kind);
}
const char* to_string(ForecastBasis basis) {
    return name_of(basis_names, basis);
}

std::optional<RunStatus> parse_run_status(std::string_view text) {
    return value_of(status_names, text);
}
std::optional<PhaseBoundary> parse_phase_boundary(std::string_view text) {
    return value_of(boundary_names, text);
}
std::optional<TargetKind> parse_target_kind(std::string_view text) {
    return value_of(target_names, text);
}
std::optional<ForecastBasis> parse_forecast_basis(std::string_view text) {
    return value_of(basis_names, text);
}

}  // namespace joulecast::meter
