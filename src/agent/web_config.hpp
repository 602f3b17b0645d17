#pragma once
// `joulecast serve --web-config FILE`: the YAML of Prometheus's exporter toolkit, the part joulecast
// supports:
//
//   tls_server_config:
//     cert_file: /etc/joulecast/agent.crt
//     key_file: /etc/joulecast/agent.key
//   basic_auth_users:
//     prometheus: $2y$10$...   # bcrypt, e.g. from `htpasswd -nBC 10 prometheus`
//
// Any other key is refused with its name (rather than silently ignored: a security setting that does not
// apply must not look as if it did). Passwords are checked with crypt(3) (libxcrypt's bcrypt,
// $2b$/$2y$/$2a$).

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace joulecast::agent {

struct WebConfig {
    std::string cert_file, key_file;           ///< both empty: plain HTTP
    std::map<std::string, std::string> users;  ///< user -> bcrypt hash; empty: no authentication
    bool tls() const { return !cert_file.empty(); }
};

/// Reads FILE; an error (std::runtime_error) names the line and what is wrong with it.
WebConfig read_web_config(const std::string& path);

/// Checks Authorization headers against the users' bcrypt hashes. A pair that passed once is remembered
/// (bcrypt is slow on purpose: a scrape per second would cost a core), keyed by the exact credentials.
class BasicAuth {
public:
    explicit BasicAuth(std::map<std::string, std::string> users) : m_users(std::move(users)) {}
    /// Whether `authorization` ("Basic base64(user:password)") names a user with the right password; sets
    /// `user` to the name it gave (for the log). Thread-safe.
    bool check(const std::string& authorization, std::string& user);

private:
    std::map<std::string, std::string> m_users;
    std::mutex m_mutex;
    std::map<std::string, std::string> m_accepted;  ///< user -> credentials that passed
};

/// Logs failed logins at most once per `period`, with how many there were since the last line.
class FailureLog {
public:
    explicit FailureLog(std::chrono::seconds period = std::chrono::seconds(10)) : m_period(period) {}
    /// Counts a failure; returns the line to log now, or an empty string while rate-limited.
    std::string failure(const std::string& user, const std::string& address);

private:
    std::chrono::seconds m_period;
    std::mutex m_mutex;
    std::optional<std::chrono::steady_clock::time_point> m_last_line;
    std::uint64_t m_suppressed = 0;
};

}  // namespace joulecast::agent
