#!/usr/bin/env bash
# The one script run on a lent GPU machine (see README "GPU checks"). Expects a carried folder `carry/` with a
# joulecast binary built here, the python client and examples; writes everything it measured under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/joulecast-gpu}
mkdir -p "$OUT"
J=./carry/joulecast
export JOULECAST_DB="$OUT/runs.db"
export PYTHONPATH="$PWD/carry/python"
{ nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv; ldd --version | head -1; } > "$OUT/machine.txt" 2>&1
$J sensors > "$OUT/sensors.txt" 2>&1

# 1. joulecast's phase energy against the NVML counter read by pynvml around the same load.
$J run --name counter-check --json "$OUT/counter.json" --trace "$OUT/counter.csv" -- \
    python3 carry/tools/gpu/check_counter.py --seconds 10 > "$OUT/counter.out" 2> "$OUT/counter.err"

# 2. The reference load shipped with the project, whole process.
$J run --name load-matmul --json "$OUT/load.json" -- python3 carry/load.py --seconds 8 --kind matmul \
    > "$OUT/load.out" 2> "$OUT/load.err"

# 3. An external-mode study: architectures x batch sizes x 4 epochs on synthetic 32x32 data (calibration data).
if [ -f carry/tools/gpu/calibration.toml ]; then
    (cd carry && timeout ${STUDY_TIMEOUT:-300} ./joulecast study tools/gpu/calibration.toml --json "$OUT/study.json") \
        > "$OUT/study.out" 2> "$OUT/study.err"
    $J analyze --json > "$OUT/analyze.json" 2> "$OUT/analyze.err"
    $J report --html "$OUT/report.html" > "$OUT/report.out" 2>&1
fi
$J runs export --format json --output "$OUT/runs.json" 2> "$OUT/export.err"
$J runs list > "$OUT/runs.txt" 2>&1
ls -la "$OUT"
