// The control-channel server: private socket directory, delivery order and timestamps, counting of bad lines,
// floods, half lines, concurrent clients and clean shutdown.

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "control/server.hpp"
#include "core/clock.hpp"
#include "support/event_sink.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::control {

using core::monotonic_ns;

namespace {

using Verb = ControlMessage::Verb;

using test::EventSink;

std::unique_ptr<ControlServer> start_server(ControlServer::Callback callback, const std::string& base_dir,
                                            ControlServerOptions options = {}) {
    options.base_dir = base_dir;
    auto started = ControlServer::start(std::move(callback), options);
    if (!started.ok()) throw std::runtime_error(started.error());
    return std::move(started).value();
}

// A raw client socket, closed on destruction.
class RawClient {
public:
    explicit RawClient(const std::string& path) {
        m_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        if (m_fd < 0 || connect(m_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("cannot connect to " + path);
    }
    ~RawClient() { close_now(); }
    // Writes everything; false once the server has gone away.
    bool write(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    void close_now() {
        if (m_fd >= 0) close(m_fd);
        m_fd = -1;
    }

private:
    int m_fd = -1;
};

TEST(ControlServer, MakesAPrivateDirectoryWithTheSocketInside) {
    test::TempDir base;
    EventSink sink;
    auto server = start_server(sink.callback(), base.str());
    std::filesystem::path directory = server->directory();
    EXPECT_EQ(directory.parent_path(), base.path());
    EXPECT_EQ(std::filesystem::path(server->path()).parent_path(), directory);
    EXPECT_EQ(std::filesystem::path(server->path()).filename(), "control.sock");
    struct stat info {};
    ASSERT_EQ(stat(directory.c_str(), &info), 0);
    EXPECT_TRUE(S_ISDIR(info.st_mode));
    EXPECT_EQ(info.st_mode & 07777, 0700u);
    ASSERT_EQ(stat(server->path().c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));

    server->stop();
    EXPECT_FALSE(std::filesystem::exists(directory));
    server->stop();  // idempotent
    EXPECT_THROW(RawClient{server->path()}, std::runtime_error);
}

TEST(ControlServer, UsesXdgRuntimeDirByDefaultAndCleansUpInTheDestructor) {
    test::TempDir runtime;
    const char* old = std::getenv("XDG_RUNTIME_DIR");
    std::string saved = old ? old : "";
    setenv("XDG_RUNTIME_DIR", runtime.str().c_str(), 1);
    std::string directory;
    {
        auto started = ControlServer::start(nullptr);
        if (old)
            setenv("XDG_RUNTIME_DIR", saved.c_str(), 1);
        else
            unsetenv("XDG_RUNTIME_DIR");
        ASSERT_TRUE(started.ok()) << started.error();
        directory = started.value()->directory();
        EXPECT_EQ(std::filesystem::path(directory).parent_path(), runtime.path());
        EXPECT_TRUE(std::filesystem::exists(started.value()->path()));
    }
    EXPECT_FALSE(std::filesystem::exists(directory));
}

TEST(ControlServer, FailsCleanlyWhenTheBaseDirectoryIsMissing) {
    test::TempDir base;
    ControlServerOptions options;
    options.base_dir = base.str() + "/missing";
    auto started = ControlServer::start(nullptr, options);
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().find("missing"), std::string::npos);
}

TEST(ControlServer, DeliversEventsInOrderWithClientTimestamps) {
    test::TempDir base;
    EventSink sink;
    auto server = start_server(sink.callback(), base.str());
    std::int64_t before = monotonic_ns();
    std::int64_t stamp = before;
    {
        RawClient client(server->path());
        ASSERT_TRUE(client.write("t=" + std::to_string(stamp) + " begin train batch_size=64\n"));
        ASSERT_TRUE(client.write("t=" + std::to_string(stamp + 1000) + " epoch n=0 samples=500\n"));
        ASSERT_TRUE(client.write("end train samples=500\n"));     // no stamp: arrival time
        ASSERT_TRUE(client.write("t=5 metric accuracy=0.75\n"));  // from another clock: ignored
    }
    ASSERT_TRUE(sink.wait_for(4));
    std::int64_t after = monotonic_ns();
    auto events = sink.events();
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].message.verb, Verb::begin);
    EXPECT_EQ(events[0].message.name, "train");
    EXPECT_EQ(*events[0].message.field("batch_size"), "64");
    EXPECT_TRUE(events[0].client_time);
    EXPECT_EQ(events[0].t_ns, stamp);
    EXPECT_EQ(events[1].message.verb, Verb::epoch);
    EXPECT_EQ(events[1].t_ns, stamp + 1000);
    EXPECT_EQ(events[2].message.verb, Verb::end);
    EXPECT_FALSE(events[2].client_time);
    EXPECT_GE(events[2].t_ns, before);
    EXPECT_LE(events[2].t_ns, after);
    EXPECT_EQ(events[2].t_ns, events[2].arrival_ns);
    EXPECT_EQ(events[3].message.verb, Verb::metric);
    EXPECT_FALSE(events[3].client_time);
    EXPECT_EQ(events[3].message.client_t_ns, 5);
    EXPECT_GE(events[3].t_ns, before);

    server->stop();
    auto counters = server->counters();
    EXPECT_EQ(counters.lines, 4u);
    EXPECT_EQ(counters.accepted, 4u);
    EXPECT_EQ(counters.clients, 1u);
    EXPECT_EQ(counters.clients_open, 0u);
}

TEST(ControlServer, CountsBadLinesAndKeepsGoing) {
    test::TempDir base;
    EventSink sink;
    auto server = start_server(sink.callback(), base.str());
    {
        RawClient client(server->path());
        std::string lines =
            "bgin train\n"  // unknown verb
            "begin\n"       // missing phase name
            "\n   \n"       // blank: ignored
            "meta " +
            std::string(5000, 'x') +
            "\n"                            // oversized
            "epoch samples=lots\n"          // malformed
            "dance now\n"                   // unknown verb
            "metric loss=\"unterminated\n"  // malformed
            "begin infer\r\n";              // fine
        ASSERT_TRUE(client.write(lines));
    }
    server->stop();
    auto c = server->counters();
    EXPECT_EQ(c.lines, 7u);
    EXPECT_EQ(c.accepted, 1u);
    EXPECT_EQ(c.unknown_verb, 2u);
    EXPECT_EQ(c.malformed, 3u);
    EXPECT_EQ(c.oversized, 1u);
    ASSERT_EQ(c.rejected_examples.size(), ControlCounters::k_max_examples);
    EXPECT_EQ(c.rejected_examples[0].reason, "unknown verb 'bgin'");
    EXPECT_EQ(c.rejected_examples[0].excerpt, "bgin train");
    EXPECT_EQ(c.rejected_examples[1].reason, "missing phase name");
    EXPECT_NE(c.rejected_examples[2].reason.find("exceeds"), std::string::npos);
    EXPECT_LE(c.rejected_examples[2].excerpt.size(), 64u);
    auto events = sink.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].message.name, "infer");
}

TEST(ControlServer, SurvivesAHugeLineWithoutNewlineAndResyncs) {
    test::TempDir base;
    EventSink sink;
    auto server = start_server(sink.callback(), base.str());
    {
        RawClient client(server->path());
        std::string big(1 << 20, 'a');  // 1 MiB without a newline, in many reads
        ASSERT_TRUE(client.write("meta x=" + big));
        ASSERT_TRUE(client.write(big + "\nepoch samples=7\n"));
    }
    server->stop();
    auto c = server->counters();
    EXPECT_EQ(c.oversized, 1u);
    EXPECT_EQ(c.accepted, 1u);
    EXPECT_EQ(c.lines, 2u);
    EXPECT_EQ(c.bytes, 2 * (1u << 20) + 7 + 17);
    auto events = sink.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].message.int_field("samples"), 7);
}

TEST(ControlServer, HandlesAFloodOfLines) {
    test::TempDir base;
    std::atomic<std::int64_t> count{0}, order_errors{0};
    std::int64_t expected_next = 0;  // used on the server thread only
    auto server = start_server(
        [&](const ControlEvent& event) {
            if (event.message.int_field("n") != expected_next) ++order_errors;
            expected_next = event.message.int_field("n").value_or(-1) + 1;
            ++count;
        },
        base.str());
    constexpr int k_lines = 100000;
    {
        RawClient client(server->path());
        std::string batch;
        for (int i = 0; i < k_lines; ++i) {
            batch += "epoch n=" + std::to_string(i) + " samples=32\n";
            if (batch.size() > 60000) {
                ASSERT_TRUE(client.write(batch));
                batch.clear();
            }
        }
        ASSERT_TRUE(client.write(batch));
    }
    server->stop();
    EXPECT_EQ(count, k_lines);
    EXPECT_EQ(order_errors, 0);
    EXPECT_EQ(server->counters().accepted, static_cast<std::uint64_t>(k_lines));
}

TEST(ControlServer, StopReturnsWhileAClientKeepsFlooding) {
    test::TempDir base;
    std::atomic<std::uint64_t> seen{0};
    ControlServerOptions options;
    options.drain_timeout_ms = 100;
    auto server = start_server([&](const ControlEvent&) { ++seen; }, base.str(), options);
    std::atomic<bool> writer_done{false};
    std::thread writer([&] {
        RawClient client(server->path());
        std::string batch;
        for (int i = 0; i < 1000; ++i) batch += "metric loss=0.5\n";
        while (client.write(batch)) {  // until the server closes the connection
        }
        writer_done = true;
    });
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (seen < 10000 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server->stop();
    writer.join();
    EXPECT_TRUE(writer_done);
    auto c = server->counters();
    EXPECT_GE(c.accepted, 10000u);
    EXPECT_EQ(c.malformed + c.oversized + c.unknown_verb, 0u);
    EXPECT_FALSE(std::filesystem::exists(server->directory()));
}

TEST(ControlServer, ProcessesHalfLinesAcrossWritesAndAtDisconnect) {
    test::TempDir base;
    EventSink sink;
    auto server = start_server(sink.callback(), base.str());
    {
        RawClient client(server->path());
        ASSERT_TRUE(client.write("begin tr"));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ASSERT_TRUE(client.write("ain samples=1\nend train"));  // the last line has no newline
    }
    {
        RawClient client(server->path());
        ASSERT_TRUE(client.write("metric loss=\"0.5"));  // cut off inside a quote, then gone
    }
    ASSERT_TRUE(sink.wait_for(2));
    server->stop();
    auto events = sink.events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].message.verb, Verb::begin);
    EXPECT_EQ(events[0].message.name, "train");
    EXPECT_EQ(events[1].message.verb, Verb::end);
    auto c = server->counters();
    EXPECT_EQ(c.lines, 3u);
    EXPECT_EQ(c.malformed, 1u);
    EXPECT_EQ(c.clients, 2u);
}

TEST(ControlServer, ServesConcurrentClientsKeepingEachOnesOrder) {
    test::TempDir base;
    EventSink sink;
    auto server = start_server(sink.callback(), base.str());
    constexpr int k_clients = 8, k_lines = 1000;
    std::vector<std::thread> threads;
    for (int id = 0; id < k_clients; ++id) {
        threads.emplace_back([&, id] {
            RawClient client(server->path());
            for (int i = 0; i < k_lines; ++i)
                client.write("metric client=" + std::to_string(id) + " i=" + std::to_string(i) + "\n");
        });
    }
    for (auto& thread : threads) thread.join();
    server->stop();
    auto events = sink.events();
    ASSERT_EQ(events.size(), static_cast<std::size_t>(k_clients * k_lines));
    std::map<std::int64_t, std::int64_t> next;
    for (const auto& event : events) {
        std::int64_t id = *event.message.int_field("client");
        EXPECT_EQ(event.message.int_field("i"), next[id]) << "client " << id;
        next[id] = *event.message.int_field("i") + 1;
    }
    EXPECT_EQ(next.size(), static_cast<std::size_t>(k_clients));
    EXPECT_EQ(server->counters().clients, static_cast<std::uint64_t>(k_clients));
}

TEST(ControlServer, RejectsClientsBeyondTheLimit) {
    test::TempDir base;
    EventSink sink;
    ControlServerOptions options;
    options.max_clients = 2;
    auto server = start_server(sink.callback(), base.str(), options);
    RawClient a(server->path()), b(server->path());
    a.write("epoch n=1\n");
    b.write("epoch n=2\n");
    ASSERT_TRUE(sink.wait_for(2));
    RawClient c(server->path());
    c.write("epoch n=3\n");
    server->stop();
    auto counters = server->counters();
    EXPECT_EQ(counters.clients, 2u);
    EXPECT_EQ(counters.clients_rejected, 1u);
    EXPECT_EQ(counters.accepted, 2u);
}

TEST(ControlServer, CountsCallbackExceptionsAndContinues) {
    test::TempDir base;
    std::atomic<int> calls{0};
    auto server = start_server(
        [&](const ControlEvent& event) {
            ++calls;
            if (event.message.verb == Verb::meta) throw std::runtime_error("consumer bug");
        },
        base.str());
    {
        RawClient client(server->path());
        client.write("meta model=x\nepoch\n");
    }
    server->stop();
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(server->counters().callback_errors, 1u);
    EXPECT_EQ(server->counters().accepted, 2u);
}

TEST(ControlServer, ReadsDataSentJustBeforeStop) {
    // A child that writes and exits right before `joulecast run` stops the server: nothing may be lost,
    // including connections still waiting in the listen backlog.
    test::TempDir base;
    EventSink sink;
    auto server = start_server(sink.callback(), base.str());
    for (int i = 0; i < 20; ++i) {
        RawClient client(server->path());
        client.write("epoch n=" + std::to_string(i) + "\n");
    }
    server->stop();
    EXPECT_EQ(sink.events().size(), 20u);
    EXPECT_EQ(server->counters().clients, 20u);
}

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status = 0;
    waitpid(pid, &status, 0);
    return pid;
}

// A directory as a killed server leaves it: the owner file and a socket that nobody listens on any more.
std::filesystem::path leave_directory(const test::TempDir& base, const std::string& name, pid_t owner,
                                      bool with_socket = true) {
    std::filesystem::path directory = base.path() / name;
    std::filesystem::create_directory(directory);
    if (owner > 0) base.write(name + "/owner", "joulecast " + std::to_string(owner) + "\n");
    if (with_socket) {
        const std::string path = (directory / "control.sock").string();
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        EXPECT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(listen(fd, 1), 0);
        close(fd);  // the socket file stays; connecting to it is refused
    }
    return directory;
}

TEST(ControlServer, RemovesOnlyTheDirectoriesOfDeadRunsAtStart) {
    test::TempDir base;
    const auto stale = leave_directory(base, "joulecast-Dead01", dead_pid());
    const auto stale_no_socket = leave_directory(base, "joulecast-Dead02", dead_pid(), false);
    const auto alive = leave_directory(base, "joulecast-Alive1", getppid());  // a live owner
    const auto foreign = leave_directory(base, "joulecast-NoOwnr", 0);        // not made by joulecast
    const auto other_name = leave_directory(base, "joulecast-toolong", dead_pid());
    const auto extra = leave_directory(base, "joulecast-Extra1", dead_pid());
    base.write("joulecast-Extra1/user-file", "not ours");  // something we did not make: keep it all

    EventSink sink;
    auto server = start_server(sink.callback(), base.str());
    EXPECT_FALSE(std::filesystem::exists(stale));
    EXPECT_FALSE(std::filesystem::exists(stale_no_socket));
    EXPECT_TRUE(std::filesystem::exists(alive / "control.sock"));
    EXPECT_TRUE(std::filesystem::exists(foreign / "control.sock"));
    EXPECT_TRUE(std::filesystem::exists(other_name / "owner"));
    EXPECT_TRUE(std::filesystem::exists(extra / "user-file"));
    // The new server's own directory names its owner, and a second start leaves a live server alone.
    std::ifstream owner(std::filesystem::path(server->directory()) / "owner");
    std::string word;
    long pid = 0;
    owner >> word >> pid;
    EXPECT_EQ(word, "joulecast");
    EXPECT_EQ(pid, static_cast<long>(getpid()));
    EXPECT_EQ(remove_stale_control_directories(base.str()), 0u);
    EXPECT_TRUE(std::filesystem::exists(server->path()));
    server->stop();
    EXPECT_FALSE(std::filesystem::exists(server->directory()));
}

}  // namespace
}  // namespace joulecast::control
