# Turns every data/calibration/*.json whose "schema" is "joulecast.calibration/1" into one C++ source defining
# `std::vector<joulecast::forecast::data::EmbeddedFile> joulecast::forecast::data::calibration_files()` (declared in
# src/forecast/calibration_sources.hpp), so that `joulecast estimate` works from a copied binary.
# Other JSON files in that folder (e.g. a study's summary kept as evidence) are left out.
#
#   cmake -DDIR=data/calibration -DOUTPUT=FILE.cpp -P cmake/embed_calibrations.cmake

file(GLOB inputs ${DIR}/*.json)
list(SORT inputs)
set(entries "")
foreach(input IN LISTS inputs)
    file(READ ${input} content)
    string(JSON schema ERROR_VARIABLE json_error GET "${content}" schema)
    if(json_error OR NOT schema STREQUAL "joulecast.calibration/1")
        continue()
    endif()
    string(FIND "${content}" ")jccal\"" clash)
    if(NOT clash EQUAL -1)
        message(FATAL_ERROR "${input} contains the raw-string delimiter")
    endif()
    get_filename_component(name ${input} NAME)
    # Pieces of at most 16 KiB as adjacent raw strings, clear of any compiler's limit on one token.
    string(LENGTH "${content}" size)
    set(body "")
    set(offset 0)
    while(offset LESS size)
        string(SUBSTRING "${content}" ${offset} 16384 piece)
        string(APPEND body "R\"jccal(${piece})jccal\"\n")
        math(EXPR offset "${offset} + 16384")
    endwhile()
    string(APPEND entries "        {\"${name}\",\n${body}},\n")
endforeach()
file(WRITE ${OUTPUT}.tmp
"// Generated from ${DIR}/*.json by cmake/embed_calibrations.cmake; do not edit.\n#include \"forecast/calibration_sources.hpp\"\nnamespace joulecast::forecast::data {\nstd::vector<EmbeddedFile> calibration_files() {\n    return {\n${entries}    };\n}\n}  // namespace joulecast::forecast::data\n")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
