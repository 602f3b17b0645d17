#!/usr/bin/env bash
# joulecast-agent never runs a shell and needs no root, except to read root-only RAPL files, and says so:
# 1. the executable imports no function that starts a program (system, popen, exec*, fork, posix_spawn*) nor
#    one that changes its user;
# 2. run as user nobody (when this test runs as root), over a fake RAPL tree whose energy_uj is root-only: it
#    serves, reports rapl down with a reason that says it needs root or read access to that file, and the CPU
#    is modelled (method="modelled"); the same tree made readable: rapl is up and the CPU's energy is the
#    counter (method="counter");
# 3. it listens on loopback unless --listen says otherwise, and then says so on stderr.
# The agent is stopped by PID.
# usage: agent_privileges_test.sh JOULECAST_AGENT
set -euo pipefail
agent=$1

imports=$(nm -D --undefined-only "$agent" | awk '{print $NF}' | sed 's/@.*//')
bad=$(grep -E -x 'system|popen|execl|execle|execlp|execv|execve|execvp|execvpe|fexecve|fork|vfork|clone|posix_spawn|posix_spawnp|setuid|seteuid|setreuid|setresuid|setgid|setegid' \
    <<<"$imports" || true)
[ -z "$bad" ] || { echo "FAIL: joulecast-agent imports $(echo $bad)"; exit 1; }
echo "imports: $(wc -l <<<"$imports") functions, none that starts a program or changes its user"

# Loopback unless told otherwise: without --listen it listens on 127.0.0.1:9464 only (when that port is free
# here); with --listen 0.0.0.0:PORT it says on stderr that it listens beyond loopback, and without TLS.
listening() { ss -ltnH 2>/dev/null | awk '{print $4}'; }
start_agent() {  # LOG ARGS...: starts the agent with no sensors, waits until it says it serves
    local log=$1
    shift
    JOULECAST_SYSFS_ROOT=/nonexistent JOULECAST_PROC_ROOT=/nonexistent JOULECAST_NVML_LIBRARY=/nonexistent \
        "$agent" serve --runs-dir "$scratch/runs" "$@" 2>"$log" &
    agent_pid=$!
    for _ in $(seq 100); do grep -q "serving" "$log" 2>/dev/null && return 0; sleep 0.1; done
    echo "FAIL: the agent did not start: $(cat "$log")"
    exit 1
}
stop_agent() {
    kill -TERM "$agent_pid"
    wait "$agent_pid" || { echo "FAIL: the agent did not exit 0 on SIGTERM"; exit 1; }
    agent_pid=
}
scratch=$(mktemp -d)
agent_pid=
trap '[ -z "$agent_pid" ] || kill "$agent_pid" 2>/dev/null; rm -rf "$scratch"' EXIT
if command -v ss >/dev/null && ! listening | grep -q ':9464$'; then
    start_agent "$scratch/default.log"
    bound=$(listening | grep ':9464$')
    stop_agent
    [ "$bound" = 127.0.0.1:9464 ] || { echo "FAIL: without --listen the agent listens on '$bound'"; exit 1; }
    ! grep -q "beyond loopback" "$scratch/default.log" || { echo "FAIL: a loopback agent warned"; exit 1; }
    echo "without --listen: listens on 127.0.0.1:9464 only"
else
    echo "SKIP part: port 9464 is in use here (or no ss): the default address is not checked"
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_agent "$scratch/wide.log" --listen "0.0.0.0:$port"
stop_agent
grep -q "listening beyond loopback on 0.0.0.0; anyone who can reach this port can read the metrics; without TLS" \
    "$scratch/wide.log" || { echo "FAIL: --listen 0.0.0.0 did not warn: $(cat "$scratch/wide.log")"; exit 1; }
echo "--listen 0.0.0.0:$port: says it listens beyond loopback, readable by anyone, without TLS"
rm -rf "$scratch"
trap - EXIT

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
    echo "SKIP: the unprivileged run needs root (to make a root-only file and drop to nobody) and setpriv"
    exit 77
fi

source "$(dirname "${BASH_SOURCE[0]}")/agent_test_tmp.sh"
chmod 755 "$tmp"
zone="$tmp/sys/class/powercap/intel-rapl:0"
mkdir -p "$zone" "$tmp/runs"
chmod -R 755 "$tmp/sys"
chmod 1777 "$tmp/runs"
echo package-0 >"$zone/name"
echo 262143328850 >"$zone/max_energy_range_uj"
echo 123456789 >"$zone/energy_uj"
chmod 644 "$zone/name" "$zone/max_energy_range_uj"

# Starts the agent as nobody and writes its /metrics to $tmp/page.
scrape_as_nobody() {
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    JOULECAST_SYSFS_ROOT="$tmp/sys" JOULECAST_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 \
        setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$agent" serve --listen "127.0.0.1:$port" --interval-ms 100 --runs-dir "$tmp/runs" 2>"$tmp/agent.log" &
    agent_pid=$!
    local page=
    for _ in $(seq 100); do
        page=$(python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode())' \
            "http://127.0.0.1:$port/metrics" 2>/dev/null) && break
        sleep 0.1
    done
    [ -n "$page" ] || { echo "FAIL: the agent (as nobody) did not answer"; cat "$tmp/agent.log"; exit 1; }
    sleep 0.3
    python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode())' "http://127.0.0.1:$port/metrics" \
        >"$tmp/page"
    kill -TERM "$agent_pid"
    wait "$agent_pid" || { echo "FAIL: the agent (as nobody) did not exit 0 on SIGTERM"; exit 1; }
    agent_pid=
}

chmod 400 "$zone/energy_uj"  # root-only, as since Linux 5.10
scrape_as_nobody  # in this shell, so that a failure stops the test and the trap knows the agent
page=$(cat "$tmp/page")
python3 - "$page" "$zone/energy_uj" "$tmp/agent.log" <<'PY'
import re, sys
page, path, log = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
assert 'joulecast_sensor_up{sensor="rapl"} 0' in page, page
reason = re.search(r'joulecast_sensor_down_info\{sensor="rapl",reason="([^"]*)"\} 1', page)
assert reason and "needs root or read access to " + path in reason.group(1), page
assert "needs root or read access to " + path in log, log  # said on stderr at start as well
cpu = re.findall(r'joulecast_energy_joules_total\{domain="cpu",device="[^"]*",method="(\w+)"\}', page)
assert cpu and set(cpu) == {"modelled"}, cpu
print(f"as nobody, RAPL root-only: rapl down, '{reason.group(1)}'; the CPU is modelled")
PY

chmod 444 "$zone/energy_uj"
scrape_as_nobody  # in this shell, so that a failure stops the test and the trap knows the agent
page=$(cat "$tmp/page")
python3 - "$page" <<'PY'
import re, sys
page = sys.argv[1]
assert 'joulecast_sensor_up{sensor="rapl"} 1' in page, page
cpu = re.findall(r'joulecast_energy_joules_total\{domain="cpu",device="([^"]*)",method="(\w+)"\}', page)
assert cpu == [("package-0", "counter")], cpu
print("as nobody, RAPL readable: rapl up, the CPU's energy is its counter")
PY
echo PASS
