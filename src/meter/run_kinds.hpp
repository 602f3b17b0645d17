#pragma once
// The closed vocabularies of a run: its status, how a phase's boundaries were measured, and what a forecast
// is for. They are enums in the code and become strings only at the JSON and SQL edges (to_string / parse_*).

#include <optional>
#include <string_view>

namespace joulecast::meter {

enum class RunStatus {
    running,      ///< in the store only: its joulecast is still measuring
    completed,    ///< the command exited with status 0
    failed,       ///< non-zero exit, or the command could not be started
    interrupted,  ///< joulecast or the command was stopped by a signal before the end
    profiled,     ///< the command was stopped on purpose once its forecast profile was measured
};

/// How a window's boundaries were measured: every accounted energy counter read within a tolerance of both
/// ends (counter), a counter interpolated along the power timeline (interpolated), no counter but measured
/// power (integrated), or only models (modelled).
enum class PhaseBoundary { counter, interpolated, integrated, modelled };

/// What a forecast's amount counts: epochs (or fixed time windows), samples, or seconds of the whole job.
enum class TargetKind { epochs, samples, duration };

/// What a run's forecast was made from: the epochs the job marked, or fixed time windows of its trace.
enum class ForecastBasis { epochs, windows };

const char* to_string(RunStatus status);
const char* to_string(PhaseBoundary boundary);
const char* to_string(TargetKind kind);
const char* to_string(ForecastBasis basis);

/// The enum a string names; none for anything else (callers decide what an unknown word means).
std::optional<RunStatus> parse_run_status(std::string_view text);
std::optional<PhaseBoundary> parse_phase_boundary(std::string_view text);
std::optional<TargetKind> parse_target_kind(std::string_view text);
std::optional<ForecastBasis> parse_forecast_basis(std::string_view text);

/// Whether a run's figures describe a whole job that ran as intended (completed, or profiled on purpose):
/// the runs analyses and summaries use by default.
inline bool is_usable(RunStatus status) {
    return status == RunStatus::completed || status == RunStatus::profiled;
}

}  // namespace joulecast::meter
