#!/usr/bin/env bash
# The whole local stack until Ctrl-C: the PBX and the phone farm (Asterisk 22), the ACD service with
# an embedded PostgreSQL, a Prometheus scraping the ACD with the shipped rules, and demo traffic
# from the farm's SIP callers and agents.
# Everything started here is stopped on exit, whatever the reason.
#
# Environment (all optional):
#   ACD_CONFIG                  the ACD's config file (default acd.toml)
#   ACD_DEMO_CALLS_PER_MINUTE   demo traffic (default 12)
#   ACD_STATE_DIR               state of the run, as for deploy/asterisk/pbx.sh (default /var/lib/acd);
#                               Prometheus keeps its data in $ACD_STATE_DIR/prometheus
#   ACD_PROMETHEUS_ADDRESS      where Prometheus listens (default 127.0.0.1:9095: not 9090, which a
#                               Prometheus installed from Debian's package may already hold)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
PBX=deploy/asterisk/pbx.sh
CALLS_PER_MINUTE=${ACD_DEMO_CALLS_PER_MINUTE:-12}
PROMETHEUS_DIR=${ACD_STATE_DIR:-/var/lib/acd}/prometheus
PROMETHEUS_ADDRESS=${ACD_PROMETHEUS_ADDRESS:-127.0.0.1:9095}
acd_pid=""
demo_pid=""
prometheus_pid=""

stop_pid() { # stop_pid <pid or empty>: SIGTERM, then wait for it; whatever its exit status
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  wait "$1" 2>/dev/null || true
}

stop_all() {
  trap - INT TERM EXIT
  echo "run: stopping the demo traffic, the ACD, Prometheus and Asterisk..."
  stop_pid "$demo_pid"
  stop_pid "$acd_pid"
  stop_pid "$prometheus_pid"
  bash "$PBX" stop || true
  echo "run: everything stopped."
}
trap stop_all INT TERM EXIT

command -v prometheus >/dev/null || { echo "run: no prometheus binary; 'make prometheus' installs it" >&2; exit 1; }

bash "$PBX" start all
eval "$(bash "$PBX" env)"
export ACD_AMI_SECRET ACD_FARM_AMI_SECRET

"$PY" -m acd run -c "${ACD_CONFIG:-acd.toml}" &
acd_pid=$!
for _ in $(seq 1 120); do
  "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/healthz', timeout=1)" 2>/dev/null && break
  kill -0 "$acd_pid" 2>/dev/null || { echo "run: the ACD exited during start-up" >&2; exit 1; }
  sleep 0.5
done
echo "run: ACD up: metrics at http://127.0.0.1:8080/metrics, health at http://127.0.0.1:8080/healthz;" \
  "status at http://127.0.0.1:8080/api/v1/status with a token ($PY -m acd tokens add --role admin)"

# The shipped scrape config (it scrapes 127.0.0.1:8080) and its rule files, read where they are.
mkdir -p "$PROMETHEUS_DIR"
prometheus --config.file=deploy/prometheus/prometheus.yml --storage.tsdb.path="$PROMETHEUS_DIR/data" \
  --web.listen-address="$PROMETHEUS_ADDRESS" >"$PROMETHEUS_DIR/prometheus.log" 2>&1 &
prometheus_pid=$!
for _ in $(seq 1 60); do
  "$PY" -c "import urllib.request as u; u.urlopen('http://$PROMETHEUS_ADDRESS/-/ready', timeout=1)" 2>/dev/null && break
  kill -0 "$prometheus_pid" 2>/dev/null || {
    tail -n 20 "$PROMETHEUS_DIR/prometheus.log" >&2
    echo "run: Prometheus exited during start-up (is $PROMETHEUS_ADDRESS taken? set ACD_PROMETHEUS_ADDRESS)" >&2
    exit 1
  }
  sleep 0.5
done
echo "run: Prometheus at http://$PROMETHEUS_ADDRESS (rules and alerts under /rules and /alerts; data and log in $PROMETHEUS_DIR)"

"$PY" -m phonefarm.demo -c "${ACD_CONFIG:-acd.toml}" --calls-per-minute "$CALLS_PER_MINUTE" &
demo_pid=$!
echo "run: demo traffic at $CALLS_PER_MINUTE calls/minute; press Ctrl-C to stop everything"
wait "$acd_pid"
