#include "store/import.hpp"

#include <fstream>
#include <sstream>

#include "meter/run_json.hpp"

namespace joulecast::store {

using meter::run_from_json;
using meter::RunStatus;

ImportOutcome import_result_file(RunStore& store, const std::string& path) {
    ImportOutcome outcome;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        outcome.reason = "cannot be read";
        return outcome;
    }
    std::ostringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    if (content.find_first_not_of(" \t\r\n") == std::string::npos) {
        outcome.reason = "is empty, not a joulecast result";
        return outcome;
    }
    nlohmann::ordered_json document;
    try {
        document = nlohmann::ordered_json::parse(content);
    } catch (const nlohmann::json::parse_error& error) {
        // A document cut short ends inside a value: the parser reaches the end of the input.
        const bool truncated = error.byte >= content.size();
        outcome.reason = truncated ? "is cut short (truncated JSON, " + std::to_string(content.size()) +
                                         " bytes): not a whole joulecast result"
                                   : "is not JSON (error at byte " + std::to_string(error.byte) + ")";
        return outcome;
    }
    if (!document.is_object()) {
        outcome.reason = "is JSON but not an object: not a joulecast result";
        return outcome;
    }
    auto run = run_from_json(document);
    if (!run) {
        outcome.reason = run.error();
        return outcome;
    }
    if (run->id.empty()) {
        outcome.reason = "a joulecast result without a run id";
        return outcome;
    }
    outcome.run_id = run->id;
    outcome.job_id = run->job_id;
    outcome.node = run->node.empty() ? run->host.hostname : run->node;
    if (run->status == RunStatus::running) {
        outcome.reason = "run " + run->id + " is still running (a partial document): import its final result";
        return outcome;
    }
    // A run present without its result (the store was full when it ended) is completed by the file its
    // joulecast wrote instead.
    if (store.contains(run->id) && store.summary(run->id).finished) {
        outcome.status = ImportStatus::already_present;
        return outcome;
    }
    store.finish_run(*run, document);
    outcome.status = ImportStatus::imported;
    return outcome;
}

}  // namespace joulecast::store
