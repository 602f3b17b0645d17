#include "carbon/carbon.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/result.hpp"

namespace joulecast::carbon {

using core::UsageError;

namespace {

// The UsageError message of resolve_carbon, or "" when it does not throw.
std::string usage_error(const CarbonOptions& options, const char* env_country = nullptr) {
    try {
        resolve_carbon(options, env_country);
    } catch (const UsageError& error) {
        return error.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(CarbonTables, HoldsKnownRows) {
    const auto countries = country_intensities();
    EXPECT_EQ(countries.size(), 213u);
    bool found_france = false, found_norway = false;
    for (const auto& row : countries) {
        if (row.iso3 == "FRA") {
            found_france = true;
            EXPECT_EQ(row.country, "France");
            EXPECT_DOUBLE_EQ(row.g_per_kwh, 56.039);
            EXPECT_EQ(row.year, 2023);
        }
        if (row.iso3 == "NOR") {
            found_norway = true;
            EXPECT_DOUBLE_EQ(row.g_per_kwh, 30.08);
        }
    }
    EXPECT_TRUE(found_france);
    EXPECT_TRUE(found_norway);

    const auto regions = region_intensities();
    ASSERT_EQ(regions.size(), 40u);
    EXPECT_EQ(regions[0].provider, "gcp");
    EXPECT_EQ(regions[0].region, "africa-south1");
    EXPECT_EQ(regions[0].iso3, "ZAF");
    EXPECT_DOUBLE_EQ(regions[0].g_per_kwh, 646.0);
}

TEST(CarbonResolve, WorldAverageByDefault) {
    const auto setting = resolve_carbon({}, nullptr);
    EXPECT_DOUBLE_EQ(setting.intensity_g_per_kwh, 436.0);
    EXPECT_TRUE(contains(setting.source, "world average")) << setting.source;
    EXPECT_TRUE(contains(setting.source, "Ember")) << setting.source;
    EXPECT_DOUBLE_EQ(setting.pue, 1.0);
    EXPECT_EQ(setting.pue_source, "default 1.0 (no data-centre overhead assumed; set --pue)");
    // An empty JOULECAST_COUNTRY counts as unset.
    EXPECT_DOUBLE_EQ(resolve_carbon({}, "").intensity_g_per_kwh, 436.0);
}

TEST(CarbonResolve, EnvironmentCountry) {
    const auto setting = resolve_carbon({}, "usa");
    EXPECT_DOUBLE_EQ(setting.intensity_g_per_kwh, 369.473);
    EXPECT_EQ(setting.source,
              "JOULECAST_COUNTRY=usa: country USA United States (2023, Our World in Data via "
              "data/carbon_intensity_by_country.csv)");
}

TEST(CarbonResolve, CountryBeatsEnvironment) {
    CarbonOptions options;
    options.country = "FRA";
    const auto setting = resolve_carbon(options, "USA");
    EXPECT_DOUBLE_EQ(setting.intensity_g_per_kwh, 56.039);
    EXPECT_EQ(setting.source,
              "country FRA France (2023, Our World in Data via data/carbon_intensity_by_country.csv)");
}

TEST(CarbonResolve, RegionBeatsCountry) {
    CarbonOptions options;
    options.country = "FRA";
    options.region = "gcp:europe-west1";
    const auto setting = resolve_carbon(options, "USA");
    EXPECT_DOUBLE_EQ(setting.intensity_g_per_kwh, 122.0);
    EXPECT_TRUE(contains(setting.source, "region gcp:europe-west1 (BEL")) << setting.source;
}

TEST(CarbonResolve, IntensityBeatsEverything) {
    CarbonOptions options;
    options.country = "FRA";
    options.region = "gcp:europe-west1";
    options.intensity_g_per_kwh = 250.0;
    options.pue = 1.2;
    const auto setting = resolve_carbon(options, "USA");
    EXPECT_DOUBLE_EQ(setting.intensity_g_per_kwh, 250.0);
    EXPECT_EQ(setting.source, "--intensity");
    EXPECT_DOUBLE_EQ(setting.pue, 1.2);
    EXPECT_EQ(setting.pue_source, "--pue");
    // JOULECAST_COUNTRY is not consulted when an option decides.
    EXPECT_NO_THROW(resolve_carbon(options, "nowhere"));
}

TEST(CarbonResolve, CaseInsensitiveCodesNamesAndRegions) {
    for (const char* typed : {"fra", "Fra", " FRA ", "France", "france", "FRANCE"}) {
        CarbonOptions options;
        options.country = typed;
        EXPECT_DOUBLE_EQ(resolve_carbon(options, nullptr).intensity_g_per_kwh, 56.039) << typed;
    }
    CarbonOptions options;
    options.region = "GCP:NorthAmerica-NorthEast1";
    const auto setting = resolve_carbon(options, nullptr);
    EXPECT_DOUBLE_EQ(setting.intensity_g_per_kwh, 2.0);
    EXPECT_TRUE(contains(setting.source, "gcp:northamerica-northeast1 (CAN")) << setting.source;
}

TEST(CarbonArithmetic, KilowattHoursTimesPueTimesIntensity) {
    CarbonSetting setting;
    setting.intensity_g_per_kwh = 500.0;
    setting.pue = 1.5;
    EXPECT_DOUBLE_EQ(co2e_g(3.6e6, setting), 750.0);
    EXPECT_DOUBLE_EQ(co2e_g(0.0, setting), 0.0);
    setting.pue = 1.0;
    setting.intensity_g_per_kwh = 436.0;
    EXPECT_DOUBLE_EQ(co2e_g(1.8e6, setting), 218.0);
}

TEST(CarbonErrors, UnknownCountrySuggestsCloseMatches) {
    CarbonOptions options;
    options.country = "FRX";
    auto message = usage_error(options);
    EXPECT_TRUE(contains(message, "unknown country 'FRX' in --country")) << message;
    EXPECT_TRUE(contains(message, "FRA (France)")) << message;

    options.country = "Frnace";
    message = usage_error(options);
    EXPECT_TRUE(contains(message, "Did you mean FRA (France)")) << message;

    options.country = "united";
    message = usage_error(options);
    EXPECT_TRUE(contains(message, "GBR (United Kingdom)")) << message;
    EXPECT_TRUE(contains(message, "USA (United States)")) << message;

    options.country = "Atlantis Prime";
    message = usage_error(options);
    EXPECT_TRUE(contains(message, "nothing close among the 213 countries")) << message;
}

TEST(CarbonErrors, UnknownEnvironmentCountryNamesTheVariable) {
    const auto message = usage_error({}, "XQZW");
    EXPECT_TRUE(contains(message, "unknown country 'XQZW' in JOULECAST_COUNTRY")) << message;
}

TEST(CarbonErrors, MalformedRegion) {
    CarbonOptions options;
    for (const char* typed : {"europe-west1", ":europe-west1", "gcp:"}) {
        options.region = typed;
        const auto message = usage_error(options);
        EXPECT_TRUE(contains(message, "malformed --region")) << message;
        EXPECT_TRUE(contains(message, "expected provider:region")) << message;
    }
}

TEST(CarbonErrors, UnknownProviderListsProviders) {
    CarbonOptions options;
    options.region = "aws:us-east-1";
    const auto message = usage_error(options);
    EXPECT_TRUE(contains(message, "unknown cloud provider 'aws'")) << message;
    EXPECT_TRUE(contains(message, "known providers: gcp")) << message;
}

TEST(CarbonErrors, UnknownRegionListsTheProvidersRegions) {
    CarbonOptions options;
    options.region = "gcp:europe-west7";
    const auto message = usage_error(options);
    EXPECT_TRUE(contains(message, "unknown region 'europe-west7' of provider gcp")) << message;
    EXPECT_TRUE(contains(message, "Did you mean europe-west1")) << message;
    EXPECT_TRUE(contains(message, "gcp regions: africa-south1, ")) << message;
    EXPECT_TRUE(contains(message, "us-west4")) << message;
}

TEST(CarbonErrors, IntensityOutOfRange) {
    CarbonOptions options;
    for (double bad : {0.0, -5.0, 2000.5}) {
        options.intensity_g_per_kwh = bad;
        const auto message = usage_error(options);
        EXPECT_TRUE(contains(message, "--intensity must be")) << bad << ": " << message;
        EXPECT_TRUE(contains(message, "at most 2000")) << message;
    }
    options.intensity_g_per_kwh = 2000.0;
    EXPECT_EQ(usage_error(options), "");
}

TEST(CarbonErrors, PueOutOfRange) {
    CarbonOptions options;
    for (double bad : {0.99, 0.0, 3.01}) {
        options.pue = bad;
        const auto message = usage_error(options);
        EXPECT_TRUE(contains(message, "--pue must be between 1.0 and 3.0")) << bad << ": " << message;
    }
    for (double good : {1.0, 3.0}) {
        options.pue = good;
        EXPECT_EQ(usage_error(options), "") << good;
    }
}

TEST(CarbonErrors, OverriddenOptionsAreStillChecked) {
    CarbonOptions options;
    options.intensity_g_per_kwh = 100.0;
    options.country = "FRX";
    EXPECT_TRUE(contains(usage_error(options), "unknown country 'FRX'"));
    options.country.reset();
    options.region = "gcp:nowhere-1";
    EXPECT_TRUE(contains(usage_error(options), "unknown region 'nowhere-1'"));
}

}  // namespace
}  // namespace joulecast::carbon
