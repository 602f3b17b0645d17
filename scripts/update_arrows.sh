#!/usr/bin/env bash
# Rewrites the module-arrows table of docs/architecture.md from the CMake declarations (after a configure in
# ./build), for when a module's links changed on purpose. ModuleBoundaries.IncludesMatchDeclaredLinks checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
table="$(ctest --test-dir build -R ModuleBoundaries --output-on-failure 2>&1 | grep '^|' || true)"
if [ -z "$table" ]; then echo "update_arrows: the table is already up to date (or the check fails otherwise)"; exit 0; fi
TABLE="$table" python3 - <<'PY'
import os
path = 'docs/architecture.md'
text = open(path).read()
begin = text.index('<!-- module-arrows:begin -->\n') + len('<!-- module-arrows:begin -->\n')
end = text.index('<!-- module-arrows:end -->')
open(path, 'w').write(text[:begin] + os.environ['TABLE'] + '\n' + text[end:])
PY
echo "update_arrows: docs/architecture.md rewritten"
