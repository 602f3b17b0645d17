#include "control/limits.hpp"

#include <algorithm>

namespace joulecast::control {

bool ControlLimits::admit(ControlMessage& message) {
    switch (message.verb) {
        case ControlMessage::Verb::begin: {
            const bool admitted = m_open < k_max_open_phases;
            m_open_by_name[message.name].push_back(admitted);
            if (admitted)
                ++m_open;
            else
                ++m_dropped_phases;
            return admitted;
        }
        case ControlMessage::Verb::end: {
            auto it = m_open_by_name.find(message.name);
            if (it == m_open_by_name.end() || it->second.empty()) return true;  // the recorder ignores it
            const bool admitted = it->second.back();
            it->second.pop_back();
            if (it->second.empty()) m_open_by_name.erase(it);
            if (admitted) --m_open;
            return admitted;
        }
        case ControlMessage::Verb::metric: {
            std::erase_if(message.fields, [this](const auto& field) {
                bool admitted = m_metric_points < k_max_metric_points;
                if (admitted && m_metric_names.count(field.first) == 0) {
                    admitted = m_metric_names.size() < k_max_metric_names;
                    if (admitted) m_metric_names.insert(field.first);
                }
                if (admitted)
                    ++m_metric_points;
                else
                    ++m_dropped_metric_points;
                return !admitted;
            });
            return !message.fields.empty();
        }
        case ControlMessage::Verb::epoch:
        case ControlMessage::Verb::meta:
        case ControlMessage::Verb::hello:
            return true;
    }
    return true;
}

}  // namespace joulecast::control
