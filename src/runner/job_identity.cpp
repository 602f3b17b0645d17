#include "runner/job_identity.hpp"

#include <cstdlib>
#include <set>

namespace joulecast::runner {

using meter::RankResult;
using meter::RunResult;

namespace {

std::optional<long long> whole_number(const std::string& text) {
    if (text.empty() || text.size() > 9) return std::nullopt;
    long long value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

}  // namespace

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
}

void identify_job(RunResult& run, const std::string& job_flag, const std::string& hostname,
                  const EnvLookup& env) {
    run.job_id.clear();
    run.job_source.clear();
    if (!job_flag.empty()) {
        run.job_id = job_flag;
        run.job_source = "--job";
    } else {
        for (const char* name : {"SLURM_JOB_ID", "TORCHELASTIC_RUN_ID"}) {
            auto value = env(name);
            if (value && !value->empty()) {
                run.job_id = *value;
                run.job_source = name;
                break;
            }
        }
    }
    run.node = hostname;
    run.node_rank.reset();
    run.node_rank_source.clear();
    for (const char* name : {"GROUP_RANK", "SLURM_NODEID"}) {
        auto value = env(name);
        if (!value) continue;
        if (auto rank = whole_number(*value)) {
            run.node_rank = rank;
            run.node_rank_source = name;
            return;
        }
    }
}

void node_rank_from_ranks(RunResult& run) {
    if (run.node_rank) return;
    std::set<long long> seen;
    for (const RankResult& rank : run.ranks)
        if (rank.node_rank) seen.insert(*rank.node_rank);
    if (seen.size() == 1) {
        run.node_rank = *seen.begin();
        run.node_rank_source = "hello";
    } else if (seen.size() > 1) {
        run.warnings.push_back("the ranks named " + std::to_string(seen.size()) +
                               " different node ranks: the run's node rank is left unknown");
    }
}

}  // namespace joulecast::runner
