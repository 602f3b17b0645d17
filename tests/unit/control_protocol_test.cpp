// The control-channel line protocol: every verb, quoting, the t= prefix, each kind of error, and a randomised
// test that the parser never crashes, that what it accepts obeys the grammar, and that it round-trips.

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "control/protocol.hpp"
#include "core/text.hpp"

namespace joulecast::control {

using core::parse_double;
using core::parse_int;

namespace {

using Verb = ControlMessage::Verb;
using Fields = std::vector<std::pair<std::string, std::string>>;

ControlMessage parse_ok(std::string_view line) {
    auto parsed = parse_control_line(line);
    EXPECT_TRUE(parsed.ok()) << "line: " << line << " error: " << (parsed.ok() ? "" : parsed.error());
    return parsed.ok() ? parsed.value() : ControlMessage{};
}

// Parses a line that must fail; returns the error and checks its kind.
std::string parse_error(std::string_view line, ControlParseError expected = ControlParseError::malformed) {
    ControlParseError kind = ControlParseError::empty;
    auto parsed = parse_control_line(line, &kind);
    EXPECT_FALSE(parsed.ok()) << "line unexpectedly accepted: " << line;
    if (parsed.ok()) return "";
    EXPECT_EQ(static_cast<int>(kind), static_cast<int>(expected)) << line << " -> " << parsed.error();
    return parsed.error();
}

TEST(ControlProtocol, ParsesBeginWithFieldsAndTimestamp) {
    auto m = parse_ok("t=123456789012 begin train batch_size=128 lr=0.1");
    EXPECT_EQ(m.verb, Verb::begin);
    EXPECT_EQ(m.name, "train");
    ASSERT_TRUE(m.client_t_ns.has_value());
    EXPECT_EQ(*m.client_t_ns, 123456789012);
    EXPECT_EQ(m.fields, (Fields{{"batch_size", "128"}, {"lr", "0.1"}}));
}

TEST(ControlProtocol, ParsesEndWithSamples) {
    auto m = parse_ok("end train samples=60000");
    EXPECT_EQ(m.verb, Verb::end);
    EXPECT_EQ(m.name, "train");
    EXPECT_FALSE(m.client_t_ns.has_value());
    EXPECT_EQ(m.int_field("samples"), 60000);
    EXPECT_EQ(m.int_field("n"), std::nullopt);
}

TEST(ControlProtocol, ParsesEpochWithAndWithoutFields) {
    auto m = parse_ok("epoch n=3 samples=1000");
    EXPECT_EQ(m.verb, Verb::epoch);
    EXPECT_TRUE(m.name.empty());
    EXPECT_EQ(m.int_field("n"), 3);
    EXPECT_EQ(m.int_field("samples"), 1000);
    auto bare = parse_ok("epoch");
    EXPECT_EQ(bare.verb, Verb::epoch);
    EXPECT_TRUE(bare.fields.empty());
}

TEST(ControlProtocol, ParsesMetaWithQuotedValues) {
    auto m = parse_ok(R"(meta model="ResNet 18" note="say \"hi\" \\ bye" params=11173962 empty="")");
    EXPECT_EQ(m.verb, Verb::meta);
    EXPECT_EQ(
        m.fields,
        (Fields{
            {"model", "ResNet 18"}, {"note", R"(say "hi" \ bye)"}, {"params", "11173962"}, {"empty", ""}}));
}

TEST(ControlProtocol, ParsesMetricNumbers) {
    auto m = parse_ok("metric accuracy=0.912 loss=3.1e-1 step=-4");
    EXPECT_EQ(m.verb, Verb::metric);
    ASSERT_NE(m.field("loss"), nullptr);
    EXPECT_DOUBLE_EQ(*parse_double(*m.field("loss")), 0.31);
    EXPECT_EQ(*m.field("step"), "-4");
}

TEST(ControlProtocol, ToleratesWhitespaceCarriageReturnAndNewline) {
    auto m = parse_ok("  \tbegin   infer\t k.1-x=v_2  \r\n");
    EXPECT_EQ(m.name, "infer");
    EXPECT_EQ(m.fields, (Fields{{"k.1-x", "v_2"}}));
}

TEST(ControlProtocol, RepeatedKeysKeepOrderAndLastWins) {
    auto m = parse_ok("metric loss=1 loss=2");
    EXPECT_EQ(m.fields.size(), 2u);
    EXPECT_EQ(*m.field("loss"), "2");
}

TEST(ControlProtocol, RejectsUnknownVerbs) {
    EXPECT_NE(parse_error("bgin train", ControlParseError::unknown_verb).find("bgin"), std::string::npos);
    parse_error("BEGIN train", ControlParseError::unknown_verb);
    parse_error("t=5 stop", ControlParseError::unknown_verb);
}

TEST(ControlProtocol, RejectsMissingOrBadPhaseNames) {
    EXPECT_EQ(parse_error("begin"), "missing phase name");
    EXPECT_EQ(parse_error("end samples=5"), "missing phase name");
    EXPECT_NE(parse_error("begin tr@in").find("bad phase name"), std::string::npos);
}

TEST(ControlProtocol, RejectsBadTokens) {
    EXPECT_NE(parse_error("meta model").find("bad token"), std::string::npos);
    EXPECT_NE(parse_error("meta mo!del=x").find("bad key"), std::string::npos);
    EXPECT_NE(parse_error("meta =x").find("bad key"), std::string::npos);
    EXPECT_NE(parse_error(R"(meta model=res"net)").find("bad token"), std::string::npos);
    EXPECT_NE(parse_error(R"(meta model="resnet"18)").find("bad token"), std::string::npos);
    EXPECT_NE(parse_error(R"(meta model="resnet)").find("unterminated"), std::string::npos);
    EXPECT_NE(parse_error(R"(meta model="a\nb")").find("bad escape"), std::string::npos);
    EXPECT_NE(parse_error(R"(meta model="ab\)").find("unterminated"), std::string::npos);
    EXPECT_EQ(parse_error("x=1 begin train"), "missing verb before 'x=1'");
}

TEST(ControlProtocol, RejectsNonNumericSamplesAndN) {
    EXPECT_NE(parse_error("end train samples=many").find("samples must be a non-negative integer"),
              std::string::npos);
    parse_error("epoch samples=-1");
    parse_error("epoch n=1.5");
    parse_error("begin train n=");
    parse_error("epoch samples=99999999999999999999");  // does not fit in 64 bits
}

TEST(ControlProtocol, RejectsEmptyMetaAndBadMetrics) {
    EXPECT_EQ(parse_error("meta"), "empty meta");
    EXPECT_EQ(parse_error("t=9 metric"), "empty metric");
    EXPECT_NE(parse_error("metric accuracy=high").find("not a number"), std::string::npos);
    parse_error("metric loss=nan");
    parse_error("metric loss=inf");
    parse_error(R"(metric loss=" 1")");
}

TEST(ControlProtocol, RejectsBadTimestamps) {
    EXPECT_NE(parse_error("t=abc begin train").find("bad timestamp"), std::string::npos);
    parse_error("t=-5 begin train");
    parse_error("t= begin train");
    EXPECT_EQ(parse_error("t=5"), "missing verb");
}

TEST(ControlProtocol, EmptyAndBlankLinesHaveTheirOwnKind) {
    parse_error("", ControlParseError::empty);
    parse_error(" \t \r", ControlParseError::empty);
}

TEST(ControlProtocol, RejectsOversizedLines) {
    std::string prefix = "meta note=";
    std::string fits = prefix + std::string(k_max_control_line_bytes - prefix.size(), 'a');
    ASSERT_EQ(fits.size(), 4096u);
    EXPECT_EQ(parse_ok(fits).field("note")->size(), 4096u - prefix.size());
    EXPECT_EQ(parse_ok(fits + "\n").verb, Verb::meta);  // the newline does not count
    EXPECT_NE(parse_error(fits + "a", ControlParseError::oversized).find("4097"), std::string::npos);
}

TEST(ControlProtocol, FormatsCanonicalLines) {
    ControlMessage m;
    m.verb = Verb::end;
    m.name = "train";
    m.client_t_ns = 42;
    m.fields = {{"samples", "60000"}, {"model", "ResNet 18"}, {"q", R"(a"b\c)"}, {"e", ""}};
    EXPECT_EQ(format_control_line(m), R"(t=42 end train samples=60000 model="ResNet 18" q="a\"b\\c" e="")");
    EXPECT_EQ(parse_ok(format_control_line(m)), m);

    ControlMessage epoch;
    epoch.verb = Verb::epoch;
    EXPECT_EQ(format_control_line(epoch), "epoch");
}

TEST(ControlProtocol, FormatReplacesNewlinesInValues) {
    ControlMessage m;
    m.verb = Verb::meta;
    m.fields = {{"note", "two\nlines"}};
    EXPECT_EQ(format_control_line(m), R"(meta note="two lines")");
}

TEST(ControlProtocol, VerbNamesRoundTrip) {
    for (Verb verb : {Verb::begin, Verb::end, Verb::epoch, Verb::meta, Verb::metric})
        EXPECT_EQ(parse_control_verb(control_verb_name(verb)), verb);
    EXPECT_EQ(parse_control_verb("Begin"), std::nullopt);
    EXPECT_TRUE(is_valid_control_name("a-b.c_9"));
    EXPECT_FALSE(is_valid_control_name(""));
    EXPECT_FALSE(is_valid_control_name("a b"));
}

// ---- randomised ----

// Checks everything the grammar promises about an accepted message, and the round trip.
void check_accepted(std::string_view line, const ControlMessage& m) {
    SCOPED_TRACE(std::string(line));
    bool named = m.verb == Verb::begin || m.verb == Verb::end;
    EXPECT_EQ(named, !m.name.empty());
    if (named) {
        EXPECT_TRUE(is_valid_control_name(m.name));
    }
    for (const auto& [key, value] : m.fields) {
        EXPECT_TRUE(is_valid_control_name(key));
        EXPECT_EQ(value.find('\n'), std::string::npos);
        if (named || m.verb == Verb::epoch) {
            if (key == "samples" || key == "n") {
                auto number = parse_int(value);
                EXPECT_TRUE(number && *number >= 0);
            }
        }
        if (m.verb == Verb::metric) {
            EXPECT_TRUE(parse_double(value).has_value());
        }
    }
    if (m.verb == Verb::meta || m.verb == Verb::metric) {
        EXPECT_FALSE(m.fields.empty());
    }
    if (m.client_t_ns) {
        EXPECT_GE(*m.client_t_ns, 0);
    }
    std::string formatted = format_control_line(m);
    auto again = parse_control_line(formatted);
    ASSERT_TRUE(again.ok()) << formatted << " -> " << again.error();
    EXPECT_EQ(again.value(), m);
}

void check_any(std::string_view line, std::size_t& accepted) {
    ControlParseError kind = ControlParseError::empty;
    auto parsed = parse_control_line(line, &kind);
    std::string_view body = line;
    if (!body.empty() && body.back() == '\n') body.remove_suffix(1);
    bool oversized = body.size() > k_max_control_line_bytes;
    if (parsed.ok()) {
        ++accepted;
        EXPECT_FALSE(oversized);
        check_accepted(line, parsed.value());
    } else {
        EXPECT_FALSE(parsed.error().empty());
        EXPECT_EQ(kind == ControlParseError::oversized, oversized) << parsed.error();
        if (!oversized && !body.empty() && body.back() == '\r') body.remove_suffix(1);
        bool blank = body.find_first_not_of(" \t") == std::string_view::npos;
        EXPECT_EQ(kind == ControlParseError::empty, blank && !oversized) << parsed.error();
    }
}

const char* const k_valid_lines[] = {
    "t=1 begin train batch_size=128",
    "end train samples=60000",
    "epoch n=3 samples=1000",
    R"(meta model="ResNet 18" params=11173962 dataset=fashion-mnist)",
    "metric accuracy=0.912 loss=0.31",
    R"(t=99 meta note="a \"quoted\" \\ thing")",
    "begin infer",
};

TEST(ControlProtocolFuzz, RandomBytesNeverCrashAndObeyTheGrammar) {
    std::mt19937 rng(12345);
    // Random bytes, and random sequences of grammar pieces with random bytes mixed in, so that a fair share
    // of lines parse and the rest fail in every possible place.
    const char* const pieces[] = {"begin", "end", "epoch",    "meta", "metric",  "t=",  "t=17",
                                  "train", "n=",  "samples=", "12",   "-3",      "0.5", "k=",
                                  "\"",    "\\",  "=",        "x y",  "\"a b\"", " ",   "\t",
                                  "  ",    "\r",  "\n",       "\x01", "\xff",    "@",   "nan"};
    std::size_t accepted = 0;
    for (int i = 0; i < 40000; ++i) {
        std::string line;
        if (i % 2 == 0) {
            std::size_t length = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
            for (std::size_t j = 0; j < length; ++j) line += static_cast<char>(rng() % 256);
        } else {
            std::size_t count = rng() % 8;
            for (std::size_t j = 0; j < count; ++j) {
                line += pieces[rng() % std::size(pieces)];
                if (rng() % 3 != 0) line += ' ';
                if (rng() % 16 == 0) line += static_cast<char>(rng() % 256);
            }
        }
        check_any(line, accepted);
        if (HasFailure()) return;
    }
    EXPECT_GT(accepted, 100u);
}

TEST(ControlProtocolFuzz, MutatedValidLinesNeverCrashAndRoundTrip) {
    std::mt19937 rng(777);
    const std::string interesting = " \t\"\\=\r\nxs0-";
    std::size_t accepted = 0;
    for (int i = 0; i < 30000; ++i) {
        std::string line = k_valid_lines[rng() % std::size(k_valid_lines)];
        int mutations = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < mutations && !line.empty(); ++k) {
            std::size_t at = rng() % line.size();
            switch (rng() % 5) {
                case 0:
                    line.erase(at, 1);
                    break;
                case 1:
                    line.insert(at, 1, interesting[rng() % interesting.size()]);
                    break;
                case 2:
                    line[at] = static_cast<char>(rng() % 256);
                    break;
                case 3:
                    line.insert(at, line.substr(rng() % line.size(), 1 + rng() % 8));
                    break;
                case 4:
                    line.resize(at);
                    break;
            }
        }
        if (rng() % 200 == 0) line.append(k_max_control_line_bytes, 'x');  // sometimes oversized
        check_any(line, accepted);
        if (HasFailure()) return;
    }
    EXPECT_GT(accepted, 1000u);
}

TEST(ControlProtocolFuzz, RandomMessagesRoundTripThroughTheFormatter) {
    std::mt19937 rng(4242);
    auto random_name = [&] {
        const std::string chars = "abcXYZ019_.-";
        std::string s(1 + rng() % 10, 'a');
        for (char& c : s) c = chars[rng() % chars.size()];
        return s;
    };
    auto random_value = [&] {
        std::string s(rng() % 12, 'a');
        for (char& c : s) {
            c = static_cast<char>(rng() % 256);
            if (c == '\n') c = 'n';  // a line cannot hold a newline
        }
        return s;
    };
    for (int i = 0; i < 10000; ++i) {
        ControlMessage m;
        m.verb = static_cast<Verb>(rng() % 5);
        if (rng() % 2) m.client_t_ns = static_cast<std::int64_t>(rng()) * 1000;
        if (m.verb == Verb::begin || m.verb == Verb::end) m.name = random_name();
        std::size_t count = rng() % 4 + (m.verb == Verb::meta || m.verb == Verb::metric ? 1 : 0);
        for (std::size_t k = 0; k < count; ++k) {
            std::string value = m.verb == Verb::metric ? std::to_string(static_cast<int>(rng() % 2000) - 1000)
                                                       : random_value();
            std::string key = random_name();
            if (key == "samples" || key == "n") key += "_";
            m.fields.emplace_back(key, value);
        }
        std::string line = format_control_line(m);
        auto parsed = parse_control_line(line);
        ASSERT_TRUE(parsed.ok()) << line << " -> " << parsed.error();
        ASSERT_EQ(parsed.value(), m) << line;
    }
}

}  // namespace
}  // namespace joulecast::control
