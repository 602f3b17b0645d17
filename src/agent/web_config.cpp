#include "agent/web_config.hpp"

#include <crypt.h>

#include <fstream>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace joulecast::agent {

namespace {

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return "";
    const auto last = text.find_last_not_of(" \t\r");
    return std::string(text.substr(first, last - first + 1));
}

/// A scalar: quotes removed ('' or ""), or a plain value up to a " #" comment.
std::string scalar(std::string_view text, const std::string& where) {
    std::string value = trim(text);
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
        const auto close = value.find(value[0], 1);
        if (close == std::string::npos) throw std::runtime_error(where + ": unterminated quote");
        const std::string rest = trim(std::string_view(value).substr(close + 1));
        if (!rest.empty() && rest[0] != '#')
            throw std::runtime_error(where + ": text after the quoted value");
        return value.substr(1, close - 1);
    }
    const auto comment = value.find(" #");
    if (comment != std::string::npos) value = trim(std::string_view(value).substr(0, comment));
    return value;
}

int base64_digit(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    std::size_t i = 0;
    for (; i < text.size() && text[i] != '='; ++i) {
        const int digit = base64_digit(text[i]);
        if (digit < 0) return std::nullopt;
        buffer = buffer << 6 | static_cast<unsigned>(digit);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(buffer >> bits & 0xff);
        }
    }
    for (; i < text.size(); ++i)
        if (text[i] != '=') return std::nullopt;
    return out;
}

bool equal_in_constant_time(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

WebConfig read_web_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    WebConfig config;
    std::string section;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const std::string where = path + ":" + std::to_string(number);
        const std::string content = trim(line);
        if (content.empty() || content[0] == '#' || content == "---") continue;
        const bool nested = line[0] == ' ' || line[0] == '\t';
        const auto colon = content.find(':');
        if (colon == std::string::npos) throw std::runtime_error(where + ": expected KEY: VALUE");
        const std::string key = scalar(std::string_view(content).substr(0, colon), where);
        const std::string value = scalar(std::string_view(content).substr(colon + 1), where);
        if (!nested) {
            if (key != "tls_server_config" && key != "basic_auth_users")
                throw std::runtime_error(
                    where + ": '" + key +
                    "' is not supported (joulecast supports tls_server_config with cert_file "
                    "and key_file, and basic_auth_users)");
            if (!value.empty() && value != "{}")
                throw std::runtime_error(where + ": '" + key + "' wants a block");
            section = key;
        } else if (section == "tls_server_config") {
            if (key == "cert_file")
                config.cert_file = value;
            else if (key == "key_file")
                config.key_file = value;
            else
                throw std::runtime_error(where + ": tls_server_config." + key + " is not supported");
        } else if (section == "basic_auth_users") {
            if (value.rfind("$2", 0) != 0)
                throw std::runtime_error(where + ": the password of '" + key +
                                         "' must be a bcrypt hash ($2y$...)");
            config.users[key] = value;
        } else {
            throw std::runtime_error(where + ": indented line outside a section");
        }
    }
    if (config.cert_file.empty() != config.key_file.empty())
        throw std::runtime_error(path + ": tls_server_config needs both cert_file and key_file");
    return config;
}

bool BasicAuth::check(const std::string& authorization, std::string& user) {
    user.clear();
    constexpr std::string_view scheme = "Basic ";
    if (authorization.compare(0, scheme.size(), scheme) != 0) return false;
    const auto decoded = base64_decode(trim(std::string_view(authorization).substr(scheme.size())));
    if (!decoded) return false;
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return false;
    user = decoded->substr(0, colon);
    const std::string password = decoded->substr(colon + 1);
    const auto it = m_users.find(user);
    if (it == m_users.end()) return false;
    {
        std::lock_guard lock(m_mutex);
        const auto known = m_accepted.find(user);
        if (known != m_accepted.end() && equal_in_constant_time(known->second, *decoded)) return true;
    }
    crypt_data data{};
    const char* hashed = crypt_r(password.c_str(), it->second.c_str(), &data);
    // crypt_r fails with NULL or a string starting with '*' (libxcrypt) for a hash it cannot use.
    if (!hashed || hashed[0] == '*' || !equal_in_constant_time(hashed, it->second)) return false;
    std::lock_guard lock(m_mutex);
    m_accepted[user] = *decoded;
    return true;
}

std::string FailureLog::failure(const std::string& user, const std::string& address) {
    std::lock_guard lock(m_mutex);
    const auto now = std::chrono::steady_clock::now();
    if (m_last_line && now - *m_last_line < m_period) {
        ++m_suppressed;
        return "";
    }
    // The name is the client's text: printable ASCII only, and not too much of it.
    std::string shown;
    for (char c : user.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f && c != '\'') ? c : '?';
    std::string line = "joulecast-agent: failed login for user '" + shown + "' from " + address;
    if (m_suppressed > 0)
        line +=
            " (and " + std::to_string(m_suppressed) + " more failed logins not logged since the last line)";
    line += "; answered 401";
    m_suppressed = 0;
    m_last_line = now;
    return line;
}

}  // namespace joulecast::agent
