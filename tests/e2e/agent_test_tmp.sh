# Sourced by the agent's shell tests: makes $tmp, a temporary directory, and on exit stops the agent whose PID
# the test put in $agent_pid (if any) and removes $tmp.
tmp=$(mktemp -d)
agent_pid=
cleanup() {
    [ -z "$agent_pid" ] || { kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; }
    rm -rf "$tmp"
}
trap cleanup EXIT
