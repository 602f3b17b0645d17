// The report written to a file, with a short note on where it went and which sections had no data.

#include "report/html/write_report.hpp"

#include <filesystem>
#include <memory>
#include <stdexcept>

#include "core/output_file.hpp"
#include "report/html/page.hpp"
#include "store/run_store.hpp"

namespace joulecast::report {

using core::write_output_file;

using store::open_store_to_read;
using store::RunNotFound;
using store::RunStore;

void write_report(const std::string& path, const ReportRequest& request, const std::string& html,
                  std::ostream& out) {
    // A store that does not exist yet has no runs: reading it must not create it.
    const std::unique_ptr<RunStore> store = open_store_to_read(path);
    if (!store && !request.run_id.empty()) {
        throw RunNotFound("no run '" + request.run_id + "': the store " + path + " does not exist");
    }

    ReportInputs inputs = load_report_inputs(store.get(), request);
    if (inputs.store_path.empty()) inputs.store_path = path;
    const auto data = build_report_data(inputs, request.options);
    const std::string page = render_html(data);

    // Through the shared output rule: a regular file is replaced whole (a reader never sees half a page), a
    // symlink's target is written, a FIFO or device gets a stream, a directory is refused.
    const std::string failure = write_output_file(html, [&](std::ostream& file) {
        file.write(page.data(), static_cast<std::streamsize>(page.size()));
    });
    if (!failure.empty()) throw std::runtime_error("cannot write " + html + ": " + failure);
    std::error_code ec;
    const std::filesystem::path target(html);

    const std::size_t runs = data["runs_analysed"].get<std::size_t>();
    out << "wrote " << std::filesystem::absolute(target, ec).string() << " (" << runs
        << (runs == 1 ? " run" : " runs") << " analysed";
    if (data["runs_matched"].get<std::size_t>() != runs)
        out << " of " << data["runs_matched"].get<std::size_t>() << " matching";
    if (data["by_job"]["on"].get<bool>()) {
        const std::size_t jobs = data["by_job"]["jobs"].get<std::size_t>();
        out << "; by job: " << jobs << (jobs == 1 ? " job" : " jobs") << " merged from "
            << data["by_job"]["job_runs"].get<std::size_t>() << " runs, each one unit";
    }
    out << ")\n";
    for (const auto& [key, section] : data["sections"].items())
        if (section["status"] != "ok")
            out << "  no data: " << section["title"].get<std::string>() << ": "
                << section["reason"].get<std::string>() << '\n';
}

}  // namespace joulecast::report
