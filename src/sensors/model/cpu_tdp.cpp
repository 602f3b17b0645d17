#include "sensors/model/cpu_tdp.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>

#include "core/data_tables.hpp"
#include "core/text.hpp"

namespace joulecast {

namespace {

bool has_digit(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool has_letter(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isalpha(c) != 0; });
}

/// "2.80ghz", "3ghz": a clock, which some table names carry instead of a part number.
bool is_clock_word(std::string_view word) {
    if (word.size() < 4 || word.substr(word.size() - 3) != "ghz") return false;
    return std::all_of(word.begin(), word.end() - 3,
                       [](unsigned char c) { return std::isdigit(c) != 0 || c == '.'; });
}

/// "64-core", "8-core": the core count that AMD appends to its model names.
bool is_core_count_word(std::string_view word) {
    auto dash = word.find("-core");
    if (dash == std::string_view::npos || dash == 0 || dash + 5 != word.size()) return false;
    return std::all_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(dash),
                       [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string join(const std::vector<std::string>& words, std::size_t from, std::size_t count) {
    std::string out;
    for (std::size_t i = from; i < from + count; ++i) {
        if (i > from) out += ' ';
        out += words[i];
    }
    return out;
}

}  // namespace

std::string normalise_cpu_name(std::string_view name) {
    std::string text(name);
    // Trademark signs as UTF-8 bytes.
    for (std::string_view sign : {std::string_view("\xC2\xAE"), std::string_view("\xE2\x84\xA2")})
        for (auto at = text.find(sign); at != std::string::npos; at = text.find(sign))
            text.replace(at, sign.size(), " ");
    if (auto at = text.find('@'); at != std::string::npos) text.erase(at);
    text = to_lower(text);

    // Parenthesised remarks: "(R)", "(TM)", and in the tables "(OEM Only)", "(95W)".
    std::string plain;
    int depth = 0;
    for (char c : text) {
        if (c == '(') {
            ++depth;
            plain += ' ';
        } else if (c == ')') {
            if (depth > 0) --depth;
            plain += ' ';
        } else if (depth == 0) {
            plain += (c == ',' || std::isspace(static_cast<unsigned char>(c))) ? ' ' : c;
        }
    }

    std::string out;
    for (const auto& word : split(plain, ' ')) {
        if (word.empty() || word == "cpu" || word == "processor" || is_core_count_word(word) ||
            is_clock_word(word))
            continue;
        if (!out.empty()) out += ' ';
        out += word;
    }
    return out;
}

CpuTdpTables::CpuTdpTables(std::string_view tdp_csv, std::string_view tdp_cores_csv) {
    const CsvTable tdp = parse_csv(tdp_csv);
    const int tdp_name = tdp.column("name");
    const int tdp_watts = tdp.column("tdp_w");
    if (tdp_name >= 0 && tdp_watts >= 0) {
        for (const auto& row : tdp.rows) {
            auto watts = parse_double(row[static_cast<std::size_t>(tdp_watts)]);
            const std::string name(trim(row[static_cast<std::size_t>(tdp_name)]));
            if (!watts || *watts <= 0 || name.empty()) continue;
            m_tdp.try_emplace(normalise_cpu_name(name), Entry{name, *watts, std::nullopt});
        }
    }

    const CsvTable cores = parse_csv(tdp_cores_csv);
    const int cores_name = cores.column("Name");
    const int cores_count = cores.column("Cores");
    const int cores_watts = cores.column("TDP");
    std::vector<double> per_core;
    if (cores_name >= 0 && cores_count >= 0 && cores_watts >= 0) {
        for (const auto& row : cores.rows) {
            auto watts = parse_double(row[static_cast<std::size_t>(cores_watts)]);
            auto count = parse_int(row[static_cast<std::size_t>(cores_count)]);
            const std::string name(trim(row[static_cast<std::size_t>(cores_name)]));
            if (!watts || *watts <= 0 || name.empty()) continue;
            std::optional<unsigned> known;
            if (count && *count > 0 && *count < 100000) {
                known = static_cast<unsigned>(*count);
                per_core.push_back(*watts / static_cast<double>(*count));
            }
            m_cores.try_emplace(normalise_cpu_name(name), Entry{name, *watts, known});
        }
    }
    m_cores_rows = per_core.size();
    if (!per_core.empty()) {
        std::sort(per_core.begin(), per_core.end());
        const std::size_t mid = per_core.size() / 2;
        m_median_watts_per_core =
            per_core.size() % 2 == 1 ? per_core[mid] : (per_core[mid - 1] + per_core[mid]) / 2;
    }
}

CpuTdpTables CpuTdpTables::builtin() {
    return CpuTdpTables(data::cpu_tdp, data::cpu_tdp_cores);
}

std::optional<CpuTdpMatch> CpuTdpTables::find(std::string_view model_name) const {
    const std::string normalised = normalise_cpu_name(model_name);
    const auto words = split(normalised, ' ');
    if (normalised.empty()) return std::nullopt;

    // Every run of whole words is a candidate; rank: whole name first, then the longest text, then
    // cpu_tdp.csv before cpu_tdp_cores.csv.
    std::optional<CpuTdpMatch> best;
    std::tuple<bool, std::size_t, bool> best_rank{};
    for (std::size_t count = words.size(); count >= 1; --count) {
        for (std::size_t from = 0; from + count <= words.size(); ++from) {
            const std::string part = join(words, from, count);
            const bool exact = count == words.size();
            if (!has_digit(part)) continue;                           // "intel xeon": a family, not a part
            if (!exact && count == 1 && !has_letter(part)) continue;  // "3280" inside a longer name
            for (bool main_table : {true, false}) {
                const Index& index = main_table ? m_tdp : m_cores;
                auto hit = index.find(part);
                if (hit == index.end()) continue;
                std::tuple<bool, std::size_t, bool> rank{exact, part.size(), main_table};
                if (best && rank <= best_rank) continue;
                best_rank = rank;
                best = CpuTdpMatch{hit->second.tdp_w, hit->second.cores, hit->second.name,
                                   main_table ? "cpu_tdp.csv" : "cpu_tdp_cores.csv", exact};
                if (main_table) {
                    auto with_cores = m_cores.find(part);
                    if (with_cores != m_cores.end()) best->cores = with_cores->second.cores;
                }
            }
        }
    }
    return best;
}

}  // namespace joulecast
