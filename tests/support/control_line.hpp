#pragma once
// One control line parsed as the server would hand it over; a line that does not parse fails the test.

#include <gtest/gtest.h>

#include <string>

#include "control/protocol.hpp"

namespace joulecast::test {

inline control::ControlMessage control_line(const std::string& text) {
    auto parsed = control::parse_control_line(text);
    EXPECT_TRUE(parsed.ok()) << text;
    return parsed.ok() ? *parsed : control::ControlMessage{};
}

}  // namespace joulecast::test
