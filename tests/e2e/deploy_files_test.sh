#!/usr/bin/env bash
# The deployment examples in deploy/ are valid: systemd-analyze verify accepts the unit without a warning (its
# ExecStart pointed at the built agent), the agent starts with the unit's ExecStart options (its --listen port
# and --runs-dir moved to free temporary ones) and answers, and promtool check config accepts the scrape
# configuration. The Grafana dashboard is checked against a real Prometheus by prometheus_agent_test.sh.
# Parts whose tool is missing are skipped; the agent is stopped by PID.
# usage: deploy_files_test.sh JOULECAST_AGENT
set -euo pipefail
agent=$1
deploy="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/deploy"
unit="$deploy/joulecast-agent.service"
source "$(dirname "${BASH_SOURCE[0]}")/agent_test_tmp.sh"
checked=0

if command -v systemd-analyze >/dev/null; then
    sed "s|/usr/local/bin/joulecast-agent|$agent|" "$unit" >"$tmp/joulecast-agent.service"
    if ! out=$(timeout 60 systemd-analyze verify "$tmp/joulecast-agent.service" 2>&1) || [ -n "$out" ]; then
        echo "FAIL: systemd-analyze verify deploy/joulecast-agent.service: $out"
        exit 1
    fi
    echo "systemd-analyze verify: the unit is valid"
    checked=$((checked + 1))
else
    echo "FAIL: systemd-analyze is not installed (scripts/setup.sh installs systemd)"
    exit 1
fi

# The unit's ExecStart, with the built agent, a free port and a temporary runs folder.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r -a words <<<"$exec_start"
[ "${words[0]}" = /usr/local/bin/joulecast-agent ] || { echo "FAIL: ExecStart runs ${words[0]}"; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
args=()
for ((i = 1; i < ${#words[@]}; i++)); do
    case "${words[i]}" in
        --listen) args+=(--listen "127.0.0.1:$port"); i=$((i + 1)) ;;
        --runs-dir) args+=(--runs-dir "$tmp/runs"); i=$((i + 1)) ;;
        *) args+=("${words[i]}") ;;
    esac
done
mkdir -p "$tmp/sys" "$tmp/proc"
JOULECAST_SYSFS_ROOT="$tmp/sys" JOULECAST_PROC_ROOT="$tmp/proc" JOULECAST_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 \
    "$agent" "${args[@]}" 2>"$tmp/agent.log" &
agent_pid=$!
for _ in $(seq 100); do
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$port/metrics" 2>/dev/null && break
    kill -0 "$agent_pid" 2>/dev/null || { echo "FAIL: the unit's ExecStart ($exec_start) exited"; cat "$tmp/agent.log"; exit 1; }
    sleep 0.1
done
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "http://127.0.0.1:$port/metrics"
kill -TERM "$agent_pid"
wait "$agent_pid" || { echo "FAIL: the agent did not exit 0 on SIGTERM"; exit 1; }
agent_pid=
echo "the unit's ExecStart options (${args[*]}): the agent serves /metrics and stops on SIGTERM"
checked=$((checked + 1))

if command -v promtool >/dev/null; then
    promtool check config "$deploy/prometheus-scrape.yml" >"$tmp/promtool.log" 2>&1 ||
        { echo "FAIL: promtool check config deploy/prometheus-scrape.yml"; cat "$tmp/promtool.log"; exit 1; }
    echo "promtool check config: deploy/prometheus-scrape.yml is valid"
    checked=$((checked + 1))
else
    echo "FAIL: promtool is not installed (scripts/setup.sh installs prometheus, which has it)"
    exit 1
fi
echo "PASS ($checked checks)"
