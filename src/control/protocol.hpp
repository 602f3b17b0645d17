#pragma once
// The control-channel line protocol (workload -> joulecast). One message per newline-terminated UTF-8 line:
//
//     [t=<CLOCK_MONOTONIC ns>] begin <phase> [k=v ...]
//     [t=<ns>] end <phase> [samples=N] [k=v ...]
//     [t=<ns>] epoch [n=N] [samples=N] [k=v ...]
//     [t=<ns>] meta k=v ...          (at least one field)
//     [t=<ns>] metric k=v ...        (at least one field; every value a finite number)
//     [t=<ns>] hello [rank=N] [local_rank=N] [world_size=N] [node_rank=N] [pid=N] [launcher=NAME] [k=v ...]
//
// `hello` is sent once, first, on each connection by the clients: who is talking (the rank the launcher gave
// the process, and its pid). The rank fields and pid, when present, must be non-negative integers. A
// connection without hello is rank-less (old clients).
//
// Tokens are separated by spaces or tabs. Keys and phase names use [A-Za-z0-9_.-]+. A value is either bare
// (any bytes except space, tab and '"') or double-quoted with the escapes \" and \\ (so "ResNet 18" works).
// `samples` and `n` on begin/end/epoch must be non-negative integers. A line longer than
// k_max_control_line_bytes (excluding its newline) is rejected as oversized. A trailing '\r' is ignored.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace joulecast::control {

/// Longest accepted line in bytes, not counting the terminating newline.
inline constexpr std::size_t k_max_control_line_bytes = 4096;

struct ControlMessage {
    enum class Verb { begin, end, epoch, meta, metric, hello };

    Verb verb = Verb::meta;
    /// Phase name for begin/end; empty for the other verbs.
    std::string name;
    /// k=v fields in the order given; a key may repeat (consumers take the last one).
    std::vector<std::pair<std::string, std::string>> fields;
    /// The client's CLOCK_MONOTONIC stamp in ns (the leading t= token), when it sent one.
    std::optional<std::int64_t> client_t_ns;

    /// The value of the last field named `key`, or nullptr.
    const std::string* field(std::string_view key) const;
    /// The last field named `key` as a signed 64-bit integer (nullopt when absent or not an integer).
    std::optional<std::int64_t> int_field(std::string_view key) const;

    bool operator==(const ControlMessage&) const = default;
};

/// Why a line was rejected; the server counts each kind separately.
enum class ControlParseError { malformed, unknown_verb, oversized, empty };

/// "begin", "end", "epoch", "meta", "metric", "hello".
std::string_view control_verb_name(ControlMessage::Verb verb);
/// The verb spelled exactly (lower case), or nullopt.
std::optional<ControlMessage::Verb> parse_control_verb(std::string_view word);

/// Who a connection is, from its `hello` line.
struct ClientIdentity {
    std::optional<long long> rank, local_rank, world_size, node_rank, pid;
    std::string launcher;  ///< "torchrun", "slurm", "openmpi", "mpich", or empty

    bool operator==(const ClientIdentity&) const = default;
};

/// The identity a hello message carries (fields that are absent or not integers stay unset).
ClientIdentity client_identity(const ControlMessage& hello);

/// True when `text` is a valid key or phase name: non-empty, only [A-Za-z0-9_.-].
bool is_valid_control_name(std::string_view text);

/// Parses one line: one trailing "\n" and then one "\r" are dropped; any other newline makes it malformed.
/// On failure the error is a short reason ("unknown verb 'foo'", "missing phase name", ...) and `kind`, when
/// given, says which kind of failure. An empty or blank line fails with kind `empty`.
core::Result<ControlMessage> parse_control_line(std::string_view line, ControlParseError* kind = nullptr);

/// Writes a message as one line without the trailing newline: `t=<ns> verb [name] k=v ...`. Values are
/// quoted when they are empty or contain whitespace, quotes, backslashes or control bytes; a newline inside a
/// value is written as a space (a line cannot hold one). For any message parse_control_line returned,
/// parse_control_line(format_control_line(m)) == m.
std::string format_control_line(const ControlMessage& message);

/// Appends `value` to `out` bare or quoted, following the rule of format_control_line.
void append_control_value(std::string& out, std::string_view value);

}  // namespace joulecast::control
