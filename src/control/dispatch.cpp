#include "control/dispatch.hpp"

#include <map>
#include <optional>
#include <string>

#include "core/text.hpp"

namespace joulecast::control {

using core::parse_double;

using meter::PhaseRecorder;
using meter::RankIdentity;

namespace {

/// The message's `key` as an integer, or nothing when it is absent or not one.
std::optional<long long> integer(const ControlMessage& message, std::string_view key) {
    if (auto value = message.int_field(key)) return static_cast<long long>(*value);
    return std::nullopt;
}

}  // namespace

void dispatch_control(PhaseRecorder& recorder, std::int64_t t_ns, const ControlMessage& message,
                      std::uint64_t connection) {
    using Verb = ControlMessage::Verb;
    switch (message.verb) {
        case Verb::begin: {
            std::map<std::string, std::string> fields;
            for (const auto& [key, value] : message.fields)
                if (key != "samples") fields[key] = value;
            recorder.begin(t_ns, message.name, integer(message, "samples"), fields, connection);
            break;
        }
        case Verb::end:
            recorder.end(t_ns, message.name, integer(message, "samples"), connection);
            break;
        case Verb::epoch:
            recorder.epoch(t_ns, integer(message, "n"), integer(message, "samples"), connection);
            break;
        case Verb::meta:
            for (const auto& [key, value] : message.fields) recorder.meta(key, value);
            break;
        case Verb::metric:
            for (const auto& [key, value] : message.fields) {
                if (auto number = parse_double(value))
                    recorder.metric(t_ns, key, *number);
                else
                    recorder.ignore();
            }
            break;
        case Verb::hello: {
            const ClientIdentity identity = client_identity(message);
            if (!identity.rank) break;
            RankIdentity rank;
            rank.rank = *identity.rank;
            rank.local_rank = identity.local_rank;
            rank.world_size = identity.world_size;
            rank.node_rank = identity.node_rank;
            rank.pid = identity.pid;
            rank.launcher = identity.launcher;
            recorder.hello(connection, rank);
            break;
        }
    }
}

}  // namespace joulecast::control
