// Correlations, ranks and the Pareto front; the number formatting of common.hpp.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "analysis/analysis.hpp"
#include "analysis/common.hpp"
#include "core/format.hpp"

namespace joulecast::analysis {

using core::format_significant;

std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y) {
    const std::size_t n = x.size();
    if (n < 3 || y.size() != n) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) return std::nullopt;
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(n);
    const double my = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
    // Centred sums: numerically safer than the one-pass formula for values like 1e8 MACs.
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    // Zero variance, allowing for rounding in the mean of equal values.
    const auto flat = [n](double ss, double mean) {
        return ss <= 1e-24 * static_cast<double>(n) * std::max(1.0, mean * mean);
    };
    if (flat(sxx, mx) || flat(syy, my)) return std::nullopt;
    const double r = sxy / std::sqrt(sxx * syy);
    return std::clamp(r, -1.0, 1.0);
}

std::vector<double> average_ranks(const std::vector<double>& values) {
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    std::vector<double> ranks(values.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
        const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
        for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
        i = j + 1;
    }
    return ranks;
}

std::optional<double> spearman(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() < 3 || y.size() != x.size()) return std::nullopt;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) return std::nullopt;
    return pearson(average_ranks(x), average_ranks(y));
}

double chance_accuracy_limit(double classes, std::optional<double> test_samples) {
    const double p = 1.0 / classes;
    double limit = 1.5 * p;
    if (test_samples && *test_samples >= 1)
        limit = std::max(limit, p + 3.09 * std::sqrt(p * (1.0 - p) / *test_samples));
    return limit;
}

bool at_chance_accuracy(std::optional<double> accuracy, std::optional<double> classes,
                        std::optional<double> test_samples) {
    if (!accuracy || !std::isfinite(*accuracy) || !classes || !(*classes >= 2)) return false;
    const double fraction = *accuracy > 1.0 ? *accuracy / 100.0 : *accuracy;
    return fraction <= chance_accuracy_limit(*classes, test_samples);
}

std::vector<std::size_t> pareto_front(const std::vector<std::pair<double, double>>& points) {
    std::vector<std::size_t> front;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const auto& p = points[i];
        if (!std::isfinite(p.first) || !std::isfinite(p.second)) continue;
        bool dominated = false;
        for (std::size_t j = 0; j < points.size() && !dominated; ++j) {
            const auto& q = points[j];
            if (j == i || !std::isfinite(q.first) || !std::isfinite(q.second)) continue;
            dominated =
                q.first >= p.first && q.second <= p.second && (q.first > p.first || q.second < p.second);
        }
        if (!dominated) front.push_back(i);
    }
    std::stable_sort(front.begin(), front.end(),
                     [&](std::size_t a, std::size_t b) { return points[a].second < points[b].second; });
    return front;
}

// ---- Formatting -----------------------------------------------------------------------------------------

std::string format_count(double value) {
    if (!std::isfinite(value)) return "n/a";
    // Round first, so that 999999.9999 reads "1 M" rather than "1e+03 k".
    const double rounded = std::stod(format_significant(value, 3));
    const double a = std::fabs(rounded);
    if (a >= 1e9) return format_significant(rounded / 1e9) + " G";
    if (a >= 1e6) return format_significant(rounded / 1e6) + " M";
    if (a >= 1e4) return format_significant(rounded / 1e3) + " k";
    if (std::fabs(value) >= 1) {
        char text[32];
        std::snprintf(text, sizeof text, "%.0f", value);
        return text;
    }
    return format_significant(value);
}

std::string format_ratio(double value) {
    if (!std::isfinite(value)) return "n/a";
    char text[32];
    std::snprintf(text, sizeof text, value >= 10 ? "%.0fx" : "%.1fx", value);
    return text;
}

std::string format_percent(double share) {
    if (!std::isfinite(share)) return "n/a";
    char text[32];
    const double p = share * 100.0;
    // One decimal near 0% and 100%, so that 99.87% does not read as all of it.
    const bool near_all = p > 99 && p < 100;
    const bool edge = (p != 0 && std::fabs(p) < 1) || near_all;
    std::snprintf(text, sizeof text, edge ? "%.1f%%" : "%.0f%%", near_all ? std::floor(p * 10) / 10 : p);
    return text;
}

}  // namespace joulecast::analysis
