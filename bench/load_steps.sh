#!/usr/bin/env bash
# A few steps of the reference harness's load ladder against the production shape, with the
# CPU each process used during the first step: the quick A/B behind bench/RESULTS.md's
# per-step tables (the full ladder, with both relays, is `$perf/project.sh ladder`).
#
#   bench/load_steps.sh PERF_DIR RATES [DIRECTION]      e.g. bench/load_steps.sh $perf 400,600,800
#
# PERF_DIR is a writable copy of ../shared/perf with `npm ci` done. Environment:
# PERF_PG_URL (PostgreSQL instead of SQLite, as for the harness), SECONDS_PER_STEP (10),
# AUTOMATION_CONCURRENCY and any other setting, passed to the Procfile's processes;
# PROFILE=FILE also records the web process with py-spy (raw collapsed stacks) during the
# first step.
# Registration and login limits are lifted so that the setup takes seconds, not minutes.
set -euo pipefail
perf=$1; rates=$2; direction=${3:-customer-to-staff}
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
export RATE_LIMIT_MESSAGES=1000000/second WEB_MAX_CONNECTIONS=20000 \
  RATE_LIMIT_REGISTER=100000/minute RATE_LIMIT_AUTH=100000/minute RATE_LIMIT_AUTH_IP=100000/minute
state=$(mktemp -u); out=$(mktemp -d)
trap '.venv/bin/python "$perf/stack.py" down --state "$state" >/dev/null 2>&1; rm -rf "$out"' EXIT
.venv/bin/python "$perf/stack.py" up --project . --state "$state" >"$out/up" 2>&1 || { tail "$out/up"; exit 1; }
field() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($1)" "$state"; }
url=$(field "s['base_url']")
web=$(field "next(g['pgid'] for g in s['groups'] if g['name']=='web')")
for pid in $(pgrep -g "$web"); do taskset -a -cp 0 "$pid" >/dev/null; done
taskset -c 1 node "$perf/load.js" --target project --url "$url" --direction "$direction" \
  --rates "$rates" --seconds "${SECONDS_PER_STEP:-10}" --pairs 50 >"$out/load" 2>&1 &
load=$!
for _ in $(seq 1 120); do grep -q "pairs joined" "$out/load" && break; sleep 1; done
ticks() { for stat in /proc/[0-9]*/stat; do
  awk '{ s=$0; sub(/^[^)]*\) /, "", s); split(s, f, " "); print FILENAME, f[12]+f[13] }' "$stat" 2>/dev/null
done | sed 's#/proc/\([0-9]*\)/stat#\1#' | sort; }
sleep 3; ticks >"$out/a"
if [ -n "${PROFILE:-}" ]; then
  .venv/bin/py-spy record -p "$(pgrep -g "$web" -f web.serve | head -1)" -d 8 -r 200 -f raw \
    -o "$PROFILE" --nonblocking >/dev/null 2>&1
else
  sleep 8
fi
ticks >"$out/b"
echo "CPU ticks (1/100 s) per process over 8 s of the first step:"
join "$out/a" "$out/b" | awk '$3 > $2 { print $3 - $2, $1 }' | sort -rn | head -8 |
  while read -r used pid; do echo "  $used $(ps -o args= -p "$pid" | cut -c1-70)"; done
wait "$load"
grep '"project"' "$out/load" | python3 -c "
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(f\"{d['rate']} msg/s: {d['acked']}/{d['sent']} acked, ack p50 {d['ack_p50']} ms, p99 {d['ack_p99']} ms, delivery p99 {d['deliver_p99']} ms, errors {d['errors']}\")"
