#!/usr/bin/env bash
# A real Slurm job on this machine: `srun -n2 joulecast run -- python3 marks.py`, one task per "GPU" as in
# the common one-task-per-GPU pattern, so two `joulecast run`s of one Slurm job start at once on one node.
#
# The script starts its own one-node cluster from a temporary directory: munged (own key and socket),
# slurmctld and slurmd on 127.0.0.1 with proctrack/linuxproc (tests/slurm/slurm.conf.in), all in the
# foreground as its children, and stops them by PID when it ends, also on failure. The fake NVML draws a known
# 250 W on one GPU and no /proc or sysfs is visible to joulecast, so the node's energy is 250 W x duration.
#
# Asserts: exactly one measurement of the node (one result file, one run in the store), with both Slurm tasks
# in its ranks[] (launcher slurm, ranks 0 and 1, the job id from SLURM_JOB_ID); the job's phase has both
# ranks' samples; the node's energy is 250 W x the run's duration within 3% (counted once, not twice); the
# task that joined said so and both tasks exited 0.
#
# usage: slurm_test.sh JOULECAST LIBNVIDIA_ML_FAKE SOURCE_DIR
# Exit 77 (skipped) only when Slurm or munge is not installed (scripts/setup.sh installs slurm-wlm, munge).
set -euo pipefail
joulecast=$(realpath "$1")
fake_nvml=$(realpath "$2")
source_dir=$(realpath "$3")

missing=()
for tool in munged munge unmunge slurmctld slurmd srun sinfo; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "SKIP: ${missing[*]} not installed (Debian packages slurm-wlm and munge; scripts/setup.sh)"
    exit 77
fi
export PATH="$PATH:/usr/sbin:/sbin"
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: this test runs slurmctld and slurmd as root (SlurmUser=root); run ctest as root to include it"
    exit 77
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"  # munged, as user munge, must reach its directory below
pids=()
cleanup() {
    local status=$?
    # One after the other, newest first (srun, slurmd, slurmctld, munged): each needs the ones started before.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        for log in munge/munged.log slurmctld.log slurmd.log srun.err; do
            [ -f "$tmp/$log" ] && { echo "--- $log (last lines)"; tail -n 20 "$tmp/$log"; }
        done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {  # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq $((seconds * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "FAIL: $what within $seconds s"
    exit 1
}

# munged: its own key and socket, as user munge when there is one (it refuses a key another user owns).
mkdir "$tmp/munge"
socket="$tmp/munge/munged.socket"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$tmp/munge/munge.key"
as_munge=()
if id munge >/dev/null 2>&1; then
    chown -R munge:munge "$tmp/munge"
    as_munge=(setpriv --reuid=munge --regid=munge --init-groups --)
fi
"${as_munge[@]}" munged --foreground --socket="$socket" --key-file="$tmp/munge/munge.key" \
    --log-file="$tmp/munge/munged.log" --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" 2>/dev/null &
pids+=($!)
credential_round_trip() { munge --socket="$socket" -n | unmunge --socket="$socket"; }
wait_for 10 "munged did not answer on $socket" credential_round_trip

# slurmctld and slurmd from the project's template.
mkdir "$tmp/state" "$tmp/spool"
export SLURM_CONF="$tmp/slurm.conf"
sed -e "s|@HOST@|$(hostname -s)|g" -e "s|@DIR@|$tmp|g" -e "s|@MUNGE_SOCKET@|$socket|g" \
    -e "s|@CTLD_PORT@|$(free_port)|g" -e "s|@SLURMD_PORT@|$(free_port)|g" \
    "$source_dir/tests/slurm/slurm.conf.in" >"$SLURM_CONF"
slurmctld -D -f "$SLURM_CONF" -L "$tmp/slurmctld.log" 2>>"$tmp/slurmctld.log" &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -L "$tmp/slurmd.log" 2>>"$tmp/slurmd.log" &
pids+=($!)
node_idle() { [ "$(sinfo -h -o %t)" = idle ]; }
wait_for 30 "the node did not become idle (sinfo)" node_idle

# Two tasks, each a `joulecast run` of the Slurm job around python3; rank r marks 3 epochs of (r+1)*100
# samples in one train phase with the project's Python client (its hello names the rank from SLURM_PROCID).
cat >"$tmp/marks.py" <<'PY'
import os, time, joulecast
rank = int(os.environ["SLURM_PROCID"])
with joulecast.phase("train") as p:
    for n in range(3):
        time.sleep(0.3)
        joulecast.epoch(samples=(rank + 1) * 100, n=n)
    p.samples = 3 * (rank + 1) * 100
PY
mkdir "$tmp/runtime" "$tmp/no-proc" "$tmp/no-sys"
# srun passes its environment to the tasks; each task names its own result file by its rank.
# An empty CUDA_VISIBLE_DEVICES would hide the fake GPU: the variables are removed.
env -u CUDA_VISIBLE_DEVICES -u NVIDIA_VISIBLE_DEVICES \
    XDG_RUNTIME_DIR="$tmp/runtime" PYTHONPATH="$source_dir/python" PYTHONDONTWRITEBYTECODE=1 \
    JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=250" \
    JOULECAST_PROC_ROOT="$tmp/no-proc" JOULECAST_SYSFS_ROOT="$tmp/no-sys" \
    JOULECAST_ROCM_SMI_LIBRARY="$tmp/no-librocm_smi64.so" \
    JOULECAST_BIN="$joulecast" STORE="$tmp/node.db" RESULTS="$tmp" \
    timeout 120 srun --ntasks=2 --nodes=1 --overcommit --time=5 --job-name=joulecast-test \
    /bin/sh -c 'exec "$JOULECAST_BIN" run --db "$STORE" --json "$RESULTS/result.$SLURM_PROCID.json" -- \
                     /usr/bin/python3 "$RESULTS/marks.py"' \
    >"$tmp/srun.out" 2>"$tmp/srun.err" &
pids+=($!)
srun_pid=$!
wait "$srun_pid" && status=0 || status=$?
unset 'pids[${#pids[@]}-1]'
[ "$status" -eq 0 ] || { echo "FAIL: srun exited with $status"; exit 1; }
grep -q "is measured on this node by another joulecast run: joined it" "$tmp/srun.err" ||
    { echo "FAIL: no task said it joined the measuring run"; cat "$tmp/srun.err"; exit 1; }

"$joulecast" runs --db "$tmp/node.db" list --json >"$tmp/runs.json"
python3 - "$tmp" <<'PY'
import glob, json, os, sys
tmp = sys.argv[1]
results = sorted(glob.glob(os.path.join(tmp, "result.*.json")))
assert len(results) == 1, f"one measurement of the node: want 1 result file, got {results}"
runs = json.load(open(os.path.join(tmp, "runs.json")))
assert len(runs) == 1, f"want one run in the store, got {len(runs)}"
run = json.load(open(results[0]))
assert run["id"] == runs[0]["id"], (run["id"], runs[0])
job = run["job"]
assert job["source"] == "SLURM_JOB_ID" and job["id"].isdigit(), job
ranks = sorted((r["rank"], r["local_rank"], r["world_size"], r["launcher"]) for r in run["ranks"])
assert ranks == [(0, 0, 2, "slurm"), (1, 1, 2, "slurm")], run["ranks"]
phases = run["phases"]
assert [p["name"] for p in phases] == ["train"] and phases[0]["samples"] == 900, phases
assert len(run["epochs"]) == 3 and all(e["samples"] == 300 for e in run["epochs"]), run["epochs"]
total, duration = run["energy_j"]["total"], run["duration_s"]
expected = 250 * duration
print(f"Slurm job {job['id']}: one run {run['id']} with ranks {[r[0] for r in ranks]}; "
      f"{total:.1f} J measured, fake NVML 250 W x {duration:.3f} s = {expected:.1f} J")
assert abs(total - expected) <= 0.03 * expected, "the node's energy is not counted once"
stored = sum(r["energy_j"]["total"] for r in runs)
assert abs(stored - expected) <= 0.03 * expected, f"the store holds {stored} J for the node"
per_sample = phases[0]["energy_per_sample_j"]
assert abs(per_sample - phases[0]["energy_j"]["total"] / 900) <= 1e-6 * per_sample + 1e-9, phases[0]
PY
echo "PASS"
