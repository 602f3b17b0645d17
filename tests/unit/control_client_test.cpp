// The control-channel clients against a real ControlServer: the header-only C++ client, `joulecast mark`
// (through run_mark, in-process) and the Python package run as a real python3 child process.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "control/mark.hpp"
#include "control/server.hpp"
#include "core/clock.hpp"
#include "core/text.hpp"
#include "joulecast/client.hpp"
#include "support/event_sink.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::control {

using core::monotonic_ns;
using core::split;

namespace {

using Verb = ControlMessage::Verb;
using Fields = std::vector<std::pair<std::string, std::string>>;

using test::EventSink;

// A server in a private temp folder that feeds an EventSink.
struct Fixture {
    test::TempDir base;
    EventSink sink;
    std::unique_ptr<ControlServer> server;
    Fixture() {
        ControlServerOptions options;
        options.base_dir = base.str();
        auto started = ControlServer::start(sink.callback(), options);
        if (!started.ok()) throw std::runtime_error(started.error());
        server = std::move(started).value();
    }
};

// ---- the C++ header client ----

TEST(ControlClient, SendsEveryKindOfMessage) {
    Fixture f;
    std::int64_t before = monotonic_ns();
    {
        client::Client c(f.server->path());
        EXPECT_TRUE(c.enabled());
        c.meta("model", "ResNet 18", "params", 11173962, "lr", 0.001, "pretrained", false,
               std::string("note"), std::string(R"(a "b" \c)"));
        {
            client::phase train(c, "train");
            c.epoch(500, 0);
            c.epoch();
            train.add_samples(500);
            train.add_samples(250);
        }
        client::phase infer(c, "infer", 64);
        infer.end();
        c.metric("accuracy", 0.912, "top-1 acc", 0.5f);
        c.begin("my phase!");
        c.end("my phase!", "samples", 3);
    }
    f.server->stop();
    std::int64_t after = monotonic_ns();
    auto events = f.sink.events();
    ASSERT_EQ(events.size(), 10u);
    EXPECT_EQ(f.server->counters().lines, 11u);  // and the hello that opened the connection

    EXPECT_EQ(events[0].message.verb, Verb::meta);
    EXPECT_EQ(events[0].message.fields, (Fields{{"model", "ResNet 18"},
                                                {"params", "11173962"},
                                                {"lr", "0.001"},
                                                {"pretrained", "false"},
                                                {"note", R"(a "b" \c)"}}));
    EXPECT_EQ(events[1].message.verb, Verb::begin);
    EXPECT_EQ(events[1].message.name, "train");
    EXPECT_EQ(events[2].message.fields, (Fields{{"n", "0"}, {"samples", "500"}}));
    EXPECT_EQ(events[3].message.verb, Verb::epoch);
    EXPECT_TRUE(events[3].message.fields.empty());
    EXPECT_EQ(events[4].message.verb, Verb::end);
    EXPECT_EQ(events[4].message.name, "train");
    EXPECT_EQ(events[4].message.int_field("samples"), 750);
    EXPECT_EQ(events[5].message.name, "infer");
    EXPECT_EQ(events[6].message.int_field("samples"), 64);
    EXPECT_EQ(events[7].message.fields, (Fields{{"accuracy", "0.912"}, {"top-1_acc", "0.5"}}));
    EXPECT_EQ(events[8].message.name, "my_phase_");
    EXPECT_EQ(events[9].message.int_field("samples"), 3);
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_TRUE(events[i].client_time) << i;
        EXPECT_GE(events[i].t_ns, before);
        EXPECT_LE(events[i].t_ns, after);
        if (i > 0) {
            EXPECT_GE(events[i].t_ns, events[i - 1].t_ns);
        }
    }
}

TEST(ControlClient, DoesNothingWithoutASocket) {
    client::Client none("");
    EXPECT_FALSE(none.enabled());
    none.begin("train");
    none.metric("loss", 1.0);
    test::TempDir dir;
    client::Client missing(dir.str() + "/no.sock");
    EXPECT_FALSE(missing.enabled());
    { client::phase p(missing, "train", 5); }
}

TEST(ControlClient, GoesQuietWhenJoulecastGoesAway) {
    Fixture f;
    client::Client c(f.server->path());
    c.epoch(1);
    ASSERT_TRUE(f.sink.wait_for(1));
    f.server->stop();
    // Writing to a closed peer raises SIGPIPE unless the client prevents it; this test would die of it.
    for (int i = 0; i < 100; ++i) c.metric("loss", i);
    EXPECT_FALSE(c.enabled());
}

TEST(ControlClient, IsThreadSafe) {
    Fixture f;
    client::Client c(f.server->path());
    constexpr int k_threads = 4, k_lines = 500;
    std::vector<std::thread> threads;
    for (int id = 0; id < k_threads; ++id)
        threads.emplace_back([&, id] {
            for (int i = 0; i < k_lines; ++i) c.metric("thread", id, "i", i);
        });
    for (auto& thread : threads) thread.join();
    f.server->stop();
    auto counters = f.server->counters();
    EXPECT_EQ(counters.accepted, static_cast<std::uint64_t>(k_threads * k_lines) + 1);  // and one hello
    EXPECT_EQ(counters.malformed, 0u);
    EXPECT_EQ(counters.clients, 1u);
}

TEST(ControlClient, AForkedChildUsesItsOwnConnection) {
    Fixture f;
    client::Client c(f.server->path());
    ASSERT_TRUE(c.enabled());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        c.epoch(1, 99);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    c.epoch(2, 1);
    f.server->stop();
    std::set<std::int64_t> seen;
    for (const auto& event : f.sink.events()) seen.insert(event.message.int_field("n").value_or(-1));
    EXPECT_EQ(seen, (std::set<std::int64_t>{1, 99}));
    EXPECT_EQ(f.server->counters().clients, 2u);
    EXPECT_EQ(f.server->counters().malformed, 0u);
}

TEST(ControlClient, FreeFunctionsUseJoulecastSocket) {
    Fixture f;
    setenv("JOULECAST_SOCKET", f.server->path().c_str(), 1);
    client::default_client().reset();
    client::meta("model", "cnn");
    { client::phase p("train", 10); }
    client::epoch(5);
    client::metric("accuracy", 1);
    unsetenv("JOULECAST_SOCKET");
    client::default_client().reset();
    client::epoch(6);  // unset now: nothing is sent
    f.server->stop();
    auto events = f.sink.events();
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0].message.verb, Verb::meta);
    EXPECT_EQ(events[2].message.int_field("samples"), 10);
    EXPECT_EQ(events[4].message.verb, Verb::metric);
}

// ---- joulecast mark ----

struct MarkResult {
    int status;
    std::string out, err;
};

MarkResult mark(const std::vector<std::string>& args, const std::string& socket) {
    std::ostringstream out, err;
    int status = run_mark(args, socket, out, err);
    return {status, out.str(), err.str()};
}

TEST(ControlMark, SendsEachVerb) {
    Fixture f;
    const std::string& path = f.server->path();
    std::int64_t before = monotonic_ns();
    for (const auto& args : std::vector<std::vector<std::string>>{{"begin", "train"},
                                                                  {"epoch", "samples=1000"},
                                                                  {"end", "train", "samples=60000"},
                                                                  {"meta", "model=ResNet 18", "params=5"},
                                                                  {"metric", "accuracy=0.9"}}) {
        auto result = mark(args, path);
        EXPECT_EQ(result.status, 0) << args[0] << ": " << result.err;
        EXPECT_EQ(result.err, "");
    }
    f.server->stop();
    auto events = f.sink.events();
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0].message.verb, Verb::begin);
    EXPECT_EQ(events[0].message.name, "train");
    EXPECT_EQ(events[1].message.int_field("samples"), 1000);
    EXPECT_EQ(events[2].message.verb, Verb::end);
    EXPECT_EQ(events[2].message.int_field("samples"), 60000);
    EXPECT_EQ(events[3].message.fields, (Fields{{"model", "ResNet 18"}, {"params", "5"}}));
    EXPECT_EQ(*events[4].message.field("accuracy"), "0.9");
    for (const auto& event : events) {
        EXPECT_TRUE(event.client_time);
        EXPECT_GE(event.t_ns, before);
    }
    EXPECT_EQ(f.server->counters().clients, 5u);
}

TEST(ControlMark, RejectsBadInputWithStatus2) {
    Fixture f;
    const std::string& path = f.server->path();
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    for (const auto& c : std::vector<Case>{{{}, "usage"},
                                           {{"bgin", "train"}, "unknown verb 'bgin'"},
                                           {{"begin"}, "needs a phase name"},
                                           {{"end", "samples=5"}, "needs a phase name"},
                                           {{"begin", "my phase"}, "bad phase name"},
                                           {{"end", "train", "samples=many"}, "samples must be"},
                                           {{"epoch", "n=-1"}, "n must be"},
                                           {{"meta"}, "empty meta"},
                                           {{"meta", "model"}, "expected KEY=VALUE"},
                                           {{"meta", "mo del=x"}, "bad key"},
                                           {{"metric", "accuracy=high"}, "not a number"}}) {
        auto result = mark(c.args, path);
        EXPECT_EQ(result.status, 2) << c.message;
        EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
    }
    f.server->stop();
    EXPECT_EQ(f.server->counters().lines, 0u);  // nothing invalid was sent
}

TEST(ControlMark, IsSilentOutsideJoulecastAndOnlyWarnsWhenItCannotConnect) {
    auto unset = mark({"begin", "train"}, "");
    EXPECT_EQ(unset.status, 0);
    EXPECT_EQ(unset.err, "");
    EXPECT_EQ(mark({"bgin"}, "").status, 2);  // still validated
    test::TempDir dir;
    auto unreachable = mark({"begin", "train"}, dir.str() + "/gone.sock");
    EXPECT_EQ(unreachable.status, 0);
    EXPECT_NE(unreachable.err.find("warning"), std::string::npos);
    EXPECT_NE(unreachable.err.find("gone.sock"), std::string::npos);
    auto help = mark({"--help"}, "");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("usage: joulecast mark"), std::string::npos);
}

// ---- the Python client, as a real python3 process ----

std::string find_python() {
    const char* path = std::getenv("PATH");
    for (const auto& dir : split(path ? path : "", ':')) {
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/python3";
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
}

test::ProcessResult run_python(const std::string& script, const std::string& socket) {
    test::ProcessOptions options;
    options.env = {{"PYTHONPATH", std::string(PROJECT_SOURCE_DIR) + "/python"},
                   {"PYTHONDONTWRITEBYTECODE", "1"},
                   {"JOULECAST_SOCKET", socket}};
    options.timeout_s = 20;
    return test::run_process({find_python(), "-c", script}, options);
}

TEST(ControlPythonClient, SendsEveryKindOfMessage) {
    if (find_python().empty()) GTEST_SKIP() << "python3 not found";
    Fixture f;
    const char* script = R"(
import os, joulecast
assert joulecast.enabled()
joulecast.meta(model="ResNet 18", params=11173962, note='say "hi"', skipped=None)
with joulecast.phase("train", lr=0.1) as p:
    joulecast.epoch(samples=100, n=0)
    p.samples = 100
joulecast.begin("infer")
joulecast.end("infer", samples=5)
joulecast.metric(accuracy=0.912, **{"top-1 acc": 0.5})
pid = os.fork()
if pid == 0:
    joulecast.epoch(samples=1, n=99)
    os._exit(0)
os.waitpid(pid, 0)
print("done")
)";
    std::int64_t before = monotonic_ns();
    auto result = run_python(script, f.server->path());
    std::int64_t after = monotonic_ns();
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "done\n");
    f.server->stop();
    std::vector<ControlEvent> events, forked;
    for (const auto& event : f.sink.events())
        (event.message.int_field("n") == 99 ? forked : events).push_back(event);
    ASSERT_EQ(events.size(), 7u);
    EXPECT_EQ(forked.size(), 1u);
    EXPECT_EQ(events[0].message.fields,
              (Fields{{"model", "ResNet 18"}, {"params", "11173962"}, {"note", R"(say "hi")"}}));
    EXPECT_EQ(events[1].message.verb, Verb::begin);
    EXPECT_EQ(events[1].message.fields, (Fields{{"lr", "0.1"}}));
    EXPECT_EQ(events[2].message.fields, (Fields{{"n", "0"}, {"samples", "100"}}));
    EXPECT_EQ(events[3].message.verb, Verb::end);
    EXPECT_EQ(events[3].message.name, "train");
    EXPECT_EQ(events[3].message.int_field("samples"), 100);
    EXPECT_EQ(events[4].message.name, "infer");
    EXPECT_EQ(events[5].message.int_field("samples"), 5);
    EXPECT_EQ(events[6].message.fields, (Fields{{"accuracy", "0.912"}, {"top-1_acc", "0.5"}}));
    for (const auto& event : events) {
        EXPECT_TRUE(event.client_time);
        EXPECT_GE(event.t_ns, before);
        EXPECT_LE(event.t_ns, after);
    }
    auto counters = f.server->counters();
    EXPECT_EQ(counters.malformed + counters.unknown_verb + counters.oversized, 0u);
    EXPECT_EQ(counters.clients, 2u);
}

TEST(ControlPythonClient, IsANoOpWithoutJoulecast) {
    if (find_python().empty()) GTEST_SKIP() << "python3 not found";
    const char* script = R"(
import joulecast
assert not joulecast.enabled()
joulecast.begin("x"); joulecast.end("x", samples=1); joulecast.epoch(samples=3)
joulecast.meta(model="m"); joulecast.metric(loss=0.1)
with joulecast.phase("p"):
    pass
print("ok")
)";
    auto unset = run_python(script, "");
    EXPECT_EQ(unset.exit_code, 0) << unset.err;
    EXPECT_EQ(unset.out, "ok\n");
    test::TempDir dir;
    auto missing = run_python(script, dir.str() + "/gone.sock");
    EXPECT_EQ(missing.exit_code, 0) << missing.err;
    EXPECT_EQ(missing.out, "ok\n");
}

TEST(ControlPythonClient, NeverRaisesWhenJoulecastGoesAway) {
    if (find_python().empty()) GTEST_SKIP() << "python3 not found";
    Fixture f;
    const char* script = R"(
import time, joulecast
assert joulecast.enabled()
client = joulecast.default_client()
deadline = time.monotonic() + 10
i = 0
while client._state == "connected" and time.monotonic() < deadline:
    joulecast.metric(i=i)
    i += 1
    time.sleep(0.001)
joulecast.metric(after=1)
with joulecast.phase("p"):
    pass
print("quiet" if client._state == "disabled" else "still connected")
)";
    test::ProcessResult result;
    std::thread child([&] { result = run_python(script, f.server->path()); });
    bool got = f.sink.wait_for(5, std::chrono::seconds(10));
    f.server->stop();
    child.join();
    ASSERT_TRUE(got);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "quiet\n");
    EXPECT_EQ(result.err, "");
}

}  // namespace
}  // namespace joulecast::control
