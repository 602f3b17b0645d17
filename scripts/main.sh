#!/usr/bin/env bash
# Quick start, first command: install, build, and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
echo "== joulecast sensors"
./build/joulecast sensors
echo "== joulecast run: a short real computation (about 3 s of CPU work in Python)"
./build/joulecast run --idle 2s --json build/main-run.json --trace build/main-run.csv -- \
    python3 -c 'import time; t=time.time(); n=0
while time.time()-t < 3: n += sum(i*i for i in range(100000))
print("computed", n)'
echo "result: build/main-run.json, trace: build/main-run.csv"
