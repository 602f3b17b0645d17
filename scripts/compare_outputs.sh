#!/usr/bin/env bash
# Compares what two joulecast binaries print for the same stored runs: every reading command (runs list /
# show / export, analyze, forecast, report data) over one store that the OLD binary wrote. A refactoring must
# leave these byte-identical except for documented schema changes, which are listed as expected.
#
# usage: scripts/compare_outputs.sh OLD_JOULECAST NEW_JOULECAST [--study default|small]
#   OLD_JOULECAST  e.g. a build of the previous commit (git worktree add /tmp/old HEAD~1 && build it)
#   --study        default: the default study (about 5 minutes on 2 cores); small (the default here): two
#                  models x two batch sizes on 512 samples
# Needs the fake NVML built by the tests (build/tests/libnvidia-ml-fake.so) for the runs with phases.
# Exit status: 0 when every output matches (or differs only where expected), 1 otherwise.
set -euo pipefail

old="$(realpath "$1")"
new="$(realpath "$2")"
study="small"
if [ "${3:-}" = "--study" ]; then study="${4:?--study needs default or small}"; fi
root="$(cd "$(dirname "$0")/.." && pwd)"
fake_nvml="$root/build/tests/libnvidia-ml-fake.so"
[ -f "$fake_nvml" ] || { echo "compare: build the tests first ($fake_nvml is missing)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/runs.db"
export JOULECAST_DB="$db" HOME="$work/home" TZ=UTC
mkdir -p "$HOME"

echo "== writing the store with $old"
# Runs with phases, epochs, metrics and a forecast, on a fake GPU of known power.
mark="$old mark"
phased="$mark meta model=toy params=1000 macs=5000 batch_size=32 && $mark begin train &&
  for e in 1 2 3 4; do sleep 0.3; $mark epoch samples=100; done && $mark end train samples=400 &&
  $mark begin infer && sleep 0.2 && $mark end infer samples=50 && $mark metric accuracy=0.9 loss=0.25"
for power in 150 250; do
    JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=$power;gpu0.name=TestGPU" \
        "$old" run --quiet --name "phased-$power" --tag "model=toy" --country FRA -- sh -c "$phased"
done
JOULECAST_NVML_LIBRARY="$fake_nvml" FAKE_NVML_SCRIPT="gpus=1;gpu0.power=200" \
    "$old" run --quiet --name forecast --expect-epochs 10 -- sh -c "$phased"
"$old" run --quiet --name failing -- sh -c 'exit 3' || true

if [ "$study" = "default" ]; then
    "$old" study --db "$db" --no-report >/dev/null
else
    cat >"$work/small.toml" <<'EOF'
[study]
name = "small"
repeats = 1
cooldown = "0s"

[grid]
models = ["lenet", "mlp"]
batch_sizes = [64, 256]
epochs = 1
learning_rates = 0.01
dataset = "fashion-mnist"
train_samples = 512
test_samples = 256
EOF
    "$old" study --db "$db" --no-report "$work/small.toml" >/dev/null
fi

ids=$("$old" runs list --json | python3 -c 'import json,sys; print(" ".join(r["id"] for r in json.load(sys.stdin)))')
phased_id=$("$old" runs list --json --name phased-150 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

# Each command reads its own copy of the store, so that one binary's reads cannot change what the other sees.
declare -a commands=(
    "runs list"
    "runs list --json"
    "runs export --format csv"
    "runs export --format csv --readings"
    "analyze"
    "analyze --json"
    "forecast $phased_id --epochs 20"
    "forecast $phased_id --epochs 20 --json"
    "forecast --backtest --profile 2"
    "report --html @FILE@"
    "report --html @FILE@ --run $phased_id"
)
for id in $ids; do commands+=("runs show $id" "runs show --json $id"); done
# Documented differences: `runs export --format json` writes every run in the current schema.
declare -A expected=(["runs export --format json"]="schema joulecast.run/2 (docs/result-schema.md)")
commands+=("runs export --format json")

differ=0
same=0
for command in "${commands[@]}"; do
    for which in old new; do
        # The store is its file and its write-ahead log: copy both, or the copy misses the latest runs.
        rm -f "$work/$which.db" "$work/$which.db-wal" "$work/$which.db-shm"
        cp "$db" "$work/$which.db"
        if [ -f "$db-wal" ]; then cp "$db-wal" "$work/$which.db-wal"; fi
        rm -f "$work/$which.file"
        # shellcheck disable=SC2086
        JOULECAST_DB="$work/$which.db" "${!which}" ${command//@FILE@/$work/$which.file} \
            >"$work/$which.out" 2>"$work/$which.err" || true
        # A command that writes a file (the report) is compared by that file.
        if [ -f "$work/$which.file" ]; then cat "$work/$which.file" >>"$work/$which.out"; fi
        # The report's generation time and the store's and file's paths differ by construction.
        sed -i -e "s|$work/$which.db|STORE|g" -e "s|$work/$which.file|FILE|g" \
            -e 's|"generated_at":"[^"]*"|"generated_at":""|g' "$work/$which.out" "$work/$which.err"
    done
    if cmp -s "$work/old.out" "$work/new.out" && cmp -s "$work/old.err" "$work/new.err"; then
        same=$((same + 1))
    elif [ -n "${expected[$command]:-}" ]; then
        echo "expected difference: $command: ${expected[$command]}"
    else
        differ=$((differ + 1))
        echo "DIFFERS: $command"
        diff "$work/old.out" "$work/new.out" | head -20 || true
        diff "$work/old.err" "$work/new.err" | head -10 || true
    fi
done
[ "$(wc -c <"$work/old.out")" -gt 0 ] || { echo "compare: the last command printed nothing: is the store empty?" >&2; exit 1; }
echo "compare: $same outputs identical, $differ differ (over $(echo "$ids" | wc -w) stored runs)"
[ "$differ" -eq 0 ]
