"""The benchmark-only configuration of the root copy: queue ``bench`` for app_queue, numbers 900/901, the listener."""

from __future__ import annotations

import secrets
from pathlib import Path

from bench.vs_app_queue.plan import ACD_DID, AGENTS, APP_QUEUE_DID

QUEUES_CONF = """\
; written by bench/bench_vs_app_queue.py (benchmark root only)
[general]
persistentmembers = no
autofill = yes

[bench]
strategy = rrmemory
ringinuse = no
wrapuptime = 0
memberdelay = 0
autofill = yes
timeout = 15
retry = 5
joinempty = yes
leavewhenempty = no
announce-frequency = 0
periodic-announce-frequency = 0
announce-holdtime = no
announce-position = no
musicclass = default
{members}
"""

BENCH_DIALPLAN = f"""\
; written by bench/bench_vs_app_queue.py (benchmark root only): the same trunk, two doors
; BenchEntry: the same point for both, past the Answer() (which waits for the caller's first media):
; (a) "from the entry" counts from it, the whole of each system's way to the ring
[acd-inbound]
exten => {APP_QUEUE_DID},1,Answer()
 same => n,UserEvent(BenchEntry)
 same => n,Queue(bench)
 same => n,Hangup()
exten => {ACD_DID},1,Answer()
 same => n,UserEvent(BenchEntry)
 same => n,Gosub(acd-enqueue,s,1(bench,5))
"""

BENCH_AMI_USER = """
; written by bench/bench_vs_app_queue.py (benchmark root only): read-only listener for timestamps
[bench]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = {read}
write =
"""

APP_QUEUE_SETTINGS = (
    "strategy=rrmemory ringinuse=no wrapuptime=0 memberdelay=0 autofill=yes timeout=15 retry=5 "
    "(default), no announcements; members PJSIP/agent11..14 (static); other options default"
)


def install_bench_config(root: Path, breakdown: bool = True, event_filter: bool = True) -> str:
    """Add the app_queue queue, numbers 900/901, app_queue.so and the listener user; returns its secret.

    Without ``breakdown`` the listener does not read the dialplan class (Newexten, VarSet): no split of
    the paths, and no extra manager events for the PBX to format (the ACD's path has more dialplan steps).
    Without ``event_filter`` the ACD's user loses its ``eventfilter`` lines and gets every event of its
    read classes (a control: what the filter saves).
    """
    etc = root / "etc" / "asterisk"
    if not event_filter:
        manager = etc / "manager.conf"
        lines = manager.read_text().splitlines(keepends=True)
        manager.write_text("".join(line for line in lines if not line.startswith("eventfilter")))
    secret = secrets.token_hex(16)
    members = "\n".join(f"member => PJSIP/{agent}" for agent in AGENTS)
    (etc / "queues.conf").write_text(QUEUES_CONF.format(members=members))
    (etc / "acd-bench.conf").write_text(BENCH_DIALPLAN)
    with (etc / "extensions.conf").open("a") as f:  # pbx.sh install has just rewritten these three
        f.write("\n#include acd-bench.conf\n")
    with (etc / "modules.conf").open("a") as f:
        f.write("\n; bench/bench_vs_app_queue.py\nload => app_queue.so\n")
    with (etc / "manager.conf").open("a") as f:
        f.write(BENCH_AMI_USER.format(secret=secret, read="call,user,agent" + (",dialplan" if breakdown else "")))
    return secret


def read_secrets(path: Path) -> dict[str, str]:
    pairs = (line.strip().split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}
