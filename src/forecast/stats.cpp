#include "forecast/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace joulecast::forecast::stats {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double mad_to_sigma = 1.482602218505602;  // 1 / Φ⁻¹(3/4)

// Simpson's rule for the integral of the Student t density over [0, t], t >= 0.
double t_density_integral(double t, double df) {
    const double log_norm = std::lgamma((df + 1) / 2) - std::lgamma(df / 2) - 0.5 * std::log(df * M_PI);
    const double exponent = -(df + 1) / 2;
    auto density = [&](double x) { return std::exp(log_norm + exponent * std::log1p(x * x / df)); };
    const int intervals = 2 * std::clamp(static_cast<int>(std::ceil(t / 0.04)), 100, 20000);
    const double h = t / intervals;
    double sum = density(0) + density(t);
    for (int i = 1; i < intervals; ++i) sum += density(i * h) * (i % 2 == 1 ? 4 : 2);
    return sum * h / 3;
}

double t_density(double x, double df) {
    const double log_norm = std::lgamma((df + 1) / 2) - std::lgamma(df / 2) - 0.5 * std::log(df * M_PI);
    return std::exp(log_norm - (df + 1) / 2 * std::log1p(x * x / df));
}

}  // namespace

double median(std::span<const double> values) {
    return quantile(values, 0.5);
}

double quantile(std::span<const double> values, double p) {
    if (values.empty()) return nan;
    std::vector<double> sorted(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end());
    const double position = std::clamp(p, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    const double fraction = position - static_cast<double>(below);
    return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

double mean(std::span<const double> values) {
    if (values.empty()) return nan;
    return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double mad_small_sample_factor(std::size_t n) {
    static constexpr double table[] = {1.0, 1.0, 1.196, 1.495, 1.363, 1.206, 1.200, 1.140, 1.129, 1.107};
    if (n < std::size(table)) return table[n];
    return static_cast<double>(n) / (static_cast<double>(n) - 0.8);
}

double mad_sigma(std::span<const double> values) {
    if (values.size() < 2) return 0;
    const double centre = median(values);
    std::vector<double> deviations;
    deviations.reserve(values.size());
    for (double v : values) deviations.push_back(std::abs(v - centre));
    return mad_to_sigma * median(deviations) * mad_small_sample_factor(values.size());
}

double mad_sigma_of_residuals(std::span<const double> residuals) {
    if (residuals.size() < 2) return 0;
    std::vector<double> deviations;
    deviations.reserve(residuals.size());
    for (double r : residuals) deviations.push_back(std::abs(r));
    return mad_to_sigma * median(deviations) * mad_small_sample_factor(residuals.size());
}

double theil_sen_slope(std::span<const double> x, std::span<const double> y) {
    const std::size_t n = std::min(x.size(), y.size());
    constexpr std::size_t block_above = 1500;
    constexpr std::size_t blocks = 1000;
    if (n > block_above) {
        // Averages of consecutive points: the slope of a long series is carried by its large-scale shape,
        // and the pair count stays near half a million.
        std::vector<double> bx(blocks, 0.0), by(blocks, 0.0);
        std::vector<std::size_t> counts(blocks, 0);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t b = i * blocks / n;
            bx[b] += x[i];
            by[b] += y[i];
            ++counts[b];
        }
        for (std::size_t b = 0; b < blocks; ++b) {
            bx[b] /= static_cast<double>(counts[b]);
            by[b] /= static_cast<double>(counts[b]);
        }
        return theil_sen_slope(bx, by);
    }
    std::vector<double> slopes;
    slopes.reserve(n * (n - 1) / 2);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j) {
            const double dx = x[j] - x[i];
            if (dx != 0) slopes.push_back((y[j] - y[i]) / dx);
        }
    }
    if (slopes.empty()) return 0;
    return median(slopes);
}

double normal_quantile(double p) {
    if (!(p > 0 && p < 1)) return nan;
    // Bisection on Φ(x) = erfc(−x/√2)/2: slow by the standards of special-function libraries, exact to
    // double precision and called a handful of times per forecast.
    double low = -40, high = 40;
    for (int i = 0; i < 200 && high - low > 1e-15; ++i) {
        const double middle = 0.5 * (low + high);
        if (0.5 * std::erfc(-middle / M_SQRT2) < p) {
            low = middle;
        } else {
            high = middle;
        }
    }
    return 0.5 * (low + high);
}

double student_t_quantile(double p, double df) {
    if (!(p > 0 && p < 1) || !(df > 0)) return nan;
    if (df > 1e6) return normal_quantile(p);
    if (p < 0.5) return -student_t_quantile(1 - p, df);
    if (p == 0.5) return 0;
    const double target = p - 0.5;  // the integral of the density over [0, t]
    double low = 0, high = std::max(1.0, normal_quantile(p));
    while (t_density_integral(high, df) < target && high < 1e12) high *= 2;
    // Newton steps from the normal quantile, kept inside the bracket (bisection when a step leaves it).
    double t = std::clamp(normal_quantile(p), low, high);
    for (int i = 0; i < 100; ++i) {
        const double value = t_density_integral(t, df) - target;
        if (std::abs(value) < 1e-13) break;
        if (value < 0) {
            low = t;
        } else {
            high = t;
        }
        double next = t - value / t_density(t, df);
        if (!(next > low && next < high)) next = 0.5 * (low + high);
        if (std::abs(next - t) < 1e-13 * std::max(1.0, t)) {
            t = next;
            break;
        }
        t = next;
    }
    return t;
}

}  // namespace joulecast::forecast::stats
