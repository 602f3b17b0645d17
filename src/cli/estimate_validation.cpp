// joulecast estimate --validate and --save-calibration: the subcommands over a whole calibration.

#include <cstdio>
#include <iostream>

#include "cli/estimate_internal.hpp"
#include "core/format.hpp"
#include "core/output_file.hpp"
#include "core/text.hpp"
#include "forecast/estimator.hpp"
#include "report/summary.hpp"

namespace joulecast::cli::estimate_detail {

using core::format_duration;
using core::format_energy;
using core::format_significant;
using core::to_lower;
using core::write_output_file;

using forecast::calibration_to_json;
using forecast::CalibrationSource;
using forecast::ChosenCalibration;
using forecast::EnergyTask;
using forecast::EstimatorOptions;
using forecast::PerSample;
using forecast::StoreCalibrations;
using forecast::validate_leave_one_group_out;
using forecast::validation_to_json;

using Json = nlohmann::ordered_json;

int run_validate(bool json, const ChosenCalibration& chosen, const std::string& device_how,
                 const std::vector<std::string>& warnings) {
    struct Item {
        std::string label;
        EnergyTask task;
        PerSample per_sample;
    };
    const Item items[] = {{"training energy", EnergyTask::training, PerSample::energy},
                          {"inference energy", EnergyTask::inference, PerSample::energy},
                          {"training time", EnergyTask::training, PerSample::time},
                          {"inference time", EnergyTask::inference, PerSample::time}};
    Json validations = Json::array();
    std::ostream& out = std::cout;
    if (!json) {
        out << "Leave-one-architecture-out validation for " << chosen.device << " (" << device_how << ")\n";
        print_source(out, chosen);
    }
    bool any = false;
    for (const auto& item : items) {
        EstimatorOptions options;
        options.per_sample = item.per_sample;
        auto v = validate_leave_one_group_out(chosen.source.calibration, item.task, options);
        if (!v) {
            // Time rows are optional; say why energy could not be validated.
            if (item.per_sample == PerSample::energy) {
                if (json)
                    validations.push_back({{"what", item.label}, {"unavailable", v.error()}});
                else
                    out << '\n' << item.label << ": not validated: " << v.error() << '\n';
            }
            continue;
        }
        any = true;
        if (json) {
            Json j = validation_to_json(*v);
            j["what"] = item.label;
            validations.push_back(std::move(j));
            continue;
        }
        const bool time = item.per_sample == PerSample::time;
        out << '\n'
            << item.label << " per sample: MAPE " << format_significant(v->mape_energy_per_sample_pct)
            << "%, median APE " << format_significant(v->median_ape_pct) << "%";
        if (v->mape_total_energy_pct)
            out << ", total energy MAPE " << format_significant(*v->mape_total_energy_pct) << "%";
        out << ", " << format_significant(v->coverage * 100) << "% inside their 90% interval\n";
        out << "  architecture      rows  MAPE/sample  MAPE total  model fitted without it\n";
        for (const auto& g : v->groups) {
            char line[256];
            std::snprintf(
                line, sizeof line, "  %-16s %5zu  %10s%%  %9s  %s\n", g.model.c_str(), g.rows,
                format_significant(g.mape_energy_per_sample_pct).c_str(),
                g.mape_total_energy_pct ? (format_significant(*g.mape_total_energy_pct) + "%").c_str() : "-",
                g.chosen.c_str());
            out << line;
        }
        for (const auto& p : v->predictions) {
            out << "    " << p.model << " batch " << format_significant(p.batch_size) << ": measured "
                << (time ? format_duration(p.measured_j) : format_energy(p.measured_j)) << ", predicted "
                << (time ? format_duration(p.predicted_j) : format_energy(p.predicted_j)) << " ("
                << format_significant(p.ape_pct) << "% off"
                << (p.inside_interval ? "" : ", outside the interval") << ")\n";
        }
        for (const auto& s : v->skipped) out << "  skipped: " << s << '\n';
    }
    if (json) {
        Json j = {{"schema", "joulecast.estimate-validation/1"},
                  {"device", chosen.device},
                  {"device_from", device_how},
                  {"calibration", source_json(chosen)},
                  {"validations", validations},
                  {"warnings", warnings}};
        std::cout << j.dump(2) << '\n';
    } else {
        for (const auto& w : warnings) out << "warning: " << w << '\n';
    }
    if (!any) {
        std::cerr << "joulecast estimate: error: the calibration of '" << chosen.device
                  << "' cannot be validated (it needs 2+ architectures with energy per sample)\n";
        return 1;
    }
    return 0;
}

/// Writes the store's calibration of `device` in the shipped form, with its provenance.
int save_calibration(const std::string& file, const std::string& device, const StoreCalibrations& stored,
                     const std::vector<std::string>& warnings) {
    for (const auto& w : warnings) std::cerr << "joulecast estimate: warning: " << w << '\n';
    const CalibrationSource* source = nullptr;
    for (const auto& s : stored.devices)
        if (to_lower(s.calibration.device) == to_lower(device)) source = &s;
    if (!source) {
        std::string known;
        for (const auto& s : stored.devices) known += (known.empty() ? "" : ", ") + s.calibration.device;
        std::cerr << "joulecast estimate: error: the store has no calibration runs of '" << device << "'"
                  << (known.empty() ? std::string(" (it has none of any device)")
                                    : " (it has: " + known + ")")
                  << '\n';
        return 1;
    }
    Json json = calibration_to_json(source->calibration);
    json["measured_on"] = source->measured_on;
    json["note"] = "Written by `joulecast estimate --save-calibration` from the runs in " + source->file +
                   ": " + source->how;
    const std::string failure =
        write_output_file(file, [&](std::ostream& out) { out << json.dump(2) << '\n'; });
    if (!failure.empty()) {
        std::cerr << "joulecast estimate: error: cannot write " << file << ": " << failure << '\n';
        return 1;
    }
    std::cout << "wrote " << file << ": " << source->calibration.rows.size() << " rows, "
              << source->architectures().size() << " architectures of " << source->calibration.device << '\n';
    return 0;
}

}  // namespace joulecast::cli::estimate_detail
