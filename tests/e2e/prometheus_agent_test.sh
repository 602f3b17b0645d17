#!/usr/bin/env bash
# joulecast-agent scraped by a real Prometheus (Debian's 2.42): the fake NVML draws a known 200 W, Prometheus
# scrapes the agent every second, and rate(joulecast_energy_joules_total{domain="gpu"}[5s]) through its HTTP
# API must be 200 W within 5%. Then a run's phases through Prometheus, the Grafana dashboard
# (deploy/grafana-dashboard.json, by check_grafana_dashboard.py), a second agent (fake RAPL at 600 W with
# counter wraps) added up with the first over 30 s (each node's raw-sample rate within 2%, increase() within 8%),
# and promtool check metrics. Both daemons run on
# free 127.0.0.1 ports and are stopped by PID on exit.
# usage: prometheus_agent_test.sh JOULECAST_AGENT LIBNVIDIA_ML_FAKE
set -euo pipefail
agent=$1
fake_nvml=$2
if ! command -v prometheus >/dev/null; then
    echo "SKIP: prometheus is not installed (scripts/setup.sh installs it)"
    exit 77
fi

tmp=$(mktemp -d)
agent_pid=
agent2_pid=
writer_pid=
prometheus_pid=
dash_pid=
outsider=
cleanup() {
    for pid in $dash_pid $outsider $agent_pid $agent2_pid $writer_pid $prometheus_pid; do kill "$pid" 2>/dev/null || true; done
    for pid in $dash_pid $outsider $agent_pid $agent2_pid $writer_pid $prometheus_pid; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Waits until URL answers (up to 10 s).
wait_for() {
    for _ in $(seq 100); do
        if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null
        then return 0; fi
        sleep 0.1
    done
    echo "FAIL: $1 did not answer within 10 s"
    return 1
}
query() {
    python3 -c 'import sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?query=" + urllib.parse.quote(sys.argv[2])
print(urllib.request.urlopen(url, timeout=5).read().decode())' "$1" "$2"
}

mkdir -p "$tmp/proc" "$tmp/sys" "$tmp/data"
agent_port=$(free_port)
JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=200" \
    JOULECAST_PROC_ROOT="$tmp/proc" JOULECAST_SYSFS_ROOT="$tmp/sys" \
    "$agent" serve --listen "127.0.0.1:$agent_port" --interval-ms 200 --runs-dir "$tmp/runs" 2>"$tmp/agent.log" &
agent_pid=$!
wait_for "http://127.0.0.1:$agent_port/-/healthy" || { cat "$tmp/agent.log"; exit 1; }

# The second node: a fake RAPL package at 600 W whose energy_uj wraps every 5000 J (every 8.3 s: a wrap is
# undone only when read more often than that, which a starved writer on a busy machine may not be for 1.7 s),
# rewritten in place every 10 ms by a writer process; no GPU.
zone="$tmp/sys2/class/powercap/intel-rapl:0"
mkdir -p "$zone" "$tmp/proc2"
echo package-0 >"$zone/name"
echo 5000000000 >"$zone/max_energy_range_uj"
printf '%012d\n' 0 >"$zone/energy_uj"
python3 - "$zone/energy_uj" <<'PY' &
import os, sys, time
fd, start = os.open(sys.argv[1], os.O_WRONLY), time.monotonic()
while True:
    os.pwrite(fd, b"%012d\n" % (int(600e6 * (time.monotonic() - start)) % 5_000_000_000), 0)
    time.sleep(0.01)
PY
writer_pid=$!
agent2_port=$(free_port)
JOULECAST_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 JOULECAST_PROC_ROOT="$tmp/proc2" \
    JOULECAST_SYSFS_ROOT="$tmp/sys2" \
    "$agent" serve --listen "127.0.0.1:$agent2_port" --interval-ms 200 --runs-dir "$tmp/runs2" 2>"$tmp/agent2.log" &
agent2_pid=$!
wait_for "http://127.0.0.1:$agent2_port/-/healthy" || { cat "$tmp/agent2.log"; exit 1; }

prometheus_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: joulecast
    static_configs:
      - targets: ["127.0.0.1:$agent_port", "127.0.0.1:$agent2_port"]
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn 2>"$tmp/prometheus.log" &
prometheus_pid=$!
api="http://127.0.0.1:$prometheus_port"
wait_for "$api/-/ready" || { cat "$tmp/prometheus.log"; exit 1; }
ready_s=$SECONDS
# Prometheus's first scrape comes up to one interval after it is ready: wait until the 5 s window of the rate
# holds six scrapes (at most 20 s).
for _ in $(seq 40); do
    samples=$(query "$api" 'count_over_time(joulecast_energy_joules_total{domain="gpu"}[5500ms])' |
        python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    [ "$samples" -ge 6 ] && break
    sleep 0.5
done
echo "scrapes in the window: $samples"

answer=$(query "$api" 'rate(joulecast_energy_joules_total{domain="gpu"}[5s])')
echo "Prometheus: $answer"
python3 - "$answer" <<'PY'
import json, sys
answer = json.loads(sys.argv[1])
result = answer["data"]["result"]
assert answer["status"] == "success" and len(result) == 1, f"want one gpu series, got {result}"
labels = result[0]["metric"]
assert labels.get("device") == "gpu0" and labels.get("method") == "counter", labels
watts = float(result[0]["value"][1])
print(f"rate of gpu0's energy counter: {watts:.2f} W (fake NVML draws 200 W)")
assert abs(watts - 200) <= 0.05 * 200, f"{watts} W is not 200 W within 5%"
PY
up=$(query "$api" "joulecast_sensor_up{sensor=\"nvml\", instance=\"127.0.0.1:$agent_port\"}")
python3 -c 'import json, sys; r = json.loads(sys.argv[1])["data"]["result"]; assert r and r[0]["value"][1] == "1", r' "$up"
# A run with phases on the agent's node shows up through Prometheus with its phase labels.
joulecast="$(dirname "$agent")/joulecast"
JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=200" \
    JOULECAST_PROC_ROOT="$tmp/proc" JOULECAST_SYSFS_ROOT="$tmp/sys" JOULECAST_RUNS_DIR="$tmp/runs" \
    "$joulecast" run --no-store --quiet --json "$tmp/run.json" --name prom-run -- \
    bash -c "'$joulecast' mark begin train; sleep 1; '$joulecast' mark end train samples=50; '$joulecast' mark begin eval;
             sleep 0.5; '$joulecast' mark end eval" 2>"$tmp/run.log" ||
    { echo "FAIL: joulecast run"; cat "$tmp/run.log"; exit 1; }
sleep 2.5  # two scrapes after the run's last state file
run_answer=$(query "$api" 'joulecast_run_energy_joules_total{name="prom-run"}')
python3 - "$run_answer" "$tmp/run.json" "$agent_port" <<'PY'
import json, sys
result = json.loads(sys.argv[1])["data"]["result"]
run = json.load(open(sys.argv[2]))
phases = {p["name"]: p["energy_j"]["total"] for p in run["phases"]}
served = {}
for r in result:
    labels = r["metric"]
    assert labels["run_id"] == run["id"] and labels["job"] == "joulecast", labels
    assert labels["instance"] == "127.0.0.1:" + sys.argv[3], labels
    served[labels.get("phase", "")] = served.get(labels.get("phase", ""), 0) + float(r["value"][1])
print("through Prometheus:", {k or "(run)": round(v, 2) for k, v in served.items()}, "JSON phases:",
      {k: round(v, 2) for k, v in phases.items()})
assert set(served) == {"", "train", "eval"}, served
for name, joules in phases.items():
    assert abs(served[name] - joules) <= 0.01 * joules, (name, served[name], joules)
assert abs(served[""] - run["energy_j"]["total"]) <= 0.01 * run["energy_j"]["total"]
PY
# The Grafana dashboard (deploy/grafana-dashboard.json) against this agent and this Prometheus: a run still
# going, whose train phase ended with 100 samples, gives the energy per sample panel something to show; its
# marks come from rank 0 (RANK=0), so that the per-rank series (label rank) are served as well. It shares its
# GPU with an outside process (the job at 60% SM, the outsider at 20%: the job's share is 75%) and is followed
# through the real /proc, for the panel of the job's own share.
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
sleep 60 &
outsider=$!
JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=200;gpu0.procs=@$tmp/dash.pid:60,$outsider:20" \
    JOULECAST_PROC_ROOT=/proc JOULECAST_SYSFS_ROOT="$tmp/sys" JOULECAST_RUNS_DIR="$tmp/runs" \
    "$joulecast" run --no-store --quiet --json "$tmp/dash.json" --name dash-run -- \
    bash -c "echo \$\$ > '$tmp/dash.pid'; export RANK=0 LOCAL_RANK=0 WORLD_SIZE=1; '$joulecast' mark begin train;
             sleep 1; '$joulecast' mark end train samples=100; sleep 5" \
    2>"$tmp/dash.log" &
dash_pid=$!
for _ in $(seq 40); do
    seen=$(query "$api" 'joulecast_run_samples_total{name="dash-run"}' |
        python3 -c 'import json, sys; print(len(json.load(sys.stdin)["data"]["result"]))')
    [ "$seen" -ge 1 ] && break
    sleep 0.25
done
python3 "$source_dir/tests/e2e/check_grafana_dashboard.py" "$source_dir/deploy/grafana-dashboard.json" "$api" \
    "http://127.0.0.1:$agent_port" "$tmp/run.json" dash-run 200 "$tmp/per_sample" ||
    { echo "FAIL: the Grafana dashboard"; exit 1; }
wait "$dash_pid" || { echo "FAIL: the dashboard's run"; cat "$tmp/dash.log"; exit 1; }
python3 - "$tmp/dash.json" "$(cat "$tmp/per_sample")" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
train = [p for p in run["phases"] if p["name"] == "train"]
want = train[0]["energy_j"]["total"] / 100
shown = float(sys.argv[2])
print(f"energy per sample: dashboard {shown:.4f} J/sample, run JSON {want:.4f} J/sample (train energy / 100)")
assert abs(shown - want) <= 0.01 * want, (shown, want)
PY
# The fleet: Prometheus adds the two nodes up. Once it has scraped both for over 30 s:
# - each node's counter, from its raw samples in the last 30 s (first and last, at Prometheus's own scrape
#   timestamps, the RAPL counter's wraps undone by the agent), rises at its known power within 2%, and so does
#   their sum, 200 W + 600 W;
# - sum(increase(joulecast_energy_joules_total[30s])) is that within 8%: increase() extrapolates from the
#   samples to the window's edges, and on a loaded machine a late or missed scrape moves that by a few per cent
#   (Prometheus's arithmetic, not the agent's).
while [ $((SECONDS - ready_s)) -lt 34 ]; do sleep 0.5; done
fleet=$(query "$api" 'sum(increase(joulecast_energy_joules_total[30s]))')
raw=$(query "$api" 'joulecast_energy_joules_total[30s]')
python3 - "$fleet" "$raw" <<'PY'
import json, sys
total = float(json.loads(sys.argv[1])["data"]["result"][0]["value"][1])
power = {}
for r in json.loads(sys.argv[2])["data"]["result"]:
    (t0, v0), (t1, v1) = r["values"][0], r["values"][-1]
    assert t1 - t0 >= 20, ("too few samples", r["metric"], len(r["values"]))
    power[(r["metric"]["instance"], r["metric"]["device"])] = (float(v1) - float(v0)) / (t1 - t0)
want = {"gpu0": 200.0, "package-0": 600.0}
print("per node and device, from raw samples:", {k: round(v, 1) for k, v in power.items()},
      f"W; sum(increase(joulecast_energy_joules_total[30s])) over two nodes: {total:.1f} J "
      f"(200 W NVML + 600 W RAPL wrapping every 5000 J: {800 * 30} J)")
assert len(power) == 2, power
for (instance, device), watts in power.items():
    assert abs(watts - want[device]) <= 0.02 * want[device], (instance, device, watts)
assert abs(sum(power.values()) - 800) <= 0.02 * 800, power
assert abs(total - 800 * 30) <= 0.08 * 800 * 30, (total, 800 * 30)
PY
if command -v promtool >/dev/null; then
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
        "http://127.0.0.1:$agent_port/metrics" | promtool check metrics
fi
python3 - "http://127.0.0.1:$agent_port" <<'PY'
import sys, urllib.error, urllib.request
base = sys.argv[1]
page = urllib.request.urlopen(base + "/").read().decode()
assert 'href="metrics"' in page and 'href="-/healthy"' in page, page
assert urllib.request.urlopen(base + "/-/healthy").status == 200
try:
    urllib.request.urlopen(base + "/nothing")
    raise AssertionError("/nothing answered")
except urllib.error.HTTPError as error:
    assert error.code == 404, error.code
PY
kill -TERM "$agent_pid"
wait "$agent_pid" && status=0 || status=$?
agent_pid=
[ "$status" -eq 0 ] || { echo "FAIL: agent exited with $status on SIGTERM"; cat "$tmp/agent.log"; exit 1; }
echo "PASS"
