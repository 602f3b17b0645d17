#pragma once
// `joulecast runs import`: result documents written on other nodes (`joulecast run --json`) into a store, so
// that `joulecast jobs show` can merge a job's nodes (docs/distributed.md).

#include <string>

#include "store/run_store.hpp"

namespace joulecast::store {

enum class ImportStatus { imported, already_present, refused };

struct ImportOutcome {
    ImportStatus status = ImportStatus::refused;
    std::string run_id;  ///< when the document could be read
    std::string job_id;
    std::string node;
    std::string reason;  ///< why it was refused
};

/// Imports the result document in the file at `path`: refused (with the reason, nothing written) when the
/// file cannot be read, is not JSON or is cut short, is not a joulecast result (no or another `schema`), has
/// no run id, or has fields of the wrong type; skipped when a run with its id is already in the store (so
/// importing twice keeps one); otherwise stored as it is, as a finished run.
ImportOutcome import_result_file(RunStore& store, const std::string& path);

}  // namespace joulecast::store
