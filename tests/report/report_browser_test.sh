#!/usr/bin/env bash
# Browser test of `joulecast report` (see CMakeLists.txt beside this file).
# usage: report_browser_test.sh JOULECAST FAKE_NVML_LIBRARY WEB_DIR OUT_DIR
# Exit: 0 passed, 77 skipped (no chromium), anything else failed.
set -euo pipefail

joulecast=$1
fake_nvml=$2
web=$3
out=$4
here="$(cd "$(dirname "$0")" && pwd)"
chromium=/usr/bin/chromium

if [ ! -x "$chromium" ]; then
    echo "SKIP: $chromium is not installed (scripts/setup.sh installs Debian's chromium)"
    exit 77
fi
if ! command -v node >/dev/null 2>&1; then
    echo "FAIL: node is not installed: run scripts/setup.sh"
    exit 1
fi
if [ ! -d "$web/node_modules/playwright-core" ]; then
    echo "FAIL: $web/node_modules/playwright-core is missing: run scripts/setup.sh (npm ci --prefix web)"
    exit 1
fi

rm -rf "$out"
mkdir -p "$out"
# Isolated from this machine's sensors but for the CPU model (real /proc), so that the report shows a measured
# domain (the fake GPU) beside a modelled one.
export JOULECAST_DB="$out/runs.db"
export JOULECAST_NVML_LIBRARY="$fake_nvml"
export JOULECAST_SYSFS_ROOT="$out/no-sysfs"
export JOULECAST_COUNTRY=

# A training-like workload: idle 0.2 s, 4 epochs (the first slower: warm-up), then inference; phases, epochs,
# meta and metrics through `joulecast mark`. Arguments: model batch samples_per_epoch accuracy params macs.
cat >"$out/workload.sh" <<'SH'
#!/bin/sh
set -e
mark="$JOULECAST_BIN mark"
model=$1 batch=$2 samples=$3 accuracy=$4 params=$5 macs=$6
echo $$ >"$JOB_PID_FILE"  # the fake GPU lists this pid as the job's process
$mark meta model="$model" batch_size="$batch" params="$params" macs="$macs" dataset=synthetic
sleep 0.2
$mark begin train lr=0.01
n=1
for pause in 0.24 0.15 0.15 0.15; do
    sleep "$pause"
    $mark epoch n=$n samples="$samples"
    n=$((n + 1))
done
$mark end train samples=$((4 * samples))
$mark begin infer
sleep 0.2
$mark end infer samples=$((2 * samples))
$mark metric accuracy="$accuracy" loss=0.4
SH
chmod +x "$out/workload.sh"
export JOULECAST_BIN="$joulecast" JOB_PID_FILE="$out/job.pid"

# model batch samples/epoch accuracy params macs  train-power(W)
runs="cnn 32 256 0.861 1200000 45000000 150
cnn 128 1024 0.874 1200000 45000000 260
cnn 512 4096 0.858 1200000 45000000 420
mlp 32 256 0.812 300000 300000 110
mlp 128 1024 0.826 300000 300000 180
mlp 512 4096 0.809 300000 300000 300"
i=0
while read -r model batch samples accuracy params macs power; do
    i=$((i + 1))
    # Power follows the workload roughly: idle, training, lighter inference, idle again.
    # The job holds 60% of the GPU's SM time and pid 1 (not the job's) 20%: the job's share is 75%.
    script="gpus=1;gpu0.power=75@0,${power}@0.25,$((power * 6 / 10))@0.95,75@1.2;gpu0.utilisation=0@0,90@0.25,50@0.95"
    script="$script;gpu0.procs=@$out/job.pid:60,1:20"
    name="$model-b$batch"
    # One name with markup in it: the page must show it as text.
    if [ "$i" -eq 5 ]; then name='mlp-b128 <b>&"bold"</b>'; fi
    if ! FAKE_NVML_SCRIPT="$script" "$joulecast" run --quiet --name "$name" --tag study=demo -- \
        "$out/workload.sh" "$model" "$batch" "$samples" "$accuracy" "$params" "$macs" >"$out/run-$i.log" 2>&1; then
        echo "FAIL: joulecast run $i failed:"
        cat "$out/run-$i.log"
        exit 1
    fi
done <<<"$runs"
"$joulecast" runs list

# The report over the study, and one over an empty store (every section "no data").
"$joulecast" report --study demo --html "$out/report.html" | tee "$out/report.log"
grep -q "wrote $out/report.html" "$out/report.log" || { echo "FAIL: report did not say where it wrote"; exit 1; }
"$joulecast" report --db "$out/empty.db" --html "$out/empty.html" | tee "$out/empty.log"
grep -q "no data" "$out/empty.log" || { echo "FAIL: the empty report did not say 'no data'"; exit 1; }
[ ! -e "$out/empty.db" ] || { echo "FAIL: the report created a store"; exit 1; }
set +e
"$joulecast" report --bogus >/dev/null 2>&1
status=$?
set -e
[ "$status" -eq 2 ] || { echo "FAIL: a bad option exited $status, not 2"; exit 1; }
status=0
"$joulecast" report --run 0000000000 --html "$out/none.html" >/dev/null 2>&1 || status=$?
[ "$status" -eq 1 ] || { echo "FAIL: an unknown --run exited $status, not 1"; exit 1; }
# The oldest run (the default would be the newest) by an 8-digit id prefix.
first=$("$joulecast" runs list --json |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8"))[5].id.slice(0, 8))')
"$joulecast" report --run "$first" --html "$out/chosen.html" >/dev/null
grep -q "\"chosen_by\":\"--run\"" "$out/chosen.html" || { echo "FAIL: --run did not choose the timeline's run"; exit 1; }
# The run filters are those of `runs` and `analyze`: --since/--until too, written into the page as given.
"$joulecast" report --study=demo --since 1d --html "$out/since.html" >/dev/null
grep -q '"filter":"--study demo --since 1d"' "$out/since.html" || { echo "FAIL: the page lacks its filters"; exit 1; }
"$joulecast" report --until 2000-01-01 --html "$out/until.html" | tee "$out/until.log"
grep -q "Power over time: no runs" "$out/until.log" || { echo "FAIL: --until 2000-01-01 still matched runs"; exit 1; }

node "$here/check_report.js" "$web" "$chromium" "$out/report.html" "$out/report.png" full
node "$here/check_report.js" "$web" "$chromium" "$out/empty.html" "$out/empty.png" empty
# A single run: some charts draw, the others say why not.
"$joulecast" report --limit 1 --html "$out/single.html" >/dev/null
node "$here/check_report.js" "$web" "$chromium" "$out/single.html" "$out/single.png" any
echo "PASS: screenshots in $out/report.png, $out/empty.png and $out/single.png"
