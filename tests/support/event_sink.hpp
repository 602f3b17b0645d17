#pragma once
// Collects the events a ControlServer delivers, so that control-channel tests can wait for them.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "control/server.hpp"

namespace joulecast::test {

class EventSink {
public:
    /// Clients open each connection with a `hello` line; a sink keeps those only when asked (the tests of the
    /// other verbs count their own lines).
    explicit EventSink(bool keep_hello = false) : m_keep_hello(keep_hello) {}

    /// The callback to give the server; it may be called from the server's thread.
    control::ControlServer::Callback callback() {
        return [this](const control::ControlEvent& event) {
            if (!m_keep_hello && event.message.verb == control::ControlMessage::Verb::hello) return;
            std::lock_guard lock(m_mutex);
            m_events.push_back(event);
            m_changed.notify_all();
        };
    }
    /// Waits until at least `count` events arrived; false on timeout.
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, timeout, [&] { return m_events.size() >= count; });
    }
    std::vector<control::ControlEvent> events() {
        std::lock_guard lock(m_mutex);
        return m_events;
    }

private:
    bool m_keep_hello = false;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<control::ControlEvent> m_events;
};

}  // namespace joulecast::test
