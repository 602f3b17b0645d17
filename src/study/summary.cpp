#include "study/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "analysis/analysis.hpp"
#include "core/format.hpp"
#include "core/json_fields.hpp"

namespace joulecast::study {

using core::format_clock;
using core::format_number;
using core::optional_json;

using meter::RunResult;
using meter::RunStatus;

std::optional<double> RunRecord::train_j_per_sample() const {
    if (!training_energy_j || !train_samples || *train_samples <= 0) return std::nullopt;
    return *training_energy_j / static_cast<double>(*train_samples);
}

std::optional<double> RunRecord::infer_j_per_sample() const {
    if (!inference_energy_j || !infer_samples || *infer_samples <= 0) return std::nullopt;
    return *inference_energy_j / static_cast<double>(*infer_samples);
}

void fill_from_result(RunRecord& record, const RunResult& result) {
    record.run_id = result.id;
    record.status = result.status;
    record.exit_code = result.partial ? 0 : result.exit_code;
    record.duration_s = result.duration_s;
    record.energy_j = result.energy.total_j;
    if (result.carbon) record.co2e_g = result.carbon->co2e_g;
    // E_tr, E_in, their samples and the accuracy as `joulecast analyze` derives them, so that the study's
    // table and the analysis agree.
    const analysis::RunRow row = analysis::derive_row(result);
    auto count = [](const std::optional<double>& samples) -> std::optional<long long> {
        if (!samples) return std::nullopt;
        return std::llround(*samples);
    };
    record.training_energy_j = row.training_energy_j;
    record.train_samples = count(row.training_samples);
    record.inference_energy_j = row.inference_energy_j;
    record.infer_samples = count(row.inference_samples);
    record.accuracy = row.accuracy;
    record.classes = row.classes;
    for (const auto& [domain, method] : result.energy.domain_method)
        record.energy_source += (record.energy_source.empty() ? "" : ", ") + domain + " " + method;
}

StudySummary summarise(const StudyGrid& grid, const std::vector<RunRecord>& records, std::size_t planned,
                       double wall_s, const std::string& carbon_source) {
    StudySummary summary;
    summary.name = grid.name;
    summary.source = grid.source;
    summary.planned = planned;
    summary.wall_s = wall_s;
    summary.carbon_source = carbon_source;
    for (const auto& axis : grid.axes)
        if (axis.key == "model" || axis.key == "batch_size" || axis.values.size() > 1)
            summary.columns.push_back(axis.key);

    std::map<std::size_t, SummaryRow> rows;
    // Sums for the means: value sum and count per row and quantity.
    struct Sums {
        double train = 0, infer = 0, accuracy = 0, energy = 0, duration = 0;
        int n_train = 0, n_infer = 0, n_accuracy = 0;
        std::optional<double> classes, test_samples;
    };
    std::map<std::size_t, Sums> sums;
    for (const auto& r : records) {
        SummaryRow& row = rows[r.config_index];
        row.config_index = r.config_index;
        row.config = r.config;
        summary.energy_j += r.energy_j;
        summary.run_time_s += r.duration_s;
        summary.co2e_g += r.co2e_g;
        if (!r.energy_source.empty() && summary.energy_sources.find(r.energy_source) == std::string::npos)
            summary.energy_sources += (summary.energy_sources.empty() ? "" : "; ") + r.energy_source;
        if (r.resumed) ++summary.resumed;
        if (r.status != RunStatus::completed) {
            ++row.failed;
            if (r.status == RunStatus::interrupted)
                ++summary.interrupted;
            else
                ++summary.failed;
            continue;
        }
        ++summary.completed;
        ++row.n;
        Sums& s = sums[r.config_index];
        s.energy += r.energy_j;
        s.duration += r.duration_s;
        if (auto v = r.train_j_per_sample()) s.train += *v, ++s.n_train;
        if (auto v = r.infer_j_per_sample()) s.infer += *v, ++s.n_infer;
        if (r.accuracy) s.accuracy += *r.accuracy, ++s.n_accuracy;
        if (r.classes) s.classes = r.classes;
        if (r.infer_samples) s.test_samples = static_cast<double>(*r.infer_samples);
    }
    summary.not_run = static_cast<int>(planned) - static_cast<int>(records.size());
    for (auto& [index, row] : rows) {
        if (row.n > 0) {
            const Sums& s = sums[index];
            row.energy_j = s.energy / row.n;
            row.duration_s = s.duration / row.n;
            if (s.n_train > 0) row.train_j_per_sample = s.train / s.n_train;
            if (s.n_infer > 0) row.infer_j_per_sample = s.infer / s.n_infer;
            if (s.n_accuracy > 0) row.accuracy = s.accuracy / s.n_accuracy;
            if (s.classes && *s.classes >= 2)
                row.chance_limit = analysis::chance_accuracy_limit(*s.classes, s.test_samples);
            row.at_chance = analysis::at_chance_accuracy(row.accuracy, s.classes, s.test_samples);
            if (row.at_chance) ++summary.at_chance;
        }
        summary.rows.push_back(std::move(row));
    }
    return summary;
}

namespace {

std::string optional_text(const std::optional<double>& value, double scale, int decimals) {
    return value ? format_number(*value * scale, decimals) : "-";
}

}  // namespace

void print_study_summary(std::ostream& out, const StudySummary& summary) {
    out << "\njoulecast study \"" << summary.name << "\": " << summary.completed << " of " << summary.planned
        << " runs completed";
    if (summary.failed) out << ", " << summary.failed << " failed";
    if (summary.interrupted) out << ", " << summary.interrupted << " interrupted";
    if (summary.not_run > 0) out << ", " << summary.not_run << " not run";
    if (summary.resumed) out << " (" << summary.resumed << " from earlier invocations)";
    out << "\n\n";

    std::vector<std::string> header = summary.columns;
    for (const char* h : {"n", "train mJ/sample", "infer mJ/sample", "accuracy", "energy J", "time s"})
        header.emplace_back(h);
    std::vector<std::vector<std::string>> table;
    for (const auto& row : summary.rows) {
        std::vector<std::string> cells;
        for (const auto& key : summary.columns) {
            const std::string* value = row.config.find(key);
            cells.push_back(value ? *value : "-");
        }
        cells.push_back(std::to_string(row.n) +
                        (row.failed ? " (" + std::to_string(row.failed) + " failed)" : ""));
        cells.push_back(optional_text(row.train_j_per_sample, 1e3, 3));
        cells.push_back(optional_text(row.infer_j_per_sample, 1e3, 3));
        cells.push_back(optional_text(row.accuracy, 1, 3) + (row.at_chance ? " CHANCE" : ""));
        cells.push_back(optional_text(row.energy_j, 1, 1));
        cells.push_back(optional_text(row.duration_s, 1, 1));
        table.push_back(std::move(cells));
    }
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& cells : table) width[c] = std::max(width[c], cells[c].size());
    }
    // Configuration columns align left, numbers right.
    auto print_row = [&](const std::vector<std::string>& cells) {
        out << " ";
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const std::string pad(width[c] - cells[c].size(), ' ');
            out << "  " << (c < summary.columns.size() ? cells[c] + pad : pad + cells[c]);
        }
        out << '\n';
    };
    print_row(header);
    for (const auto& cells : table) print_row(cells);
    out << "\n  per sample: E_tr / samples trained, E_in / samples inferred (gross, every domain); means "
           "over completed runs\n";
    if (summary.at_chance > 0) {
        std::optional<double> limit;
        for (const auto& row : summary.rows)
            if (row.at_chance) limit = row.chance_limit;
        out << "  CHANCE: " << summary.at_chance << " configuration" << (summary.at_chance == 1 ? "" : "s")
            << " no better than guessing (accuracy at most "
            << (limit ? format_number(*limit, 3) : std::string("?"))
            << ": 1.5 / classes, or the 99.9% binomial bound above 1 / classes for the test size); never "
               "recommended by the analysis or the report\n";
    }
    if (!summary.energy_sources.empty()) out << "  energy: " << summary.energy_sources << '\n';
    out << "  total: " << format_number(summary.energy_j, 1) << " J over " << format_clock(summary.run_time_s)
        << " of runs (wall time " << format_clock(summary.wall_s) << "), " << format_number(summary.co2e_g, 3)
        << " gCO2e";
    if (!summary.carbon_source.empty()) out << " (" << summary.carbon_source << ")";
    out << '\n';
}

namespace {

nlohmann::ordered_json config_json(const GridPoint& config) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [key, value] : config.values) j[key] = value;
    return j;
}

}  // namespace

nlohmann::ordered_json to_json(const StudySummary& summary, const std::vector<RunRecord>& records) {
    nlohmann::ordered_json j;
    j["schema"] = study_schema;
    j["name"] = summary.name;
    j["source"] = summary.source;
    j["totals"] = {{"planned", summary.planned},
                   {"completed", summary.completed},
                   {"failed", summary.failed},
                   {"interrupted", summary.interrupted},
                   {"not_run", summary.not_run},
                   {"resumed", summary.resumed},
                   {"at_chance", summary.at_chance},
                   {"energy_j", summary.energy_j},
                   {"run_time_s", summary.run_time_s},
                   {"wall_s", summary.wall_s},
                   {"co2e_g", summary.co2e_g},
                   {"carbon_source", summary.carbon_source},
                   {"energy_sources", summary.energy_sources}};
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const auto& row : summary.rows)
        rows.push_back({{"config", config_json(row.config)},
                        {"config_hash", row.config.hash},
                        {"n", row.n},
                        {"failed", row.failed},
                        {"train_energy_per_sample_j", optional_json(row.train_j_per_sample)},
                        {"infer_energy_per_sample_j", optional_json(row.infer_j_per_sample)},
                        {"accuracy", optional_json(row.accuracy)},
                        {"at_chance", row.at_chance},
                        {"chance_accuracy_limit", optional_json(row.chance_limit)},
                        {"energy_j", optional_json(row.energy_j)},
                        {"duration_s", optional_json(row.duration_s)}});
    j["rows"] = rows;
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    for (const auto& r : records) {
        auto samples = [](const std::optional<long long>& v) {
            return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
        };
        runs.push_back(
            {{"id", r.run_id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.run_id)},
             {"config", config_json(r.config)},
             {"config_hash", r.config.hash},
             {"repeat", r.repeat},
             {"status", to_string(r.status)},
             {"exit_code", r.exit_code},
             {"resumed", r.resumed},
             {"error", r.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.error)},
             {"duration_s", r.duration_s},
             {"energy_j", r.energy_j},
             {"energy_source", r.energy_source},
             {"co2e_g", r.co2e_g},
             {"training_energy_j", optional_json(r.training_energy_j)},
             {"train_samples", samples(r.train_samples)},
             {"inference_energy_j", optional_json(r.inference_energy_j)},
             {"infer_samples", samples(r.infer_samples)},
             {"accuracy", optional_json(r.accuracy)}});
    }
    j["runs"] = runs;
    return j;
}

}  // namespace joulecast::study
