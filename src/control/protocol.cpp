#include "control/protocol.hpp"

#include <charconv>

#include "core/text.hpp"
#include "joulecast/client.hpp"

namespace joulecast::control {

using core::Error;
using core::parse_double;
using core::parse_int;
using core::Result;
using core::trim;

namespace {

bool is_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

// A short printable excerpt of user input for error messages (which end up in reports and terminals).
std::string excerpt(std::string_view text) {
    constexpr std::size_t k_max = 32;
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < k_max; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
    if (text.size() > k_max) out += "...";
    return out;
}

std::optional<std::int64_t> parse_non_negative(std::string_view text) {
    if (text.empty()) return std::nullopt;
    for (char c : text)
        if (c < '0' || c > '9') return std::nullopt;
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// One whitespace-separated token: a bare word, or key=value with the value unquoted.
struct Token {
    std::string_view raw;  // the token as written, for error messages
    std::string key;       // the bare word when !has_value
    std::string value;
    bool has_value = false;
};

class Tokenizer {
public:
    explicit Tokenizer(std::string_view line) : m_line(line) {}

    // Returns false at the end of the line; on a bad token sets `error` and returns false.
    bool next(Token& token, std::string& error) {
        while (m_pos < m_line.size() && is_space(m_line[m_pos])) ++m_pos;
        if (m_pos >= m_line.size()) return false;
        std::size_t start = m_pos;
        token = Token{};
        while (m_pos < m_line.size() && !is_space(m_line[m_pos]) && m_line[m_pos] != '=') {
            if (m_line[m_pos] == '"') return fail(start, error);
            token.key += m_line[m_pos++];
        }
        if (m_pos < m_line.size() && m_line[m_pos] == '=') {
            token.has_value = true;
            ++m_pos;
            if (m_pos < m_line.size() && m_line[m_pos] == '"') {
                if (!read_quoted(token.value, start, error)) return false;
            } else {
                while (m_pos < m_line.size() && !is_space(m_line[m_pos])) {
                    if (m_line[m_pos] == '"') return fail(start, error);
                    token.value += m_line[m_pos++];
                }
            }
        }
        token.raw = m_line.substr(start, m_pos - start);
        return true;
    }

private:
    bool read_quoted(std::string& value, std::size_t start, std::string& error) {
        ++m_pos;  // opening quote
        while (m_pos < m_line.size()) {
            char c = m_line[m_pos++];
            if (c == '"') {
                if (m_pos < m_line.size() && !is_space(m_line[m_pos])) return fail(start, error);
                return true;
            }
            if (c == '\\') {
                if (m_pos >= m_line.size()) break;
                char escaped = m_line[m_pos++];
                if (escaped != '"' && escaped != '\\') {
                    error = "bad escape in '" + excerpt(m_line.substr(start)) + "' (only \\\" and \\\\)";
                    return false;
                }
                value += escaped;
            } else {
                value += c;
            }
        }
        error = "unterminated quote in '" + excerpt(m_line.substr(start)) + "'";
        return false;
    }

    bool fail(std::size_t start, std::string& error) {
        std::size_t end = start;
        while (end < m_line.size() && !is_space(m_line[end])) ++end;
        error = "bad token '" + excerpt(m_line.substr(start, end - start)) + "'";
        return false;
    }

    std::string_view m_line;
    std::size_t m_pos = 0;
};

Error failure(ControlParseError kind, ControlParseError* out, std::string message) {
    if (out) *out = kind;
    return Error{std::move(message)};
}

}  // namespace

const std::string* ControlMessage::field(std::string_view key) const {
    for (auto it = fields.rbegin(); it != fields.rend(); ++it)
        if (it->first == key) return &it->second;
    return nullptr;
}

std::optional<std::int64_t> ControlMessage::int_field(std::string_view key) const {
    const std::string* value = field(key);
    if (!value) return std::nullopt;
    auto parsed = parse_int(*value);
    if (!parsed) return std::nullopt;
    return static_cast<std::int64_t>(*parsed);
}

std::string_view control_verb_name(ControlMessage::Verb verb) {
    switch (verb) {
        case ControlMessage::Verb::begin:
            return "begin";
        case ControlMessage::Verb::end:
            return "end";
        case ControlMessage::Verb::epoch:
            return "epoch";
        case ControlMessage::Verb::meta:
            return "meta";
        case ControlMessage::Verb::metric:
            return "metric";
        case ControlMessage::Verb::hello:
            return "hello";
    }
    return "?";
}

std::optional<ControlMessage::Verb> parse_control_verb(std::string_view word) {
    using Verb = ControlMessage::Verb;
    for (Verb verb : {Verb::begin, Verb::end, Verb::epoch, Verb::meta, Verb::metric, Verb::hello})
        if (control_verb_name(verb) == word) return verb;
    return std::nullopt;
}

ClientIdentity client_identity(const ControlMessage& hello) {
    ClientIdentity id;
    auto number = [&](std::string_view key) -> std::optional<long long> {
        const std::string* value = hello.field(key);
        if (!value) return std::nullopt;
        auto parsed = parse_non_negative(*value);
        if (!parsed) return std::nullopt;
        return static_cast<long long>(*parsed);
    };
    id.rank = number("rank");
    id.local_rank = number("local_rank");
    id.world_size = number("world_size");
    id.node_rank = number("node_rank");
    id.pid = number("pid");
    if (const std::string* launcher = hello.field("launcher")) id.launcher = *launcher;
    return id;
}

bool is_valid_control_name(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text)
        if (!is_name_char(c)) return false;
    return true;
}

Result<ControlMessage> parse_control_line(std::string_view line, ControlParseError* kind) {
    using Verb = ControlMessage::Verb;
    constexpr auto malformed = ControlParseError::malformed;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.size() > k_max_control_line_bytes)
        return failure(ControlParseError::oversized, kind,
                       "line of " + std::to_string(line.size()) + " bytes exceeds " +
                           std::to_string(k_max_control_line_bytes));
    if (line.find('\n') != std::string_view::npos) return failure(malformed, kind, "newline inside the line");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    Tokenizer tokenizer(line);
    Token token;
    std::string error;
    auto next = [&]() { return tokenizer.next(token, error); };

    ControlMessage message;
    if (!next()) {
        if (!error.empty()) return failure(malformed, kind, error);
        return failure(ControlParseError::empty, kind, "empty line");
    }
    if (token.has_value && token.key == "t") {
        auto t = parse_non_negative(token.value);
        if (!t) return failure(malformed, kind, "bad timestamp '" + excerpt(token.raw) + "'");
        message.client_t_ns = *t;
        if (!next()) return failure(malformed, kind, error.empty() ? "missing verb" : error);
    }
    if (token.has_value) return failure(malformed, kind, "missing verb before '" + excerpt(token.raw) + "'");
    auto verb = parse_control_verb(token.key);
    if (!verb)
        return failure(ControlParseError::unknown_verb, kind, "unknown verb '" + excerpt(token.key) + "'");
    message.verb = *verb;

    bool has_name = message.verb == Verb::begin || message.verb == Verb::end;
    if (has_name) {
        if (!next()) return failure(malformed, kind, error.empty() ? "missing phase name" : error);
        if (token.has_value) return failure(malformed, kind, "missing phase name");
        if (!is_valid_control_name(token.key))
            return failure(malformed, kind, "bad phase name '" + excerpt(token.key) + "'");
        message.name = token.key;
    }
    while (next()) {
        if (!token.has_value)
            return failure(malformed, kind, "bad token '" + excerpt(token.raw) + "' (expected key=value)");
        if (!is_valid_control_name(token.key))
            return failure(malformed, kind, "bad key '" + excerpt(token.key) + "'");
        message.fields.emplace_back(std::move(token.key), std::move(token.value));
    }
    if (!error.empty()) return failure(malformed, kind, error);

    if (has_name || message.verb == Verb::epoch) {
        for (const auto& [key, value] : message.fields)
            if ((key == "samples" || key == "n") && !parse_non_negative(value))
                return failure(malformed, kind,
                               key + " must be a non-negative integer, not '" + excerpt(value) + "'");
    }
    if (message.verb == Verb::hello) {
        for (const auto& [key, value] : message.fields)
            if ((key == "rank" || key == "local_rank" || key == "world_size" || key == "node_rank" ||
                 key == "pid") &&
                !parse_non_negative(value))
                return failure(
                    malformed, kind,
                    "hello " + key + " must be a non-negative integer, not '" + excerpt(value) + "'");
    }
    if (message.verb == Verb::meta && message.fields.empty()) return failure(malformed, kind, "empty meta");
    if (message.verb == Verb::metric) {
        if (message.fields.empty()) return failure(malformed, kind, "empty metric");
        for (const auto& [key, value] : message.fields)
            if (!parse_double(value) || trim(value).size() != value.size())
                return failure(malformed, kind,
                               "metric " + key + " is not a number: '" + excerpt(value) + "'");
    }
    return message;
}

void append_control_value(std::string& out, std::string_view value) {
    // The rule lives in the client header, which instrumented programs compile without linking joulecast:
    // one definition keeps what they write and what joulecast writes the same.
    client::detail::append_value(out, value);
}

std::string format_control_line(const ControlMessage& message) {
    std::string out;
    if (message.client_t_ns) out += "t=" + std::to_string(*message.client_t_ns) + ' ';
    out += control_verb_name(message.verb);
    if (!message.name.empty()) {
        out += ' ';
        out += message.name;
    }
    for (const auto& [key, value] : message.fields) {
        out += ' ';
        out += key;
        out += '=';
        append_control_value(out, value);
    }
    return out;
}

}  // namespace joulecast::control
