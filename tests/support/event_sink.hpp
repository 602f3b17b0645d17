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
    /// The callback to give the server; it may be called from the server's thread.
    ControlServer::Callback callback() {
        return [this](const ControlEvent& event) {
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
    std::vector<ControlEvent> events() {
        std::lock_guard lock(m_mutex);
        return m_events;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<ControlEvent> m_events;
};

}  // namespace joulecast::test
