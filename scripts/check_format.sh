#!/usr/bin/env bash
# Fails (exit 1, naming the files) when a C++ file of the tree (tracked, or new and not ignored) is not formatted
# by .clang-format.
# Run by ctest (Format.SourcesAreClangFormatted), so CI fails on unformatted code.
#   scripts/check_format.sh          check
#   scripts/check_format.sh --fix    format the files in place
# Debian 12's clang-format 14 is the reference: other versions break lines differently.
set -euo pipefail
cd "$(dirname "$0")/.."
formatter=""
for candidate in clang-format-14 clang-format; do
    if command -v "$candidate" >/dev/null 2>&1; then formatter="$candidate"; break; fi
done
if [ -z "$formatter" ]; then
    echo "check_format: clang-format is not installed (scripts/setup.sh installs Debian's clang-format)" >&2
    exit 1
fi
# Tracked files and new ones not yet added (not ignored), so that --fix formats a file before its first commit.
# (New files only in the source folders: a build folder that .gitignore does not name holds generated C++.)
mapfile -t files < <({ git ls-files --cached '*.cpp' '*.hpp' '*.h'
    git ls-files --others --exclude-standard -- src tests bench workloads include examples tools; } |
    grep -E '\.(cpp|hpp|h)$' | grep -v '^web/' |
    sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = "--fix" ]; then
    "$formatter" -i "${files[@]}"
    exit 0
fi
unformatted=()
for f in "${files[@]}"; do
    if ! "$formatter" --dry-run --Werror "$f" >/dev/null 2>&1; then unformatted+=("$f"); fi
done
if [ ${#unformatted[@]} -gt 0 ]; then
    echo "check_format: ${#unformatted[@]} file(s) are not formatted by .clang-format ($formatter):" >&2
    printf '  %s\n' "${unformatted[@]}" >&2
    echo "run scripts/check_format.sh --fix" >&2
    exit 1
fi
echo "check_format: ${#files[@]} files formatted"
