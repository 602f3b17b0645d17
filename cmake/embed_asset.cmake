# Text assets compiled into the binary, so that `joulecast report` writes a self-contained HTML page without
# web/ at run time: the chart library (installed into web/node_modules by scripts/setup.sh: npm ci --prefix
# web) and the page's own script and style (web/report/).
#
# Two uses of this file:
#   include(cmake/embed_asset.cmake) + joulecast_report_assets(OUT_VAR)
#       checks that the assets exist (a clear configure error otherwise), adds one custom command per asset
#       and sets OUT_VAR to the generated C++ sources.
#   cmake -DINPUT=FILE -DOUTPUT=FILE.cpp -DSYMBOL=NAME -P cmake/embed_asset.cmake
#       turns FILE into a C++ source defining `extern const std::string_view joulecast::report::assets::NAME`.

if(CMAKE_SCRIPT_MODE_FILE)
    file(READ ${INPUT} content)
    # The assets go inside <script>/<style> elements: text that would end the element early or switch the HTML
    # parser into its escaped state cannot be embedded as it is.
    string(TOLOWER "${content}" lower)
    foreach(bad "</script" "</style" "<!--")
        string(FIND "${lower}" "${bad}" found)
        if(NOT found EQUAL -1)
            message(FATAL_ERROR "${INPUT} contains '${bad}' and cannot be inlined into an HTML element")
        endif()
    endforeach()
    string(FIND "${content}" ")jcasset\"" clash)
    if(NOT clash EQUAL -1)
        message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
    endif()
    string(LENGTH "${content}" size)
    # Pieces of at most 16 KiB as adjacent raw strings (one literal after translation), to stay clear of any
    # compiler's limit on a single token.
    set(chunk 16384)
    set(body "")
    set(offset 0)
    while(offset LESS size)
        string(SUBSTRING "${content}" ${offset} ${chunk} piece)
        string(APPEND body "R\"jcasset(${piece})jcasset\"\n")
        math(EXPR offset "${offset} + ${chunk}")
    endwhile()
    if(size EQUAL 0)
        set(body "\"\"")
    endif()
    file(WRITE ${OUTPUT}.tmp
"// Generated from ${INPUT}; do not edit.\n#include <string_view>\nnamespace joulecast::report::assets {\nextern const std::string_view ${SYMBOL};\nconst std::string_view ${SYMBOL} =\n${body};\n}  // namespace joulecast::report::assets\n")
    file(RENAME ${OUTPUT}.tmp ${OUTPUT})
    return()
endif()

# The chart library's version is the one pinned in web/package-lock.json; its licence travels with the page.
set(JOULECAST_CHART_LIBRARY ${CMAKE_SOURCE_DIR}/web/node_modules/echarts/dist/echarts.min.js)

function(joulecast_report_assets out_var)
    if(NOT EXISTS ${JOULECAST_CHART_LIBRARY})
        message(FATAL_ERROR
            "The HTML report's chart library is missing: ${JOULECAST_CHART_LIBRARY}\n"
            "Run scripts/setup.sh (it installs nodejs/npm and runs `npm ci --prefix web`), or run "
            "`npm ci --prefix ${CMAKE_SOURCE_DIR}/web` yourself, then configure again.")
    endif()
    set(assets
        "chart_library_js=${JOULECAST_CHART_LIBRARY}"
        "report_js=${CMAKE_SOURCE_DIR}/web/report/report.js"
        "report_css=${CMAKE_SOURCE_DIR}/web/report/report.css")
    set(sources)
    foreach(asset IN LISTS assets)
        string(REPLACE "=" ";" pair "${asset}")
        list(GET pair 0 symbol)
        list(GET pair 1 input)
        set(out ${CMAKE_BINARY_DIR}/generated/asset_${symbol}.cpp)
        add_custom_command(
            OUTPUT ${out}
            COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DOUTPUT=${out} -DSYMBOL=${symbol}
                    -P ${CMAKE_SOURCE_DIR}/cmake/embed_asset.cmake
            DEPENDS ${input} ${CMAKE_SOURCE_DIR}/cmake/embed_asset.cmake
            COMMENT "Embedding ${input}")
        list(APPEND sources ${out})
    endforeach()
    # The library's version, for the page's footer: read from the installed package, not guessed.
    file(READ ${CMAKE_SOURCE_DIR}/web/node_modules/echarts/package.json package_json)
    string(JSON version GET "${package_json}" version)
    set(version_out ${CMAKE_BINARY_DIR}/generated/asset_chart_library_version.cpp)
    file(CONFIGURE OUTPUT ${version_out} CONTENT
"// Generated at configure time from web/node_modules/echarts/package.json; do not edit.
#include <string_view>
namespace joulecast::report::assets {
extern const std::string_view chart_library_name;
extern const std::string_view chart_library_version;
const std::string_view chart_library_name = \"Apache ECharts\";
const std::string_view chart_library_version = \"${version}\";
}  // namespace joulecast::report::assets
")
    list(APPEND sources ${version_out})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                 ${CMAKE_SOURCE_DIR}/web/node_modules/echarts/package.json)
    set(${out_var} ${sources} PARENT_SCOPE)
endfunction()
