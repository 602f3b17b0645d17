#!/usr/bin/env bash
# `joulecast run --push` against Debian's real Pushgateway: the fake NVML draws a known 150 W, the command marks
# a "warmup" and a "train" phase with `joulecast mark`, and joulecast pushes every second. While the run goes,
# the Pushgateway must hold a snapshot with status="running"; at the end, the energy it holds (whole run and
# each phase, summed over domains) must equal the run's JSON within 1%, under the grouping key
# job="joulecast", instance=<host>, run_id=<id>. The Pushgateway runs on a free 127.0.0.1 port and is stopped
# by PID on exit.
# usage: pushgateway_push_test.sh JOULECAST LIBNVIDIA_ML_FAKE
set -euo pipefail
joulecast=$1
fake_nvml=$2
gateway=/usr/bin/prometheus-pushgateway
if [ ! -x "$gateway" ]; then
    echo "SKIP: $gateway is not installed (Debian package prometheus-pushgateway)"
    exit 77
fi
if [ ! -x "$(dirname "$joulecast")/joulecast-agent" ]; then
    echo "SKIP: joulecast-agent is not built (libcpp-httplib-dev missing)"
    exit 77
fi

tmp=$(mktemp -d)
gateway_pid=
run_pid=
cleanup() {
    for pid in $run_pid $gateway_pid; do kill "$pid" 2>/dev/null || true; done
    for pid in $run_pid $gateway_pid; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# --persistence.file= keeps it in memory: Debian's default writes /var/lib/prometheus/pushgateway.data.
"$gateway" --web.listen-address="127.0.0.1:$port" --persistence.file= --log.level=warn 2>"$tmp/gateway.log" &
gateway_pid=$!
url="http://127.0.0.1:$port"
ready=
for _ in $(seq 100); do
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$url/-/ready" \
        2>/dev/null && { ready=1; break; }
    sleep 0.1
done
[ -n "$ready" ] || { echo "FAIL: the Pushgateway did not answer within 10 s"; cat "$tmp/gateway.log"; exit 1; }

mkdir -p "$tmp/proc" "$tmp/sys"
JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=150" \
    JOULECAST_PROC_ROOT="$tmp/proc" JOULECAST_SYSFS_ROOT="$tmp/sys" \
    "$joulecast" run --no-store --quiet --json "$tmp/run.json" --name 'push "test"' \
    --push "$url" --push-interval 1s -- \
    bash -c "'$joulecast' mark begin warmup; sleep 1; '$joulecast' mark end warmup;
             '$joulecast' mark begin train; sleep 3; '$joulecast' mark end train samples=600; sleep 0.5" \
    2>"$tmp/run.log" &
run_pid=$!

# Mid-run (the train phase is open): the Pushgateway holds a running snapshot with energy in it.
sleep 3
python3 - "$url" <<'PY'
import json, sys, urllib.request
data = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/metrics", timeout=5))["data"]
assert len(data) == 1, f"want one group, got {len(data)}"
info = data[0]["joulecast_run_info"]["metrics"][0]["labels"]
assert info["status"] == "running", info
energy = [m for m in data[0]["joulecast_run_energy_joules_total"]["metrics"] if "phase" not in m["labels"]]
joules = sum(float(m["value"]) for m in energy)
print(f"mid-run push: {joules:.1f} J so far, status {info['status']}")
assert joules > 150, f"{joules} J after more than 1 s at 150 W"
PY

wait "$run_pid" && status=0 || status=$?
run_pid=
[ "$status" -eq 0 ] || { echo "FAIL: joulecast run exited with $status"; cat "$tmp/run.log"; exit 1; }

python3 - "$url" "$tmp/run.json" <<'PY'
import json, socket, sys, urllib.request
base, run_path = sys.argv[1], sys.argv[2]
run = json.load(open(run_path))
assert not [w for w in run["warnings"] if "push" in w], run["warnings"]
data = json.load(urllib.request.urlopen(base + "/api/v1/metrics", timeout=5))["data"]
assert len(data) == 1, f"want one group, got {len(data)}"
group = data[0]
key = group["labels"]
assert key == {"job": "joulecast", "instance": run["host"]["hostname"], "run_id": run["id"]}, key
info = group["joulecast_run_info"]["metrics"][0]["labels"]
assert info["status"] == "completed" and info["name"] == 'push "test"', info
series = group["joulecast_run_energy_joules_total"]["metrics"]
def pushed(phase):
    return sum(float(m["value"]) for m in series if m["labels"].get("phase") == phase and "rank" not in m["labels"])
def close(a, b):
    return abs(a - b) <= 0.01 * b
total = pushed(None)
print(f"run: JSON {run['energy_j']['total']:.2f} J, pushed {total:.2f} J (fake NVML: 150 W for {run['duration_s']:.2f} s)")
assert close(total, run["energy_j"]["total"]), (total, run["energy_j"])
assert close(total, 150 * run["duration_s"]), (total, run["duration_s"])
phases = {p["name"]: p["energy_j"]["total"] for p in run["phases"]}
assert set(phases) == {"warmup", "train"}, phases
for name, joules in phases.items():
    print(f"phase {name}: JSON {joules:.2f} J, pushed {pushed(name):.2f} J")
    assert close(pushed(name), joules), (name, pushed(name), joules)
samples = {m["labels"]["phase"]: float(m["value"]) for m in group["joulecast_run_samples_total"]["metrics"]}
assert samples == {"train": 600.0}, samples
assert float(group["joulecast_run_epochs_total"]["metrics"][0]["value"]) == 0
PY

# A Pushgateway that is not there: the run is kept, and the failure is a warning in its result.
JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=150" \
    JOULECAST_PROC_ROOT="$tmp/proc" JOULECAST_SYSFS_ROOT="$tmp/sys" \
    "$joulecast" run --no-store --quiet --json "$tmp/lost.json" --push "http://127.0.0.1:1" -- sleep 0.3 \
    2>"$tmp/lost.log" || { echo "FAIL: a failed push failed the run"; cat "$tmp/lost.log"; exit 1; }
python3 - "$tmp/lost.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
assert run["status"] == "completed" and run["energy_j"]["total"] > 0, run["energy_j"]
assert any("push to http://127.0.0.1:1 failed" in w for w in run["warnings"]), run["warnings"]
print("unreachable Pushgateway: run kept, warning:", [w for w in run["warnings"] if "push" in w][0])
PY
kill -TERM "$gateway_pid"
wait "$gateway_pid" 2>/dev/null || true
gateway_pid=
echo "PASS"
