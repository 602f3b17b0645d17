#include "sensors/model/cpu_tdp.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/data_tables.hpp"
#include "core/text.hpp"

namespace joulecast::sensors {

using core::parse_csv;
using core::parse_double;
using core::parse_int;
using core::split;
using core::to_lower;
using core::trim;

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

/// A CSV text cut into the records parse_csv() would read, without parsing it: only the quoted fields are
/// located (a newline inside one does not end its record), jumping from quote to quote.
class CsvRecords {
public:
    explicit CsvRecords(std::string_view text) : m_text(text) {
        // parse_csv's rules: a quote opens a quoted field only at the start of a field (after ',', a line
        // end or the start of the text; '\r' is skipped); inside, "" is a quote and a lone quote closes it.
        std::size_t from = 0;
        bool field_started = false;  // at `from`
        while (true) {
            const std::size_t quote = text.find('"', from);
            if (quote == std::string_view::npos) break;
            bool started = field_started;
            for (std::size_t i = quote; i > from; --i) {
                const char c = text[i - 1];
                if (c == '\r') continue;
                started = c != ',' && c != '\n';
                break;
            }
            if (started) {  // a quote inside an unquoted field is text
                from = quote + 1;
                field_started = true;
                continue;
            }
            std::size_t close = quote + 1;
            while (true) {
                close = text.find('"', close);
                if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != '"')
                    break;
                close += 2;
            }
            if (close == std::string_view::npos) {
                m_quoted.emplace_back(quote, text.size());
                break;
            }
            m_quoted.emplace_back(quote, close);
            from = close + 1;
            field_started = true;
        }
    }

    /// The record that holds the byte at `at`: [begin, end), end at its newline or at the end of the text.
    std::pair<std::size_t, std::size_t> record_at(std::size_t at) const {
        std::size_t begin = at;
        while (begin > 0) {
            const std::size_t newline = m_text.rfind('\n', begin - 1);
            if (newline == std::string_view::npos) {
                begin = 0;
                break;
            }
            begin = newline;
            if (!quoted(newline)) {
                ++begin;
                break;
            }
        }
        std::size_t end = at;
        while (true) {
            end = m_text.find('\n', end);
            if (end == std::string_view::npos) return {begin, m_text.size()};
            if (!quoted(end)) return {begin, end};
            ++end;
        }
    }

    /// The fields of the record [begin, end), as parse_csv() reads them; empty for a blank record.
    std::vector<std::string> fields(std::pair<std::size_t, std::size_t> record) const {
        return parse_csv(m_text.substr(record.first, record.second - record.first)).header;
    }

    std::string_view text() const { return m_text; }

private:
    bool quoted(std::size_t at) const {
        auto after = std::upper_bound(m_quoted.begin(), m_quoted.end(), at,
                                      [](std::size_t value, const auto& span) { return value < span.first; });
        return after != m_quoted.begin() && at < std::prev(after)->second;
    }

    std::string_view m_text;
    std::vector<std::pair<std::size_t, std::size_t>> m_quoted;  ///< [opening quote, closing quote)
};

/// Starts of the places where `word` (lower case, no quote) appears in `text`, ignoring case. The search
/// runs for the longest run of the word without letters (it has a digit, so one exists), which case
/// does not change, and checks the whole word around each hit.
std::vector<std::size_t> find_ignoring_case(std::string_view text, std::string_view word) {
    std::size_t anchor_at = 0, anchor_size = 0;
    for (std::size_t i = 0; i < word.size();) {
        std::size_t j = i;
        while (j < word.size() && !std::isalpha(static_cast<unsigned char>(word[j]))) ++j;
        if (j - i > anchor_size) {
            anchor_at = i;
            anchor_size = j - i;
        }
        i = j + 1;
    }
    std::vector<std::size_t> hits;
    if (anchor_size == 0) return hits;
    const std::string_view anchor = word.substr(anchor_at, anchor_size);
    for (std::size_t at = text.find(anchor); at != std::string_view::npos; at = text.find(anchor, at + 1)) {
        if (at < anchor_at || at - anchor_at + word.size() > text.size()) continue;
        const std::size_t start = at - anchor_at;
        bool same = true;
        for (std::size_t i = 0; i < word.size() && same; ++i)
            same = static_cast<char>(std::tolower(static_cast<unsigned char>(text[start + i]))) == word[i];
        if (same) hits.push_back(start);
    }
    return hits;
}

struct Entry {
    std::string name;
    double tdp_w = 0;
    std::optional<unsigned> cores;
};
using Index = std::unordered_map<std::string, Entry>;  // normalised name -> first row of that name

enum class TableKind { tdp, cores };

/// The rows of one table that may match a model whose normalised name has the words `digit_words`: every
/// row whose text holds one of them (all rows when `all`), in table order, so the first row of a normalised
/// name still wins. A table name that equals a run of the model's words holds one of those words, so no
/// row that could match is left out. `per_core` (when given) receives TDP / cores of every row read.
Index index_rows(std::string_view csv, TableKind kind, const std::vector<std::string>& digit_words, bool all,
                 std::vector<double>* per_core = nullptr) {
    Index index;
    const CsvRecords records(csv);

    // The header is the first record that is not blank.
    std::vector<std::string> header;
    std::size_t header_end = 0;
    while (header_end < csv.size()) {
        auto record = records.record_at(header_end);
        header = records.fields(record);
        header_end = record.second + 1;
        if (!header.empty()) break;
    }
    auto column = [&](std::string_view name) {
        auto it = std::find(header.begin(), header.end(), name);
        return it == header.end() ? -1 : static_cast<int>(it - header.begin());
    };
    const int name_column = column(kind == TableKind::tdp ? "name" : "Name");
    const int watts_column = column(kind == TableKind::tdp ? "tdp_w" : "TDP");
    const int cores_column = kind == TableKind::cores ? column("Cores") : 0;
    if (name_column < 0 || watts_column < 0 || cores_column < 0 || header_end >= csv.size()) return index;

    std::vector<std::size_t> starts;  // record starts, in table order
    if (all) {
        for (std::size_t at = header_end; at < csv.size();) {
            auto record = records.record_at(at);
            starts.push_back(record.first);
            at = record.second + 1;
        }
    } else {
        for (const auto& word : digit_words)
            for (std::size_t hit : find_ignoring_case(csv.substr(header_end), word))
                starts.push_back(records.record_at(header_end + hit).first);
        std::sort(starts.begin(), starts.end());
        starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    }

    for (std::size_t start : starts) {
        auto row = records.fields(records.record_at(start));
        if (row.empty()) continue;  // a blank record, which parse_csv skips
        if (row.size() < header.size()) row.resize(header.size());
        auto watts = parse_double(row[static_cast<std::size_t>(watts_column)]);
        const std::string name(trim(row[static_cast<std::size_t>(name_column)]));
        if (!watts || *watts <= 0 || name.empty()) continue;
        std::optional<unsigned> known;
        if (kind == TableKind::cores) {
            auto count = parse_int(row[static_cast<std::size_t>(cores_column)]);
            if (count && *count > 0 && *count < 100000) {
                known = static_cast<unsigned>(*count);
                if (per_core) per_core->push_back(*watts / static_cast<double>(*count));
            }
        }
        index.try_emplace(normalise_cpu_name(name), Entry{name, *watts, known});
    }
    return index;
}

std::vector<double> watts_per_core(std::string_view cores_csv) {
    std::vector<double> per_core;
    index_rows(cores_csv, TableKind::cores, {}, true, &per_core);
    return per_core;
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

CpuTdpTables::CpuTdpTables(std::string_view tdp_csv, std::string_view tdp_cores_csv)
    : m_tdp_csv(tdp_csv), m_cores_csv(tdp_cores_csv) {}

CpuTdpTables CpuTdpTables::builtin() {
    CpuTdpTables tables;
    tables.m_builtin = true;
    return tables;
}

std::string_view CpuTdpTables::tdp_csv() const {
    return m_builtin ? core::data::cpu_tdp : std::string_view(m_tdp_csv);
}

std::string_view CpuTdpTables::cores_csv() const {
    return m_builtin ? core::data::cpu_tdp_cores : std::string_view(m_cores_csv);
}

double CpuTdpTables::median_watts_per_core() const {
    std::vector<double> per_core = watts_per_core(cores_csv());
    if (per_core.empty()) return 0;
    std::sort(per_core.begin(), per_core.end());
    const std::size_t mid = per_core.size() / 2;
    return per_core.size() % 2 == 1 ? per_core[mid] : (per_core[mid - 1] + per_core[mid]) / 2;
}

std::size_t CpuTdpTables::cores_rows() const {
    return watts_per_core(cores_csv()).size();
}

std::optional<CpuTdpMatch> CpuTdpTables::find(std::string_view model_name) const {
    const std::string normalised = normalise_cpu_name(model_name);
    const auto words = split(normalised, ' ');
    if (normalised.empty()) return std::nullopt;

    // Every candidate below has a digit, so it holds one of these words; without one, nothing can match.
    std::vector<std::string> digit_words;
    bool quote = false;
    for (const auto& word : words) {
        if (!has_digit(word) || std::find(digit_words.begin(), digit_words.end(), word) != digit_words.end())
            continue;
        digit_words.push_back(word);
        // A quote is doubled in a quoted CSV field, so the word may not appear as such: read every row.
        quote = quote || word.find('"') != std::string::npos;
    }
    if (digit_words.empty()) return std::nullopt;
    const Index tdp = index_rows(tdp_csv(), TableKind::tdp, digit_words, quote);
    const Index cores = index_rows(cores_csv(), TableKind::cores, digit_words, quote);

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
                const Index& index = main_table ? tdp : cores;
                auto hit = index.find(part);
                if (hit == index.end()) continue;
                std::tuple<bool, std::size_t, bool> rank{exact, part.size(), main_table};
                if (best && rank <= best_rank) continue;
                best_rank = rank;
                best = CpuTdpMatch{hit->second.tdp_w, hit->second.cores, hit->second.name,
                                   main_table ? "cpu_tdp.csv" : "cpu_tdp_cores.csv", exact};
                if (main_table) {
                    auto with_cores = cores.find(part);
                    if (with_cores != cores.end()) best->cores = with_cores->second.cores;
                }
            }
        }
    }
    return best;
}

}  // namespace joulecast::sensors
