// The `hello` line: parsing, what each launcher's environment makes of it in the C++ and Python clients and
// in `joulecast mark`, and that it arrives first on each connection.

#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "control/mark.hpp"
#include "control/protocol.hpp"
#include "control/server.hpp"
#include "joulecast/client.hpp"
#include "support/event_sink.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace joulecast::control {
namespace {

using Env = std::map<std::string, std::string>;

std::string hello_for(const Env& env, long long pid = 7) {
    return client::detail::hello_line(
        [&](const char* name) -> const char* {
            auto it = env.find(name);
            return it == env.end() ? nullptr : it->second.c_str();
        },
        pid);
}

TEST(ControlHello, ParsesEveryField) {
    auto parsed =
        parse_control_line("hello rank=3 local_rank=1 world_size=8 node_rank=1 pid=4242 launcher=slurm");
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    EXPECT_EQ(parsed->verb, ControlMessage::Verb::hello);
    ClientIdentity id = client_identity(*parsed);
    EXPECT_EQ(id.rank, 3);
    EXPECT_EQ(id.local_rank, 1);
    EXPECT_EQ(id.world_size, 8);
    EXPECT_EQ(id.node_rank, 1);
    EXPECT_EQ(id.pid, 4242);
    EXPECT_EQ(id.launcher, "slurm");
    EXPECT_EQ(parse_control_line(format_control_line(*parsed)).value(), *parsed);
}

TEST(ControlHello, ARanklessHelloIsValid) {
    auto parsed = parse_control_line("t=5 hello pid=9");
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    ClientIdentity id = client_identity(*parsed);
    EXPECT_FALSE(id.rank);
    EXPECT_EQ(id.pid, 9);
    EXPECT_TRUE(parse_control_line("hello").ok());
}

TEST(ControlHello, RejectsNonIntegerRankFields) {
    for (const char* line :
         {"hello rank=-1", "hello rank=x", "hello world_size=2.5", "hello pid=", "hello local_rank=1e3"}) {
        ControlParseError kind = ControlParseError::empty;
        auto parsed = parse_control_line(line, &kind);
        ASSERT_FALSE(parsed.ok()) << line;
        EXPECT_EQ(kind, ControlParseError::malformed) << line;
        EXPECT_NE(parsed.error().find("non-negative integer"), std::string::npos) << parsed.error();
    }
}

TEST(ControlHello, ReadsEachLaunchersVariables) {
    EXPECT_EQ(hello_for({{"RANK", "1"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "4"}, {"GROUP_RANK", "0"}}),
              "hello rank=1 local_rank=1 world_size=4 node_rank=0 launcher=torchrun pid=7");
    EXPECT_EQ(
        hello_for(
            {{"SLURM_PROCID", "5"}, {"SLURM_LOCALID", "1"}, {"SLURM_NTASKS", "8"}, {"SLURM_NODEID", "2"}}),
        "hello rank=5 local_rank=1 world_size=8 node_rank=2 launcher=slurm pid=7");
    EXPECT_EQ(hello_for({{"OMPI_COMM_WORLD_RANK", "2"},
                         {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                         {"OMPI_COMM_WORLD_SIZE", "3"}}),
              "hello rank=2 local_rank=0 world_size=3 launcher=openmpi pid=7");
    EXPECT_EQ(hello_for({{"PMI_RANK", "6"}, {"PMI_SIZE", "7"}}),
              "hello rank=6 world_size=7 launcher=mpich pid=7");
    EXPECT_EQ(hello_for({}), "hello pid=7");
}

TEST(ControlHello, TorchrunInsideSlurmWinsAndGarbageIsSkipped) {
    // srun ... torchrun: both sets are present; the training process's rank is torchrun's.
    EXPECT_EQ(hello_for({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}),
              "hello rank=3 world_size=4 launcher=torchrun pid=7");
    // A RANK that is not a number (some other program's variable) does not make a rank.
    EXPECT_EQ(hello_for({{"RANK", "admin"}, {"SLURM_PROCID", "0"}, {"SLURM_LOCALID", "x"}}),
              "hello rank=0 launcher=slurm pid=7");
    // Every line the clients make parses back to the same identity.
    auto parsed = parse_control_line(hello_for({{"RANK", "3"}, {"LOCAL_RANK", "2"}, {"WORLD_SIZE", "4"}}));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(client_identity(*parsed).local_rank, 2);
}

struct Server {
    test::TempDir base;
    test::EventSink sink{true};
    std::unique_ptr<ControlServer> server;
    Server() {
        ControlServerOptions options;
        options.base_dir = base.str();
        auto started = ControlServer::start(sink.callback(), options);
        if (!started.ok()) throw std::runtime_error(started.error());
        server = std::move(started).value();
    }
};

TEST(ControlHello, TheCppClientSaysHelloFirstOnEachConnection) {
    Server s;
    {
        client::Client c(s.server->path());
        c.begin("train");
        c.end("train", "samples", 3);
    }
    {
        client::Client other(s.server->path());
        other.epoch(1);
    }
    s.server->stop();
    auto events = s.sink.events();
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0].message.verb, ControlMessage::Verb::hello);
    EXPECT_EQ(client_identity(events[0].message).pid, static_cast<long long>(getpid()));
    EXPECT_EQ(events[1].message.verb, ControlMessage::Verb::begin);
    EXPECT_EQ(events[0].connection, events[1].connection);
    EXPECT_EQ(events[3].message.verb, ControlMessage::Verb::hello);
    EXPECT_NE(events[3].connection, events[0].connection);
    EXPECT_EQ(events[4].connection, events[3].connection);
}

TEST(ControlHello, JoulecastMarkSaysHelloWithItsRank) {
    Server s;
    ::setenv("OMPI_COMM_WORLD_RANK", "4", 1);
    ::setenv("OMPI_COMM_WORLD_SIZE", "5", 1);
    std::ostringstream out, err;
    int status = run_mark({"epoch", "samples=10"}, s.server->path(), out, err);
    ::unsetenv("OMPI_COMM_WORLD_RANK");
    ::unsetenv("OMPI_COMM_WORLD_SIZE");
    EXPECT_EQ(status, 0) << err.str();
    s.server->stop();
    auto events = s.sink.events();
    ASSERT_EQ(events.size(), 2u);
    ClientIdentity id = client_identity(events[0].message);
    EXPECT_EQ(id.rank, 4);
    EXPECT_EQ(id.world_size, 5);
    EXPECT_EQ(id.launcher, "openmpi");
    EXPECT_EQ(events[1].message.verb, ControlMessage::Verb::epoch);
    EXPECT_EQ(events[1].connection, events[0].connection);
}

TEST(ControlHello, ThePythonClientAgreesWithTheCppClient) {
    const std::vector<Env> cases = {
        {{"RANK", "1"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "4"}, {"GROUP_RANK", "0"}},
        {{"SLURM_PROCID", "5"}, {"SLURM_LOCALID", "1"}, {"SLURM_NTASKS", "8"}, {"SLURM_NODEID", "2"}},
        {{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "3"}},
        {{"PMI_RANK", "6"}, {"PMI_SIZE", "7"}},
        {{"RANK", "x"}, {"SLURM_PROCID", "0"}},
        {}};
    std::string script = "import joulecast\n";
    std::string expected;
    for (const Env& env : cases) {
        script += "print(joulecast.hello_line({";
        for (const auto& [k, v] : env) script += "'" + k + "': '" + v + "', ";
        script += "}, pid=7))\n";
        expected += hello_for(env) + "\n";
    }
    test::ProcessOptions options;
    options.env = {{"PYTHONPATH", std::string(PROJECT_SOURCE_DIR) + "/python"},
                   {"PYTHONDONTWRITEBYTECODE", "1"}};
    options.timeout_s = 20;
    std::string python;
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"})
        if (::access((std::string(dir) + "/python3").c_str(), X_OK) == 0)
            python = std::string(dir) + "/python3";
    if (python.empty()) GTEST_SKIP() << "python3 not found in /usr/bin, /usr/local/bin or /bin";
    auto result = test::run_process({python, "-c", script}, options);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, expected);
}

}  // namespace
}  // namespace joulecast::control
