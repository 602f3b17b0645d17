#!/usr/bin/env bash
# joulecast-agent --web-config: TLS with a self-signed certificate made here by openssl, and basic auth with a
# bcrypt hash made here by htpasswd. Over HTTPS the right password gets /metrics, a wrong one and none get 401
# (and the failures are logged, at most one line per 10 s), and plain HTTP gets no page. A configuration key
# joulecast does not support is refused. The agent runs on a free 127.0.0.1 port and is stopped by PID.
# usage: agent_web_config_test.sh JOULECAST_AGENT LIBNVIDIA_ML_FAKE
set -euo pipefail
agent=$1
fake_nvml=$2
for tool in openssl htpasswd; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
source "$(dirname "${BASH_SOURCE[0]}")/agent_test_tmp.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$tmp/agent.key" -out "$tmp/agent.crt" 2>/dev/null
hash=$(htpasswd -nbBC 5 prometheus 'right horse' | cut -d: -f2-)
cat >"$tmp/web.yml" <<YAML
# exporter-toolkit web configuration
tls_server_config:
  cert_file: $tmp/agent.crt
  key_file: "$tmp/agent.key"
basic_auth_users:
  prometheus: '$hash'
YAML

mkdir -p "$tmp/proc" "$tmp/sys"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=200" \
    JOULECAST_PROC_ROOT="$tmp/proc" JOULECAST_SYSFS_ROOT="$tmp/sys" \
    "$agent" serve --listen "127.0.0.1:$port" --runs-dir "$tmp/runs" --web-config "$tmp/web.yml" 2>"$tmp/agent.log" &
agent_pid=$!

python3 - "$port" "$tmp/agent.crt" <<'PY'
import base64, ssl, sys, time, urllib.error, urllib.request
port, cafile = sys.argv[1], sys.argv[2]
context = ssl.create_default_context(cafile=cafile)
def get(url, password=None):
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()
    try:
        answer = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5, context=context)
        return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("WWW-Authenticate", "")
base = f"https://127.0.0.1:{port}"
for _ in range(100):
    try:
        get(base + "/-/healthy")
        break
    except (urllib.error.URLError, ConnectionError, ssl.SSLError):
        time.sleep(0.1)
status, body = get(base + "/metrics", "right horse")
assert status == 200 and 'joulecast_energy_joules_total{domain="gpu"' in body, (status, body[:300])
print("HTTPS with the right password: 200 and the metrics")
for attempt in range(5):
    status, challenge = get(base + "/metrics", "wrong horse")
    assert status == 401 and challenge.startswith("Basic"), (status, challenge)
status, _ = get(base + "/metrics")
assert status == 401, status
print("wrong password (5 times) and no password: 401")
try:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
    raise AssertionError("plain HTTP got a page")
except (urllib.error.URLError, ConnectionError, OSError) as error:
    print("plain HTTP refused:", type(error).__name__)
PY
lines=$(grep -c "failed login for user 'prometheus'" "$tmp/agent.log" || true)
[ "$lines" -eq 1 ] || { echo "FAIL: want one rate-limited log line for 5 failures, got $lines"; cat "$tmp/agent.log"; exit 1; }
echo "log: $(grep "failed login" "$tmp/agent.log")"
kill -TERM "$agent_pid"; wait "$agent_pid" || { echo "FAIL: agent exit status on SIGTERM"; exit 1; }
agent_pid=

printf 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n' >"$tmp/bad.yml"
if "$agent" serve --listen "127.0.0.1:$port" --web-config "$tmp/bad.yml" 2>"$tmp/bad.log"; then
    echo "FAIL: an unsupported key was accepted"; exit 1
fi
grep -q "bad.yml:4: tls_server_config.client_auth_type is not supported" "$tmp/bad.log" ||
    { echo "FAIL: message"; cat "$tmp/bad.log"; exit 1; }
printf 'basic_auth_users:\n  alice: plaintext\n' >"$tmp/plain.yml"
if "$agent" serve --listen "127.0.0.1:$port" --web-config "$tmp/plain.yml" 2>"$tmp/plain.log"; then
    echo "FAIL: a plain-text password was accepted"; exit 1
fi
grep -q "must be a bcrypt hash" "$tmp/plain.log" || { echo "FAIL: message"; cat "$tmp/plain.log"; exit 1; }
echo "unsupported keys and plain-text passwords are refused"
echo "PASS"
