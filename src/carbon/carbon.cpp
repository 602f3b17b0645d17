#include "carbon/carbon.hpp"

#include "core/units.hpp"

#include <algorithm>
#include <sstream>

#include "core/data_tables.hpp"
#include "core/format.hpp"
#include "core/result.hpp"
#include "core/text.hpp"

namespace joulecast::carbon {

using core::co2e_grams;
using core::CsvTable;
using core::format_significant;
using core::parse_csv;
using core::parse_double;
using core::parse_int;
using core::to_lower;
using core::trim;
using core::UsageError;

namespace {

constexpr std::size_t max_suggestions = 5;

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

// Levenshtein distance; inputs are short (codes, names, region ids).
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

// A typo budget that grows a little with the length of what was typed.
std::size_t typo_budget(std::string_view typed) {
    return typed.size() <= 4 ? 1 : 2;
}

// Up to max_suggestions labels, closest first, table order among equals.
std::vector<std::string> closest(std::vector<std::pair<std::size_t, std::string>> scored) {
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::string> labels;
    for (auto& [score, label] : scored) {
        if (labels.size() == max_suggestions) break;
        labels.push_back(std::move(label));
    }
    return labels;
}

std::string country_source(const CountryIntensity& row) {
    return "country " + row.iso3 + " " + row.country + " (" + std::to_string(row.year) +
           ", Our World in Data via data/carbon_intensity_by_country.csv)";
}

// what: "--country" or "JOULECAST_COUNTRY", for the message.
CountryIntensity find_country(std::string_view typed, std::string_view what) {
    const auto rows = country_intensities();
    const std::string key = to_lower(trim(typed));
    for (const auto& row : rows) {
        if (key == to_lower(row.iso3) || key == to_lower(row.country)) return row;
    }
    std::vector<std::pair<std::size_t, std::string>> scored;
    for (const auto& row : rows) {
        const std::string name = to_lower(row.country);
        std::size_t score = std::min(edit_distance(key, to_lower(row.iso3)), edit_distance(key, name));
        if (key.size() >= 3 && name.find(key) != std::string::npos) score = 0;
        if (score <= typo_budget(key)) scored.emplace_back(score, row.iso3 + " (" + row.country + ")");
    }
    const auto suggestions = closest(std::move(scored));
    std::string message = "unknown country '" + std::string(typed) + "' in " + std::string(what) +
                          ": expected an ISO 3166 alpha-3 code such as FRA or a country name such as France";
    if (suggestions.empty()) {
        message += "; nothing close among the " + std::to_string(rows.size()) + " countries in the table";
    } else {
        message += ". Did you mean " + join(suggestions, ", ") + "?";
    }
    throw UsageError(message);
}

CarbonSetting region_setting(std::string_view typed) {
    const auto rows = region_intensities();
    std::vector<std::string> providers;
    for (const auto& row : rows) {
        if (std::find(providers.begin(), providers.end(), row.provider) == providers.end()) {
            providers.push_back(row.provider);
        }
    }
    const std::string text(trim(typed));
    const auto colon = text.find(':');
    const std::string provider = colon == std::string::npos ? "" : to_lower(trim(text.substr(0, colon)));
    const std::string region = colon == std::string::npos ? "" : to_lower(trim(text.substr(colon + 1)));
    if (provider.empty() || region.empty()) {
        throw UsageError(
            "malformed --region '" + text +
            "': expected provider:region, e.g. gcp:europe-west1 (providers: " + join(providers, ", ") + ")");
    }
    if (std::find(providers.begin(), providers.end(), provider) == providers.end()) {
        throw UsageError("unknown cloud provider '" + provider + "' in --region " + text +
                         ": known providers: " + join(providers, ", ") +
                         " (for another provider, give --country or --intensity)");
    }
    std::vector<std::string> names;
    std::vector<std::pair<std::size_t, std::string>> scored;
    for (const auto& row : rows) {
        if (row.provider != provider) continue;
        if (to_lower(row.region) == region) {
            return {row.g_per_kwh,
                    "region " + row.provider + ":" + row.region + " (" + row.iso3 +
                        ", provider figure via data/cloud_region_intensity.csv)",
                    1.0, ""};
        }
        names.push_back(row.region);
        const std::size_t score = edit_distance(region, to_lower(row.region));
        if (score <= typo_budget(region)) scored.emplace_back(score, row.region);
    }
    const auto suggestions = closest(std::move(scored));
    std::string message = "unknown region '" + region + "' of provider " + provider + " in --region " + text;
    message += suggestions.empty() ? "." : ". Did you mean " + join(suggestions, ", ") + "?";
    message += " " + provider + " regions: " + join(names, ", ");
    throw UsageError(message);
}

}  // namespace

std::vector<CountryIntensity> country_intensities() {
    const CsvTable table = parse_csv(core::data::carbon_intensity_by_country);
    const int iso3 = table.column("iso3"), country = table.column("country");
    const int intensity = table.column("gco2e_per_kwh"), year = table.column("year");
    std::vector<CountryIntensity> rows;
    if (iso3 < 0 || country < 0 || intensity < 0 || year < 0) return rows;
    for (const auto& fields : table.rows) {
        const auto g = parse_double(fields[intensity]);
        const auto y = parse_int(fields[year]);
        if (!g || !y) continue;
        rows.push_back(
            {std::string(trim(fields[iso3])), std::string(trim(fields[country])), *g, static_cast<int>(*y)});
    }
    return rows;
}

std::vector<RegionIntensity> region_intensities() {
    const CsvTable table = parse_csv(core::data::cloud_region_intensity);
    const int provider = table.column("provider"), region = table.column("region");
    const int iso3 = table.column("iso3"), intensity = table.column("gco2e_per_kwh");
    std::vector<RegionIntensity> rows;
    if (provider < 0 || region < 0 || iso3 < 0 || intensity < 0) return rows;
    for (const auto& fields : table.rows) {
        const auto g = parse_double(fields[intensity]);
        if (!g) continue;
        rows.push_back({to_lower(trim(fields[provider])), std::string(trim(fields[region])),
                        std::string(trim(fields[iso3])), *g});
    }
    return rows;
}

CarbonSetting resolve_carbon(const CarbonOptions& options, const char* env_country) {
    // Validate every option given, so that a typo is reported even where a higher option wins.
    if (options.intensity_g_per_kwh) {
        const double g = *options.intensity_g_per_kwh;
        if (!(g > 0 && g <= max_intensity_g_per_kwh)) {
            throw UsageError("--intensity must be a grid carbon intensity in gCO2e/kWh above 0 and at most " +
                             format_significant(max_intensity_g_per_kwh, 6) + "; got " +
                             format_significant(g, 6));
        }
    }
    if (options.pue) {
        const double pue = *options.pue;
        if (!(pue >= min_pue && pue <= max_pue)) {
            throw UsageError("--pue must be between 1.0 and 3.0 (data-centre energy / IT energy); got " +
                             format_significant(pue, 6));
        }
    }
    std::optional<CarbonSetting> from_region;
    if (options.region) from_region = region_setting(*options.region);
    std::optional<CountryIntensity> from_country;
    if (options.country) from_country = find_country(*options.country, "--country");

    CarbonSetting setting;
    if (options.intensity_g_per_kwh) {
        setting.intensity_g_per_kwh = *options.intensity_g_per_kwh;
        setting.source = "--intensity";
    } else if (from_region) {
        setting = *from_region;
    } else if (from_country) {
        setting.intensity_g_per_kwh = from_country->g_per_kwh;
        setting.source = country_source(*from_country);
    } else if (env_country != nullptr && !trim(env_country).empty()) {
        const auto row = find_country(env_country, "JOULECAST_COUNTRY");
        setting.intensity_g_per_kwh = row.g_per_kwh;
        setting.source = "JOULECAST_COUNTRY=" + std::string(trim(env_country)) + ": " + country_source(row);
    } else {
        setting.intensity_g_per_kwh = world_average_g_per_kwh;
        setting.source = std::string(world_average_source);
    }

    if (options.pue) {
        setting.pue = *options.pue;
        setting.pue_source = "--pue";
    } else {
        setting.pue = 1.0;
        setting.pue_source = "default 1.0 (no data-centre overhead assumed; set --pue)";
    }
    return setting;
}

double co2e_g(double energy_j, double intensity_g_per_kwh, double pue) {
    return co2e_grams(energy_j, intensity_g_per_kwh, pue);
}

double co2e_g(double energy_j, const CarbonSetting& setting) {
    return co2e_g(energy_j, setting.intensity_g_per_kwh, setting.pue);
}

}  // namespace joulecast::carbon
