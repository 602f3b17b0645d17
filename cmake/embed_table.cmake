# Turns one CSV file into a C++ source defining `extern const std::string_view joulecast::core::data::<SYMBOL>`.
file(READ ${INPUT} content)
string(FIND "${content}" ")jcdata\"" clash)
if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
file(WRITE ${OUTPUT}
"// Generated from ${INPUT}; do not edit.\n#include <string_view>\nnamespace joulecast::core::data {\nextern const std::string_view ${SYMBOL};\nconst std::string_view ${SYMBOL} = R\"jcdata(${content})jcdata\";\n}  // namespace joulecast::core::data\n")
