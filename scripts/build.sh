#!/usr/bin/env bash
# Configures and builds into ./build with both cores. Without arguments: everything (joulecast, joulecast-zoo,
# the tests and benchmarks). With target names, only those and what they need, e.g.
#   ./scripts/build.sh joulecast joulecast-zoo
# (what scripts/main.sh runs). One configuration serves both: a later plain build (scripts/test.sh) reuses
# everything already built. A named target this configuration lacks (joulecast-zoo without libtorch) is
# skipped with a note; a name that matches no target at all is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
if [ "$#" -eq 0 ]; then
    cmake --build build -j"$(nproc)"
    exit 0
fi
known=$(cmake --build build --target help)
targets=()
for target in "$@"; do
    if grep -Eq "(^|[. ])${target}(:| |$)" <<<"$known"; then
        targets+=("$target")
    elif [ "$target" = joulecast-zoo ]; then
        echo "build.sh: no joulecast-zoo target (libtorch not found at configure time): skipped" >&2
    else
        echo "build.sh: unknown target '$target'" >&2
        exit 2
    fi
done
if [ "${#targets[@]}" -gt 0 ]; then cmake --build build -j"$(nproc)" --target "${targets[@]}"; fi
