#include "runner/runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "carbon/run_carbon.hpp"
#include "control/dispatch.hpp"
#include "control/limits.hpp"
#include "control/server.hpp"
#include "core/child_process.hpp"
#include "core/clock.hpp"
#include "core/format.hpp"
#include "core/host.hpp"
#include "core/text.hpp"
#include "meter/run_json.hpp"
#include "runner/job_identity.hpp"
#include "runner/job_share.hpp"
#include "runner/node_lock.hpp"
#include "sensors/job/job_gpu_share.hpp"
#include "store/run_store.hpp"
#include "store/store_writer.hpp"

namespace joulecast::runner {

using core::ChildProcess;
using core::format_number;
using core::is_valid_utf8;
using core::iso8601_utc_now;
using core::monotonic_ns;
using core::ns_to_s;
using core::process_cpu_seconds;
using core::read_host_info;
using core::redact_command;
using core::RedactedCommand;
using core::repair_utf8;
using core::s_to_ns;
using core::SignalForwarder;
using core::starts_with;
using core::UsageError;

using sensors::gpu_selection_from_environment;
using sensors::GpuInfo;
using sensors::GpuSelection;
using sensors::JobGpuUsage;

using meter::attribute_cpu_energy;
using meter::attribute_gpu_energy;
using meter::gpu_energy;
using meter::GpuShareSource;
using meter::Monitor;
using meter::new_run_id;
using meter::RankResult;
using meter::Reading;
using meter::RunResult;
using meter::RunStatus;
using meter::Timeline;
using meter::to_json;
using meter::Trace;

using control::client_identity;
using control::ControlCounters;
using control::ControlEvent;
using control::ControlLimits;
using control::ControlMessage;
using control::ControlServer;
using control::dispatch_control;
using control::format_control_line;

using carbon::apply_carbon;

using store::MarkerLog;
using store::RunStore;
using store::StoreError;
using store::StoreFullError;
using store::StoreWriter;

namespace {

void record_control(RunResult& result, const ControlServer& server, const ControlLimits& limits) {
    ControlCounters counters = server.counters();
    result.control = {{"lines", counters.lines},         {"accepted", counters.accepted},
                      {"malformed", counters.malformed}, {"unknown_verb", counters.unknown_verb},
                      {"oversized", counters.oversized}, {"clients", counters.clients}};
    if (counters.invalid_utf8 > 0) {
        result.control["invalid_utf8"] = counters.invalid_utf8;
        result.warnings.push_back(
            std::to_string(counters.invalid_utf8) +
            " control lines were not valid UTF-8: each bad byte sequence became U+FFFD");
    }
    if (limits.dropped_phases() > 0 || limits.dropped_metric_points() > 0) {
        result.control["dropped_phases"] = limits.dropped_phases();
        result.control["dropped_metric_points"] = limits.dropped_metric_points();
        result.warnings.push_back(
            "markers beyond the control channel's limits were dropped: " +
            std::to_string(limits.dropped_phases()) + " phases beyond " +
            std::to_string(ControlLimits::k_max_open_phases) + " open at once, " +
            std::to_string(limits.dropped_metric_points()) + " metric values of names beyond the first " +
            std::to_string(ControlLimits::k_max_metric_names) + " or beyond the first " +
            std::to_string(ControlLimits::k_max_metric_points) + " values");
    }
    const std::uint64_t rejected = counters.malformed + counters.unknown_verb + counters.oversized;
    if (rejected > 0) {
        std::string example = counters.rejected_examples.empty()
                                  ? ""
                                  : " (first: " + counters.rejected_examples[0].reason + ")";
        result.warnings.push_back(std::to_string(rejected) + " control lines were rejected" + example);
    }
}

/// Text given on the command line (name, tags, argv) is stored and reported as valid UTF-8; the command
/// itself still runs with its bytes as given. Each repaired item adds one warning.
void repair_user_text(const RunSpec& spec, RunResult& header, std::vector<std::string>& warnings) {
    auto repair = [&warnings](const std::string& text, const std::string& what) {
        if (is_valid_utf8(text)) return text;
        warnings.push_back(what + " is not valid UTF-8: stored with U+FFFD in place of the bad bytes");
        return repair_utf8(text);
    };
    header.name = repair(spec.name, "--name");
    header.tags.clear();
    for (const auto& [key, value] : spec.tags)
        header.tags[repair(key, "a --tag key")] = repair(value, "--tag " + repair_utf8(key));
    std::vector<std::string> command;
    for (std::size_t i = 0; i < spec.command.size(); ++i)
        command.push_back(repair(spec.command[i], "the command's argument " + std::to_string(i)));
    RedactedCommand redacted = redact_command(command, spec.redact_patterns);
    header.command = std::move(redacted.argv);
    if (redacted.masked > 0)
        warnings.push_back("the stored command line masks " + std::to_string(redacted.masked) +
                           " value(s) of arguments named like a secret (--redact adds names)");
}

/// A run's time limit: SIGINT to the command `limit` after it started, SIGKILL time_limit_grace later unless
/// it has ended. stop() (as soon as the command has been waited for) ends the watch.
class TimeLimit {
public:
    TimeLimit(pid_t pid, std::chrono::nanoseconds limit) {
        if (limit.count() <= 0) return;
        m_thread = std::thread([this, pid, limit] {
            std::unique_lock<std::mutex> lock(m_mutex);
            if (m_cv.wait_for(lock, limit, [this] { return m_done; })) return;
            m_fired = true;
            ::kill(pid, SIGINT);
            if (m_cv.wait_for(lock, time_limit_grace, [this] { return m_done; })) return;
            ::kill(pid, SIGKILL);
        });
    }
    ~TimeLimit() { stop(); }
    TimeLimit(const TimeLimit&) = delete;
    TimeLimit& operator=(const TimeLimit&) = delete;

    void stop() {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_done = true;
        }
        m_cv.notify_all();
        if (m_thread.joinable()) m_thread.join();
    }
    /// Whether the limit was reached (read after stop()).
    bool fired() const { return m_fired; }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_done = false;
    bool m_fired = false;
    std::thread m_thread;
};

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

/// `--gpus used`: every measured GPU the job held no compute context on leaves the totals. Without a
/// process list, nothing is left out and the result says why.
std::vector<std::string> leave_out_unused_gpus(Monitor& monitor, const std::vector<JobGpuUsage>& usage,
                                               std::vector<std::string>& warnings) {
    std::vector<std::string> unused;
    std::map<std::string, const JobGpuUsage*> by_device;
    for (const auto& u : usage) by_device[u.device] = &u;
    for (const GpuInfo& gpu : monitor.sensors().gpus()) {
        auto found = by_device.find(gpu.device);
        if (found == by_device.end()) {
            warnings.push_back("--gpus used: no process list covers " + gpu.device +
                               ", so whether the job used it is unknown: its energy stays in the totals");
            continue;
        }
        if (!found->second->used) unused.push_back(gpu.device);
    }
    monitor.leave_out_gpus(unused);
    return unused;
}

/// The job's processes, the others' and the MIG instances on each GPU of the result. A process that spoke
/// on the control socket is the job's even outside the command's tree (add_job_process).
void record_gpu_usage(RunResult& result, const std::vector<JobGpuUsage>& usage,
                      const std::vector<std::string>& unused) {
    for (GpuInfo& gpu : result.gpus)
        for (const auto& u : usage) {
            if (u.device != gpu.device) continue;
            gpu.used = u.used;
            gpu.job_pids.assign(u.job_pids.begin(), u.job_pids.end());
            gpu.other_pids.assign(u.other_pids.begin(), u.other_pids.end());
            gpu.job_instances.assign(u.job_instances.begin(), u.job_instances.end());
        }
    if (!unused.empty())
        result.warnings.push_back(
            "--gpus used: left out of the totals, as no process of the job held a "
            "compute context on them: " +
            joined(unused));
}

/// The GPU that local rank `local` sees as its device 0 under `visible` (CUDA's mapping), among the NVIDIA
/// GPUs of `gpus` (those NVML names "gpu<index>"); none when the mapping names no such GPU.
const GpuInfo* visible_gpu(const GpuSelection& visible, long long local, const std::vector<GpuInfo>& gpus) {
    if (local < 0) return nullptr;
    auto nvidia = [](const GpuInfo& g) { return g.device == sensors::nvml_device_name(g.index); };
    for (const auto& g : gpus) {
        if (!nvidia(g)) continue;
        if (visible.all && g.index == static_cast<unsigned long long>(local)) return &g;
        if (visible.all || static_cast<unsigned long long>(local) >= visible.items.size()) continue;
        const std::string& item = visible.items[static_cast<std::size_t>(local)];
        if (visible.selects(g.index, g.uuid) &&
            (item == std::to_string(g.index) || starts_with(g.uuid, item)))
            return &g;
    }
    return nullptr;
}

/// Each rank's GPU and that GPU's energy over the run (RankResult::gpu_index).
void assign_rank_gpus(RunResult& result, const std::vector<JobGpuUsage>& usage, const GpuSelection& visible) {
    for (RankResult& rank : result.ranks) {
        for (const auto& u : usage)
            if (rank.pid && (u.job_pids.count(static_cast<int>(*rank.pid)) ||
                             u.other_pids.count(static_cast<int>(*rank.pid)))) {
                rank.gpu_index = u.index;
                rank.gpu_source = u.process_list;
                rank.gpu_device = u.device;
                break;
            }
        if (!rank.gpu_index && rank.local_rank)
            if (const GpuInfo* gpu = visible_gpu(visible, *rank.local_rank, result.gpus)) {
                rank.gpu_index = gpu->index;
                rank.gpu_source = "LOCAL_RANK";
                rank.gpu_device = gpu->device;
            }
        if (rank.gpu_index) rank.gpu_energy_j = gpu_energy(result.energy, rank.gpu_device);
    }
}

}  // namespace

/// Runs the command as a client of the run that measures the job on this node: its clients connect to that
/// run's control socket (their hello names their rank), and the exit status is the command's. While the
/// command runs, a thread watches the measuring run's lock: when that run dies first (killed, crashed), this
/// says so at once and again when the command ends, and the command runs on.
RunOutcome join_measurement(const RunSpec& spec, const std::string& job_id, const NodeMembership& membership,
                            const std::string& socket, std::ostream& log) {
    std::map<std::string, std::string> env = spec.env;
    env["JOULECAST_SOCKET"] = socket;
    const std::optional<long> leader_pid = membership.leader_pid();
    const std::string measurer = "the joulecast run measuring job " + job_id + " on this node" +
                                 (leader_pid ? " (pid " + std::to_string(*leader_pid) + ")" : std::string());
    SignalForwarder forwarder;
    RunOutcome outcome;
    outcome.joined = true;
    auto child = ChildProcess::spawn(spec.command, env);
    if (!child) {
        log << "joulecast: " << child.error() << '\n';
        outcome.exit_code = 127;
        return outcome;
    }
    forwarder.forward_to(child->pid());
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    bool leader_lost = false;
    std::thread watcher([&] {
        std::unique_lock<std::mutex> lock(mutex);
        while (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) {
            if (membership.leader_alive()) continue;
            leader_lost = true;
            log << "joulecast: " << measurer
                << " ended before this command: it was killed or crashed, so this command's phases from now "
                   "on are not measured; the command runs on\n";
            return;
        }
    });
    outcome.exit_code = child->wait();
    forwarder.forward_to(0);
    {
        std::lock_guard<std::mutex> lock(mutex);
        done = true;
    }
    cv.notify_all();
    watcher.join();
    if (leader_lost)
        log << "joulecast: job " << job_id << ": " << measurer
            << " died before this command ended: its result, if any, is incomplete; exit status "
            << outcome.exit_code << " is the command's\n";
    return outcome;
}

RunOutcome measure_command(const RunSpec& spec, std::ostream& log) {
    const std::int64_t wall_start = monotonic_ns();
    // One measurement per node and job: a run that finds the job measured here joins it, before any sensor
    // is opened.
    std::vector<std::string> early_warnings;
    std::optional<NodeMembership> membership;
    {
        RunResult job;
        identify_job(job, spec.job, "", process_env());
        if (!job.job_id.empty() && spec.one_measurement_per_node) {
            std::string why;
            membership = NodeMembership::acquire(job.job_id, why, spec.lock_dir);
            if (!membership) {
                early_warnings.push_back("measuring alone, not once per node: " + why);
            } else if (!membership->leader()) {
                if (auto socket = membership->leader_socket(std::chrono::seconds(10))) {
                    if (!spec.quiet)
                        log << "joulecast: job " << job.job_id
                            << " is measured on this node by another joulecast run: joined it (its result "
                               "has this command's phases)\n";
                    return join_measurement(spec, job.job_id, *membership, *socket, log);
                }
                early_warnings.push_back("the run measuring job " + job.job_id +
                                         " on this node published no control socket: measured alone");
                membership.reset();
            }
        }
    }
    Monitor monitor(spec.monitor);
    if (!spec.monitor.sensors.replay_path.empty() && monitor.sensors().used().empty())
        throw UsageError("--replay: " + monitor.sensors().sensors.front().availability.reason);
    if (!spec.quiet)
        for (const auto& note : monitor.sensors().fallbacks) log << "joulecast: note: " << note << '\n';

    RunResult header;
    header.id = new_run_id();
    // The workload's phases, epochs, meta and metrics arrive here; a channel that cannot open is a warning.
    std::vector<std::string> warnings = early_warnings;
    repair_user_text(spec, header, warnings);
    header.host = read_host_info(spec.monitor.sensors.proc_root);
    identify_job(header, spec.job, header.host.hostname, process_env());
    header.gpus = monitor.sensors().gpus();
    apply_carbon(header, spec.carbon);  // so that a run killed mid-way still has its intensity in the store

    // The live forecast hears of each epoch from the control thread, after the monitor has recorded it.
    LiveForecast live(spec.forecast, monitor, spec.carbon, spec.quiet ? nullptr : &log);
    // Every marker also goes to the store on the readings' cadence: a killed joulecast keeps them.
    MarkerLog markers;
    ControlLimits limits;  // used on the control thread only; read after the server has stopped
    auto server = ControlServer::start([&monitor, &live, &markers, &limits](const ControlEvent& event) {
        ControlMessage m = event.message;
        if (!limits.admit(m)) return;
        dispatch_control(monitor.phases(), event.t_ns, m, event.connection);
        // Whoever speaks on the socket works for the job, in the command's tree or not (a joined run's rank).
        if (m.verb == ControlMessage::Verb::hello)
            if (auto pid = client_identity(m).pid) add_job_process(monitor, static_cast<int>(*pid));
        markers.add(event.t_ns, format_control_line(m));
        const bool epoch_ended = m.verb == ControlMessage::Verb::epoch ||
                                 (m.verb == ControlMessage::Verb::end && m.name == "epoch");
        if (epoch_ended) live.on_epoch(event.t_ns);
    });
    std::map<std::string, std::string> child_env = spec.env;
    if (server && membership) membership->publish((*server)->path());
    if (server)
        child_env["JOULECAST_SOCKET"] = (*server)->path();
    else
        warnings.push_back("no control channel (phases and epochs will not be measured): " + server.error());

    // A store that cannot be opened is found before anything runs: the user asked for one (--no-store
    // exists).
    std::unique_ptr<RunStore> store;
    if (spec.store_path) {
        try {
            store = std::make_unique<RunStore>(*spec.store_path);
        } catch (const std::exception& error) {
            // A runtime error, not a wrong option: one message and exit 1, without the usage text.
            throw StoreError(std::string("cannot use the run store: ") + error.what() +
                             " (give another --db, or --no-store)");
        }
    }

    SignalForwarder forwarder;  // from here on, SIGINT/SIGTERM/SIGHUP go to the command, not to us
    if (!spec.quiet && spec.monitor.idle.count() > 0)
        log << "joulecast: measuring idle power for " << ns_to_s(spec.monitor.idle.count())
            << " s before starting the command\n";
    const std::int64_t start_ns = monitor.start();
    header.started_at = iso8601_utc_now();

    std::unique_ptr<StoreWriter> writer;
    std::string store_failure;
    if (store) {
        try {
            store->begin_run(header, monitor.trace().channels(), start_ns, getpid());
            // Through this connection (unused until writer->finish()): a second one would cost its own open.
            writer = std::make_unique<StoreWriter>(*store, header.id, monitor.trace(), start_ns,
                                                   std::chrono::seconds(1), &markers);
        } catch (const std::exception& error) {
            // Said even with --quiet: a run the user expects in the store is missing from it. The run is
            // measured all the same; the caller says where its result went.
            warnings.push_back(std::string("run not stored: ") + error.what());
            log << "joulecast: warning: run not stored: " << error.what() << '\n';
            store_failure = error.what();
            store.reset();
        }
    }

    std::unique_ptr<LiveExport> exporter;
    const std::string state_file =
        spec.runs_dir && agent_running(*spec.runs_dir) ? *spec.runs_dir + "/" + header.id + ".prom" : "";
    if (spec.push || !state_file.empty()) {
        exporter = std::make_unique<LiveExport>(spec.push, state_file, monitor, header);
        exporter->start(start_ns);
    }

    auto child = ChildProcess::spawn(spec.command, child_env);
    RunOutcome outcome;
    RunStatus status = RunStatus::completed;
    if (!child) {
        // Once: the summary lists it among the warnings, unless there is no summary.
        if (spec.quiet) log << "joulecast: " << child.error() << '\n';
        outcome.exit_code = 127;
        status = RunStatus::failed;
        warnings.push_back(child.error());
    } else {
        forwarder.forward_to(child->pid());
        set_job_root(monitor, child->pid());
        live.start(child->pid(), start_ns);
        TimeLimit time_limit(child->pid(), spec.time_limit);
        outcome.exit_code = child->wait();
        time_limit.stop();
        live.stop();
        forwarder.forward_to(0);
        if (time_limit.fired()) {
            status = RunStatus::failed;
            warnings.push_back("stopped at its time limit of " +
                               format_number(ns_to_s(spec.time_limit.count()), 3) +
                               " s (SIGINT, then SIGKILL " + std::to_string(time_limit_grace.count()) +
                               " ms later); exit status " + std::to_string(outcome.exit_code));
        } else if (live.profile_signal_ns()) {
            // Ended by its profile: exiting 0 after the SIGINT, or dying of it, is what was asked.
            status = RunStatus::profiled;
            const int code = outcome.exit_code;
            outcome.ended_by_profile = code == 0 || code == 128 + SIGINT || code == 128 + SIGTERM;
            if (!outcome.ended_by_profile)
                warnings.push_back("after the profile's SIGINT the command exited with status " +
                                   std::to_string(code));
        } else if (outcome.exit_code > 128 && SignalForwarder::last_signal() == outcome.exit_code - 128) {
            status = RunStatus::interrupted;
        } else if (outcome.exit_code != 0) {
            status = RunStatus::failed;
        }
    }
    // The runs that joined this one end their commands inside the window.
    if (membership) membership->wait_for_joiners(spec.quiet ? nullptr : &log);
    // Lines the workload sent just before it ended are read before the window closes.
    if (server) (*server)->stop();

    // --gpus used is decided before the window closes (the result leaves the GPUs out); the usage recorded
    // and attributed is read after, with the closing reading's.
    std::vector<std::string> unused_gpus;
    if (child && spec.monitor.sensors.gpus.used_only)
        unused_gpus = leave_out_unused_gpus(monitor, job_gpu_usage(monitor), warnings);
    RunResult result = monitor.stop();
    const std::vector<JobGpuUsage> gpu_usage = child ? job_gpu_usage(monitor) : std::vector<JobGpuUsage>{};
    record_gpu_usage(result, gpu_usage, unused_gpus);
    // Only a command has a process tree whose share can be measured (the in-process Monitor has none).
    if (child) {
        const std::int64_t end_ns =
            start_ns + static_cast<std::int64_t>(std::llround(result.duration_s * 1e9));
        const Trace& trace = monitor.trace();
        const Timeline timeline(trace);
        result.attributed =
            attribute_to_job(timeline, trace.channels(), trace.readings(), start_ns, end_ns, gpu_usage);
    } else {
        result.attributed.reason = "unmeasurable: the command did not start";
    }
    result.id = header.id;
    result.name = header.name;
    result.command = header.command;
    result.tags = header.tags;
    result.host = header.host;
    result.job_id = header.job_id;
    result.job_source = header.job_source;
    result.node = header.node;
    result.node_rank = header.node_rank;
    result.node_rank_source = header.node_rank_source;
    node_rank_from_ranks(result);
    {
        // The ranks see the devices their environment makes visible (the command's, not --gpus).
        auto variable = [&spec](const char* name) -> const char* {
            auto it = spec.env.find(name);
            if (it != spec.env.end()) return it->second.c_str();
            return std::getenv(name);
        };
        assign_rank_gpus(result, gpu_usage,
                         gpu_selection_from_environment(variable("CUDA_VISIBLE_DEVICES"),
                                                        variable("NVIDIA_VISIBLE_DEVICES")));
    }
    result.started_at = header.started_at;
    result.exit_code = outcome.exit_code;
    result.status = status;
    for (auto& w : warnings) result.warnings.push_back(w);
    const double ran_s = result.duration_s + (result.idle ? result.idle->duration_s : 0.0);
    for (const auto& probed : monitor.sensors().sensors) {
        if (!probed.used) continue;
        for (auto& w : probed.sensor->run_warnings(ran_s)) result.warnings.push_back(std::move(w));
    }
    if (server) record_control(result, **server, limits);
    apply_carbon(result, spec.carbon);
    if (spec.forecast.target) {
        const std::int64_t end_ns = start_ns + s_to_ns(result.duration_s);
        const std::int64_t profile_end_ns = live.profile_signal_ns().value_or(end_ns);
        auto forecast = final_forecast(spec.forecast, result, monitor.trace(), start_ns,
                                       std::min(profile_end_ns, end_ns), spec.carbon);
        if (forecast)
            result.forecast = *forecast;
        else
            result.warnings.push_back("no forecast: " + forecast.error());
    } else if (spec.forecast.active() && status == RunStatus::profiled && !spec.quiet) {
        log << "joulecast: note: no forecast target given (--expect-*): the profile is stored without one\n";
    }

    if (exporter) {
        // Before the store keeps the result, so that a failed push is among its warnings.
        result.overhead.process_cpu_s = process_cpu_seconds();
        for (auto& w : exporter->finish(result)) {
            log << "joulecast: warning: " << w << '\n';
            result.warnings.push_back(std::move(w));
        }
    }
    if (writer && !writer->finish()) {
        const std::string took =
            "the store took " +
            (writer->written() == 0 ? "none" : "only the first " + std::to_string(writer->written())) +
            " of the run's " + std::to_string(monitor.trace().size()) + " readings";
        result.warnings.push_back(took + ": " + writer->last_error());
        log << "joulecast: warning: " << took << ": " << writer->last_error() << '\n';
        store_failure = writer->last_error();
    }
    result.overhead.process_cpu_s = process_cpu_seconds();
    // What joulecast added to the wall time: everything but the command itself and the idle baseline asked
    // for.
    result.overhead.wall_s = ns_to_s(monotonic_ns() - wall_start) - result.duration_s -
                             (result.idle ? result.idle->duration_s : 0.0);
    if (store) {
        try {
            store->finish_run(result, to_json(result));
        } catch (const StoreFullError& error) {
            // The run's row at least, so that it does not read as interrupted with the duration of its last
            // stored reading; the whole result goes to a file (the caller's).
            result.warnings.push_back(std::string("result not stored: ") + error.what());
            store_failure = error.what();
            try {
                store->finish_run_when_full(result);
                outcome.stored_row_only = true;
            } catch (const std::exception& again) {
                log << "joulecast: warning: not even the run's status could be stored: " << again.what()
                    << '\n';
            }
        } catch (const std::exception& error) {
            result.warnings.push_back(std::string("result not stored: ") + error.what());
            log << "joulecast: warning: result not stored: " << error.what() << '\n';
            store_failure = error.what();
        }
    }
    outcome.store_failure = store_failure;
    outcome.result = std::move(result);
    outcome.start_ns = start_ns;
    outcome.trace = monitor.trace();
    return outcome;
}

}  // namespace joulecast::runner
