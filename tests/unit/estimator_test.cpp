#include "forecast/estimator.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace joulecast::forecast {
namespace {

struct Architecture {
    std::string name;
    double params;
    double macs;
    double activations = 0;  // 0: not recorded
    double mac_layers = 0;
};

// A calibration of `list` at batch 32, 128 and 512 whose training J per sample is law(architecture, batch) ×
// exp(noise); rows carry the architectures' activations and MAC layers.
Calibration law_calibration(const std::string& device, const std::vector<Architecture>& list,
                            const std::function<double(const Architecture&, double)>& law, double noise_sd,
                            unsigned seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0, noise_sd);
    Calibration c;
    c.device = device;
    for (const auto& a : list) {
        for (double b : {32.0, 128.0, 512.0}) {
            CalibrationRow r;
            r.model = a.name;
            r.params = a.params;
            r.macs = a.macs;
            r.batch_size = b;
            r.activations = a.activations;
            r.mac_layers = a.mac_layers;
            r.train_energy_per_sample_j = law(a, b) * std::exp(noise_sd > 0 ? noise(rng) : 0.0);
            c.rows.push_back(r);
        }
    }
    return c;
}

// Six architectures whose parameters and MACs vary independently (MACs per parameter from ~1 to ~500).
const std::vector<Architecture>& architectures() {
    static const std::vector<Architecture> list = {
        {"mlp", 2.0e5, 2.0e5},      {"lenet", 6.0e4, 4.0e5},     {"small_cnn", 1.0e6, 4.0e7},
        {"resnet18", 1.1e7, 5.6e8}, {"mobilenet", 3.5e6, 3.0e8}, {"vgg11", 1.3e8, 7.6e9},
    };
    return list;
}

constexpr double batches[] = {16, 32, 64, 128, 256};

// A calibration whose training J per sample is law(macs, params, batch) × exp(noise).
Calibration synthetic_calibration(const std::function<double(double, double, double)>& law,
                                  double noise_sd = 0, unsigned seed = 1) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0, noise_sd);
    Calibration c;
    c.device = "Test GPU";
    for (const auto& a : architectures()) {
        for (double b : batches) {
            CalibrationRow r;
            r.model = a.name;
            r.params = a.params;
            r.macs = a.macs;
            r.batch_size = b;
            r.train_energy_per_sample_j =
                law(a.macs, a.params, b) * std::exp(noise_sd > 0 ? noise(rng) : 0.0);
            r.measured_at = "2024-05-01T12:00:00Z";
            r.how = "synthetic";
            c.rows.push_back(r);
        }
    }
    return c;
}

// J per sample = a × MACs^b × batch^c with ln a = −18, b = 0.9, c = −0.6.
double power_law(double macs, double, double batch) {
    return std::exp(-18.0) * std::pow(macs, 0.9) * std::pow(batch, -0.6);
}

std::map<std::string, double> coefficients_of(const EnergyModel& model) {
    std::map<std::string, double> out;
    for (const auto& [name, value] : raw_coefficients(model)) out[name] = value;
    return out;
}

TEST(EstimatorFit, RecoversKnownCoefficientsFromNoiselessData) {
    const Calibration c = synthetic_calibration(power_law);
    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_EQ(describe(*model), "log_macs+log_batch, ridge 0");
    const auto coefficients = coefficients_of(*model);
    EXPECT_NEAR(coefficients.at("intercept"), -18.0, 1e-6);
    EXPECT_NEAR(coefficients.at("log_macs"), 0.9, 1e-8);
    EXPECT_NEAR(coefficients.at("log_batch"), -0.6, 1e-8);
    EXPECT_LT(model->cv_rmse_log, 1e-8);
    EXPECT_EQ(model->rows, 30u);
    EXPECT_EQ(model->groups.size(), 6u);
    EXPECT_NE(model->cv_scheme.find("leave-one-group-out"), std::string::npos);

    // An unseen model inside the calibration's range, and its total for 60,000 samples.
    auto e = estimate_energy(*model, {5.0e6, 1.0e8, 100}, 60000.0);
    ASSERT_TRUE(e.ok()) << e.error();
    const double truth = power_law(1.0e8, 5.0e6, 100);
    EXPECT_NEAR(e->energy_per_sample_j / truth, 1.0, 1e-6);
    EXPECT_NEAR(*e->total_energy_j / (truth * 60000), 1.0, 1e-6);
    EXPECT_LE(e->low_j, e->energy_per_sample_j * (1 + 1e-6));
    EXPECT_GE(e->high_j, e->energy_per_sample_j * (1 - 1e-6));
    EXPECT_EQ(e->interval_method, "cv-quantiles");
    EXPECT_TRUE(e->notes.empty());
}

TEST(EstimatorValidate, LeaveOneGroupOutErrorIsSmallOnNoiselessData) {
    Calibration c = synthetic_calibration(power_law);
    // Measured totals carry 10% of overhead beyond samples × J per sample: the total-energy MAPE shows it.
    for (auto& r : c.rows) {
        r.train_samples = 60000;
        r.train_energy_j = *r.train_energy_per_sample_j * 60000 * 1.1;
    }
    auto v = validate_leave_one_group_out(c, EnergyTask::training);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_EQ(v->groups.size(), 6u);
    EXPECT_EQ(v->predictions.size(), 30u);
    EXPECT_TRUE(v->skipped.empty());
    EXPECT_LT(v->mape_energy_per_sample_pct, 1e-4);
    ASSERT_TRUE(v->mape_total_energy_pct.has_value());
    EXPECT_NEAR(*v->mape_total_energy_pct, (1 - 1 / 1.1) * 100, 1e-3);
    for (const auto& g : v->groups) EXPECT_EQ(g.rows, 5u);
    const auto j = validation_to_json(*v);
    EXPECT_EQ(j["task"], "training");
    EXPECT_EQ(j["groups"].size(), 6u);
}

// A warm-up measured apart (a "warmup" phase, train.py --windows) is the row's warm-up as given: the windows'
// epochs are not searched for another, and the steady energy per sample is the rows' own.
TEST(EstimatorSteadyState, MeasuredWarmupIsUsedAsGivenAndEpochsAreNotSearched) {
    Calibration c = synthetic_calibration(power_law);
    for (std::size_t i = 0; i < c.rows.size(); ++i) {
        auto& r = c.rows[i];
        const double window = *r.train_energy_per_sample_j * 1000;
        // Window 1 costs 10% more: without a measured warm-up that excess would be taken as one.
        r.epoch_energy_j = {1.1 * window, window, window};
        r.warmup_j = 100.0 + 10.0 * static_cast<double>(i % 3);  // 100, 110, 120 J: median 110
    }
    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_EQ(model->warmup_rows, 30u);
    EXPECT_DOUBLE_EQ(model->warmup_j, 110.0);
    auto e = estimate_energy(*model, {5.0e6, 1.0e8, 100}, 60000.0);
    ASSERT_TRUE(e.ok()) << e.error();
    const double truth = power_law(1.0e8, 5.0e6, 100);
    EXPECT_NEAR(e->energy_per_sample_j / truth, 1.0, 1e-6);  // not reduced by window 1's excess
    EXPECT_NEAR(*e->total_energy_j, truth * 60000 + 110.0, 1e-6 * truth * 60000);
    auto back = calibration_from_json(calibration_to_json(c));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->rows[1].warmup_j, c.rows[1].warmup_j);
    c.rows[0].warmup_j = -1.0;
    auto bad = fit_energy_model(c, EnergyTask::training);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().find("warmup_j must be a number >= 0"), std::string::npos) << bad.error();
}

// Warm-up: every row's first epoch carries a fixed 500 J excess; the steady per-sample law is recovered and
// the warm-up is reported per run, not folded into the energy per sample.
TEST(EstimatorSteadyState, FirstEpochExcessIsWarmUpPerRunNotPerSampleCost) {
    Calibration c = synthetic_calibration(power_law);
    constexpr double samples_per_epoch = 10000, warmup = 500;
    for (auto& r : c.rows) {
        const double steady_epoch = *r.train_energy_per_sample_j * samples_per_epoch;
        r.epoch_energy_j = {steady_epoch + warmup, steady_epoch, steady_epoch, steady_epoch};
        r.train_samples = 4 * samples_per_epoch;
        r.train_energy_j = 4 * steady_epoch + warmup;
        r.train_energy_per_sample_j = *r.train_energy_j / *r.train_samples;  // warm-up included, as measured
    }
    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_EQ(model->warmup_rows, 30u);
    EXPECT_NEAR(model->warmup_j, warmup, 1e-6);
    auto e = estimate_energy(*model, {5.0e6, 1.0e8, 100}, 60000.0);
    ASSERT_TRUE(e.ok()) << e.error();
    const double truth = power_law(1.0e8, 5.0e6, 100);
    EXPECT_NEAR(e->energy_per_sample_j / truth, 1.0, 1e-6);
    EXPECT_NEAR(*e->total_energy_j, truth * 60000 + warmup, 1e-6 * truth * 60000);
    EXPECT_NEAR(e->warmup_j, warmup, 1e-9);
    // Both survive JSON: the calibration's epoch energies and the model's warm-up.
    auto back = calibration_from_json(calibration_to_json(c));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->rows[0].epoch_energy_j, c.rows[0].epoch_energy_j);
    auto read = energy_model_from_json(energy_model_to_json(*model));
    ASSERT_TRUE(read.ok()) << read.error();
    EXPECT_DOUBLE_EQ(read->warmup_j, model->warmup_j);
    EXPECT_EQ(read->warmup_rows, 30u);
    // Held out, the totals (steady × samples + warm-up) match the measured totals.
    auto v = validate_leave_one_group_out(c, EnergyTask::training);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_LT(v->mape_energy_per_sample_pct, 1e-4);
    ASSERT_TRUE(v->mape_total_energy_pct);
    EXPECT_LT(*v->mape_total_energy_pct, 1e-4);
}

// A twin (same params and MACs within 1%) is held out with its twin, never predicted from it.
TEST(EstimatorValidate, TwinArchitecturesAreHeldOutTogether) {
    Calibration c = synthetic_calibration(power_law);
    const std::size_t n = c.rows.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (c.rows[i].model != "resnet18") continue;
        CalibrationRow twin = c.rows[i];
        twin.model = "preactresnet18";
        twin.params *= 1.003;
        c.rows.push_back(twin);
    }
    auto v = validate_leave_one_group_out(c, EnergyTask::training);
    ASSERT_TRUE(v.ok()) << v.error();
    ASSERT_EQ(v->groups.size(), 6u);
    bool found = false;
    for (const auto& g : v->groups) {
        if (g.model == "preactresnet18+resnet18") {
            found = true;
            EXPECT_EQ(g.rows, 10u);
        }
    }
    EXPECT_TRUE(found);
    for (const auto& p : v->predictions) {
        EXPECT_NE(p.model, "resnet18");
        EXPECT_NE(p.model, "preactresnet18");
    }
    // A 2% difference is no twin.
    for (auto& r : c.rows) {
        if (r.model == "preactresnet18") r.params = r.params / 1.003 * 1.02;
    }
    auto apart = validate_leave_one_group_out(c, EnergyTask::training);
    ASSERT_TRUE(apart.ok()) << apart.error();
    EXPECT_EQ(apart->groups.size(), 7u);
}

TEST(EstimatorFit, SelectsTheInteractionWhenTheBatchGainDependsOnModelSize) {
    // The batch exponent weakens for big models: c = −0.9 + 0.03 × ln MACs. 2% noise.
    auto law = [](double macs, double, double batch) {
        const double c = -0.9 + 0.03 * std::log(macs);
        return std::exp(-18.0) * std::pow(macs, 0.9) * std::pow(batch, c);
    };
    const Calibration c = synthetic_calibration(law, 0.02, 5);
    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    bool has_interaction = false;
    for (Feature f : model->features) has_interaction |= f == Feature::log_macs_x_log_batch;
    EXPECT_TRUE(has_interaction) << describe(*model);
    auto v = validate_leave_one_group_out(c, EnergyTask::training);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_LT(v->mape_energy_per_sample_pct, 10.0);
    EXPECT_GT(v->coverage, 0.5);
}

TEST(EstimatorFit, TrainingAndInferenceAreFittedSeparately) {
    Calibration c = synthetic_calibration(power_law);
    for (auto& r : c.rows) {
        // Inference: a third of the work per sample, and a steeper batch gain.
        r.infer_energy_per_sample_j = std::exp(-19.0) * std::pow(r.macs, 0.9) * std::pow(r.batch_size, -0.8);
    }
    c.rows[0].train_energy_per_sample_j.reset();  // a row measured for inference only
    auto train = fit_energy_model(c, EnergyTask::training);
    auto infer = fit_energy_model(c, EnergyTask::inference);
    ASSERT_TRUE(train.ok()) << train.error();
    ASSERT_TRUE(infer.ok()) << infer.error();
    EXPECT_EQ(train->rows, 29u);
    EXPECT_EQ(infer->rows, 30u);
    EXPECT_NEAR(coefficients_of(*train).at("log_batch"), -0.6, 1e-8);
    EXPECT_NEAR(coefficients_of(*infer).at("log_batch"), -0.8, 1e-8);
    EXPECT_NEAR(coefficients_of(*infer).at("intercept"), -19.0, 1e-6);
    EXPECT_EQ(infer->task, EnergyTask::inference);
}

TEST(EstimatorFit, NoisyIntervalsAndExtrapolationNotes) {
    const Calibration c = synthetic_calibration(power_law, 0.1, 9);
    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    auto e = estimate_energy(*model, {1.0e6, 1.0e8, 64}, std::nullopt, 0.9);
    ASSERT_TRUE(e.ok()) << e.error();
    EXPECT_LT(e->low_j, e->energy_per_sample_j);
    EXPECT_GT(e->high_j, e->energy_per_sample_j);
    // About ±1.645 × 10% in log space.
    EXPECT_GT(std::log(e->high_j / e->low_j), 0.2);
    EXPECT_LT(std::log(e->high_j / e->low_j), 0.6);
    EXPECT_FALSE(e->total_energy_j.has_value());
    EXPECT_TRUE(e->notes.empty());

    auto outside = estimate_energy(*model, {1.0e6, 1.0e11, 1024});
    ASSERT_TRUE(outside.ok()) << outside.error();
    ASSERT_EQ(outside->notes.size(), 2u);
    EXPECT_NE(outside->notes[0].find("MACs"), std::string::npos);
    EXPECT_NE(outside->notes[1].find("batch size"), std::string::npos);
}

TEST(EstimatorFit, FewRowsUseLeaveOneOutAndATInterval) {
    Calibration c;
    c.device = "Small";
    const double rows[][3] = {
        {1e6, 1e7, 32}, {2e6, 3e7, 64}, {5e6, 2e8, 32}, {1e7, 5e8, 128}, {3e7, 1e9, 64}};
    int i = 0;
    for (const auto& r : rows) {
        CalibrationRow row;
        row.model = i++ < 3 ? "a" : "b";  // two architectures: too few groups for leave-one-group-out
        row.params = r[0];
        row.macs = r[1];
        row.batch_size = r[2];
        row.train_energy_per_sample_j = power_law(r[1], r[0], r[2]) * (i % 2 == 0 ? 1.05 : 0.95);
        c.rows.push_back(row);
    }
    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_NE(model->cv_scheme.find("leave-one-out"), std::string::npos);
    auto e = estimate_energy(*model, {4e6, 1e8, 64});
    ASSERT_TRUE(e.ok()) << e.error();
    EXPECT_EQ(e->interval_method, "cv-t");
    EXPECT_LT(e->low_j, e->high_j);
}

TEST(EstimatorFit, ABatchSizeThatNeverVariesGetsNoCoefficient) {
    Calibration c = synthetic_calibration(power_law);
    std::vector<CalibrationRow> fixed;
    for (const auto& r : c.rows) {
        if (r.batch_size == 64) fixed.push_back(r);
    }
    c.rows = fixed;
    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    const auto coefficients = coefficients_of(*model);
    EXPECT_NEAR(coefficients.at("log_macs"), 0.9, 1e-8);
    EXPECT_DOUBLE_EQ(coefficients.at("log_batch"), 0.0);
    auto e = estimate_energy(*model, {1e6, 1e8, 64});
    ASSERT_TRUE(e.ok()) << e.error();
    EXPECT_NEAR(e->energy_per_sample_j / power_law(1e8, 1e6, 64), 1.0, 1e-6);
}

TEST(EstimatorFit, BadInputsAreErrors) {
    Calibration empty;
    empty.device = "Nothing";
    auto r = fit_energy_model(empty, EnergyTask::training);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("no rows"), std::string::npos) << r.error();
    EXPECT_FALSE(validate_leave_one_group_out(empty, EnergyTask::training).ok());

    Calibration c = synthetic_calibration(power_law);
    Calibration with_nan = c;
    with_nan.rows[3].macs = std::nan("");
    r = fit_energy_model(with_nan, EnergyTask::training);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("row 4"), std::string::npos) << r.error();
    Calibration negative = c;
    negative.rows[0].train_energy_per_sample_j = -1.0;
    EXPECT_FALSE(fit_energy_model(negative, EnergyTask::training).ok());
    Calibration zero_batch = c;
    zero_batch.rows[0].batch_size = 0;
    EXPECT_FALSE(fit_energy_model(zero_batch, EnergyTask::training).ok());

    // No inference energies at all; two rows only; one architecture for leave-one-group-out.
    EXPECT_FALSE(fit_energy_model(c, EnergyTask::inference).ok());
    Calibration two = c;
    two.rows.resize(2);
    EXPECT_FALSE(fit_energy_model(two, EnergyTask::training).ok());
    Calibration one_model = c;
    one_model.rows.resize(5);
    EXPECT_TRUE(fit_energy_model(one_model, EnergyTask::training).ok());
    EXPECT_FALSE(validate_leave_one_group_out(one_model, EnergyTask::training).ok());

    EstimatorOptions no_sets;
    no_sets.feature_sets.clear();
    EXPECT_FALSE(fit_energy_model(c, EnergyTask::training, no_sets).ok());
    EstimatorOptions bad_ridge;
    bad_ridge.ridge = {-1};
    EXPECT_FALSE(fit_energy_model(c, EnergyTask::training, bad_ridge).ok());

    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok());
    EXPECT_FALSE(estimate_energy(*model, {1e6, std::nan(""), 32}).ok());
    EXPECT_FALSE(estimate_energy(*model, {0, 1e8, 32}).ok());
    EXPECT_FALSE(estimate_energy(*model, {1e6, 1e8, 32}, 0.0).ok());
    EXPECT_FALSE(estimate_energy(*model, {1e6, 1e8, 32}, std::nullopt, 1.0).ok());
}

TEST(EstimatorJson, CalibrationAndModelRoundTrip) {
    Calibration c = synthetic_calibration(power_law, 0.05, 3);
    c.rows[0].infer_energy_per_sample_j = 0.01;
    c.rows[0].train_samples = 60000;
    c.rows[0].train_energy_j = 1234.5;
    const auto text = calibration_to_json(c).dump();
    auto back = calibration_from_json(nlohmann::ordered_json::parse(text));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->device, "Test GPU");
    ASSERT_EQ(back->rows.size(), c.rows.size());
    EXPECT_EQ(back->rows[0].model, c.rows[0].model);
    EXPECT_EQ(back->rows[0].train_energy_per_sample_j, c.rows[0].train_energy_per_sample_j);
    EXPECT_EQ(back->rows[0].infer_energy_per_sample_j, 0.01);
    EXPECT_EQ(back->rows[0].train_energy_j, 1234.5);
    EXPECT_FALSE(back->rows[1].infer_energy_per_sample_j.has_value());
    EXPECT_EQ(back->rows[4].how, "synthetic");
    EXPECT_EQ(back->rows[4].measured_at, "2024-05-01T12:00:00Z");

    auto model = fit_energy_model(*back, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    const auto model_json = energy_model_to_json(*model);
    EXPECT_EQ(model_json["schema"], "joulecast.energy_model/1");
    EXPECT_TRUE(model_json["raw_coefficients"].contains("log_macs"));
    auto loaded = energy_model_from_json(nlohmann::ordered_json::parse(model_json.dump()));
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    EXPECT_EQ(describe(*loaded), describe(*model));
    const ModelCharacteristics m{2e6, 3e8, 48};
    auto a = estimate_energy(*model, m), b = estimate_energy(*loaded, m);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NEAR(a->energy_per_sample_j, b->energy_per_sample_j, 1e-12 * a->energy_per_sample_j);
    EXPECT_NEAR(a->low_j, b->low_j, 1e-12 * a->low_j);
    EXPECT_NEAR(a->high_j, b->high_j, 1e-12 * a->high_j);
}

TEST(EstimatorJson, MalformedDocumentsAreErrors) {
    using json = nlohmann::ordered_json;
    EXPECT_FALSE(calibration_from_json(json::parse("[]")).ok());
    EXPECT_FALSE(
        calibration_from_json(json::parse(R"({"schema":"joulecast.calibration/9","device":"x","rows":[]})"))
            .ok());
    EXPECT_FALSE(calibration_from_json(json::parse(R"({"rows":[]})")).ok());
    auto r = calibration_from_json(
        json::parse(R"({"device":"x","rows":[{"model":"m","params":"many","macs":1,"batch_size":1}]})"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("params"), std::string::npos) << r.error();
    r = calibration_from_json(
        json::parse(R"({"device":"x","rows":[{"model":"m","params":1,"batch_size":1}]})"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("macs"), std::string::npos) << r.error();
    // A valid empty calibration parses; fitting it is what fails.
    auto empty = calibration_from_json(json::parse(R"({"device":"x","rows":[]})"));
    ASSERT_TRUE(empty.ok()) << empty.error();
    EXPECT_FALSE(fit_energy_model(*empty, EnergyTask::training).ok());

    auto model = fit_energy_model(synthetic_calibration(power_law), EnergyTask::training);
    ASSERT_TRUE(model.ok());
    auto j = energy_model_to_json(*model);
    j["features"] = json::array({"log_macs", "log_magic"});
    EXPECT_FALSE(energy_model_from_json(j).ok());
    j = energy_model_to_json(*model);
    j["coefficients"] = json::array({1.0});
    EXPECT_FALSE(energy_model_from_json(j).ok());
    j = energy_model_to_json(*model);
    j["task"] = "dreaming";
    EXPECT_FALSE(energy_model_from_json(j).ok());
}

}  // namespace
}  // namespace joulecast::forecast

namespace joulecast::forecast {
namespace {

// Seconds per sample ride along in the calibration JSON, and a time model says that it is one.
TEST(EstimatorTime, SecondsPerSampleRoundTripAndFitThroughTheSameMachinery) {
    Calibration c = synthetic_calibration(power_law);
    for (auto& r : c.rows) r.train_seconds_per_sample = 2e-9 * r.macs / r.batch_size;
    auto back = calibration_from_json(calibration_to_json(c));
    ASSERT_TRUE(back.ok()) << back.error();
    ASSERT_TRUE(back->rows[3].train_seconds_per_sample);
    EXPECT_DOUBLE_EQ(*back->rows[3].train_seconds_per_sample, *c.rows[3].train_seconds_per_sample);
    EXPECT_FALSE(back->rows[3].infer_seconds_per_sample);

    EstimatorOptions options;
    options.per_sample = PerSample::time;
    auto model = fit_energy_model(*back, EnergyTask::training, options);
    ASSERT_TRUE(model.ok()) << model.error();
    auto e = estimate_energy(*model, {1e6, 1e9, 100});
    ASSERT_TRUE(e.ok()) << e.error();
    EXPECT_NEAR(e->energy_per_sample_j / (2e-9 * 1e9 / 100), 1.0, 1e-6);
    auto j = energy_model_to_json(*model);
    EXPECT_EQ(j["per_sample"], "time");
    auto model_back = energy_model_from_json(j);
    ASSERT_TRUE(model_back.ok()) << model_back.error();
    EXPECT_EQ(model_back->per_sample, PerSample::time);
    // No time rows for inference: a clear error that names time.
    options.per_sample = PerSample::time;
    auto none = fit_energy_model(*back, EnergyTask::inference, options);
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().find("inference time per sample"), std::string::npos) << none.error();
    auto v = validate_leave_one_group_out(*back, EnergyTask::training, options);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_EQ(v->per_sample, PerSample::time);
    EXPECT_LT(v->mape_energy_per_sample_pct, 1e-6);
    EXPECT_FALSE(v->mape_total_energy_pct);
}

}  // namespace
}  // namespace joulecast::forecast

namespace joulecast::forecast {
namespace {

// J per sample = e_mac × MACs + (e_step + e_param × params) / batch + e_sample, the additive family's law.
constexpr double true_e_mac = 4.5e-11, true_e_step = 0.3, true_e_param = 5e-8, true_e_sample = 1e-3;
double additive_law(double macs, double params, double batch) {
    return true_e_mac * macs + (true_e_step + true_e_param * params) / batch + true_e_sample;
}

Calibration additive_calibration(const std::vector<Architecture>& list, double noise_sd, unsigned seed) {
    return law_calibration(
        "Additive GPU", list,
        [](const Architecture& a, double b) { return additive_law(a.macs, a.params, b); }, noise_sd, seed);
}

TEST(EstimatorAdditive, RecoversKnownCoefficientsFromDataBuiltByItsFormula) {
    const Calibration c = additive_calibration(architectures(), 0, 1);
    auto model = fit_energy_model(c, EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    ASSERT_EQ(model->family, ModelFamily::additive) << describe(*model);
    EXPECT_TRUE(model->additive.sample_term);
    EXPECT_EQ(describe(*model), "additive: e_mac*MACs + (e_step + e_param*params)/batch + e_sample");
    const auto k = coefficients_of(*model);
    EXPECT_NEAR(k.at("e_mac") / true_e_mac, 1.0, 1e-6);
    EXPECT_NEAR(k.at("e_step") / true_e_step, 1.0, 1e-6);
    EXPECT_NEAR(k.at("e_param") / true_e_param, 1.0, 1e-6);
    EXPECT_NEAR(k.at("e_sample") / true_e_sample, 1.0, 1e-6);
    EXPECT_LT(model->cv_rmse_log, 1e-6);
    // A model 100x smaller than any calibrated one, and one 10x bigger: both extrapolations stay exact.
    for (const ModelCharacteristics m :
         {ModelCharacteristics{500, 2e3, 64}, ModelCharacteristics{1e9, 8e10, 64}}) {
        auto e = estimate_energy(*model, m, 1000.0);
        ASSERT_TRUE(e.ok()) << e.error();
        EXPECT_NEAR(e->energy_per_sample_j / additive_law(m.macs, m.params, m.batch_size), 1.0, 1e-6);
        EXPECT_NEAR(*e->total_energy_j / e->energy_per_sample_j, 1000.0, 1e-6);
        EXPECT_FALSE(e->notes.empty());  // outside the calibration's range: said so
    }

    // The additive form survives JSON, and a model written before the family field reads as log-linear.
    auto j = energy_model_to_json(*model);
    EXPECT_EQ(j["family"], "additive");
    EXPECT_DOUBLE_EQ(j["raw_coefficients"]["e_step"].get<double>(), model->additive.e_step);
    auto back = energy_model_from_json(nlohmann::ordered_json::parse(j.dump()));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back->family, ModelFamily::additive);
    EXPECT_EQ(describe(*back), describe(*model));
    const ModelCharacteristics probe{3e6, 4e8, 100};
    auto a = estimate_energy(*model, probe), b = estimate_energy(*back, probe);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NEAR(a->energy_per_sample_j, b->energy_per_sample_j, 1e-12 * a->energy_per_sample_j);
    EXPECT_NEAR(a->high_j, b->high_j, 1e-12 * a->high_j);
    j["additive"]["e_mac"] = -1.0;
    EXPECT_FALSE(energy_model_from_json(j).ok());
    j["family"] = "quadratic";
    EXPECT_FALSE(energy_model_from_json(j).ok());
    auto log_linear = fit_energy_model(synthetic_calibration(power_law), EnergyTask::training);
    ASSERT_TRUE(log_linear.ok());
    auto old = energy_model_to_json(*log_linear);
    old.erase("family");
    old.erase("additive");
    auto old_back = energy_model_from_json(old);
    ASSERT_TRUE(old_back.ok()) << old_back.error();
    EXPECT_EQ(old_back->family, ModelFamily::log_linear);
}

TEST(EstimatorAdditive, LeaveOneOutExtrapolatesAHeldOutTinyModel) {
    // Five mid-sized architectures plus one with 100x fewer MACs than any other; 1% noise.
    const std::vector<Architecture> list = {
        {"tiny", 6.0e4, 6.5e5},   {"small_cnn", 1.0e6, 6.0e7}, {"mobile", 2.3e6, 9.1e7},
        {"resnet", 1.1e7, 5.6e8}, {"vgg", 2.0e7, 4.0e8},       {"dla", 1.5e7, 9.1e8},
    };
    const Calibration c = additive_calibration(list, 0.01, 11);
    auto v = validate_leave_one_group_out(c, EnergyTask::training);
    ASSERT_TRUE(v.ok()) << v.error();
    ASSERT_EQ(v->groups.size(), 6u);
    EXPECT_EQ(v->groups[0].model, "tiny");
    EXPECT_LT(v->groups[0].mape_energy_per_sample_pct, 5.0) << v->groups[0].chosen;
    EXPECT_NE(v->groups[0].chosen.find("additive"), std::string::npos) << v->groups[0].chosen;
    EXPECT_LT(v->mape_energy_per_sample_pct, 5.0);

    // The log-linear family alone runs away on the same held-out model: the additive family is what helps.
    EstimatorOptions log_linear_only;
    log_linear_only.additive = false;
    auto w = validate_leave_one_group_out(c, EnergyTask::training, log_linear_only);
    ASSERT_TRUE(w.ok()) << w.error();
    EXPECT_GT(w->groups[0].mape_energy_per_sample_pct, 2 * v->groups[0].mape_energy_per_sample_pct);
}

TEST(EstimatorFit, FewArchitecturesCapTheLogLinearFeatures) {
    // Four architectures: at most 4 − 2 = 2 log-linear features, even where more would fit the noise.
    Calibration c = synthetic_calibration(power_law, 0.05, 4);
    std::erase_if(c.rows,
                  [](const CalibrationRow& r) { return r.model == "mobilenet" || r.model == "vgg11"; });
    EstimatorOptions options;
    options.additive = false;
    auto model = fit_energy_model(c, EnergyTask::training, options);
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_EQ(model->groups.size(), 4u);
    EXPECT_LE(model->features.size(), 2u) << describe(*model);
    options.spare_architectures = 0;  // no cap: every feature set is a candidate again
    EXPECT_TRUE(fit_energy_model(c, EnergyTask::training, options).ok());
}

}  // namespace
}  // namespace joulecast::forecast

namespace joulecast::forecast {
namespace {

// Architectures with the memory characteristics: `depthwise` writes far more activations per MAC than the
// others, and `tiny` has few layers, as on the project's H100 calibration.
const std::vector<Architecture>& memory_architectures() {
    static const std::vector<Architecture> list = {
        {"tiny", 6.2e4, 6.5e5, 6.5e3, 5},    {"depthwise", 2.3e6, 9.1e7, 1.7e6, 58},
        {"resnet", 1.1e7, 5.6e8, 6.1e5, 21}, {"vgg", 2.0e7, 4.0e8, 3.0e5, 17},
        {"dla", 1.5e7, 9.1e8, 1.1e6, 40},    {"wide", 3.6e7, 2.2e9, 1.2e6, 21},
    };
    return list;
}

// J per sample = e_mac × MACs + e_act × activations + e_layer × MAC layers / batch.
constexpr double mem_e_mac = 2e-11, mem_e_act = 2e-8, mem_e_layer = 0.05;
double memory_law(const Architecture& a, double batch) {
    return mem_e_mac * a.macs + mem_e_act * a.activations + mem_e_layer * a.mac_layers / batch;
}

Calibration memory_calibration(double noise_sd, unsigned seed, bool record_memory = true) {
    Calibration c = law_calibration("Memory GPU", memory_architectures(), memory_law, noise_sd, seed);
    if (!record_memory) {
        for (auto& r : c.rows) r.activations = r.mac_layers = 0;
    }
    return c;
}

TEST(EstimatorMemoryTerms, RecoversKnownCoefficientsAndNeedsTheCharacteristicsToEstimate) {
    auto model = fit_energy_model(memory_calibration(0, 1), EnergyTask::training);
    ASSERT_TRUE(model.ok()) << model.error();
    ASSERT_EQ(model->family, ModelFamily::additive) << describe(*model);
    ASSERT_TRUE(model->additive.memory_terms) << describe(*model);
    EXPECT_EQ(describe(*model), "additive: e_mac*MACs + e_act*activations + e_layer*MAC layers/batch");
    const auto k = coefficients_of(*model);
    EXPECT_NEAR(k.at("e_mac") / mem_e_mac, 1.0, 1e-6);
    EXPECT_NEAR(k.at("e_act") / mem_e_act, 1.0, 1e-6);
    EXPECT_NEAR(k.at("e_layer") / mem_e_layer, 1.0, 1e-6);
    EXPECT_EQ(k.count("e_step"), 0u);
    EXPECT_DOUBLE_EQ(model->activations_range.min, 6.5e3);
    EXPECT_DOUBLE_EQ(model->mac_layers_range.max, 58);

    // 2 J per sample of MACs, 1 of activations, 0.5 of layers at batch 10: 3.5 J per sample, 35 J for 10.
    const ModelCharacteristics probe{1e6, 1e11, 10, 5e7, 100};
    auto e = estimate_energy(*model, probe, 10.0);
    ASSERT_TRUE(e.ok()) << e.error();
    EXPECT_NEAR(e->energy_per_sample_j, 2 + 1 + 0.5, 1e-6);
    EXPECT_NEAR(*e->total_energy_j, 35, 1e-5);
    // Outside the calibration's activations and MAC layers: both said.
    int memory_notes = 0;
    for (const auto& note : e->notes)
        memory_notes += note.starts_with("activations") || note.starts_with("MAC layers");
    EXPECT_EQ(memory_notes, 2);

    // A model without activations cannot be estimated by it, and the message says why.
    auto missing = estimate_energy(*model, ModelCharacteristics{1e6, 1e8, 32});
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().find("activations and MAC layers"), std::string::npos) << missing.error();

    // It survives JSON; an additive model written before the memory terms reads back without them.
    auto j = energy_model_to_json(*model);
    EXPECT_EQ(j["additive"]["memory_terms"], true);
    auto back = energy_model_from_json(nlohmann::ordered_json::parse(j.dump()));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(describe(*back), describe(*model));
    auto again = estimate_energy(*back, probe, 10.0);
    ASSERT_TRUE(again.ok()) << again.error();
    EXPECT_NEAR(again->energy_per_sample_j, e->energy_per_sample_j, 1e-12 * e->energy_per_sample_j);
    j["additive"]["e_act"] = -1.0;
    EXPECT_FALSE(energy_model_from_json(j).ok());
    auto old = energy_model_to_json(*model);
    old["additive"].erase("memory_terms");
    old["additive"].erase("e_act");
    old["additive"].erase("e_layer");
    auto old_back = energy_model_from_json(old);
    ASSERT_TRUE(old_back.ok()) << old_back.error();
    EXPECT_FALSE(old_back->additive.memory_terms);
}

TEST(EstimatorMemoryTerms, OnlyACandidateWhenEveryRowAndTheQueryKnowThem) {
    EstimatorOptions without;
    without.memory_terms = false;  // the model to estimate gives no activations
    auto model = fit_energy_model(memory_calibration(0, 1), EnergyTask::training, without);
    ASSERT_TRUE(model.ok()) << model.error();
    EXPECT_FALSE(model->additive.memory_terms) << describe(*model);
    EXPECT_TRUE(estimate_energy(*model, ModelCharacteristics{1e6, 1e8, 32}).ok());

    Calibration partly = memory_calibration(0, 1);
    partly.rows.front().activations = 0;  // one row without them: the family cannot be fitted
    auto fitted = fit_energy_model(partly, EnergyTask::training);
    ASSERT_TRUE(fitted.ok()) << fitted.error();
    EXPECT_FALSE(fitted->additive.memory_terms) << describe(*fitted);

    Calibration bad = memory_calibration(0, 1);
    bad.rows[2].mac_layers = -3;
    auto refused = fit_energy_model(bad, EnergyTask::training);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().find("calibration row 3"), std::string::npos) << refused.error();
}

TEST(EstimatorMemoryTerms, PredictAHeldOutDepthwiseModelThatMacsAloneMiss) {
    // 2% noise. Leave-one-architecture-out: the depthwise model spends most of its energy on activations,
    // which no MACs-and-parameters law can see; the memory terms predict it.
    auto v = validate_leave_one_group_out(memory_calibration(0.02, 5), EnergyTask::training);
    ASSERT_TRUE(v.ok()) << v.error();
    ASSERT_EQ(v->groups.size(), 6u);
    const GroupValidation& depthwise = v->groups[1];
    ASSERT_EQ(depthwise.model, "depthwise");
    EXPECT_LT(depthwise.mape_energy_per_sample_pct, 8.0) << depthwise.chosen;
    EXPECT_NE(depthwise.chosen.find("activations"), std::string::npos) << depthwise.chosen;
    EXPECT_LT(v->mape_energy_per_sample_pct, 8.0);

    auto blind = validate_leave_one_group_out(memory_calibration(0.02, 5, false), EnergyTask::training);
    ASSERT_TRUE(blind.ok()) << blind.error();
    EXPECT_GT(blind->groups[1].mape_energy_per_sample_pct, 3 * depthwise.mape_energy_per_sample_pct);
}

TEST(EstimatorMemoryTerms, CalibrationJsonCarriesThemAndOlderFilesReadAsUnknown) {
    const Calibration c = memory_calibration(0, 1);
    auto j = calibration_to_json(c);
    EXPECT_DOUBLE_EQ(j["rows"][1]["activations"].get<double>(), 6.5e3);  // tiny, batch 128
    EXPECT_DOUBLE_EQ(j["rows"][3]["mac_layers"].get<double>(), 58);
    auto back = calibration_from_json(nlohmann::ordered_json::parse(j.dump()));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_DOUBLE_EQ(back->rows[3].activations, 1.7e6);
    j["rows"][0].erase("activations");
    j["rows"][0].erase("mac_layers");
    auto old = calibration_from_json(j);
    ASSERT_TRUE(old.ok()) << old.error();
    EXPECT_EQ(old->rows[0].activations, 0);
    EXPECT_EQ(old->rows[0].mac_layers, 0);
    j["rows"][0]["activations"] = "many";
    EXPECT_FALSE(calibration_from_json(j).ok());
}

}  // namespace
}  // namespace joulecast::forecast
