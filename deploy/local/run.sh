#!/usr/bin/env bash
# The whole local stack until Ctrl-C: the PBX and the phone farm (Asterisk 22), the ACD service with
# an embedded PostgreSQL, and demo traffic from the farm's SIP callers and agents.
# Everything started here is stopped on exit, whatever the reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
PBX=deploy/asterisk/pbx.sh
CALLS_PER_MINUTE=${ACD_DEMO_CALLS_PER_MINUTE:-12}
acd_pid=""
demo_pid=""

stop_all() {
  trap - INT TERM EXIT
  echo "run: stopping the demo traffic, the ACD and Asterisk..."
  [ -n "$demo_pid" ] && kill -TERM "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  [ -n "$acd_pid" ] && kill -TERM "$acd_pid" 2>/dev/null && wait "$acd_pid" 2>/dev/null
  bash "$PBX" stop || true
  echo "run: everything stopped."
}
trap stop_all INT TERM EXIT

bash "$PBX" start all
eval "$(bash "$PBX" env)"
export ACD_AMI_SECRET ACD_FARM_AMI_SECRET

"$PY" -m acd run -c "${ACD_CONFIG:-acd.toml}" &
acd_pid=$!
for _ in $(seq 1 120); do
  "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/api/status', timeout=1)" 2>/dev/null && break
  kill -0 "$acd_pid" 2>/dev/null || { echo "run: the ACD exited during start-up" >&2; exit 1; }
  sleep 0.5
done
echo "run: ACD up: metrics at http://127.0.0.1:8080/metrics, status at http://127.0.0.1:8080/api/status"

"$PY" -m acd.farm.demo --calls-per-minute "$CALLS_PER_MINUTE" &
demo_pid=$!
echo "run: demo traffic at $CALLS_PER_MINUTE calls/minute; press Ctrl-C to stop everything"
wait "$acd_pid"
