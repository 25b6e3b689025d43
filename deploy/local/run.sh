#!/usr/bin/env bash
# The whole local stack until Ctrl-C: the PBX and the phone farm (Asterisk 22), the ACD service with
# an embedded PostgreSQL, a Prometheus scraping the ACD with the shipped rules, and demo traffic
# from the farm's SIP callers and agents.
# With ACD_PBXS=2 also a second PBX (pbx.sh's pbx2) and Kamailio in front of both (docs/kamailio.md):
# the agents' phones register with Kamailio too, the demo's callers enter through it and it spreads
# them over both PBXs; the ACD runs with the config file turned into one for both PBXs and Kamailio
# ($ACD_STATE_DIR/run/acd-pbxs2.toml).
# Everything started here is stopped on exit, whatever the reason.
#
# Environment (all optional):
#   ACD_CONFIG                  the ACD's config file (default acd.toml)
#   ACD_PBXS                    1 (default): one PBX; 2: two PBXs behind Kamailio
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
PBXS=${ACD_PBXS:-1}
STATE=${ACD_STATE_DIR:-/var/lib/acd}
CONFIG=${ACD_CONFIG:-acd.toml}
KAMAILIO_DIR=$STATE/kamailio # its run files; short: a unix socket's path is at most 107 bytes
FARM_KAMAILIO_CONF=${ACD_ASTERISK_ROOT:-/var/cache/acd/asterisk-root}/etc/asterisk-farm/pjsip-kamailio.conf
acd_pid=""
demo_pid=""
prometheus_pid=""
kamailio_started=""
case $PBXS in
  1 | 2) ;;
  *) echo "run: ACD_PBXS must be 1 (one PBX) or 2 (two PBXs behind Kamailio), not '$PBXS'" >&2; exit 2 ;;
esac

stop_pid() { # stop_pid <pid or empty>: SIGTERM, then wait for it; whatever its exit status
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  wait "$1" 2>/dev/null || true
}

stop_all() {
  trap - INT TERM EXIT
  echo "run: stopping the demo traffic, the ACD, Prometheus, Kamailio (if started) and Asterisk..."
  stop_pid "$demo_pid"
  stop_pid "$acd_pid"
  stop_pid "$prometheus_pid"
  if [ -n "$kamailio_started" ]; then
    "$PY" -m phonefarm.kamailio stop || true
    rm -f "$FARM_KAMAILIO_CONF"
  fi
  bash "$PBX" stop || true
  echo "run: everything stopped."
}
trap stop_all INT TERM EXIT

command -v prometheus >/dev/null || { echo "run: no prometheus binary; 'make prometheus' installs it" >&2; exit 1; }

bash "$PBX" start all
eval "$(bash "$PBX" env)"
export ACD_AMI_SECRET ACD_FARM_AMI_SECRET ACD_SECRETS_FILE
TRUNK=acd
if [ "$PBXS" = 2 ]; then
  # Kamailio first (pbx2 sends its agents' calls through it), then the agents' phones also register
  # with it, then pbx2; the ACD starts once both PBXs answer Kamailio's probes and the phones are in its
  # location table (each wait bounded)
  mkdir -p "$STATE/run"
  "$PY" -m phonefarm.kamailio acd-config -c "$CONFIG" --folder "$KAMAILIO_DIR" >"$STATE/run/acd-pbxs2.toml"
  CONFIG=$STATE/run/acd-pbxs2.toml
  kamailio_started=1
  "$PY" -m phonefarm.kamailio start --folder "$KAMAILIO_DIR"
  "$PY" -m phonefarm.kamailio farm-conf -c "$CONFIG" >"$FARM_KAMAILIO_CONF"
  # Asterisk rereads a file only when its own time changed, not when a file it includes did
  touch "$(dirname "$FARM_KAMAILIO_CONF")/pjsip.conf"
  bash "$PBX" rx farm "module reload res_pjsip.so" >/dev/null
  bash "$PBX" start pbx2
  "$PY" -m phonefarm.kamailio wait --folder "$KAMAILIO_DIR" -c "$CONFIG"
  TRUNK=kamailio
  echo "run: Kamailio at udp:127.0.0.1:5080 (log $KAMAILIO_DIR/kamailio.log) in front of the PBX" \
    "(SIP 5060, AMI 5038) and pbx2 (SIP 5062, AMI 5040); the ACD's config: $CONFIG"
fi

# where the ACD answers (its [http] table)
HTTP=$("$PY" -c "import sys; from acd.settings import load; h = load(sys.argv[1]).http; print(f'{h.host}:{h.port}')" "$CONFIG")
"$PY" -m acd run -c "$CONFIG" &
acd_pid=$!
for _ in $(seq 1 120); do
  "$PY" -c "import urllib.request as u; u.urlopen('http://$HTTP/healthz', timeout=1)" 2>/dev/null && break
  kill -0 "$acd_pid" 2>/dev/null || { echo "run: the ACD exited during start-up" >&2; exit 1; }
  sleep 0.5
done
echo "run: ACD up: metrics at http://$HTTP/metrics, health at http://$HTTP/healthz;" \
  "status at http://$HTTP/api/v1/status with a token ($PY -m acd tokens add --role admin)"

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

"$PY" -m phonefarm.demo -c "$CONFIG" --calls-per-minute "$CALLS_PER_MINUTE" --trunk "$TRUNK" &
demo_pid=$!
echo "run: demo traffic at $CALLS_PER_MINUTE calls/minute; press Ctrl-C to stop everything"
wait "$acd_pid"
