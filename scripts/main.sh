#!/usr/bin/env bash
# Quick start, first command: install, build, and run the main job: the default study (four architectures x
# three batch sizes on Fashion-MNIST subsets; 6 min 37 s measured on a 2-core VM), its
# summary table and its report. It builds only the two programs it runs (joulecast and joulecast-zoo), not
# the test suite: scripts/test.sh builds the rest into the same ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh joulecast joulecast-zoo
echo "== joulecast sensors"
./build/joulecast sensors
echo "== joulecast study (the default study; each run is stored in build/main.db)"
# A fresh store each time, so that the report shows this study alone.
rm -f build/main.db build/main.db-wal build/main.db-shm
./build/joulecast study --db build/main.db --json build/study.json --report build/joulecast-report.html
echo "summary: build/study.json, runs: ./build/joulecast runs list --db build/main.db"
