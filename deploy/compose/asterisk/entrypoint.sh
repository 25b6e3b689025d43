#!/usr/bin/env bash
# The compose stack's PBX. Renders the project's PBX configuration (dialplan/pbx/) and dialplan
# (dialplan/*.conf), mounted read-only at /opt/acd/dialplan, into /etc/asterisk as
# deploy/asterisk/pbx.sh install does for the local stack, then runs Asterisk in the foreground.
#
# Environment:
#   ACD_AMI_SECRET, ACD_TRUNK_SECRET  required (from the stack's .env): the ACD's AMI user, the trunk
#   ACD_AGENTS                        agents agent1..N get a SIP endpoint (default 20)
#   ACD_AMI_ORIGINATE_SECRET          optional: the originate-only AMI user acd-monitor (supervisor
#                                     monitoring); unset, it gets a random secret nobody knows
#   ACD_SUPERVISORS                   supervisors' phones supervisor1..N (default 2)
# The agents' SIP passwords are made once and kept in /var/lib/asterisk/acd-secrets.env (a volume):
#   docker compose exec asterisk cat /var/lib/asterisk/acd-secrets.env
set -euo pipefail

SRC=/opt/acd/dialplan
ETC=/etc/asterisk
SECRETS=/var/lib/asterisk/acd-secrets.env
AGENTS=${ACD_AGENTS:-20}
SUPERVISORS=${ACD_SUPERVISORS:-2}

die() { echo "acd-asterisk: $*" >&2; exit 1; }

[ -f "$SRC/pbx/extensions.conf" ] || die "mount the repository's dialplan/ at $SRC"
[[ $AGENTS =~ ^[1-9][0-9]*$ ]] || die "ACD_AGENTS must be a positive number"
for name in ACD_AMI_SECRET ACD_TRUNK_SECRET; do
    # written into manager.conf and pjsip.conf, where ";" starts a comment and sed needs no escaping
    [[ ${!name:-} =~ ^[A-Za-z0-9._-]+$ ]] || die "$name must be set, with letters, digits, '.', '_' and '-' only"
done

rand_secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
[[ $SUPERVISORS =~ ^[0-9]+$ ]] || die "ACD_SUPERVISORS must be a number"
ORIGINATE_SECRET=${ACD_AMI_ORIGINATE_SECRET:-$(rand_secret)} # never the template's placeholder
[[ $ORIGINATE_SECRET =~ ^[A-Za-z0-9._-]+$ ]] || die "ACD_AMI_ORIGINATE_SECRET: letters, digits, '.', '_' and '-' only"
(umask 077; touch "$SECRETS")
for ((i = 1; i <= AGENTS; i++)); do
    grep -q "^ACD_AGENT${i}_SIP_SECRET=" "$SECRETS" || echo "ACD_AGENT${i}_SIP_SECRET=$(rand_secret)" >>"$SECRETS"
done
for ((i = 1; i <= SUPERVISORS; i++)); do
    grep -q "^ACD_SUPERVISOR${i}_SIP_SECRET=" "$SECRETS" || echo "ACD_SUPERVISOR${i}_SIP_SECRET=$(rand_secret)" >>"$SECRETS"
done
agent_secret() { sed -n "s/^ACD_AGENT$1_SIP_SECRET=//p" "$SECRETS" | head -n1; }
supervisor_secret() { sed -n "s/^ACD_SUPERVISOR$1_SIP_SECRET=//p" "$SECRETS" | head -n1; }

render() { # render <template>: the @ACD_*@ placeholders replaced, on stdout
    sed -e "s/@ACD_AMI_SECRET@/$ACD_AMI_SECRET/g" -e "s/@ACD_TRUNK_SECRET@/$ACD_TRUNK_SECRET/g" \
        -e "s/@ACD_AMI_ORIGINATE_SECRET@/$ORIGINATE_SECRET/g" "$1"
}

for f in asterisk.conf modules.conf logger.conf rtp.conf musiconhold.conf features.conf; do
    install -m 644 "$SRC/pbx/$f" "$ETC/$f"
done
render "$SRC/pbx/manager.conf.in" >"$ETC/manager.conf"
{
    render "$SRC/pbx/pjsip.conf.in"
    for ((i = 1; i <= AGENTS; i++)); do
        sed -e "s/@AGENT@/agent$i/g" -e "s/@AGENT_SECRET@/$(agent_secret "$i")/g" "$SRC/pbx/pjsip-agent.conf.in"
    done
    for ((i = 1; i <= SUPERVISORS; i++)); do
        sed -e "s/@SUPERVISOR@/supervisor$i/g" -e "s/@SUPERVISOR_SECRET@/$(supervisor_secret "$i")/g" \
            "$SRC/pbx/pjsip-supervisor.conf.in"
    done
} >"$ETC/pjsip.conf"
rm -rf "$ETC/acd"
mkdir -p "$ETC/acd"
cp "$SRC"/*.conf "$ETC/acd/"
{
    cat "$SRC/pbx/extensions.conf"
    echo "; --- the project's dialplan (dialplan/*.conf), appended by the container's entrypoint ---"
    for f in "$ETC"/acd/*.conf; do echo "#include acd/$(basename "$f")"; done
} >"$ETC/extensions.conf"
rm -f "$ETC/users.conf" # stock file; pbx_config warns that it is deprecated

mkdir -p /var/run/asterisk /var/spool/asterisk/acd-voicemail /var/spool/asterisk/acd-recordings
chown -R asterisk:asterisk "$ETC" /var/lib/asterisk /var/spool/asterisk /var/log/asterisk /var/run/asterisk
chmod 640 "$ETC/manager.conf" "$ETC/pjsip.conf"
echo "acd-asterisk: $AGENTS agents; their SIP passwords are in $SECRETS"
exec asterisk -f -n -U asterisk -G asterisk
