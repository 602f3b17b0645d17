// The HTML page of `joulecast report`: data escaped so it cannot leave its script element, and the page
// self-contained (chart library, script and style inlined).

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "report/html/page.hpp"

namespace joulecast::report {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

/// The text between <script id="joulecast-data" ...> and its </script>.
std::string data_script(const std::string& page) {
    const std::string open = "<script id=\"joulecast-data\" type=\"application/json\">";
    auto start = page.find(open);
    if (start == std::string::npos) return {};
    start += open.size();
    return page.substr(start, page.find("</script>", start) - start);
}

TEST(ReportPage, ScriptSafeJsonHasNoAngleBracketAndParsesBack) {
    nlohmann::ordered_json data = {{"name", "</script><script>alert(1)</script><!-- x"},
                                   {"nested", {{"k", "a<b"}}},
                                   {"line", "a\u2028b"},
                                   {"n", 1.5}};
    const std::string text = script_safe_json(data);
    EXPECT_EQ(text.find('<'), std::string::npos);
    EXPECT_EQ(text.find("\u2028"), std::string::npos);
    EXPECT_NE(text.find("\\u003c/script"), std::string::npos);
    EXPECT_EQ(nlohmann::ordered_json::parse(text), data);
}

TEST(ReportPage, InvalidUtf8IsReplacedNotFatal) {
    nlohmann::ordered_json data = {{"name", std::string("run \xff\xfe name")}};
    std::string text;
    ASSERT_NO_THROW(text = script_safe_json(data));
    auto back = nlohmann::ordered_json::parse(text);
    EXPECT_EQ(back["name"], "run \xEF\xBF\xBD\xEF\xBF\xBD name");  // two U+FFFD
}

TEST(ReportPage, HtmlEscapeCoversMarkupCharacters) {
    EXPECT_EQ(html_escape(R"(<a href="x">Tom & 'Jerry'</a>)"),
              "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
    EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(ReportPage, PageInlinesLibraryScriptStyleAndData) {
    nlohmann::ordered_json data = {{"schema", "joulecast.report/1"}, {"name", "</script><b>x</b>"}};
    const std::string page = render_html(data, "runs <of> today");
    // Three script elements end: the data, the chart library, the page's script; nothing else ends one early.
    EXPECT_EQ(count(page, "</script"), 3u);
    EXPECT_EQ(count(page, "<script"), 3u);
    EXPECT_EQ(count(page, "</style"), 1u);
    EXPECT_NE(page.find("<title>runs &lt;of&gt; today</title>"), std::string::npos);
    // The library is there in full (it is over 500 kB minified) and nothing is loaded from elsewhere.
    EXPECT_GT(page.size(), 500u * 1024u);
    EXPECT_NE(page.find("echarts"), std::string::npos);
    EXPECT_EQ(page.find("<script src"), std::string::npos);
    EXPECT_EQ(page.find("<link"), std::string::npos);
    EXPECT_EQ(nlohmann::ordered_json::parse(data_script(page)), data);
    EXPECT_NE(page.find("data-report-ready"), std::string::npos);  // the page's own script
    EXPECT_EQ(chart_library_label().rfind("Apache ECharts ", 0), 0u);
}

TEST(ReportPage, EmbeddedLibraryIsTheInstalledFileByteForByte) {
    const std::string path =
        std::string(PROJECT_SOURCE_DIR) + "/web/node_modules/echarts/dist/echarts.min.js";
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path;
    const std::string library((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string page = render_html(nlohmann::ordered_json::object());
    EXPECT_NE(page.find("<script>\n" + library + "\n</script>"), std::string::npos);
}

}  // namespace
}  // namespace joulecast::report
