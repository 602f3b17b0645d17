#pragma once
// The self-contained HTML page of `joulecast report`: one file with the chart library, the page's script and
// style compiled into the binary (cmake/embed_asset.cmake), and the report's data as JSON. It needs no
// network and no other file to be viewed.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace joulecast::report {

/// The page's data as text safe inside <script type="application/json">: every '<' becomes \u003c (so
/// neither "</script" nor "<!--" can appear), U+2028/U+2029 are escaped, and invalid UTF-8 in strings is
/// replaced by U+FFFD rather than failing. JSON.parse gives back the same document.
std::string script_safe_json(const nlohmann::ordered_json& data);

/// Text escaped for HTML element content and attribute values (& < > " ').
std::string html_escape(std::string_view text);

/// The whole page: `data` (normally from build_report_data; schema "joulecast.report/1") drawn by the
/// embedded script. `title` goes into <title> and the heading.
std::string render_html(const nlohmann::ordered_json& data, std::string_view title = "joulecast report");

/// "Apache ECharts 6.1.0": the embedded chart library, as its package states its version.
std::string chart_library_label();

}  // namespace joulecast::report
