// joulecast-agent: the node agent behind `joulecast serve`. It samples every available sensor through the
// same registry and sampler as `joulecast run` and serves the Prometheus text exposition on GET /metrics.
//
// It is a separate executable because Debian's cpp-httplib is a shared library that pulls in OpenSSL, and the
// measuring `joulecast` binary must need only glibc and libstdc++.

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "agent/web_config.hpp"
#include "core/args.hpp"
#include "core/clock.hpp"
#include "core/process_liveness.hpp"
#include "export/exposition.hpp"
#include "export/run_metrics.hpp"
#include "meter/sampler.hpp"
#include "sensors/registry.hpp"

namespace {

using namespace joulecast;
using joulecast::core::monotonic_ns;
using joulecast::core::positive_duration_option;
using joulecast::core::process_cpu_seconds;
using joulecast::core::process_stat;

using joulecast::sensors::make_sensor_set;
using joulecast::sensors::SensorConfig;
using joulecast::sensors::SensorSet;

using joulecast::meter::Sampler;
using joulecast::meter::SamplerOptions;

volatile std::sig_atomic_t g_stop_requested = 0;  // set by the SIGTERM/SIGINT handler
constexpr std::size_t worker_threads = 16;        // HTTP requests served at once
constexpr int listen_backlog = 128;               // connections waiting to be accepted

const char* const usage = R"(usage: joulecast-agent serve [options]
       joulecast serve [options]
       joulecast-agent push URL PATH FILE

Samples every available energy sensor and serves Prometheus metrics.

options:
  --listen ADDR:PORT   where to listen (default 127.0.0.1:9464); an address beyond loopback, e.g.
                       0.0.0.0:9464, must be given here explicitly
  --interval-ms N      time between sensor readings, 10 to 10000 (default 1000)
  --runs-dir DIR       where `joulecast run` on this node leaves its runs' state files (default
                       $JOULECAST_RUNS_DIR, else /run/joulecast where it exists, else /tmp/joulecast-runs)
  --web-config FILE    TLS and basic authentication, in the YAML of Prometheus's exporter toolkit
                       (tls_server_config: cert_file, key_file; basic_auth_users: user: bcrypt hash)
  --run-grace D        how long an ended run (or one that stopped writing) stays in /metrics (default 5m)

endpoints: GET /metrics (text format 0.0.4, or OpenMetrics 1.0.0 when the Accept header asks for
application/openmetrics-text), GET / (links), GET /-/healthy

push: PUTs FILE (text format 0.0.4) to the Pushgateway URL at PATH (/metrics/job/...), for
`joulecast run --push`; prints "ok" or why it failed on one line.
environment: JOULECAST_SYSFS_ROOT, JOULECAST_PROC_ROOT, JOULECAST_NVML_LIBRARY, JOULECAST_ROCM_SMI_LIBRARY
)";

struct Options {
    std::string host = "127.0.0.1";
    int port = 9464;
    std::chrono::milliseconds interval{1000};
    std::string runs_dir = exporter::default_runs_dir();
    std::chrono::nanoseconds run_grace = std::chrono::minutes(5);
    std::string web_config;
};

struct OptionError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

int parse_int(const std::string& text, const std::string& what) {
    std::size_t used = 0;
    int value = 0;
    try {
        value = std::stoi(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size()) throw OptionError(what + " is not a whole number: '" + text + "'");
    return value;
}

Options parse(const std::vector<std::string>& args) {
    Options options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw OptionError(arg + " needs a value");
            return args[++i];
        };
        if (arg == "--listen") {
            const std::string& listen = value();
            const auto colon = listen.rfind(':');
            if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size())
                throw OptionError("--listen wants ADDR:PORT, e.g. 127.0.0.1:9464, not '" + listen + "'");
            options.host = listen.substr(0, colon);
            if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']')
                options.host = options.host.substr(1, options.host.size() - 2);
            options.port = parse_int(listen.substr(colon + 1), "--listen's port");
            if (options.port < 1 || options.port > 65535)
                throw OptionError("--listen's port must be 1 to 65535, not " + std::to_string(options.port));
        } else if (arg == "--interval-ms") {
            const int ms = parse_int(value(), "--interval-ms");
            if (ms < 10 || ms > 10000) throw OptionError("--interval-ms must be 10 to 10000");
            options.interval = std::chrono::milliseconds(ms);
        } else if (arg == "--web-config") {
            options.web_config = value();
        } else if (arg == "--runs-dir") {
            options.runs_dir = value();
            if (options.runs_dir.empty()) throw OptionError("--runs-dir needs a folder");
        } else if (arg == "--run-grace") {
            const std::string& text = value();
            try {
                options.run_grace = positive_duration_option("--run-grace", text);
            } catch (const std::exception& error) {
                throw OptionError(error.what());
            }
        } else {
            throw OptionError("unknown option '" + arg + "'");
        }
    }
    return options;
}

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

/// The UUIDs of the GPUs the sensors report, by device name ("gpu0", "amdgpu1").
std::map<std::string, std::string> gpu_uuids(const SensorSet& sensors) {
    std::map<std::string, std::string> uuids;
    for (const auto& probed : sensors.sensors) {
        if (!probed.availability.available) continue;
        for (const auto& gpu : probed.sensor->gpus())
            if (!gpu.uuid.empty()) uuids[gpu.device] = gpu.uuid;
    }
    return uuids;
}

/// Owns the sensors and the sampler and turns new readings into the exported series. The sampler is replaced
/// every `rotate_after` readings, because its trace keeps every reading: a new one starts as soon as the old
/// has stopped, and the integration bridges the gap of a few milliseconds.
class Collector {
public:
    explicit Collector(SensorSet sensors, std::chrono::milliseconds interval)
        : m_sensors(std::move(sensors)), m_interval(interval) {
        m_sampler = make_sampler();
        m_export = std::make_unique<exporter::EnergyExport>(m_sampler->trace().channels());
        m_export->set_uuids(gpu_uuids(m_sensors));
        for (const auto& probed : m_sensors.sensors)
            m_states.push_back({std::string(probed.sensor->name()), probed.availability.available,
                                probed.availability.reason});
    }
    ~Collector() {
        if (m_sampler) m_sampler->stop();
    }

    /// Takes the sampler's new readings; every second from the collector thread, and at every scrape.
    void collect() {
        std::lock_guard lock(m_mutex);
        collect_locked();
        if (m_consumed >= rotate_after) {
            m_sampler->stop();
            collect_locked();
            add_stats();
            m_sampler = make_sampler();
            m_consumed = 0;
            collect_locked();
        }
    }

    std::string render(double last_scrape_s) {
        std::lock_guard lock(m_mutex);
        collect_locked();
        exporter::Snapshot snapshot;
        snapshot.energy = m_export->energy();
        snapshot.power = m_export->power();
        snapshot.sensors =
            exporter::sensor_states_now(m_states, m_sampler->trace().channels(), m_sampler->stats());
        snapshot.self.readings = m_past_readings + m_sampler->readings();
        snapshot.self.read_errors = m_past_errors;
        for (const auto& stats : m_sampler->stats()) snapshot.self.read_errors += stats.errors;
        snapshot.self.scrape_duration_s = last_scrape_s;
        snapshot.self.cpu_s = process_cpu_seconds();
        return exporter::render_text(snapshot);
    }

    std::size_t channels() const { return m_sampler->trace().channels().size(); }

private:
    static constexpr std::size_t rotate_after = 1'000'000;  // about 24 MB of readings

    std::unique_ptr<Sampler> make_sampler() {
        SamplerOptions options;
        options.interval = m_interval;
        auto sampler = std::make_unique<Sampler>(m_sensors.used(), options);
        sampler->start();
        return sampler;
    }
    void collect_locked() {
        auto readings = m_sampler->trace().readings(m_consumed);
        m_consumed += readings.size();
        m_export->ingest(readings);
    }
    void add_stats() {
        m_past_readings += m_sampler->readings();
        for (const auto& stats : m_sampler->stats()) m_past_errors += stats.errors;
    }

    SensorSet m_sensors;
    std::chrono::milliseconds m_interval;
    std::mutex m_mutex;
    std::unique_ptr<Sampler> m_sampler;
    std::unique_ptr<exporter::EnergyExport> m_export;
    std::vector<exporter::SensorState> m_states;
    std::size_t m_consumed = 0;
    std::uint64_t m_past_readings = 0;
    std::uint64_t m_past_errors = 0;
};

/// The runs of this node: every `joulecast run` that found this agent's agent.pid rewrites
/// RUNS_DIR/RUN_ID.prom every second and once at its end (runner/live_export.hpp). A file not rewritten for
/// the grace period (a run that ended, or died) is left out and removed where the agent may.
class Runs {
public:
    Runs(std::string dir, std::chrono::nanoseconds grace) : m_dir(std::move(dir)), m_grace(grace) {}
    ~Runs() {
        if (m_announced) unlink((m_dir + "/agent.pid").c_str());
    }

    /// Creates the folder (sticky and writable by all, as /tmp, so that every user's runs can register)
    /// and announces the agent there. False with the reason when it cannot.
    bool announce(std::string& why) {
        if (mkdir(m_dir.c_str(), 01777) == 0)
            chmod(m_dir.c_str(), 01777);  // umask took bits away
        else if (errno != EEXIST)
            return why = std::string("cannot create it: ") + std::strerror(errno), false;
        const auto self = process_stat(getpid());
        const std::string temp = m_dir + "/.agent.pid." + std::to_string(getpid());
        // O_EXCL | O_NOFOLLOW: a link planted in a shared folder is not followed.
        unlink(temp.c_str());
        const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) return why = "cannot write " + temp + ": " + std::strerror(errno), false;
        const std::string line =
            std::to_string(getpid()) + ' ' + std::to_string(self ? self->start_ticks : 0) + '\n';
        const bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
        close(fd);
        if (!written) return why = "cannot write " + temp, false;
        chmod(temp.c_str(), 0644);
        if (std::rename(temp.c_str(), (m_dir + "/agent.pid").c_str()) != 0)
            return why = std::string("cannot write agent.pid: ") + std::strerror(errno), false;
        m_announced = true;
        return true;
    }

    /// The runs' families, merged; `count` gets the runs shown and `dropped` the lines left out.
    std::string render(std::size_t& count, std::size_t& dropped) {
        std::vector<std::string> texts;
        std::error_code error;
        const auto now = std::filesystem::file_time_type::clock::now();
        for (std::filesystem::directory_iterator it(m_dir, error), end; !error && it != end;
             it.increment(error)) {
            const auto& path = it->path();
            const std::string name = path.filename().string();
            if (name.size() < 6 || name.compare(name.size() - 5, 5, ".prom") != 0 || name[0] == '.') continue;
            std::error_code stat_error;
            const auto mtime = std::filesystem::last_write_time(path, stat_error);
            // Regular files only, never a link (to a file the agent may read and the run's user may not).
            if (stat_error || !std::filesystem::is_regular_file(it->symlink_status(stat_error))) continue;
            if (now - mtime > m_grace) {
                std::filesystem::remove(path, stat_error);  // only where the agent may (sticky folder)
                continue;
            }
            if (texts.size() >= max_runs) break;
            std::ifstream in(path, std::ios::binary);
            std::string text(max_bytes, '\0');
            in.read(text.data(), static_cast<std::streamsize>(text.size()));
            text.resize(static_cast<std::size_t>(in.gcount()));
            texts.push_back(std::move(text));
        }
        count = texts.size();
        return exporter::merge_run_texts(texts, &dropped);
    }

private:
    static constexpr std::size_t max_runs = 1000;         // files read per scrape
    static constexpr std::size_t max_bytes = 256 * 1024;  // bytes read per file
    std::string m_dir;
    std::chrono::nanoseconds m_grace;
    bool m_announced = false;
};

const char* const index_page = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>joulecast agent</title></head>
<body><h1>joulecast agent</h1>
<p>Energy and power of this node's devices for Prometheus.</p>
<ul><li><a href="metrics">/metrics</a>: the metrics (text format 0.0.4)</li>
<li><a href="-/healthy">/-/healthy</a>: liveness</li></ul>
</body></html>
)";

int serve(const Options& options) {
    // A bad web configuration is found before anything is probed or served.
    const agent::WebConfig web =
        options.web_config.empty() ? agent::WebConfig{} : agent::read_web_config(options.web_config);
    SensorSet sensors = make_sensor_set(SensorConfig::from_environment());
    for (const auto& note : sensors.fallbacks) std::cerr << "joulecast-agent: " << note << '\n';
    for (const auto& probed : sensors.sensors)
        if (!probed.availability.available)
            std::cerr << "joulecast-agent: sensor " << probed.sensor->name()
                      << " unavailable: " << probed.availability.reason << '\n';
    Collector collector(std::move(sensors), options.interval);
    Runs runs(options.runs_dir, options.run_grace);
    // SIGTERM and SIGINT set a flag that a watcher thread turns into a clean stop. The handler is installed
    // after the sensors are probed, because a vendor library may install its own (ROCm SMI does).
    struct sigaction action = {};
    action.sa_handler = [](int) { g_stop_requested = 1; };
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    std::unique_ptr<httplib::Server> server;
    if (web.tls())
        server = std::make_unique<httplib::SSLServer>(web.cert_file.c_str(), web.key_file.c_str());
    else
        server = std::make_unique<httplib::Server>();
    if (!server->is_valid()) {
        std::cerr << "joulecast-agent: cannot use the TLS certificate " << web.cert_file << " with the key "
                  << web.key_file << " (unreadable, not PEM, or not a pair)\n";
        return 1;
    }
    agent::BasicAuth auth(web.users);
    agent::FailureLog failures;
    if (!web.users.empty()) {
        // Every endpoint needs a user: 401 with a challenge otherwise, and failures are logged at most every
        // 10 s.
        server->set_pre_routing_handler([&](const httplib::Request& request, httplib::Response& response) {
            std::string user;
            if (auth.check(request.get_header_value("Authorization"), user))
                return httplib::Server::HandlerResponse::Unhandled;
            if (request.has_header("Authorization")) {
                const std::string line = failures.failure(user, request.remote_addr);
                if (!line.empty()) std::cerr << line << '\n';
            }
            response.status = 401;
            response.set_header("WWW-Authenticate", "Basic realm=\"joulecast-agent\"");
            response.set_content("Unauthorized\n", "text/plain; charset=utf-8");
            return httplib::Server::HandlerResponse::Handled;
        });
    }
    std::atomic<double> last_scrape_s{0};
    server->Get("/metrics", [&](const httplib::Request& request, httplib::Response& response) {
        const std::int64_t start = monotonic_ns();
        std::string text = collector.render(last_scrape_s.load());
        std::size_t count = 0, dropped = 0;
        text += runs.render(count, dropped);
        exporter::family(text, "joulecast_agent_runs", "gauge",
                         "Runs of this node shown in joulecast_run_*.");
        exporter::sample(text, "joulecast_agent_runs", {}, static_cast<double>(count));
        exporter::family(text, "joulecast_agent_run_lines_dropped", "gauge",
                         "Lines of the runs' state files left out at this scrape (not in the text format).");
        exporter::sample(text, "joulecast_agent_run_lines_dropped", {}, static_cast<double>(dropped));
        // OpenMetrics when the scraper asks for it (Prometheus does), else the text format 0.0.4.
        if (exporter::accepts_openmetrics(request.get_header_value("Accept")))
            response.set_content(exporter::to_openmetrics(text), exporter::openmetrics_content_type);
        else
            response.set_content(text, exporter::text_content_type);
        last_scrape_s = static_cast<double>(monotonic_ns() - start) * 1e-9;
    });
    server->Get("/", [](const httplib::Request&, httplib::Response& response) {
        response.set_content(index_page, "text/html; charset=utf-8");
    });
    server->Get("/-/healthy", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("joulecast agent is healthy.\n", "text/plain; charset=utf-8");
    });
    // A client that stalls (half a request, a body shorter than announced) is dropped after 5 s without a
    // byte, and holds one worker thread until then: 16 workers (not the library's default of one per core, at
    // least 8), so that a few stalled clients at once do not delay Prometheus's scrapes.
    server->new_task_queue = [] { return new httplib::ThreadPool(worker_threads); };
    server->set_read_timeout(std::chrono::seconds(5));
    server->set_write_timeout(std::chrono::seconds(5));
    // The listening socket, seen by the socket options hook before its bind. The library's default options
    // set SO_REUSEPORT, with which a second agent on the same port would start and take half of the scrapes
    // (its counters alternating with this one's); SO_REUSEADDR alone lets a restarted agent bind while old
    // connections linger, and a second one fails. The library listens with a backlog of 5, so that many
    // scrapers connecting at once would see connections dropped and retried a second later; Linux raises the
    // backlog of a listening socket when listen() is called again.
    int listen_fd = -1;
    server->set_socket_options([&listen_fd](socket_t sock) {
        const int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        listen_fd = sock;
    });

    if (!server->bind_to_port(options.host, options.port)) {
        std::cerr << "joulecast-agent: cannot listen on " << options.host << ':' << options.port
                  << " (address in use, perhaps by another agent, or not an address of this machine)\n";
        return 1;
    }
    // Announced only once the port is ours: an agent that cannot listen (a second one) must not replace, nor
    // on its way out remove, the running agent's agent.pid.
    std::string why;
    if (runs.announce(why))
        std::cerr << "joulecast-agent: runs on this node register in " << options.runs_dir << '\n';
    else
        std::cerr << "joulecast-agent: runs on this node will not show: " << options.runs_dir << ": " << why
                  << '\n';
    int accepting = 0;
    socklen_t length = sizeof accepting;
    if (listen_fd >= 0 && getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 &&
        accepting)
        listen(listen_fd, listen_backlog);
    if (!is_loopback(options.host))
        std::cerr
            << "joulecast-agent: listening beyond loopback on " << options.host
            << (web.users.empty() ? "; anyone who can reach this port can read the metrics" : "")
            << (web.tls()
                    ? ""
                    : "; without TLS (--web-config) the metrics and any password cross the network in clear")
            << '\n';
    std::cerr << "joulecast-agent: serving " << collector.channels() << " channels on "
              << (web.tls() ? "https" : "http") << "://" << options.host << ':' << options.port
              << "/metrics\n";

    std::atomic<bool> stopping{false};
    // Collects new readings every 200 ms (so that the traces stay short) and watches for a stop signal.
    std::thread watcher([&] {
        while (!stopping) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (g_stop_requested) {
                stopping = true;
                server->stop();
                break;
            }
            collector.collect();
        }
    });

    const bool served = server->listen_after_bind();
    const bool signalled = g_stop_requested != 0;
    stopping = true;
    watcher.join();
    std::cerr << "joulecast-agent: stopped" << (signalled ? " (signal)" : "") << '\n';
    return served || signalled ? 0 : 1;
}

/// `joulecast-agent push URL PATH FILE`: one PUT to a Pushgateway. URL may carry a path prefix
/// (http://host:9091/prefix). Always exits 0 once it ran; its one line of output says "ok" or why not.
int push(const std::string& url, const std::string& path, const std::string& file) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos ||
        (url.compare(0, scheme, "http") != 0 && url.compare(0, scheme, "https") != 0)) {
        std::cout << "not an http:// or https:// URL: '" << url << "'\n";
        return 0;
    }
    const auto slash = url.find('/', scheme + 3);
    const std::string origin = url.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    std::ifstream in(file, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) {
        std::cout << "cannot read " << file << '\n';
        return 0;
    }
    httplib::Client client(origin);
    if (!client.is_valid()) {
        std::cout << "not a usable URL: '" << url << "'\n";
        return 0;
    }
    client.set_connection_timeout(std::chrono::seconds(5));
    client.set_read_timeout(std::chrono::seconds(10));
    client.set_write_timeout(std::chrono::seconds(10));
    auto response = client.Put(prefix + path, body.str(), exporter::text_content_type);
    if (!response) {
        std::cout << "no answer from " << origin << " (" << httplib::to_string(response.error()) << " error)"
                  << '\n';
    } else if (response->status / 100 != 2) {
        std::string text = response->body.substr(0, 300);
        std::replace(text.begin(), text.end(), '\n', ' ');
        std::cout << "the Pushgateway answered " << response->status << ": " << text << '\n';
    } else {
        std::cout << "ok " << response->status << '\n';
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
        (args.empty() ? std::cerr : std::cout) << usage;
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "push") {
        if (args.size() != 4) {
            std::cerr << "joulecast-agent push: wants URL PATH FILE\n\n" << usage;
            return 2;
        }
        return push(args[1], args[2], args[3]);
    }
    if (args[0] != "serve") {
        std::cerr << "joulecast-agent: unknown command '" << args[0] << "'\n\n" << usage;
        return 2;
    }
    try {
        std::vector<std::string> rest(args.begin() + 1, args.end());
        if (!rest.empty() && (rest[0] == "-h" || rest[0] == "--help")) {
            std::cout << usage;
            return 0;
        }
        return serve(parse(rest));
    } catch (const OptionError& error) {
        std::cerr << "joulecast-agent serve: " << error.what() << "\n\n" << usage;
        return 2;
    } catch (const std::exception& error) {
        std::cerr << "joulecast-agent serve: error: " << error.what() << '\n';
        return 1;
    }
}
