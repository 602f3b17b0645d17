#!/usr/bin/env bash
# Installs every Debian package joulecast needs to build and test (Debian 12). Safe to run again: it only
# calls apt-get when something is missing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config          # compiler and build
    clang-format                              # the format check (scripts/check_format.sh, a ctest test)
    libgtest-dev libgmock-dev libbenchmark-dev # tests and benchmarks
    nlohmann-json3-dev                        # JSON (header-only)
    libsqlite3-dev                            # run store (linked statically: libsqlite3.a)
    protobuf-compiler libprotobuf-dev libonnx-dev # ONNX reader: protoc, static libprotobuf-lite.a, onnx.proto
    libtomlplusplus-dev                       # study grids (TOML, used header-only)
    python3 python3-torch                     # the Python client and its tests; torchrun for the DDP test
    python3-torchvision                       # examples/pytorch/train.py's torchvision models (PytorchExample test)
    libtorch-dev zlib1g-dev dataset-fashion-mnist # model zoo (joulecast-zoo): libtorch, gzip, Fashion-MNIST
    libcpp-httplib-dev                        # joulecast-agent's HTTP server (`joulecast serve`)
    prometheus prometheus-pushgateway         # the agent's tests against a real Prometheus (and Pushgateway)
    apache2-utils openssl                     # AgentWebConfig: bcrypt users (htpasswd), a TLS certificate
    systemd                                   # Deploy: systemd-analyze verify of deploy/joulecast-agent.service
    iproute2                                  # AgentPrivileges: ss, to see that the agent listens on loopback
    slurm-wlm munge                           # tests/slurm/slurm_test.sh: a one-node Slurm cluster
)

# The HTML report: its chart library comes from npm (web/, pinned in web/package-lock.json) and is compiled
# into the binary; its browser test drives Debian's chromium with playwright-core. Debian's nodejs and npm
# are added only where no npm is installed (a NodeSource nodejs ships its own npm and conflicts with Debian's).
packages+=(chromium)
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages of web/: again whenever package-lock.json changed since the last install.
web="$(cd "$(dirname "$0")/.." && pwd)/web"
if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci --prefix web"
    npm ci --prefix "$web" --no-audit --no-fund
fi
