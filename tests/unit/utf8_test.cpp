// core/text's UTF-8 check and repair: text from outside (options, argv, control lines) is made valid UTF-8 at
// the edges, one U+FFFD per maximal ill-formed subpart.

#include <gtest/gtest.h>

#include <string>

#include "core/text.hpp"

namespace joulecast::core {
namespace {

const std::string fffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsKeptByteForByte) {
    for (std::string text :
         {std::string(""), std::string("ascii k=v"), std::string("caf\xC3\xA9"),
          std::string("\xE2\x82\xAC 5"), std::string("\xF0\x9F\x94\x8B"), std::string("\xF4\x8F\xBF\xBF")}) {
        EXPECT_TRUE(is_valid_utf8(text)) << text;
        EXPECT_EQ(repair_utf8(text), text);
    }
}

TEST(Utf8, StrayAndTruncatedBytesBecomeOneReplacementEach) {
    EXPECT_FALSE(is_valid_utf8("\xFF"));
    EXPECT_EQ(repair_utf8("\xFF"), fffd);
    EXPECT_EQ(repair_utf8("a\xFF"
                          "b"),
              "a" + fffd + "b");
    // A euro sign cut after two of its three bytes (a truncated write): one replacement for the pair.
    EXPECT_EQ(repair_utf8("x=\xE2\x82"), "x=" + fffd);
    EXPECT_EQ(repair_utf8("\xE2\x82"
                          "A"),
              fffd + "A");
    // A lone continuation byte, and two of them.
    EXPECT_EQ(repair_utf8("\x80\x80"), fffd + fffd);
}

TEST(Utf8, OverlongSurrogateAndOutOfRangeFormsAreRejected) {
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
    EXPECT_EQ(repair_utf8("\xC0\xAF"), fffd + fffd);  // C0 can never start a character
    EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong 3-byte form
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // U+D800, a surrogate
    EXPECT_EQ(repair_utf8("\xED\xA0\x80"), fffd + fffd + fffd);
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
    const std::string repaired = repair_utf8("\xF0\x9F\x94");  // a 4-byte character cut after 3
    EXPECT_EQ(repaired, fffd);
    EXPECT_TRUE(is_valid_utf8(repaired));
}

}  // namespace
}  // namespace joulecast::core
