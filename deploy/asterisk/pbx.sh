#!/usr/bin/env bash
# pbx.sh - a real Asterisk 22 for the ACD, and a second Asterisk as its "phone farm".
#
# Debian stable ships no asterisk package and CI has no container engine, so Asterisk runs in a
# Debian sid root made by debootstrap, chrooted, on loopback only. Both instances run from one root:
# the PBX with /etc/asterisk, the farm with /etc/asterisk-farm (its own run/db/spool/log dirs).
# A third, pbx2, is a second PBX behind Kamailio (deploy/kamailio/, docs/kamailio.md), with
# /etc/asterisk-pbx2: same dialplan, SIP 5062, AMI 5040, and its agents rung through Kamailio.
# It is started only when asked for (start pbx2); stop all stops it too.
#
#   pbx.sh build                 make the sid root (cached; rebuilt only when missing or made by another recipe)
#   pbx.sh fresh                 is the root up to date? (exit 0, or 1 with the reason; changes nothing)
#   pbx.sh key                   the cache key of the root this script makes
#   pbx.sh install               put the project's PBX and farm configuration into the root (secrets made once)
#   pbx.sh start [pbx|farm|pbx2|all]  start in the background; wait until booted (and the agents
#                                registered); all = pbx and farm
#   pbx.sh stop  [pbx|farm|pbx2|all]  stop; after "all" nothing of ours runs and nothing is mounted
#   pbx.sh status                what runs, registered agents
#   pbx.sh rx <pbx|farm|pbx2> "<cli>" run an Asterisk CLI command
#   pbx.sh env                   export lines: secrets and AMI connection settings
#   pbx.sh up                    build + install + start all
#
# Environment (all optional):
#   ACD_ASTERISK_ROOT  the sid root               (default /var/cache/acd/asterisk-root)
#   ACD_STATE_DIR      pid files, console logs    (default /var/lib/acd; run files in $ACD_STATE_DIR/run)
#   ACD_SECRETS_FILE   generated secrets, mode 600 (default /var/lib/acd/secrets.env)
#   ACD_FARM_AGENTS    number of agents agent1..N (default 20; used by install)
#   ACD_SUPERVISORS    number of supervisors' phones supervisor1..N (default 2; used by install)
#   ACD_DEBIAN_MIRROR  debootstrap mirror         (default: debootstrap's own)
#   ACD_START_TIMEOUT  seconds to wait for boot/registration (default 90)
#   ACD_KAMAILIO       address:port of the Kamailio pbx2 rings agents through (default 127.0.0.1:5080)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT="$HERE/$(basename "${BASH_SOURCE[0]}")"
REPO=$(cd "$HERE/../.." && pwd)
ROOT=${ACD_ASTERISK_ROOT:-/var/cache/acd/asterisk-root}
ROOT=${ROOT%/}
[ -d "$ROOT" ] && ROOT=$(cd "$ROOT" && pwd -P) # /proc/PID/root shows the resolved path
STATE=${ACD_STATE_DIR:-/var/lib/acd}
RUN=$STATE/run
SECRETS=${ACD_SECRETS_FILE:-$STATE/secrets.env}
AGENTS=${ACD_FARM_AGENTS:-20}
SUPERVISORS=${ACD_SUPERVISORS:-2}
MIRROR=${ACD_DEBIAN_MIRROR:-}
START_TIMEOUT=${ACD_START_TIMEOUT:-90}
SUITE=sid
PACKAGES=asterisk,asterisk-modules,asterisk-moh-opsound-wav,asterisk-core-sounds-en-wav
MARKER=$ROOT/.acd-root-built
FARM_CONF=/etc/asterisk-farm/asterisk.conf   # path inside the root
PBX2_CONF=/etc/asterisk-pbx2/asterisk.conf   # path inside the root
KAMAILIO=${ACD_KAMAILIO:-127.0.0.1:5080}

log() { printf '%s pbx.sh: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ms() { date +%s%3N; }
took() { local t0=$1; local ms=$(( $(now_ms) - t0 )); printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)); }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (chroot, debootstrap)"; }

# ---------------------------------------------------------------- instances
inst_conf_args() { # asterisk CLI args selecting the instance
    case $1 in
        pbx) ;;
        farm) printf '%s\n' -C "$FARM_CONF" ;;
        pbx2) printf '%s\n' -C "$PBX2_CONF" ;;
        *) die "unknown instance '$1' (pbx|farm|pbx2)" ;;
    esac
}

inst_pid() { # prints the pid when the instance runs
    local f=$RUN/$1.pid pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # the pid must still be an asterisk whose root is ours (pids get reused)
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] || return 1
    grep -qa asterisk "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

rx() { # rx <inst> <cli command...>
    local inst=$1; shift
    local args; mapfile -t args < <(inst_conf_args "$inst")
    timeout 30 chroot "$ROOT" asterisk "${args[@]}" -rx "$*"
}

root_pids() { # every process whose root is our sid root
    find /proc -mindepth 2 -maxdepth 2 -name root -lname "$ROOT" -printf '%h\n' 2>/dev/null |
        sed -n 's#^/proc/\([0-9][0-9]*\)$#\1#p' || true
}

mounts_under() { findmnt -rn -o TARGET 2>/dev/null | grep -F "$1" | grep -E "^$1(/|$)" || true; }
our_mounts() { mounts_under "$ROOT"; }

clear_dir() { # rm -rf a (debootstrap) root, after unmounting what a killed debootstrap left there
    local m
    for m in $(mounts_under "$1" | sort -r); do umount "$m" || umount -l "$m"; done
    [ -z "$(mounts_under "$1")" ] || die "still mounted under $1"
    rm -rf "$1"
}

# ---------------------------------------------------------------- build
# The root is cached under a key made of what decides its content: the suite, the packages and the
# text of make_root. Nothing else counts: a clone gives every file a new mtime, and an edit to install
# or start changes nothing in the root, so neither may cost a rebuild (a minute and a Debian mirror).
# The marker written by a build names suite, packages and key; markers written before keys existed
# name suite and packages only: they are adopted while the recipe is still the one that wrote them.
LEGACY_KEY=eda22df0d61189ef

# make_root <dir>: debootstrap the root into <dir>. Its text (bar comments and indentation) is part of
# the cache key: a change here rebuilds every root.
make_root() {
    # shellcheck disable=SC2086
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$1" $MIRROR
}

recipe_text() { # make_root as written, without comments, blank lines or indentation
    awk '/^make_root\(\) \{/ { on = 1 } on { print } on && /^\}/ { exit }' "$SCRIPT" |
        sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d'
}

root_key() {
    local recipe; recipe=$(recipe_text)
    [ -n "$recipe" ] || die "no make_root in $SCRIPT"
    printf 'suite=%s\npackages=%s\n%s\n' "$SUITE" "$PACKAGES" "$recipe" | sha256sum | cut -c1-16
}

marker_field() { # marker_field NAME: the value of NAME=... in the marker (empty when absent)
    tr ' ' '\n' <"$MARKER" | sed -n "s/^$1=//p" | head -n1
}

STALE_REASON=""
root_fresh() { # the root exists and was made by this recipe; else STALE_REASON says why not
    local key want
    if [ ! -d "$ROOT" ] || [ ! -f "$MARKER" ]; then STALE_REASON="no built root in $ROOT"; return 1; fi
    want=$(root_key)
    key=$(marker_field key)
    if [ -n "$key" ]; then
        [ "$key" = "$want" ] && return 0
        STALE_REASON="the root was made by recipe $key, this script makes $want"
        return 1
    fi
    if [ "$(marker_field suite)" != "$SUITE" ] || [ "$(marker_field packages)" != "$PACKAGES" ]; then
        STALE_REASON="the root has suite $(marker_field suite) and packages $(marker_field packages), this script makes $SUITE with $PACKAGES"
        return 1
    fi
    [ "$want" = "$LEGACY_KEY" ] && return 0
    STALE_REASON="the root's marker has no key and the recipe changed since it was written"
    return 1
}

cmd_fresh() {
    if root_fresh; then echo "root $ROOT is up to date ($(cat "$MARKER"))"; return 0; fi
    echo "root $ROOT is stale: $STALE_REASON"
    return 1
}

tmp_adoptable() { # a finished debootstrap in $ROOT.tmp (e.g. started by hand) with every package
    local tmp=$1 p
    [ -x "$tmp/usr/sbin/asterisk" ] && [ ! -d "$tmp/debootstrap" ] || return 1
    for p in ${PACKAGES//,/ }; do
        grep -qx "Package: $p" "$tmp/var/lib/dpkg/status" || return 1
    done
}

debootstrap_running_into() { pgrep -f "debootstrap .*$1( |$)" >/dev/null 2>&1; }

cmd_build() {
    need_root
    local t0; t0=$(now_ms)
    if root_fresh; then
        log "build: root $ROOT is up to date (marker $(cat "$MARKER"))"
        return 0
    fi
    log "build: $STALE_REASON"
    if [ -n "$(root_pids)" ]; then die "build: Asterisk runs in $ROOT; run '$0 stop' first"; fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "build: installing debootstrap"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    mkdir -p "$(dirname "$ROOT")" "$STATE"
    exec 9>"$ROOT.lock"
    flock 9
    local tmp=$ROOT.tmp
    local waited=0
    while debootstrap_running_into "$tmp"; do # someone else is building it: wait for it
        [ $waited = 0 ] && log "build: a debootstrap into $tmp is running; waiting for it"
        waited=1; sleep 2
    done
    if tmp_adoptable "$tmp"; then
        log "build: adopting the finished debootstrap in $tmp"
    else
        clear_dir "$tmp"
        log "build: debootstrap $SUITE into $tmp (log $STATE/debootstrap.log)"
        local t1; t1=$(now_ms)
        if ! make_root "$tmp" >"$STATE/debootstrap.log" 2>&1; then
            tail -n 30 "$STATE/debootstrap.log" >&2
            die "build: debootstrap failed"
        fi
        log "build: debootstrap took $(took "$t1")"
        tmp_adoptable "$tmp" || die "build: debootstrap finished but packages are missing"
    fi
    echo "suite=$SUITE packages=$PACKAGES key=$(root_key) built=$(date -u +%FT%TZ)" >"$tmp/.acd-root-built"
    if [ -e "$ROOT" ]; then
        [ -z "$(our_mounts)" ] || die "build: something is mounted under $ROOT"
        clear_dir "$ROOT.old"
        mv "$ROOT" "$ROOT.old"
    fi
    mv "$tmp" "$ROOT"
    clear_dir "$ROOT.old"
    log "build: root ready in $ROOT ($(took "$t0")); run '$0 install' next"
}

# ---------------------------------------------------------------- install
rand_secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

ensure_secret() { # ensure_secret NAME: append NAME=<random> to the secrets file unless present
    grep -q "^$1=" "$SECRETS" 2>/dev/null || echo "$1=$(rand_secret)" >>"$SECRETS"
}

ensure_secrets() {
    mkdir -p "$(dirname "$SECRETS")"
    (umask 077; touch "$SECRETS")
    chmod 600 "$SECRETS"
    ensure_secret ACD_AMI_SECRET
    ensure_secret ACD_FARM_AMI_SECRET
    ensure_secret ACD_TRUNK_SECRET
    local i
    for ((i = 1; i <= AGENTS; i++)); do ensure_secret "ACD_AGENT${i}_SIP_SECRET"; done
    # supervisor monitoring: the AMI user that may only Originate into acd-monitor, and the phones
    ensure_secret ACD_AMI_ORIGINATE_SECRET
    for ((i = 1; i <= SUPERVISORS; i++)); do ensure_secret "ACD_SUPERVISOR${i}_SIP_SECRET"; done
    ensure_secret ACD_AMI_OBSERVER_SECRET # this lab's test harness (add_observer)
}

secret() { sed -n "s/^$1=//p" "$SECRETS" | head -n1; }

render() { # render <template> <dest>: replace the @ACD_*@ placeholders; dest mode 600
    local tmpl=$1 dest=$2
    sed -e "s/@ACD_AMI_SECRET@/$(secret ACD_AMI_SECRET)/g" \
        -e "s/@ACD_FARM_AMI_SECRET@/$(secret ACD_FARM_AMI_SECRET)/g" \
        -e "s/@ACD_TRUNK_SECRET@/$(secret ACD_TRUNK_SECRET)/g" \
        -e "s/@ACD_AMI_ORIGINATE_SECRET@/$(secret ACD_AMI_ORIGINATE_SECRET)/g" "$tmpl" >"$dest.new"
    chmod 600 "$dest.new"
    mv "$dest.new" "$dest"
}

add_observer() { # add_observer <manager.conf>: append this lab's AMI user for the test harness (never shipped)
    cat >>"$1" <<EOF

; --- appended by deploy/asterisk/pbx.sh install: this lab only, not part of the shipped file ---
; The test harness's own user: the rights of [acd] (it stands in for the ACD in the dialplan's tests)
; without [acd]'s eventfilter, since the tests also wait for events the ACD never reads (DialBegin,
; Newchannel, MusicOnHoldStart, BlindTransfer, FullyBooted).
[observer]
secret = $(secret ACD_AMI_OBSERVER_SECRET)
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,call,user
write = call,reporting,user
writetimeout = 1000
EOF
}

render_pjsip() { # render_pjsip <main template> <per-agent template> <dest>
    local main=$1 agent=$2 dest=$3 i
    render "$main" "$dest"
    for ((i = 1; i <= AGENTS; i++)); do
        sed -e "s/@AGENT@/agent$i/g" -e "s/@AGENT_SECRET@/$(secret "ACD_AGENT${i}_SIP_SECRET")/g" "$agent"
    done >>"$dest"
}

render_supervisors() { # render_supervisors <per-supervisor template> <dest>: append supervisor1..N
    local tmpl=$1 dest=$2 i
    for ((i = 1; i <= SUPERVISORS; i++)); do
        sed -e "s/@SUPERVISOR@/supervisor$i/g" -e "s/@SUPERVISOR_SECRET@/$(secret "ACD_SUPERVISOR${i}_SIP_SECRET")/g" "$tmpl"
    done >>"$dest"
}

cmd_install() {
    need_root
    [ -f "$MARKER" ] || die "install: no root in $ROOT; run '$0 build' first"
    [[ $AGENTS =~ ^[0-9]+$ ]] && [ "$AGENTS" -ge 1 ] || die "ACD_FARM_AGENTS must be a positive number"
    [[ $SUPERVISORS =~ ^[0-9]+$ ]] || die "ACD_SUPERVISORS must be a number"
    local t0; t0=$(now_ms)
    ensure_secrets
    local etc=$ROOT/etc/asterisk farm=$ROOT/etc/asterisk-farm f
    local pbxsrc=$REPO/dialplan/pbx farmsrc=$REPO/deploy/farm
    mkdir -p "$farm" "$ROOT/var/run/asterisk" "$ROOT/var/run/asterisk-farm" \
        "$ROOT/var/lib/asterisk-farm" "$ROOT/var/spool/asterisk-farm" "$ROOT/var/log/asterisk-farm" \
        "$ROOT/var/spool/asterisk/acd-voicemail" "$ROOT/var/spool/asterisk/acd-recordings"

    # PBX: static files, rendered templates, the dialplan
    for f in asterisk.conf modules.conf logger.conf rtp.conf musiconhold.conf features.conf; do
        install -m 644 "$pbxsrc/$f" "$etc/$f"
    done
    render "$pbxsrc/manager.conf.in" "$etc/manager.conf"
    add_observer "$etc/manager.conf"
    render_pjsip "$pbxsrc/pjsip.conf.in" "$pbxsrc/pjsip-agent.conf.in" "$etc/pjsip.conf"
    render_supervisors "$pbxsrc/pjsip-supervisor.conf.in" "$etc/pjsip.conf"
    rm -rf "$etc/acd.new"
    mkdir -p "$etc/acd.new"
    cp "$REPO"/dialplan/*.conf "$etc/acd.new/"
    rm -rf "$etc/acd"
    mv "$etc/acd.new" "$etc/acd"
    {
        cat "$pbxsrc/extensions.conf"
        echo "; --- the project's dialplan (dialplan/*.conf), appended by pbx.sh install ---"
        for f in "$etc"/acd/*.conf; do echo "#include acd/$(basename "$f")"; done
    } >"$etc/extensions.conf.new"
    mv "$etc/extensions.conf.new" "$etc/extensions.conf"

    # farm: its own etc dir; a few stock files it reads from the PBX's
    for f in asterisk.conf modules.conf logger.conf rtp.conf musiconhold.conf extensions.conf; do
        install -m 644 "$farmsrc/$f" "$farm/$f"
    done
    for f in indications.conf ccss.conf features.conf pjproject.conf sorcery.conf stasis.conf udptl.conf acl.conf cdr.conf cel.conf; do
        [ -f "$etc/$f" ] && install -m 644 "$etc/$f" "$farm/$f"
    done
    render "$farmsrc/manager.conf.in" "$farm/manager.conf"
    render_pjsip "$farmsrc/pjsip.conf.in" "$farmsrc/pjsip-agent.conf.in" "$farm/pjsip.conf"
    render_supervisors "$farmsrc/pjsip-supervisor.conf.in" "$farm/pjsip.conf"
    rm -f "$farm/pjsip-kamailio.conf" # the e2e harness's, while its Kamailio runs (docs/kamailio.md); never a leftover
    echo "$AGENTS" >"$farm/acd-agents"
    echo "$SUPERVISORS" >"$farm/acd-supervisors"
    mkdir -p "$ROOT/var/spool/asterisk-farm/supervisor" # what the farm's supervisors' phones heard

    rm -f "$etc/users.conf" # stock file; pbx_config warns that it is deprecated

    install_pbx2


    # files under the root arrive owned by odd uids; astdb then fails to open
    chroot "$ROOT" chown -R root:root /var/lib/asterisk /var/spool/asterisk /var/log/asterisk /etc/asterisk \
        /var/lib/asterisk-farm /var/spool/asterisk-farm /var/log/asterisk-farm /etc/asterisk-farm \
        /var/lib/asterisk-pbx2 /var/spool/asterisk-pbx2 /var/log/asterisk-pbx2 /etc/asterisk-pbx2

    local inst
    for inst in pbx farm pbx2; do # a running instance picks up the new configuration
        if inst_pid "$inst" >/dev/null; then
            log "install: reloading the running $inst"
            rx "$inst" "core reload" >/dev/null || log "install: reload of $inst failed"
        fi
    done
    log "install: $AGENTS agents, secrets in $SECRETS ($(took "$t0"))"
}

# pbx2: the PBX's own configuration (dialplan included), with four differences: it listens on SIP
# 5062, AMI 5040 and RTP 20000-24999 (the PBX has 5060, 5038, 10000-14999; the farm 15000-19999), its
# directories are its own, its systemname is pbx2 (the PBX's is pbx: each names its calls' Uniqueids,
# and the ACD checks it, docs/pbxs.md), and its agents do not register with it: each agent's contact is
# sip:agentN@$KAMAILIO, so Dial(PJSIP/agentN) rings the phone wherever Kamailio has it registered.
# No qualify of those contacts: Kamailio knows whether a phone is there (an unregistered agent's
# INVITE gets 480), and a contact the PBX found unreachable would not be dialled at all.
install_pbx2() {
    local etc=$ROOT/etc/asterisk pbx2=$ROOT/etc/asterisk-pbx2 f
    mkdir -p "$pbx2" "$ROOT/var/run/asterisk-pbx2" "$ROOT/var/lib/asterisk-pbx2" \
        "$ROOT/var/spool/asterisk-pbx2" "$ROOT/var/log/asterisk-pbx2"
    for f in modules.conf logger.conf musiconhold.conf features.conf extensions.conf indications.conf ccss.conf \
        pjproject.conf sorcery.conf stasis.conf udptl.conf acl.conf cdr.conf cel.conf; do
        [ -f "$etc/$f" ] && install -m 644 "$etc/$f" "$pbx2/$f"
    done
    rm -rf "$pbx2/acd"
    cp -r "$etc/acd" "$pbx2/acd"
    {
        echo "; asterisk.conf for pbx2 (written by pbx.sh install): the PBX's, with directories of its own"
        printf '[directories]\nastetcdir => /etc/asterisk-pbx2\nastvarlibdir => /var/lib/asterisk-pbx2\n'
        printf 'astdbdir => /var/lib/asterisk-pbx2\nastkeydir => /var/lib/asterisk-pbx2\n'
        printf 'astspooldir => /var/spool/asterisk-pbx2\nastrundir => /var/run/asterisk-pbx2\n'
        printf 'astlogdir => /var/log/asterisk-pbx2\nastdatadir => /usr/share/asterisk\n\n'
        sed -e 's/^systemname = pbx$/systemname = pbx2/' "$etc/asterisk.conf"
    } >"$pbx2/asterisk.conf"
    grep -q '^systemname = pbx2$' "$pbx2/asterisk.conf" || die "install: pbx2's systemname was not set"
    sed -e 's/^rtpstart = .*/rtpstart = 20000/' -e 's/^rtpend = .*/rtpend = 24999/' "$etc/rtp.conf" >"$pbx2/rtp.conf"
    sed -e 's/^port = 5038$/port = 5040/' "$etc/manager.conf" >"$pbx2/manager.conf.new"
    sed -e 's/^bind = 127\.0\.0\.1:5060$/bind = 127.0.0.1:5062/' -e 's/^user_agent = acd-pbx$/user_agent = acd-pbx2/' \
        "$etc/pjsip.conf" | awk -v kam="$KAMAILIO" '
            /^\[/ { name = substr($1, 2, index($1, "]") - 2) }
            name ~ /^(agent|supervisor)[0-9]+$/ && $0 ~ /^type = aor$/ { print; print "contact = sip:" name "@" kam; next }
            name ~ /^(agent|supervisor)[0-9]+$/ && $0 ~ /^qualify_frequency/ { next }
            { print }' >"$pbx2/pjsip.conf.new"
    grep -q '^port = 5040$' "$pbx2/manager.conf.new" || die "install: pbx2's AMI port was not set"
    grep -q '^bind = 127.0.0.1:5062$' "$pbx2/pjsip.conf.new" || die "install: pbx2's SIP port was not set"
    grep -q "^contact = sip:agent1@$KAMAILIO\$" "$pbx2/pjsip.conf.new" || die "install: pbx2's agents were not sent to Kamailio"
    chmod 600 "$pbx2/manager.conf.new" "$pbx2/pjsip.conf.new"
    mv "$pbx2/manager.conf.new" "$pbx2/manager.conf"
    mv "$pbx2/pjsip.conf.new" "$pbx2/pjsip.conf"
}

# ---------------------------------------------------------------- start / stop
agents_installed() { # the farm's phones: agents plus supervisors
    local a s
    a=$(cat "$ROOT/etc/asterisk-farm/acd-agents" 2>/dev/null || echo 0)
    s=$(cat "$ROOT/etc/asterisk-farm/acd-supervisors" 2>/dev/null || echo 0)
    echo $((a + s))
}

registered_agents() { # phones (agents, supervisors) registered now: the farm's own view (the PBX keeps contacts in astdb across restarts)
    local farm pbx
    farm=$(rx farm "pjsip show registrations" 2>/dev/null | grep -cE '^\s*(agent|supervisor)[0-9]+-reg/\S+\s+\S+\s+Registered' || true)
    pbx=$(rx pbx "pjsip show contacts" 2>/dev/null | grep -cE '^\s*Contact:\s+(agent|supervisor)[0-9]+/' || true)
    echo $(( farm < pbx ? farm : pbx ))
}

boot_one() { # start the instance unless it runs, and wait until fully booted; 1 if it exited meanwhile
    local inst=$1 pid deadline args
    if pid=$(inst_pid "$inst"); then
        log "start: $inst already runs (pid $pid)"
    else
        [ -f "$MARKER" ] || die "start: no root in $ROOT; run '$0 build' first"
        [ -d "$ROOT/etc/asterisk/acd" ] && [ -f "$ROOT/etc/asterisk-farm/pjsip.conf" ] &&
            [ -f "$ROOT/etc/asterisk-pbx2/pjsip.conf" ] ||
            die "start: configuration missing; run '$0 install' first"
        mkdir -p "$RUN"
        mapfile -t args < <(inst_conf_args "$inst")
        [ -f "$RUN/$inst.log" ] && mv -f "$RUN/$inst.log" "$RUN/$inst.log.1" # keep one earlier run
        # setsid: its own session, so it outlives the caller's terminal and process group
        setsid chroot "$ROOT" asterisk "${args[@]}" -f -n -U root -G root </dev/null >"$RUN/$inst.log" 2>&1 &
        pid=$!
        echo "$pid" >"$RUN/$inst.pid"
        log "start: $inst started (pid $pid, console log $RUN/$inst.log)"
    fi
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    until rx "$inst" "core waitfullybooted" >/dev/null 2>&1; do
        # the pid itself, not inst_pid: until chroot has run (slow on a loaded machine) the process is
        # setsid/chroot with "/" as its root, which inst_pid does not take for an instance of ours
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$RUN/$inst.log" >&2; return 1; }
        [ "$(date +%s)" -lt "$deadline" ] || die "start: $inst not fully booted after ${START_TIMEOUT}s"
        sleep 0.2
    done
}

start_one() {
    local inst=$1 t0 try deadline
    t0=$(now_ms)
    for try in 1 2; do # an instance that died while booting is started once more (its log is above)
        boot_one "$inst" && break
        [ "$try" -lt 2 ] || die "start: $inst exited while booting"
        log "start: $inst exited while booting; starting it once more"
        sleep 1
    done
    log "start: $inst fully booted ($(took "$t0"))"
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    if [ "$inst" = farm ]; then
        local want n
        want=$(agents_installed)
        inst_pid pbx >/dev/null || die "start: the PBX does not run, so the farm's agents cannot register"
        # Asterisk starts each outbound registration after a random 1-10 s delay (and "pjsip send
        # register" only draws a new delay), so this takes up to about 10 s.
        until n=$(registered_agents); [ "$n" -ge "$want" ]; do
            [ "$(date +%s)" -lt "$deadline" ] || die "start: only $n of $want agents registered after ${START_TIMEOUT}s"
            sleep 0.25
        done
        # A contact kept in the PBX's astdb from an earlier run stays "NonQual" (and the phone may show
        # UNAVAILABLE) until its next qualify, up to 30 s later: qualify those now, until all are Avail.
        local stale a
        while stale=$(rx pbx "pjsip show contacts" 2>/dev/null |
                awk '$1 == "Contact:" && $2 ~ /^(agent|supervisor)[0-9]+\// && $4 != "Avail" { split($2, x, "/"); print x[1] }'); \
              [ -n "$stale" ]; do
            [ "$(date +%s)" -lt "$deadline" ] || die "start: agents not reachable from the PBX: $(echo $stale)"
            for a in $stale; do rx pbx "pjsip qualify $a" >/dev/null 2>&1 || true; done
            sleep 0.3
        done
        log "start: farm: $n of $want agents registered and reachable from the PBX ($(took "$t0"))"
    fi
}

stop_one() {
    local inst=$1 pid t0 i
    t0=$(now_ms)
    if ! pid=$(inst_pid "$inst"); then
        rm -f "$RUN/$inst.pid"
        log "stop: $inst is not running"
        return 0
    fi
    local args; mapfile -t args < <(inst_conf_args "$inst")
    timeout 10 chroot "$ROOT" asterisk "${args[@]}" -rx "core stop now" >/dev/null 2>&1 || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "stop: $inst (pid $pid) ignored 'core stop now'; sending TERM"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { log "stop: killing $inst (pid $pid)"; kill -KILL "$pid" 2>/dev/null || true; }
    fi
    rm -f "$RUN/$inst.pid"
    log "stop: $inst stopped ($(took "$t0"))"
}

cmd_start() {
    need_root
    case ${1:-all} in
        pbx) start_one pbx ;;
        farm) start_one farm ;;
        pbx2) start_one pbx2 ;;
        all) local t0; t0=$(now_ms); start_one pbx; start_one farm; log "start: all up ($(took "$t0"))" ;;
        *) die "start [pbx|farm|pbx2|all]" ;;
    esac
}

cmd_stop() {
    need_root
    local t0 p m; t0=$(now_ms)
    case ${1:-all} in
        pbx) stop_one pbx ;;
        farm) stop_one farm ;;
        pbx2) stop_one pbx2 ;;
        all)
            stop_one farm & local farm_job=$!
            stop_one pbx & local pbx_job=$!
            stop_one pbx2 & local pbx2_job=$!
            wait "$farm_job" || true; wait "$pbx_job" || true; wait "$pbx2_job" || true
            # anything else still living in our root (e.g. a stray remote console) is ours too
            for p in $(root_pids); do log "stop: killing leftover pid $p in $ROOT"; kill -KILL "$p" 2>/dev/null || true; done
            for m in $(our_mounts | sort -r); do log "stop: unmounting $m"; umount "$m" || umount -l "$m"; done
            sleep 0.1
            [ -z "$(root_pids)" ] || die "stop: processes still run in $ROOT: $(root_pids | tr '\n' ' ')"
            [ -z "$(our_mounts)" ] || die "stop: still mounted under $ROOT: $(our_mounts | tr '\n' ' ')"
            log "stop: all stopped, nothing mounted ($(took "$t0"))"
            ;;
        *) die "stop [pbx|farm|pbx2|all]" ;;
    esac
}

cmd_status() {
    local inst pid rc=0
    if [ -f "$MARKER" ]; then echo "root: $ROOT ($(cat "$MARKER"))"; else echo "root: missing ($ROOT)"; rc=1; fi
    for inst in pbx farm; do
        if pid=$(inst_pid "$inst"); then
            echo "$inst: running (pid $pid) - $(rx "$inst" "core show uptime seconds" 2>/dev/null | head -n1)"
        else
            echo "$inst: stopped"; rc=1
        fi
    done
    if pid=$(inst_pid pbx2); then echo "pbx2: running (pid $pid)"; fi
    if inst_pid pbx >/dev/null && inst_pid farm >/dev/null; then echo "agents registered: $(registered_agents) of $(agents_installed)"; fi
    local mounts; mounts=$(our_mounts)
    [ -z "$mounts" ] || echo "mounted: $mounts"
    return $rc
}

cmd_env() {
    [ -f "$SECRETS" ] || die "env: no secrets file $SECRETS; run '$0 install' first"
    grep -E '^[A-Z0-9_]+=' "$SECRETS" | sed 's/^/export /'
    cat <<EOF
export ACD_SECRETS_FILE=$SECRETS
export ACD_AMI_HOST=127.0.0.1
export ACD_AMI_PORT=5038
export ACD_AMI_USER=acd
export ACD_FARM_AMI_HOST=127.0.0.1
export ACD_FARM_AMI_PORT=5039
export ACD_FARM_AMI_USER=farm
EOF
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case $cmd in
        build) cmd_build ;;
        fresh) cmd_fresh ;;
        key) root_key ;;
        install) cmd_install ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status ;;
        rx)
            [ $# -ge 2 ] || die "rx <pbx|farm|pbx2> \"<cli command>\""
            need_root; local inst=$1; shift; rx "$inst" "$@" ;;
        env) cmd_env ;;
        up) cmd_build; cmd_install; cmd_start all ;;
        -h | --help | help | "") sed -n '2,/^set -euo/p' "$SCRIPT" | sed '$d' | sed 's/^# \{0,1\}//' ;;
        *) die "unknown command '$cmd' (try --help)" ;;
    esac
}

main "$@"
