#!/usr/bin/env bash
# Runs on the agent's node: `joulecast run` registers with a running joulecast-agent (its RUNS_DIR/agent.pid)
# and rewrites RUNS_DIR/<run_id>.prom every second; the agent merges the runs into /metrics. The fake NVML draws
# a known 150 W; the command marks a "warmup" and a "train" phase and two epochs with `joulecast mark`. Asserts:
# a running snapshot mid-run; at the end the served energy of the run and of each phase equals the run's JSON
# within 1%, epochs are a counter and a gauge; promtool accepts /metrics; `--no-export` leaves no trace; a
# stray file in the folder is dropped, not served; the ended run is gone after --run-grace; the job's own
# (attributed) energy is served mid-run and at the end, equal to the JSON's. The agent runs on a free 127.0.0.1
# port and is stopped by PID.
# usage: agent_runs_test.sh JOULECAST JOULECAST_AGENT LIBNVIDIA_ML_FAKE
set -euo pipefail
joulecast=$1
agent=$2
fake_nvml=$3
tmp=$(mktemp -d)
agent_pid=
run_pid=
outsider=
cleanup() {
    for pid in $run_pid $agent_pid $outsider; do kill "$pid" 2>/dev/null || true; done
    for pid in $run_pid $agent_pid $outsider; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/proc" "$tmp/sys"
export JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=150"
export JOULECAST_PROC_ROOT="$tmp/proc" JOULECAST_SYSFS_ROOT="$tmp/sys" JOULECAST_RUNS_DIR="$tmp/runs"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$agent" serve --listen "127.0.0.1:$port" --interval-ms 200 --run-grace 6s 2>"$tmp/agent.log" &
agent_pid=$!
url="http://127.0.0.1:$port/metrics"
ready=
for _ in $(seq 100); do
    [ -f "$tmp/runs/agent.pid" ] && python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "$url" 2>/dev/null && { ready=1; break; }
    sleep 0.1
done
[ -n "$ready" ] || { echo "FAIL: the agent did not answer within 10 s"; cat "$tmp/agent.log"; exit 1; }

# The served families, parsed: {metric: [(labels, value)]}.
cat >"$tmp/scrape.py" <<'PY'
import re, sys, urllib.request
def scrape(url):
    series = {}
    for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'([a-z_:]+)(?:\{(.*)\})? (\S+)$', line)
        assert m, line
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        series.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return series
PY

"$joulecast" run --no-store --quiet --json "$tmp/run.json" --name agent-run -- \
    bash -c "'$joulecast' mark begin warmup; sleep 1; '$joulecast' mark end warmup; '$joulecast' mark begin train;
             sleep 1; '$joulecast' mark epoch samples=100; sleep 1; '$joulecast' mark epoch samples=100;
             '$joulecast' mark end train samples=200" 2>"$tmp/run.log" &
run_pid=$!
# Mid-run: a running snapshot with over 1 s of energy (polled, as the run's start may be slow on a busy
# machine; the run lasts over 3 s).
PYTHONPATH="$tmp" python3 - "$url" <<'PY'
import sys, time
from scrape import scrape
deadline = time.monotonic() + 10
while True:
    s = scrape(sys.argv[1])
    info = s.get("joulecast_run_info", [])
    run = [v for labels, v in s.get("joulecast_run_energy_joules_total", []) if "phase" not in labels]
    if (info and sum(run) > 150) or time.monotonic() > deadline:
        break
    time.sleep(0.1)
assert len(info) == 1 and info[0][0]["status"] == "running" and info[0][0]["name"] == "agent-run", info
print(f"mid-run: {sum(run):.1f} J so far")
assert sum(run) > 150, run
PY
wait "$run_pid" && status=0 || status=$?
run_pid=
[ "$status" -eq 0 ] || { echo "FAIL: joulecast run exited with $status"; cat "$tmp/run.log"; exit 1; }
# The run's last word: its state file's time, from which the 6 s grace counts. (A grace of 6 s leaves the
# checks below time on a busy machine; with 3 s they sometimes found the run expired.)
last_word=$(python3 -c 'import glob, os, sys; print(max(os.stat(f).st_mtime for f in glob.glob(sys.argv[1] + "/*.prom")))' \
    "$tmp/runs")

printf 'not a metric line\njoulecast_run_info{run_id="x"\nnode_cpu_seconds_total 5\n' >"$tmp/runs/stray.prom"
# A run with --no-export, beside the checks of the ended run (both within its grace): it must leave no file.
"$joulecast" run --no-store --quiet --no-export -- sleep 1.2 2>>"$tmp/run.log" &
no_export_pid=$!
PYTHONPATH="$tmp" python3 - "$url" "$tmp/run.json" "$tmp/runs" <<'PY'
import json, os, sys
from scrape import scrape
s = scrape(sys.argv[1])
run = json.load(open(sys.argv[2]))
info = s["joulecast_run_info"]
assert [labels["run_id"] for labels, _ in info] == [run["id"]], info
assert info[0][0]["status"] == "completed" and info[0][0]["host"] == run["host"]["hostname"], info
assert "node_cpu_seconds_total" not in s, "a stray file's line was served"
assert s["joulecast_agent_run_lines_dropped"][0][1] == 3, s["joulecast_agent_run_lines_dropped"]
energy = s["joulecast_run_energy_joules_total"]
def served(phase):
    return sum(v for labels, v in energy if labels.get("phase") == phase and labels["run_id"] == run["id"])
def close(a, b):
    return abs(a - b) <= 0.01 * b
print(f"run: JSON {run['energy_j']['total']:.2f} J, served {served(None):.2f} J (150 W x {run['duration_s']:.2f} s)")
assert close(served(None), run["energy_j"]["total"]) and close(served(None), 150 * run["duration_s"])
for phase in run["phases"]:
    print(f"phase {phase['name']}: JSON {phase['energy_j']['total']:.2f} J, served {served(phase['name']):.2f} J")
    assert close(served(phase["name"]), phase["energy_j"]["total"]), phase
assert {p["name"] for p in run["phases"]} == {"warmup", "train"}
assert s["joulecast_run_epochs_total"][0][1] == 2 and s["joulecast_run_epoch"][0][1] == 2, s["joulecast_run_epoch"]
last = s["joulecast_run_last_epoch_energy_joules"][0][1]
assert close(last, run["epochs"][-1]["energy_j"]["total"] if isinstance(run["epochs"][-1]["energy_j"], dict)
             else run["epochs"][-1]["energy_j"]), last
assert s["joulecast_run_samples_total"] == [({"run_id": run["id"], "name": "agent-run", "phase": "train"}, 200.0)]
# Epochs are values, never labels.
assert not [k for name, series in s.items() for labels, _ in series for k in labels if "epoch" in k]
PY
# Checked while the ended run is surely served (its grace counts from its last word), the stray file present.
if command -v promtool >/dev/null; then
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
        "$url" | promtool check metrics
    echo "promtool check metrics: no problems"
fi
# OpenMetrics when asked for: its content type, counter families without _total, "# EOF" at the end.
python3 - "$url" <<'PY'
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={
    "Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"})
answer = urllib.request.urlopen(request, timeout=5)
body = answer.read().decode()
assert answer.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8", answer.headers
assert body.endswith("\n# EOF\n") and body.count("# EOF") == 1, body[-200:]
assert "# TYPE joulecast_run_energy_joules counter\n" in body and "# TYPE joulecast_energy_joules counter\n" in body, \
    body
assert "joulecast_run_energy_joules_total{" in body and "_total counter" not in body
plain = urllib.request.urlopen(sys.argv[1], timeout=5)
assert plain.headers["Content-Type"].startswith("text/plain; version=0.0.4") and "# EOF" not in plain.read().decode()
print("OpenMetrics: served when asked for, # EOF terminated")
PY
wait "$no_export_pid"
python3 - "$tmp/run.json" "$tmp/runs" <<'PY'
import json, os, sys
run = json.load(open(sys.argv[1]))
files = sorted(f for f in os.listdir(sys.argv[2]) if f.endswith(".prom"))
assert files == sorted([run["id"] + ".prom", "stray.prom"]), f"--no-export left a file: {files}"
PY
PYTHONPATH="$tmp" python3 - "$url" "$last_word" <<'PY'
import sys, time
from scrape import scrape
last_word = float(sys.argv[2])
while True:  # until the run is gone, at most 10 s after its last word
    s = scrape(sys.argv[1])
    gone_after = time.time() - last_word
    # the stray file, written just after the run ended, expires with it
    if ("joulecast_run_info" not in s and s["joulecast_agent_runs"][0][1] == 0) or gone_after > 10:
        break
    time.sleep(0.1)
assert "joulecast_run_info" not in s, s.get("joulecast_run_info")
assert s["joulecast_agent_runs"][0][1] == 0
print(f"the ended run is gone {gone_after:.1f} s after its last word (--run-grace 6s)")
assert gone_after >= 5.9, "the run expired before its grace"
PY
# The job's own share, live and at the end: the real /proc (job-cpu follows the command's tree) and a fake GPU
# that lists the job at 60% SM and an outside process at 20%, so 75% of the GPU's energy is the job's.
sleep 60 &
outsider=$!
run_pid=
JOULECAST_PROC_ROOT=/proc FAKE_NVML_SCRIPT="gpus=1;gpu0.power=200;gpu0.procs=@$tmp/job.pid:60,$outsider:20" \
    "$joulecast" run --no-store --quiet --json "$tmp/shared.json" --name shared-gpu -- \
    sh -c "echo \$\$ > '$tmp/job.pid'; sleep 4" 2>"$tmp/shared.log" &
run_pid=$!
PYTHONPATH="$tmp" python3 - "$url" <<'PY'
import sys, time
from scrape import scrape
def figures():
    s = scrape(sys.argv[1])
    runs = {labels["run_id"] for labels, _ in s.get("joulecast_run_info", []) if labels.get("name") == "shared-gpu"}
    mine = [(labels, v) for labels, v in s.get("joulecast_run_attributed_energy_joules_total", [])
            if labels["run_id"] in runs and labels["domain"] == "gpu"]
    gross = sum(v for labels, v in s.get("joulecast_run_energy_joules_total", [])
                if labels["run_id"] in runs and labels["domain"] == "gpu" and "phase" not in labels)
    return mine, gross
# Mid-run, between two snapshots a second apart once the job holds the GPU (its first share interval may end
# before its process started on a busy machine): the attributed energy grows by 75% of the gross.
deadline = time.monotonic() + 10
while True:
    mine, gross = figures()
    if (mine and mine[0][1] > 0) or time.monotonic() > deadline:
        break
    time.sleep(0.1)
assert mine and mine[0][0]["device"] == "gpu0", mine
time.sleep(1.1)
later, later_gross = figures()
grown, grown_gross = later[0][1] - mine[0][1], later_gross - gross
share = grown / grown_gross
print(f"mid-run: attributed grew {grown:.1f} J while gpu0 grew {grown_gross:.1f} J ({100 * share:.1f}%, expected 75%)")
assert abs(share - 0.75) <= 0.05, share
PY
wait "$run_pid" && status=0 || status=$?
run_pid=
kill "$outsider"; wait "$outsider" 2>/dev/null || true
outsider=
[ "$status" -eq 0 ] || { echo "FAIL: the shared-GPU run exited with $status"; cat "$tmp/shared.log"; exit 1; }
PYTHONPATH="$tmp" python3 - "$url" "$tmp/shared.json" <<'PY'
import json, sys
from scrape import scrape
s = scrape(sys.argv[1])
run = json.load(open(sys.argv[2]))
a = run["attributed"]
served = {(labels["domain"], labels.get("device")): v
          for labels, v in s["joulecast_run_attributed_energy_joules_total"] if labels["run_id"] == run["id"]}
info = {(labels["domain"], labels.get("device")): labels
        for labels, _ in s["joulecast_run_attribution_info"] if labels["run_id"] == run["id"]}
def close(x, y):
    return abs(x - y) <= 0.01 * max(abs(y), 1e-9)
gpu = a["gpus"][0]
print(f"end: gpu0 attributed JSON {gpu['attributed_j']:.2f} J, served {served[('gpu', 'gpu0')]:.2f} J; "
      f"cpu JSON {a['cpu_j']:.3f} J, served {served[('cpu', None)]:.3f} J")
assert close(served[("gpu", "gpu0")], gpu["attributed_j"]) and close(served[("cpu", None)], a["cpu_j"]), served
# 75% of the GPU's energy once the job's process is on it; its first half-second interval may count 0.
assert 0.55 <= gpu["attributed_j"] / gpu["gross_j"] <= 0.80, gpu
assert info[("gpu", "gpu0")]["measured"] == "true" and info[("gpu", "gpu0")]["share_method"] == gpu["method"], info
assert info[("cpu", None)]["share_method"] == a["method"], info
# The attributed series say how their gross energy was obtained, as the run's result does.
gross_methods = {(labels["domain"], labels.get("device")): labels.get("gross_method")
                 for labels, _ in s["joulecast_run_attributed_energy_joules_total"] if labels["run_id"] == run["id"]}
assert gross_methods[("gpu", "gpu0")] == run["energy_method"]["gpu"], gross_methods
assert gross_methods[("cpu", None)] == run["energy_method"]["cpu"], gross_methods
PY

kill -TERM "$agent_pid"
wait "$agent_pid" && status=0 || status=$?
agent_pid=
[ "$status" -eq 0 ] || { echo "FAIL: agent exited with $status"; exit 1; }
[ ! -e "$tmp/runs/agent.pid" ] || { echo "FAIL: agent.pid left behind"; exit 1; }
echo "PASS"
