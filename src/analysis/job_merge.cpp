#include "analysis/job_merge.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "core/json_fields.hpp"
#include "store/iso_time.hpp"

namespace joulecast::analysis {

using core::optional_json;

using meter::CarbonResult;
using meter::co2e_of;
using meter::EpochResult;
using meter::PhaseResult;
using meter::run_samples;
using meter::RunResult;
using meter::RunStatus;
using meter::SourceEnergy;

using store::parse_iso8601;

namespace {

/// A phase or epoch being merged: sums, and whether every node gave what is summed.
struct Accumulator {
    JobSpan span;
    double start_abs = std::numeric_limits<double>::infinity();
    double end_abs = -std::numeric_limits<double>::infinity();
    long long samples = 0;
    bool samples_known = true;
    double co2e = 0;
    bool co2e_known = true;
    std::size_t first_seen = 0;  ///< order of first appearance, for ties
};

void add(Accumulator& a, double origin, double start_s, double end_s, double energy_j,
         const std::map<std::string, double>& domain_j, const std::optional<long long>& samples,
         std::optional<double> co2e, double measured_j, double modelled_j) {
    a.start_abs = std::min(a.start_abs, origin + start_s);
    a.end_abs = std::max(a.end_abs, origin + end_s);
    a.span.energy_j += energy_j;
    a.span.measured_j += measured_j;
    a.span.modelled_j += modelled_j;
    for (const auto& [domain, joules] : domain_j) a.span.domain_j[domain] += joules;
    if (samples)
        a.samples += *samples;
    else
        a.samples_known = false;
    if (co2e)
        a.co2e += *co2e;
    else
        a.co2e_known = false;
    ++a.span.nodes;
}

JobSpan finish(Accumulator& a, double job_origin) {
    JobSpan span = std::move(a.span);
    span.start_s = a.start_abs - job_origin;
    span.end_s = a.end_abs - job_origin;
    if (a.samples_known) span.samples = a.samples;
    if (span.samples && *span.samples > 0)
        span.energy_per_sample_j = span.energy_j / static_cast<double>(*span.samples);
    if (a.co2e_known) span.co2e_g = a.co2e;
    return span;
}

template <typename Key>
std::vector<JobSpan> finish_all(std::map<Key, Accumulator>& spans, double job_origin) {
    std::vector<JobSpan> out;
    std::vector<Accumulator*> items;
    for (auto& [key, a] : spans) items.push_back(&a);
    std::sort(items.begin(), items.end(), [](const Accumulator* x, const Accumulator* y) {
        return x->start_abs != y->start_abs ? x->start_abs < y->start_abs : x->first_seen < y->first_seen;
    });
    for (Accumulator* a : items) out.push_back(finish(*a, job_origin));
    return out;
}

}  // namespace

JobResult merge_job(const std::string& job_id, const std::vector<RunResult>& runs) {
    if (runs.empty()) throw std::invalid_argument("job " + job_id + " has no runs");
    JobResult job;
    job.job_id = job_id;

    // Each node's wall-clock origin (Unix seconds of its t = 0).
    std::vector<std::optional<double>> origins;
    double earliest = std::numeric_limits<double>::infinity();
    for (const RunResult& run : runs) {
        origins.push_back(parse_iso8601(run.started_at));
        if (origins.back() && *origins.back() < earliest) {
            earliest = *origins.back();
            job.started_at = run.started_at;
        }
    }
    if (!std::isfinite(earliest)) earliest = 0;

    std::map<std::pair<std::string, std::size_t>, Accumulator> phases;
    std::map<long long, Accumulator> epochs;
    std::size_t seen = 0;
    double latest_end = earliest;
    long long samples = 0;
    bool samples_known = true;
    double co2e = 0;
    bool co2e_known = true;
    std::map<std::string, int> node_names, name_count;
    for (const RunResult& run : runs) ++name_count[run.node.empty() ? run.host.hostname : run.node];
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const RunResult& run = runs[i];
        const std::string node = run.node.empty() ? run.host.hostname : run.node;
        // Devices are named after their node; nodes of one name (several on one machine) by their rank too.
        const std::string label =
            name_count[node] > 1 && run.node_rank ? node + "#" + std::to_string(*run.node_rank) : node;
        if (!origins[i])
            job.warnings.push_back("run " + run.id + " (node " + node + ") has no start time ('" +
                                   run.started_at + "'): aligned with the job's start");
        const double origin = origins[i].value_or(earliest);
        latest_end = std::max(latest_end, origin + run.duration_s);
        if (++node_names[node + "#" + (run.node_rank ? std::to_string(*run.node_rank) : "?")] == 2)
            job.warnings.push_back("node " + node + " has more than one run of job " + job_id +
                                   ": each is counted (a job rerun under the same id?)");

        job.energy_j += run.energy.total_j;
        job.measured_j += run.energy.measured_j;
        job.modelled_j += run.energy.modelled_j;
        for (const auto& [domain, joules] : run.energy.domain_j) job.domain_j[domain] += joules;
        for (const SourceEnergy& source : run.energy.sources)
            if (source.accounted) job.device_j[label + "/" + source.device] += source.energy_j;

        JobNode n;
        n.run_id = run.id;
        n.node = node;
        n.node_rank = run.node_rank;
        n.started_at = run.started_at;
        n.duration_s = run.duration_s;
        n.energy_j = run.energy.total_j;
        n.samples = run_samples(run);
        n.status = run.status;
        if (run.carbon) {
            n.co2e_g = run.carbon->co2e_g;
            n.intensity_source = run.carbon->intensity_source;
            co2e += run.carbon->co2e_g;
        } else {
            co2e_known = false;
        }
        if (n.samples)
            samples += *n.samples;
        else
            samples_known = false;
        job.nodes.push_back(std::move(n));

        std::map<std::string, std::size_t> occurrence;
        std::vector<const PhaseResult*> ordered;
        for (const PhaseResult& p : run.phases) ordered.push_back(&p);
        std::stable_sort(ordered.begin(), ordered.end(),
                         [](const PhaseResult* a, const PhaseResult* b) { return a->start_s < b->start_s; });
        for (const PhaseResult* p : ordered) {
            Accumulator& a = phases[{p->name, occurrence[p->name]++}];
            if (a.span.nodes == 0) {
                a.span.name = p->name;
                a.first_seen = seen++;
            }
            add(a, origin, p->start_s, p->end_s, p->energy_j, p->domain_j, p->samples,
                run.carbon ? std::optional<double>(p->co2e_g) : std::nullopt, p->measured_j, p->modelled_j);
        }
        for (const EpochResult& e : run.epochs) {
            Accumulator& a = epochs[e.n];
            if (a.span.nodes == 0) {
                a.span.name = "epoch";
                a.span.n = e.n;
                a.first_seen = seen++;
            }
            add(a, origin, e.start_s, e.end_s, e.energy_j, e.domain_j, e.samples, co2e_of(run, e.energy_j),
                e.measured_j, e.modelled_j);
        }
    }
    job.duration_s = latest_end - earliest;
    if (samples_known) job.samples = samples;
    if (job.samples && *job.samples > 0)
        job.energy_per_sample_j = job.energy_j / static_cast<double>(*job.samples);
    if (co2e_known)
        job.co2e_g = co2e;
    else
        job.warnings.push_back("no CO2e for the job: a node's run has no carbon figure");
    for (const auto& [key, a] : phases)
        if (a.span.nodes < runs.size())
            job.warnings.push_back("phase '" + key.first + "' #" + std::to_string(key.second + 1) +
                                   " is on " + std::to_string(a.span.nodes) + " of " +
                                   std::to_string(runs.size()) + " nodes");
    job.phases = finish_all(phases, earliest);
    job.epochs = finish_all(epochs, earliest);
    std::stable_sort(job.nodes.begin(), job.nodes.end(), [](const JobNode& a, const JobNode& b) {
        if (a.node_rank != b.node_rank) return !b.node_rank || (a.node_rank && *a.node_rank < *b.node_rank);
        return a.node < b.node;
    });
    return job;
}

RunResult job_as_run(const JobResult& job, const std::vector<RunResult>& runs) {
    RunResult r;
    r.id = job.job_id;
    r.job_id = job.job_id;
    r.job_source = "merged";
    r.started_at = job.started_at;
    r.duration_s = job.duration_s;
    r.energy.total_j = job.energy_j;
    r.energy.measured_j = job.measured_j;
    r.energy.modelled_j = job.modelled_j;
    r.energy.domain_j = job.domain_j;
    r.mean_power_w = job.duration_s > 0 ? job.energy_j / job.duration_s : 0.0;
    r.peak_power_w = std::numeric_limits<double>::quiet_NaN();
    for (const JobSpan& s : job.phases) {
        PhaseResult p;
        p.name = s.name;
        p.start_s = s.start_s;
        p.end_s = s.end_s;
        p.energy_j = s.energy_j;
        p.domain_j = s.domain_j;
        p.samples = s.samples;
        p.energy_per_sample_j = s.energy_per_sample_j;
        p.co2e_g = s.co2e_g.value_or(0);
        p.measured_j = s.measured_j;
        p.modelled_j = s.modelled_j;
        r.phases.push_back(std::move(p));
    }
    for (const JobSpan& s : job.epochs) {
        EpochResult e;
        e.n = s.n.value_or(0);
        e.start_s = s.start_s;
        e.end_s = s.end_s;
        e.energy_j = s.energy_j;
        e.domain_j = s.domain_j;
        e.samples = s.samples;
        e.energy_per_sample_j = s.energy_per_sample_j;
        e.measured_j = s.measured_j;
        e.modelled_j = s.modelled_j;
        r.epochs.push_back(std::move(e));
    }
    if (job.co2e_g) {
        // Nodes may be in different regions: one effective intensity (PUE folded in) gives the summed CO2e.
        CarbonResult carbon;
        carbon.co2e_g = *job.co2e_g;
        carbon.intensity_g_per_kwh = job.energy_j > 0 ? *job.co2e_g / (job.energy_j / 3.6e6) : 0.0;
        carbon.intensity_source = "each node at its own intensity and PUE (job merged over its nodes)";
        r.carbon = carbon;
    }
    // The runs in node-rank order (job.nodes is sorted so), for meta and metrics.
    std::vector<const RunResult*> ordered;
    for (const JobNode& n : job.nodes)
        for (const RunResult& run : runs)
            if (run.id == n.run_id) ordered.push_back(&run);
    bool first = true;
    for (const RunResult* run : ordered) {
        auto add_energy = [](std::optional<double>& sum, const std::optional<double>& part) {
            if (part) sum = sum.value_or(0) + *part;
        };
        add_energy(r.training_energy_j, run->training_energy_j);
        add_energy(r.inference_energy_j, run->inference_energy_j);
        r.gpus.insert(r.gpus.end(), run->gpus.begin(), run->gpus.end());
        r.partial = r.partial || run->partial;
        if (r.status == RunStatus::completed) r.status = run->status;
        for (const auto& [key, value] : run->meta) r.meta.emplace(key, value);
        for (const auto& [name, series] : run->metrics)
            if (!series.points.empty()) r.metrics.emplace(name, series);
        if (first) {
            r.name = run->name;
            r.host = run->host;
            r.command = run->command;
            r.tags = run->tags;
            first = false;
        } else {
            for (auto it = r.tags.begin(); it != r.tags.end();) {
                auto other = run->tags.find(it->first);
                it = other == run->tags.end() || other->second != it->second ? r.tags.erase(it)
                                                                             : std::next(it);
            }
        }
    }
    r.warnings = job.warnings;
    return r;
}

nlohmann::ordered_json to_json(const JobResult& job) {
    using Json = nlohmann::ordered_json;
    auto optional_samples = [](const std::optional<long long>& v) { return v ? Json(*v) : Json(nullptr); };
    auto span_json = [&](const JobSpan& s) {
        Json j;
        if (s.n)
            j["n"] = *s.n;
        else
            j["name"] = s.name;
        j["start_s"] = s.start_s;
        j["end_s"] = s.end_s;
        j["duration_s"] = s.end_s - s.start_s;
        j["energy_j"] = s.energy_j;
        j["domain_j"] = s.domain_j;
        j["samples"] = optional_samples(s.samples);
        j["energy_per_sample_j"] = optional_json(s.energy_per_sample_j);
        j["co2e_g"] = optional_json(s.co2e_g);
        j["nodes"] = s.nodes;
        return j;
    };
    Json j;
    j["schema"] = job_schema;
    j["job"] = job.job_id;
    j["started_at"] = job.started_at;
    j["duration_s"] = job.duration_s;
    j["energy_j"] = {{"total", job.energy_j},
                     {"measured", job.measured_j},
                     {"modelled", job.modelled_j},
                     {"domains", job.domain_j},
                     {"devices", job.device_j}};
    j["samples"] = optional_samples(job.samples);
    j["energy_per_sample_j"] = optional_json(job.energy_per_sample_j);
    j["co2e_g"] = optional_json(job.co2e_g);
    Json nodes = Json::array();
    for (const JobNode& n : job.nodes)
        nodes.push_back({{"node", n.node},
                         {"node_rank", optional_samples(n.node_rank)},
                         {"run_id", n.run_id},
                         {"status", to_string(n.status)},
                         {"started_at", n.started_at},
                         {"duration_s", n.duration_s},
                         {"energy_j", n.energy_j},
                         {"samples", optional_samples(n.samples)},
                         {"co2e_g", optional_json(n.co2e_g)},
                         {"intensity_source", n.intensity_source}});
    j["nodes"] = nodes;
    Json phases = Json::array();
    for (const JobSpan& s : job.phases) phases.push_back(span_json(s));
    j["phases"] = phases;
    Json epochs = Json::array();
    for (const JobSpan& s : job.epochs) epochs.push_back(span_json(s));
    j["epochs"] = epochs;
    j["warnings"] = job.warnings;
    return j;
}

}  // namespace joulecast::analysis
