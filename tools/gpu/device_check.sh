#!/usr/bin/env bash
# The one script run on a lent GPU machine (see README "GPU checks"). Expects a carried folder `carry/` with a
# joulecast binary built here, the python client and examples; writes everything it measured under $OUT.
# Time: ~1 min of checks + the calibration study (at most 9 min, cut at 560 s) + the DDP job (cut at 120 s):
# under 12 min.
set -uo pipefail
OUT=${OUT:-/tmp/joulecast-gpu}
mkdir -p "$OUT"
J=./carry/joulecast
export JOULECAST_DB="$OUT/runs.db"
export PYTHONPATH="$PWD/carry/python"
{ nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv; ldd --version | head -1
  python3 -c "import torch, torchvision; print(\"torch\", torch.__version__, \"torchvision\", torchvision.__version__)"; } \
    > "$OUT/machine.txt" 2>&1  # without torchvision the 18 tv_* runs fail at once (the other 42 still run)
$J sensors > "$OUT/sensors.txt" 2>&1

# 1. joulecast's phase energy against the NVML counter read by pynvml around the same load.
$J run --name counter-check --json "$OUT/counter.json" --trace "$OUT/counter.csv" -- \
    python3 carry/tools/gpu/check_counter.py --seconds 10 > "$OUT/counter.out" 2> "$OUT/counter.err"

# 2. The reference load shipped with the project, whole process.
$J run --name load-matmul --json "$OUT/load.json" -- python3 carry/load.py --seconds 8 --kind matmul \
    > "$OUT/load.out" 2> "$OUT/load.err"

# 3. The calibration study (tools/gpu/calibration.toml): 20 architectures x batch 32/128/512, each run a warm-up
#    then three measured windows, each run stopped at 8 s by [study] time_limit: at most 60 x 8.5 s plus
#    joulecast's own part, under 9 min (the dry run states the bound); the whole study is also cut at 560 s.
if [ -f carry/tools/gpu/calibration.toml ]; then
    (cd carry && ./joulecast study --dry-run tools/gpu/calibration.toml) > "$OUT/study-plan.txt" 2>&1
    (cd carry && timeout ${STUDY_TIMEOUT:-560} ./joulecast study tools/gpu/calibration.toml --json "$OUT/study.json") \
        > "$OUT/study.out" 2> "$OUT/study.err"
    $J analyze --json > "$OUT/analyze.json" 2> "$OUT/analyze.err"
    $J estimate --validate > "$OUT/estimate-validate.txt" 2>&1
    $J report --html "$OUT/report.html" > "$OUT/report.out" 2>&1
fi

# 4. A real torchrun job under joulecast run: DDP with phases on every GPU of the machine (1 on a single GPU).
GPUS=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | wc -l)
[ "$GPUS" -ge 1 ] || GPUS=1
(cd carry && timeout 120 ./joulecast run --name ddp-torchrun --json "$OUT/ddp.json" -- \
    torchrun --standalone --nproc_per_node="$GPUS" tools/gpu/ddp_phases.py --steps 300) \
    > "$OUT/ddp.out" 2> "$OUT/ddp.err"

$J runs export --format json --output "$OUT/runs.json" 2> "$OUT/export.err"
$J runs list > "$OUT/runs.txt" 2>&1
ls -la "$OUT"
