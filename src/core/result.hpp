#pragma once
// A small value-or-error type for the sampling path and for parsers (g++ 12 has no std::expected in C++20).

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace joulecast::core {

/// An error message meant for a user: says what went wrong and, where possible, what to do about it.
struct Error {
    std::string message;
};

template <typename T>
class Result {
public:
    Result(T value) : m_state(std::move(value)) {}
    Result(Error error) : m_state(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(m_state); }
    explicit operator bool() const { return ok(); }

    const T& value() const& { return checked(); }
    T& value() & { return checked(); }
    T&& value() && { return std::move(checked()); }
    const T& operator*() const& { return value(); }
    const T* operator->() const { return &value(); }
    T* operator->() { return &value(); }

    const std::string& error() const { return std::get<Error>(m_state).message; }

private:
    T& checked() {
        if (!ok()) throw std::logic_error("Result accessed without a value: " + error());
        return std::get<T>(m_state);
    }
    const T& checked() const {
        if (!ok()) throw std::logic_error("Result accessed without a value: " + error());
        return std::get<T>(m_state);
    }
    std::variant<T, Error> m_state;
};

/// A usage or configuration error raised at the edges (command line, files given by the user).
/// The CLI turns it into a message and exit status 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Bad input that is not a wrong option or argument: the content of a file the user gave (a study grid too
/// large to plan, a TOML error), a grid that needs a flag. Exit status 2 with its one message, without the
/// command's usage text, which would bury it.
class InputError : public UsageError {
public:
    using UsageError::UsageError;
};

}  // namespace joulecast::core
