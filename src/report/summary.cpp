#include "report/summary.hpp"
#include "core/format.hpp"
#include "forecast/forecast_text.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace joulecast::report {

using core::format_duration;
using core::format_mass;
using core::format_number;

using meter::AttributedEnergy;
using meter::AttributedGpu;
using meter::co2e_of;
using meter::co2e_per_sample_g;
using meter::ForecastBasis;
using meter::run_samples;
using meter::RunForecast;
using meter::RunResult;
using meter::TargetKind;

using forecast::forecast_line;

namespace {

std::string padded(const std::string& text, std::size_t width) {
    return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string left(const std::string& text, std::size_t width) {
    return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string command_line(const std::vector<std::string>& command) {
    std::string line;
    for (const auto& word : command) line += (line.empty() ? "" : " ") + word;
    return line.size() > 60 ? line.substr(0, 57) + "..." : line;
}

std::string per_sample(const std::optional<double>& joules) {
    if (!joules) return "";
    return format_number(*joules * 1000.0, 3) + " mJ/sample";
}

std::string co2e_text(const std::optional<double>& grams) {
    return grams ? format_mass(*grams) : "-";
}

void print_phases(std::ostream& out, const RunResult& r) {
    if (r.training_energy_j || r.inference_energy_j) {
        out << '\n';
        if (r.training_energy_j)
            out << padded(format_number(*r.training_energy_j, 1), 14) << " J  E_tr (all training phases)\n";
        if (r.inference_energy_j)
            out << padded(format_number(*r.inference_energy_j, 1), 14) << " J  E_in (all inference phases)\n";
    }
    // CO2e columns only where the run has a carbon setting.
    const bool carbon = r.carbon.has_value();
    if (!r.phases.empty()) {
        out << "\n  phase            start      end         energy   samples           per sample";
        if (carbon) out << "       CO2e  CO2e/sample";
        out << "  boundary\n";
        for (const auto& p : r.phases) {
            out << "  " << left(p.name, 12) << padded(format_number(p.start_s, 2), 9) << " s"
                << padded(format_number(p.end_s, 2), 8) << " s" << padded(format_number(p.energy_j, 1), 12)
                << " J" << padded(p.samples ? std::to_string(*p.samples) : "-", 10)
                << padded(per_sample(p.energy_per_sample_j), 21);
            if (carbon)
                out << padded(format_mass(p.co2e_g), 11)
                    << padded(co2e_text(co2e_per_sample_g(r, p.energy_j, p.samples)), 13);
            out << "  " << to_string(p.boundary) << (p.closed ? "" : " (never ended)") << '\n';
        }
    }
    if (!r.epochs.empty()) {
        out << "\n  epoch   duration         energy   samples           per sample";
        if (carbon) out << "       CO2e  CO2e/sample";
        out << '\n';
        const std::size_t n = r.epochs.size();
        for (std::size_t i = 0; i < n; ++i) {
            if (n > 12 && i == 5) out << "  ... " << n - 10 << " more ...\n";
            if (n > 12 && i >= 5 && i < n - 5) continue;
            const auto& e = r.epochs[i];
            out << "  " << padded(std::to_string(e.n), 5) << padded(format_number(e.end_s - e.start_s, 2), 11)
                << " s" << padded(format_number(e.energy_j, 1), 13) << " J"
                << padded(e.samples ? std::to_string(*e.samples) : "-", 10)
                << padded(per_sample(e.energy_per_sample_j), 21);
            if (carbon)
                out << padded(co2e_text(co2e_of(r, e.energy_j)), 11)
                    << padded(co2e_text(co2e_per_sample_g(r, e.energy_j, e.samples)), 13);
            out << '\n';
        }
    }
}

/// Where the gross CPU and DRAM figures the share is taken of come from: "cpu counter, dram modelled".
std::string attributed_basis(const RunResult& r) {
    std::string text;
    for (const char* domain : {"cpu", "dram"}) {
        auto it = r.energy.domain_method.find(domain);
        text += (text.empty() ? "" : ", ") + std::string(domain) + " " +
                (it == r.energy.domain_method.end() ? std::string("not measured") : it->second);
    }
    return text;
}

void print_forecast(std::ostream& out, const RunForecast& f) {
    std::string of;
    if (f.target == TargetKind::epochs)
        of = format_number(f.target_amount, 0) + " epochs";
    else if (f.target == TargetKind::samples)
        of = format_number(f.target_amount, 0) + " samples";
    else
        of = format_duration(f.target_amount);
    out << "\n  forecast for the whole job (" << of << ", from "
        << (f.basis == ForecastBasis::windows ? "windows of " + format_duration(f.window_s)
                                              : std::string("its epochs"))
        << "):\n    " << forecast_line(f) << '\n';
}

}  // namespace

std::string attributed_text(const RunResult& r) {
    if (!r.attributed.measurable)
        return r.energy.domain("cpu") + r.energy.domain("dram") > 0 ? r.attributed.reason : std::string();
    return "CPU " + format_number(r.attributed.cpu_j, 1) + " of " +
           format_number(r.attributed.gross_cpu_j, 1) + " J, DRAM " + format_number(r.attributed.dram_j, 1) +
           " of " + format_number(r.attributed.gross_dram_j, 1) + " J (its share of busy CPU time, of " +
           attributed_basis(r) + ")";
}

std::string attributed_gpu_text(const RunResult& r) {
    const AttributedEnergy& a = r.attributed;
    if (a.gpus.empty()) return "";
    std::string text;
    for (const AttributedGpu& g : a.gpus) {
        // Where the gross figure comes from: the device's accounted source (counter or integrated power).
        std::string gross_method = "not measured";
        for (const auto& source : r.energy.sources)
            if (source.accounted && source.device == g.device) gross_method = to_string(source.method);
        text += text.empty() ? "" : "; ";
        text += g.device + " " +
                (g.attributed_j
                     ? format_number(*g.attributed_j, 1) + " of " + format_number(g.gross_j, 1) +
                           " J (gross by " + gross_method + ", share by " + g.method + ")"
                     : g.reason + " (gross " + format_number(g.gross_j, 1) + " J by " + gross_method + ")");
    }
    return "GPU " + text;
}

void print_run_summary(std::ostream& out, const RunResult& r) {
    // 128+N: the command died of signal N; its name says more than the number (139: SIGSEGV).
    std::string exit_text = "exit " + std::to_string(r.exit_code);
    if (r.exit_code > 128 && r.exit_code < 128 + 65)
        if (const char* name = sigabbrev_np(r.exit_code - 128)) exit_text += " = SIG" + std::string(name);
    out << "\n Energy of '" << command_line(r.command) << "' (" << to_string(r.status) << ", " << exit_text
        << ", " << format_number(r.duration_s, 2) << " s):\n\n";
    for (const auto& s : r.energy.sources) {
        std::string how = to_string(s.method);
        std::string note = s.accounted ? "" : "(not in total)";
        out << padded(format_number(s.energy_j, 1), 14) << " J  " << left(s.domain, 6) << left(s.device, 12)
            << left(how, 11) << s.channel << (note.empty() ? "" : "  " + note) << '\n';
    }
    if (r.energy.sources.empty()) out << "            no energy source was available\n";
    out << "    ----------\n";
    out << padded(format_number(r.energy.total_j, 1), 14) << " J  total";
    if (r.energy.modelled_j > 0)
        out << " (" << format_number(r.energy.measured_j, 1) << " J measured, "
            << format_number(r.energy.modelled_j, 1) << " J modelled)";
    out << '\n';
    if (r.idle && r.net_energy_j) {
        out << padded(format_number(*r.net_energy_j, 1), 14) << " J  net of idle ("
            << format_number(r.idle->power_w, 1) << " W idle, measured over "
            << format_number(r.idle->duration_s, 1) << " s before the command)\n";
    }
    if (const std::string attributed = attributed_text(r); !attributed.empty()) {
        if (r.attributed.measurable)
            out << padded(format_number(r.attributed.cpu_j + r.attributed.dram_j, 1), 14) << " J";
        else
            out << "              ";
        out << "  attributed to the job: " << attributed << '\n';
    }
    if (const std::string gpu = attributed_gpu_text(r); !gpu.empty()) {
        if (r.attributed.gpu_measurable)
            out << padded(format_number(r.attributed.gpu_j, 1), 14) << " J";
        else
            out << "              ";
        out << "  attributed to the job: " << gpu << '\n';
    }
    out << padded(format_number(r.mean_power_w, 1), 14) << " W  mean power\n";
    out << padded(format_number(r.peak_power_w, 1), 14) << " W  peak power\n";
    if (r.carbon) {
        out << padded(format_number(r.carbon->co2e_g, 2), 14) << " g  CO2e at "
            << format_number(r.carbon->intensity_g_per_kwh, 0) << " g/kWh (" << r.carbon->intensity_source
            << "), PUE " << format_number(r.carbon->pue, 2) << '\n';
        const auto samples = run_samples(r);
        if (auto grams = co2e_per_sample_g(r, r.energy.total_j, samples))
            out << padded(format_mass(*grams), 14) << "    CO2e per sample (" << *samples << " samples)\n";
    }
    print_phases(out, r);
    if (r.forecast) print_forecast(out, *r.forecast);
    for (const auto& d : r.energy.disagreements) {
        out << "\n  " << d.device << ": counter " << format_number(d.counter_j, 1) << " J, integrated power "
            << format_number(d.integrated_j, 1) << " J (" << (d.relative() >= 0 ? "+" : "")
            << format_number(100 * d.relative(), 2) << "%)";
    }
    if (!r.energy.disagreements.empty()) out << '\n';
    for (const auto& f : r.fallbacks) out << "\n  note: " << f;
    for (const auto& p : r.problems) {
        out << "\n  warning: " << p.sensor << " " << p.channel << ": ";
        if (p.lost) out << "device lost during the run; ";
        if (p.unsupported) out << "stopped being supported; ";
        out << p.errors << " read errors";
    }
    for (const auto& w : r.warnings) out << "\n  warning: " << w;
    out << "\n\n  joulecast: " << format_number(r.overhead.process_cpu_s, 3) << " s CPU (sampler "
        << format_number(r.overhead.sampler_cpu_s, 3) << " s), " << r.overhead.readings << " readings every "
        << format_number(r.overhead.interval_s * 1000, 0) << " ms\n\n";
}

}  // namespace joulecast::report
