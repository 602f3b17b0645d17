#!/usr/bin/env bash
# Installs every Debian package joulecast needs to build and test (Debian 12). Safe to run again: it only
# calls apt-get when something is missing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config          # compiler and build
    libgtest-dev libgmock-dev libbenchmark-dev # tests and benchmarks
    nlohmann-json3-dev                        # JSON (header-only)
    libsqlite3-dev                            # run store (linked statically: libsqlite3.a)
    python3                                   # the Python client and its tests
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
