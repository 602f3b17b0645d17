#pragma once
// Grid carbon intensity, data-centre overhead (PUE) and the carbon arithmetic.
//
// Intensities come from the tables compiled into the binary (data/carbon_intensity_by_country.csv and
// data/cloud_region_intensity.csv; see data/SOURCES.md), from the user (--intensity), or from the world
// average below. Nothing is looked up over the network.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joulecast::carbon {

/// World average grid carbon intensity in 2022, in gCO2e per kWh: "a record low of 436 gCO2/kWh" in Ember's
/// Global Electricity Review 2023 (12 April 2023). Used when no country, region or intensity is given; the
/// tables have no world row.
inline constexpr double world_average_g_per_kwh = 436.0;
inline constexpr std::string_view world_average_source =
    "world average (2022, Ember Global Electricity Review 2023)";

/// Accepted ranges: an intensity in (0, 2000] gCO2e/kWh, a PUE in [1.0, 3.0].
inline constexpr double max_intensity_g_per_kwh = 2000.0;
inline constexpr double min_pue = 1.0;
inline constexpr double max_pue = 3.0;

/// One row of data/carbon_intensity_by_country.csv.
struct CountryIntensity {
    std::string iso3;      ///< ISO 3166 alpha-3, upper case, e.g. "FRA"
    std::string country;   ///< e.g. "France"
    double g_per_kwh = 0;  ///< gCO2e per kWh
    int year = 0;          ///< year of the figure
};

/// One row of data/cloud_region_intensity.csv.
struct RegionIntensity {
    std::string provider;  ///< e.g. "gcp"
    std::string region;    ///< e.g. "europe-west1"
    std::string iso3;      ///< country of the region, e.g. "BEL"
    double g_per_kwh = 0;  ///< gCO2e per kWh, the provider's published figure
};

/// All countries / all cloud regions in table order (for listings such as `joulecast carbon`).
/// Rows whose number does not parse are left out.
std::vector<CountryIntensity> country_intensities();
std::vector<RegionIntensity> region_intensities();

/// What the user asked for; every field is optional.
struct CarbonOptions {
    std::optional<std::string> country;  ///< --country: ISO3 code (any case) or an exact country name
    std::optional<std::string> region;   ///< --region: "provider:region", e.g. "gcp:europe-west1" (any case)
    std::optional<double> intensity_g_per_kwh;  ///< --intensity, gCO2e per kWh
    std::optional<double> pue;                  ///< --pue, power usage effectiveness (facility / IT energy)
};

/// The figures a run's carbon is computed with, each with a readable statement of where it came from.
struct CarbonSetting {
    double intensity_g_per_kwh = world_average_g_per_kwh;  ///< gCO2e per kWh
    /// e.g. "--intensity", "region gcp:europe-west1 (BEL, ...)",
    /// "country FRA France (2023, Our World in Data via data/carbon_intensity_by_country.csv)",
    /// "JOULECAST_COUNTRY=FRA: country FRA France (...)", or world_average_source.
    std::string source;
    double pue = 1.0;
    std::string pue_source;  ///< "--pue" or "default 1.0 (no data-centre overhead assumed; set --pue)"
};

/// Picks the intensity by precedence: --intensity, then --region, then --country, then the environment
/// variable JOULECAST_COUNTRY (env_country: its value, or null when unset; an empty value counts as unset),
/// then the world average. Every option given is validated, even one that a higher one overrides;
/// JOULECAST_COUNTRY only when it is used.
/// Throws UsageError, with close matches or the valid choices, for: an unknown country (option or variable),
/// a region without a colon, an unknown provider or region, an intensity outside (0, 2000] gCO2e/kWh, a PUE
/// outside [1.0, 3.0].
CarbonSetting resolve_carbon(const CarbonOptions& options, const char* env_country);

/// Carbon emitted for energy_j joules of IT energy, in grams CO2e: kWh × PUE × intensity.
double co2e_g(double energy_j, const CarbonSetting& setting);
/// The same from the figures alone: energy_j / 3.6e6 × PUE × intensity, grams.
double co2e_g(double energy_j, double intensity_g_per_kwh, double pue);

}  // namespace joulecast::carbon
