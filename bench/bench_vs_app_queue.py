"""The ACD against Asterisk's own app_queue: same real PBX, same phone farm, same agents, one run.

Run: ``sudo .venv/bin/python bench/bench_vs_app_queue.py [--calls 200]`` (also part of ``make bench``;
without root it prints SKIPPED and exits 0). About 5-6 minutes (``--time-limit``, default 600 s, bounds
it). It copies the Asterisk root that ``deploy/asterisk/pbx.sh build`` makes (read-only) and needs
nothing else. Exit code 0 when every phase got its samples (the targets are reported, not enforced).
Other options: ``--only acd|app_queue`` (one system), ``--json FILE`` (every sample and the PBX events
on its way), ``--acd-command CMD`` (run another ACD build, e.g. another checkout's
``.venv/bin/python -m acd``), ``--keep``, ``--no-netns`` (where nothing else uses the PBX ports).

Isolation (why it never disturbs a running stack): other work on this machine (the e2e tests, ``make run``)
uses the PBX on loopback ports 5038/5039/5060/5070, the root /var/cache/acd/asterisk-root and the state
dir /var/lib/acd. This benchmark uses none of them. It

1. creates a network namespace (``--netns``, default ``acdbench``) with only ``lo`` up, so its PBX, phone
   farm, ACD and embedded PostgreSQL get a loopback of their own, same port numbers, no clash;
2. copies the Asterisk root (``cp -a``, with its build marker, so pbx.sh sees it as fresh and does not
   rebuild) to ``--root`` (default /var/cache/acd/asterisk-root-bench), dropping the copy's astdb, and
   uses the state dir ``--state-dir`` (default /var/lib/acd-bench, secrets in its secrets.env);
3. runs itself again inside the namespace (``ip netns exec``), where it runs ``pbx.sh build`` (a no-op on
   the fresh copy; a debootstrap into the bench root only if there was no root to copy), ``pbx.sh
   install``, adds the benchmark-only configuration below to the copy, ``pbx.sh start all``, starts
   ``python -m acd run`` with its own embedded PostgreSQL under the state dir, and measures;
4. always cleans up, also after a failure, a timeout (``--time-limit``) or Ctrl-C: the ACD (SIGTERM; its
   PostgreSQL stopped with pg_ctl if it is left), ``pbx.sh stop all`` for the bench root, any process still
   in the namespace (only this benchmark's processes live there), the namespace, the root copy and the
   state dir (``--keep`` keeps the last two: the next run reuses the copy and saves ~4 s).

A lock file (/run/lock/<state dir name>.lock) keeps two runs apart.

Benchmark-only configuration, written into the root copy only (nothing in the repository changes):

- ``queues.conf``: queue ``bench``, members PJSIP/agent11..agent14 (static), ``strategy=rrmemory``,
  ``ringinuse=no``, ``wrapuptime=0``, ``memberdelay=0``, ``autofill=yes`` (also in [general]),
  ``timeout=15``, ``retry=5`` (the default, written out), no announcements, ``joinempty=yes``,
  ``leavewhenempty=no``, ``persistentmembers=no``; every other option at app_queue's default. Two
  defaults matter here: a waiting caller re-checks whether it is its turn only once a second
  (``RECHECK`` in app_queue.c), and after a round that rang nobody it waits ``retry`` s.
- ``modules.conf``: ``load => app_queue.so`` (the PBX's explicit module list lacks it).
- ``acd-bench.conf``, #included by ``extensions.conf``, adds to ``acd-inbound`` (the trunk's context):
  ``900`` = ``Answer(), Queue(bench)`` (app_queue) and ``901`` = ``Gosub(acd-enqueue,s,1(bench,5))``
  (the ACD's contract, docs/dialplan.md, exactly like the product's numbers 200..400).
- ``manager.conf``: a read-only AMI user ``bench`` (read=call,user,agent,dialplan; write none; random
  secret per run): the benchmark's second listener on the PBX, for timestamps only. ``--no-breakdown``
  drops the dialplan class (no Newexten/VarSet to format for it): a control for the listener's own load.

The ACD runs with one queue ``bench`` (wrapup 0, ring timeout 15 s) whose agents are the same four
endpoints agent11..agent14; they log in over the HTTP API. Both systems run side by side all the time
(the ACD stays connected during the app_queue phases, so the PBX carries the same AMI load in all of
them); each phase sends callers to one system only: 900 or 901.

What is measured (Asterisk's own ``Timestamp`` header of AMI events; ``timestampevents=yes`` on both
Asterisks; both run on this host's clock):

- (a) an agent is idle: from the caller entering the queue - the PBX's ``UserEvent AcdEnqueue`` (ACD)
  or ``QueueCallerJoin`` (app_queue) - to the agent's phone receiving the INVITE: the farm's
  ``Newchannel`` for that agent (context farm-in, exten agentN, CallerIDNum = the caller's number).
  That is the earliest AMI signal of the INVITE's arrival (the channel is made while the INVITE is
  handled); the farm's ``FarmAgentRinging`` UserEvent comes ~0.5 ms later, after 11 dialplan steps, and
  its median offset is printed too. Load: at most 4 callers placed and not yet gone, so each finds at
  most 3 of the 4 agents busy (the phone answers after 0.05 s and talks 0.2 s; the caller spends 0.5 s
  in ``Answer()`` before it enters the queue, in both systems); a sample counts only if an agent was idle
  and no other caller was waiting when the caller entered the queue (``excluded`` counts the others).
- (b) callers are waiting: from an agent's previous call ending - the farm's ``FarmAgentHangup``
  (raised by the phone's hangup handler, just before its BYE leaves) - to the same agent's phone
  receiving the next INVITE (farm ``Newchannel`` as above). Load: 8 callers kept waiting for the 4
  agents (answer after 0.2 s, talk 1 s); a sample counts only if some caller was waiting at that
  moment.

Each figure is p50 and p99 over ``--calls`` samples (default 200) per system, after ``--warmup``
samples (default 10) are dropped. Targets printed against: (a) ACD p50 within 2 ms of app_queue's
p50; (b) ACD p50 below 50 ms. Then, to show where the time goes, each path split at the PBX events
between the two ends: AMI ``VarSet`` of the ACD's ``Setvar``s (ACD_RING_TIMEOUT only when an offer
sets it), ``Newexten`` of acd-connect,1 (the ``Redirect`` landed) and of its ``Dial``,
``AcdDialResult`` (the ACD learns that a call ended), app_queue's ``QueueMemberStatus``, and the
PBX's ``Newchannel`` of the outgoing agent leg (``DialBegin`` is no use here: it is published after
the INVITE may already have arrived). Also: the slowest samples (above 5x p50) with those events, and
the round trip of an AMI ``Ping`` from this process, the price of one sequential ACD action.

Caveats: the machine's CPUs are shared with whatever else runs (other engineers' e2e tests, for one),
so single figures move between runs; the comparison within one run is the point. An AMI event's
Timestamp is taken when Asterisk's manager formats it, a fraction of a millisecond after the fact,
and equally so for both systems.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import fcntl
import itertools
import json
import math
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acd.records.embedded import EmbeddedPostgres
from acd.records.errors import EmbeddedPostgresError
from phonefarm import AmiClient, AmiError, AmiEvent, Farm

REPO = Path(__file__).resolve().parents[1]
PBX_SH = REPO / "deploy" / "asterisk" / "pbx.sh"
SOURCE_ROOT = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root"))
BENCH_ROOT = Path("/var/cache/acd/asterisk-root-bench")
BENCH_STATE = Path("/var/lib/acd-bench")
NETNS = "acdbench"

AGENTS = ("agent11", "agent12", "agent13", "agent14")
APP_QUEUE_DID = "900"
ACD_DID = "901"
FARM_AGENTS = "20"  # what pbx.sh install registers (its default); agents 11..14 are ours
IDLE_IN_SYSTEM = 4  # (a): callers placed and not yet gone; each sees at most 3 others, so an agent is idle
WAITING = 8  # (b): callers kept waiting for the 4 agents
TARGET_IDLE_MS = 2.0  # (a): ACD p50 at most this much above app_queue's p50
TARGET_WAITING_MS = 50.0  # (b): ACD p50 below this
REFERENCE = ("measured before on this machine: app_queue p50 ~5 ms (a), ~800 ms (b); "
             "a bare AMI controller ~6.5 ms, ~11 ms")

AGENT_CHANNEL = re.compile(r"^PJSIP/(agent[0-9]+)-")
AGENT_NAME = re.compile(r"^agent[0-9]+$")
ACTIVE_CHANNELS = re.compile(r"^([0-9]+) active channels?$", re.MULTILINE)
INF = math.inf
OURS = ".acd-bench"  # marker file in the root copy and the state dir: only such folders are ever deleted


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} bench: {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# ================================================================= the isolated stack (outside)


@dataclass(frozen=True)
class Paths:
    root: Path
    state: Path
    netns: str | None  # None: run in the current network namespace

    @property
    def secrets(self) -> Path:
        return self.state / "secrets.env"

    def env(self) -> dict[str, str]:
        return {**os.environ, "ACD_ASTERISK_ROOT": str(self.root), "ACD_STATE_DIR": str(self.state),
                "ACD_SECRETS_FILE": str(self.secrets), "ACD_FARM_AGENTS": FARM_AGENTS}

    def in_netns(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv


def pbx_sh(paths: Paths, *args: str, within: float = 300) -> str:
    """Run deploy/asterisk/pbx.sh for the bench root (in the namespace); its output, or RuntimeError."""
    done = subprocess.run(paths.in_netns(["bash", str(PBX_SH), *args]), env=paths.env(), capture_output=True,
                          text=True, timeout=within, check=False)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise RuntimeError(f"pbx.sh {' '.join(args)} failed (rc {done.returncode}):\n{output}")
    return output


def netns_exists(name: str) -> bool:
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10, check=False)
    return any(line.split()[0] == name for line in done.stdout.splitlines() if line.strip())


def netns_pids(name: str) -> list[int]:
    done = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10, check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def stop_stack(paths: Paths) -> None:
    """Stop everything this benchmark may have left: ACD's PostgreSQL, both Asterisks, the namespace."""
    pg = paths.state / "acd" / "pg"
    if ours(paths.state) and (pg / "pgdata" / "postmaster.pid").exists():
        with contextlib.suppress(EmbeddedPostgresError, OSError):
            EmbeddedPostgres(pg).stop()
    if ours(paths.root) and (paths.root / "etc" / "asterisk").is_dir():
        try:
            pbx_sh(paths if paths.netns and netns_exists(paths.netns) else Paths(paths.root, paths.state, None),
                   "stop", "all", within=120)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log(f"cleanup: {exc}")
    if paths.netns and netns_exists(paths.netns):
        pids = netns_pids(paths.netns)  # only this benchmark's processes live in its namespace
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while (pids := netns_pids(paths.netns)) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not pids:
                break
            log(f"cleanup: {'killing' if sig == signal.SIGTERM else 'still alive'}: pids {pids} in {paths.netns}")
        subprocess.run(["ip", "netns", "del", paths.netns], timeout=10, check=False)


def mounted_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def ours(folder: Path) -> bool:
    """A folder this benchmark made (and may delete): it holds the OURS marker."""
    return (folder / OURS).is_file()


def remove(folder: Path) -> None:
    if folder.exists():
        if not ours(folder):
            raise RuntimeError(f"{folder} exists and was not made by this benchmark (no {OURS} in it): not deleting")
        shutil.rmtree(folder)


def prepare_root(paths: Paths, source: Path) -> None:
    """The bench root: a copy of the cached root (mtimes kept), reused only if it is a copy of the same build."""
    marker = source / ".acd-root-built"
    mine = paths.root / ".acd-root-built"
    if ours(paths.root) and marker.exists() and mine.exists() and mine.read_text() == marker.read_text():
        log(f"reusing the root copy {paths.root}")
        return
    if paths.root.exists():
        log(f"removing an old root copy {paths.root}")
        remove(paths.root)
    if not marker.exists():
        log(f"no built root at {source}: pbx.sh build will debootstrap into {paths.root} (a few minutes)")
        paths.root.mkdir(parents=True)
        (paths.root / OURS).touch()
        return
    began = time.monotonic()
    tmp = paths.root.with_name(paths.root.name + ".tmp")
    remove(tmp)
    subprocess.run(["cp", "-a", str(source), str(tmp)], check=True, timeout=300)
    (tmp / OURS).touch()
    for db in ("var/lib/asterisk/astdb.sqlite3", "var/lib/asterisk-farm/astdb.sqlite3"):
        (tmp / db).unlink(missing_ok=True)  # the running stack's contacts and state: not ours
    tmp.rename(paths.root)
    log(f"copied {source} to {paths.root} in {time.monotonic() - began:.1f} s")


def run_isolated(args: argparse.Namespace) -> int:
    """Outside: namespace, root copy, state dir; run the measurement inside; always clean up."""
    if os.geteuid() != 0:
        print("bench_vs_app_queue: SKIPPED: needs root (network namespace, chrooted Asterisk); "
              "run: sudo .venv/bin/python bench/bench_vs_app_queue.py", file=sys.stderr)
        return 0
    root, state, source = args.root.absolute(), args.state_dir.absolute(), args.source_root.resolve()
    if root.resolve() == source or root == SOURCE_ROOT or state in (Path("/var/lib/acd"), Path("/")):
        print(f"refusing to use {root} / {state}: those belong to the shared stack", file=sys.stderr)
        return 2
    paths = Paths(root, state, None if args.no_netns else args.netns)
    state.parent.mkdir(parents=True, exist_ok=True)
    lock_dir = Path("/run/lock") if Path("/run/lock").is_dir() else state.parent
    with open(lock_dir / f"{state.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"another run of this benchmark holds {lock.name}", file=sys.stderr)
            return 1
        for folder in (root, state):
            if folder.exists() and not ours(folder):
                print(f"{folder} exists and was not made by this benchmark (no {OURS} in it): choose "
                      "another --root / --state-dir", file=sys.stderr)
                return 2
        began = time.monotonic()
        inner: subprocess.Popen[bytes] | None = None

        def terminated(_signum: int, _frame: object) -> None:
            raise KeyboardInterrupt  # SIGTERM (a CI timeout, kill): clean up as for Ctrl-C

        signal.signal(signal.SIGTERM, terminated)
        try:
            if paths.netns and netns_exists(paths.netns):
                log(f"a namespace {paths.netns} is left from an earlier run: cleaning it up")
            stop_stack(paths)  # leftovers of a crashed earlier run (we hold the lock: nobody else's)
            remove(state)
            state.mkdir(parents=True)
            (state / OURS).touch()
            prepare_root(paths, source)
            if paths.netns:
                subprocess.run(["ip", "netns", "add", paths.netns], check=True, timeout=10)
                subprocess.run(paths.in_netns(["ip", "link", "set", "lo", "up"]), check=True, timeout=10)
            argv = [sys.executable, str(Path(__file__).resolve()), "--inside", "--root", str(root),
                    "--state-dir", str(state), "--calls", str(args.calls), "--warmup", str(args.warmup),
                    "--time-limit", str(args.time_limit)]
            argv += ["--acd-command", args.acd_command] if args.acd_command else []
            argv += ["--json", str(args.json.absolute())] if args.json else []
            argv += ["--only", args.only] if args.only else []
            argv += ["--no-breakdown"] if args.no_breakdown else []
            inner = subprocess.Popen(paths.in_netns(argv), env=paths.env(), start_new_session=True)
            try:
                return inner.wait(timeout=args.time_limit + 120)
            except subprocess.TimeoutExpired:
                log(f"the measurement did not end within {args.time_limit + 120:.0f} s: stopping it")
                return 1
        except KeyboardInterrupt:
            log("interrupted: cleaning up")
            return 130
        finally:
            if inner is not None and inner.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(inner.pid, signal.SIGTERM)
                try:
                    inner.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(inner.pid, signal.SIGKILL)
                    inner.wait()
            stop_stack(paths)
            if not args.keep:
                if mounted_under(root):
                    log(f"cleanup: something is mounted under {root}; leaving it")
                elif ours(root):
                    remove(root)
                if ours(state):
                    remove(state)
            left = f", kept {root} and {state}" if args.keep else ""
            log(f"cleaned up{left} (run took {time.monotonic() - began:.0f} s)")


# ================================================================= the stack (inside the namespace)

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
[acd-inbound]
exten => {APP_QUEUE_DID},1,Answer()
 same => n,Queue(bench)
 same => n,Hangup()
exten => {ACD_DID},1,Gosub(acd-enqueue,s,1(bench,5))
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

APP_QUEUE_SETTINGS = ("strategy=rrmemory ringinuse=no wrapuptime=0 memberdelay=0 autofill=yes timeout=15 retry=5 "
                      "(default), no announcements; members PJSIP/agent11..14 (static); other options default")


def install_bench_config(root: Path, breakdown: bool = True) -> str:
    """Add the app_queue queue, numbers 900/901, app_queue.so and the listener user; returns its secret.

    Without ``breakdown`` the listener does not read the dialplan class (Newexten, VarSet): no split of
    the paths, and no extra manager events for the PBX to format (the ACD's path has more dialplan steps).
    """
    etc = root / "etc" / "asterisk"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ACD_CONFIG = """\
# written by bench/bench_vs_app_queue.py
skills = ["bench"]

[ami]
port = 5038
user = "acd"

[http]
port = {http_port}

[database]
data_dir = "{workdir}/pg"
journal_dir = "{workdir}/journal"

[routing]
ring_timeout = 15

[queues.bench]
skills = {{ bench = 1 }}
sla_threshold = 20
max_wait = 600
wrapup = 0
"""


class AcdService:
    """``python -m acd run`` with its own embedded PostgreSQL; agents agent11..14 in queue ``bench``."""

    def __init__(self, workdir: Path, ami_secret: str, command: Sequence[str]) -> None:
        self.workdir = workdir
        self.acd = list(command)
        self.command = [*command, "run", "-c"]
        self._token: str | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.base = f"http://127.0.0.1:{free_port()}"
        text = ACD_CONFIG.format(http_port=self.base.rsplit(":", 1)[1], workdir=workdir)
        for agent in AGENTS:
            text += f'\n[agents.{agent}]\nendpoint = "{agent}"\nskills = {{ bench = 1 }}\n'
        self.config = workdir / "acd.toml"
        self.config.write_text(text)
        self.log = workdir / "acd.log"
        self.env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.env["ACD_AMI_SECRET"] = ami_secret
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 90.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*self.command, str(self.config)], stdout=out,
                                         stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir,
                                         start_new_session=True)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"acd exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError, ValueError):
                if self.get("/healthz").get("ami_connected"):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"acd not healthy within {within:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(EmbeddedPostgresError, OSError):
            EmbeddedPostgres(self.workdir / "pg").stop()  # normally stopped by the ACD already

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def token(self) -> str:
        """An admin's token for /api/v1, made once with ``acd tokens add`` against the ACD's PostgreSQL."""
        if self._token is None:
            pg = self.workdir / "pg"
            url = (f"postgresql+asyncpg://postgres:{(pg / 'password').read_text().strip()}"
                   f"@127.0.0.1:{(pg / 'port').read_text().strip()}/acd")
            made = subprocess.run([*self.acd, "tokens", "add", "--role", "admin", "--label", "bench",
                                   "--database-url", url], capture_output=True, text=True, env=self.env,
                                  cwd=self.workdir, timeout=60, check=True)
            self._token = made.stdout.strip()
        return self._token

    def get(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token()}"} if path.startswith("/api/") else {}
        with urllib.request.urlopen(urllib.request.Request(self.base + path, headers=headers), timeout=3) as response:
            return json.loads(response.read())

    def post(self, path: str) -> None:
        request = urllib.request.Request(self.base + path, data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {self.token()}"})
        with urllib.request.urlopen(request, timeout=3) as response:
            response.read()

    def ensure_ready(self, within: float = 20.0) -> None:
        """Every bench agent logged in (resumed if something paused it), ready and reachable."""
        deadline = time.monotonic() + within
        states: dict[str, Any] = {}
        while time.monotonic() < deadline:
            states = {a["id"]: a for a in self.get("/api/v1/status")["agents"]}
            for agent in AGENTS:
                state = states[agent]["state"]
                if state == "logged_out":
                    self.post(f"/api/v1/agents/{agent}/login")
                elif state == "paused":
                    self.post(f"/api/v1/agents/{agent}/resume")
            if all(states[a]["state"] == "ready" and states[a]["reachable"] for a in AGENTS):
                return
            time.sleep(0.2)
        raise RuntimeError(f"ACD agents not ready within {within:.0f} s: {states}")


# ================================================================= what the two Asterisks report


@dataclass(frozen=True)
class Leg:
    """An agent's phone and the caller it was offered (a farm INVITE, or the farm agent's hangup)."""

    ts: float
    agent: str
    number: str


@dataclass
class Recorder:
    """Timestamps of the events that matter, from the PBX (listener ``bench``) and the farm."""

    join: dict[str, float] = field(default_factory=dict)  # caller number -> entered the queue
    channel: dict[str, str] = field(default_factory=dict)  # caller number -> the caller's PBX channel
    invites: list[Leg] = field(default_factory=list)  # farm Newchannel of an agent's phone
    first_invite: dict[str, Leg] = field(default_factory=dict)
    ringing: dict[str, float] = field(default_factory=dict)  # FarmAgentRinging, by caller
    agent_hangups: list[Leg] = field(default_factory=list)  # FarmAgentHangup
    caller_gone: dict[str, float] = field(default_factory=dict)  # FarmCallerHangup
    failed_originates: set[str] = field(default_factory=set)  # farm call ids
    marks: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    untimed: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def mark(self, what: str, key: str, ts: float) -> None:
        bisect.insort(self.marks[(what, key)], ts)

    def first_mark(self, what: str, key: str, after: float, until: float = INF) -> float | None:
        times = self.marks.get((what, key), [])
        i = bisect.bisect_left(times, after)
        return times[i] if i < len(times) and times[i] <= until else None

    def _timestamp(self, event: AmiEvent) -> float | None:
        try:
            return float(event["Timestamp"])
        except (KeyError, ValueError):
            self.untimed += 1
            return None

    def on_pbx(self, event: AmiEvent) -> None:
        kind = event.get("Event", "")
        if kind not in ("UserEvent", "QueueCallerJoin", "VarSet", "Newexten", "Newchannel", "Hangup",
                        "QueueMemberStatus"):
            return
        ts = self._timestamp(event)
        if ts is None:
            return
        number = event.get("CallerIDNum", "")
        if kind == "UserEvent":
            name = event.get("UserEvent")
            if name == "AcdEnqueue":
                self.join.setdefault(event.get("AcdCaller", number), ts)
                self.channel.setdefault(event.get("AcdCaller", number), event.get("Channel", ""))
            elif name == "AcdDialResult":
                self.mark("dial_result", number, ts)
        elif kind == "QueueCallerJoin":
            self.join.setdefault(number, ts)
            self.channel.setdefault(number, event.get("Channel", ""))
        elif kind == "VarSet" and event.get("Channel", "none") != "none":
            if event.get("Variable") == "ACD_OFFER" and event.get("Value"):
                self.mark("setvar_offer", number, ts)
            elif event.get("Variable") == "ACD_RING_TIMEOUT":
                self.mark("setvar_ring_timeout", number, ts)
        elif kind == "Newexten" and event.get("Context") == "acd-connect":
            if event.get("Priority") == "1":
                self.mark("acd_connect", number, ts)
            elif event.get("Application") == "Dial":
                self.mark("dial_app", number, ts)
        elif kind == "Newchannel" and (m := AGENT_CHANNEL.match(event.get("Channel", ""))):
            self.mark("pbx_agent_channel", m.group(1), ts)  # the outgoing leg is made; its INVITE follows
        elif kind == "Hangup" and (m := AGENT_CHANNEL.match(event.get("Channel", ""))):
            self.mark("pbx_agent_hangup", m.group(1), ts)
        elif kind == "QueueMemberStatus" and event.get("Status") == "1":  # AST_DEVICE_NOT_INUSE
            self.mark("member_free", event.get("Interface", "").removeprefix("PJSIP/"), ts)

    def on_farm(self, event: AmiEvent) -> None:
        kind = event.get("Event", "")
        name = event.get("UserEvent", "")
        if name == "FarmOriginate":  # synthetic, from phonefarm: no Timestamp
            if event.get("FarmResponse") != "Success":
                self.failed_originates.add(event.get("FarmCallId", ""))
            self.changed.set()
            return
        is_invite = kind == "Newchannel" and event.get("Context") == "farm-in" and AGENT_NAME.match(
            event.get("Exten", ""))
        if not is_invite and name not in ("FarmAgentRinging", "FarmAgentHangup", "FarmCallerHangup"):
            return
        ts = self._timestamp(event)
        if ts is None:
            return
        if is_invite:
            leg = Leg(ts, event.get("Exten", ""), event.get("CallerIDNum", ""))
            self.invites.append(leg)
            self.first_invite.setdefault(leg.number, leg)
        elif name == "FarmAgentRinging":
            self.ringing.setdefault(event.get("FarmCaller", ""), ts)
        elif name == "FarmAgentHangup":
            self.agent_hangups.append(Leg(ts, event.get("FarmAgent", ""), event.get("FarmCaller", "")))
        else:
            self.caller_gone.setdefault(event.get("FarmCaller", ""), ts)
        self.changed.set()

    def invite_ts(self, number: str) -> float:
        leg = self.first_invite.get(number)
        return leg.ts if leg else INF

    def waiting_at(self, numbers: Sequence[str], at: float, but: str = "") -> int:
        """Callers in the queue at ``at``: entered, not yet offered to a phone, not gone."""
        return sum(1 for m in numbers if m != but and self.join.get(m, INF) < at
                   and self.invite_ts(m) > at and self.caller_gone.get(m, INF) > at)


# ================================================================= load


@dataclass
class Phase:
    system: str  # "app_queue" | "acd"
    metric: str  # "idle" | "waiting"
    did: str
    prefix: str  # caller numbers of this phase start with it
    numbers: list[str] = field(default_factory=list)
    call_ids: dict[str, str] = field(default_factory=dict)  # farm call id -> number
    stopped_at: float = INF  # wall clock when the load stopped (farm hangs everyone up)
    samples: list[Sample] = field(default_factory=list)
    excluded: int = 0
    breakdown: list[tuple[str, list[float]]] = field(default_factory=list)
    outliers: list[tuple[Sample, list[tuple[str, float | None]]]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "(a) agent idle" if self.metric == "idle" else "(b) callers waiting"


@dataclass(frozen=True)
class Sample:
    start: float
    end: float
    agent: str
    number: str  # the caller whose INVITE ends the sample
    previous: str = ""  # (b): the caller whose call ended at ``start``

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000.0


class Load:
    def __init__(self, farm: Farm, rec: Recorder) -> None:
        self.farm = farm
        self.rec = rec
        self.seq = 0

    async def place(self, phase: Phase) -> str:
        self.seq += 1
        number = f"{phase.prefix}{self.seq:06d}"
        call_id = await self.farm.place_call(phase.did, patience_seconds=300, caller_id=number)
        phase.numbers.append(number)
        phase.call_ids[call_id] = number
        return number

    def done(self, phase: Phase, number: str) -> bool:
        failed = {phase.call_ids[c] for c in self.rec.failed_originates if c in phase.call_ids}
        return number in self.rec.caller_gone or number in failed

    async def settle(self, deadline: float) -> None:
        self.rec.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.rec.changed.wait(), max(0.01, min(0.5, deadline - time.monotonic())))

    async def set_agents(self, delay: float, talk: float) -> None:
        for agent in AGENTS:
            await self.farm.set_agent(agent, "answer", delay=delay, talk=talk)

    async def run_idle(self, phase: Phase, calls: int, warmup: int, deadline: float) -> None:
        """(a): at most IDLE_IN_SYSTEM callers at once, until ``calls`` samples qualify (an agent idle)."""
        await self.set_agents(delay=0.05, talk=0.2)
        live: list[str] = []
        target = calls + warmup + 5
        while time.monotonic() < deadline:
            live = [n for n in live if not self.done(phase, n)]
            if len(phase.numbers) < target and len(live) < IDLE_IN_SYSTEM:
                live.append(await self.place(phase))
                await asyncio.sleep(random.uniform(0.0, 0.05))  # no lock-step with the PBX's timers
            elif len(phase.numbers) >= target and not live:
                await asyncio.sleep(0.3)  # the listeners' last events
                found = len(idle_samples(self.rec, phase, warmup)[0])
                if found >= calls:
                    break
                target += calls - found + 5
            else:
                await self.settle(deadline)
        phase.stopped_at = time.time()

    async def run_waiting(self, phase: Phase, gaps: int, deadline: float) -> None:
        """(b): keep WAITING callers queued for the 4 agents until ``gaps`` agent turn-arounds were seen."""
        await self.set_agents(delay=0.2, talk=1.0)
        while time.monotonic() < deadline:
            mine = set(phase.numbers)
            invites = [leg for leg in self.rec.invites if leg.number in mine]
            if len(invites) - len({leg.agent for leg in invites}) >= gaps:
                break
            queued = [n for n in phase.numbers if n not in self.rec.first_invite and not self.done(phase, n)]
            for _ in range(WAITING - len(queued)):
                await self.place(phase)
            await self.settle(deadline)
        phase.stopped_at = time.time()


# ================================================================= analysis


def idle_samples(rec: Recorder, phase: Phase, warmup: int) -> tuple[list[Sample], int]:
    """(a) samples after the warm-up: callers who entered while an agent was idle and nobody waited.
    Returns them and how many callers did not qualify (or never entered, or were never offered)."""
    numbers = phase.numbers
    mine = set(numbers)
    ends = {(h.agent, h.number): h.ts for h in rec.agent_hangups if h.number in mine}
    busy = [(leg.ts, ends.get((leg.agent, leg.number), INF), leg.agent) for leg in rec.invites if leg.number in mine]
    samples: list[Sample] = []
    excluded = 0
    for number in numbers[warmup:]:
        joined, invite = rec.join.get(number), rec.first_invite.get(number)
        if joined is None or invite is None or joined > phase.stopped_at:
            excluded += 1
            continue
        agents_busy = {agent for start, end, agent in busy if start <= joined <= end + 0.05}
        if len(agents_busy) >= len(AGENTS) or rec.waiting_at(numbers, joined, but=number):
            excluded += 1
            continue
        samples.append(Sample(joined, invite.ts, invite.agent, number))
    return samples, excluded


def waiting_samples(rec: Recorder, phase: Phase, warmup: int) -> tuple[list[Sample], int]:
    """(b) samples after the warm-up: an agent's hangup while callers waited, to its next INVITE.
    Returns them and how many hangups did not qualify (nobody was waiting)."""
    mine = set(phase.numbers)
    by_agent: dict[str, list[Leg]] = defaultdict(list)
    for leg in sorted(rec.invites, key=lambda x: x.ts):
        if leg.number in mine:
            by_agent[leg.agent].append(leg)
    found: list[Sample] = []
    excluded = 0
    for hangup in sorted(rec.agent_hangups, key=lambda x: x.ts):
        if hangup.number not in mine or hangup.ts >= phase.stopped_at:
            continue
        following = [leg for leg in by_agent[hangup.agent] if leg.ts > hangup.ts]
        if not following:
            continue
        if not rec.waiting_at(phase.numbers, hangup.ts):
            excluded += 1
            continue
        found.append(Sample(hangup.ts, following[0].ts, hangup.agent, following[0].number, hangup.number))
    return found[warmup:], excluded


def checkpoints(rec: Recorder, phase: Phase, sample: Sample) -> list[tuple[str, float | None]]:
    """The PBX events between a sample's two ends, in path order (each the first after the one before)."""
    points: list[tuple[str, float | None]] = []
    at: float | None = sample.start

    def step(name: str, what: str, key: str, optional: bool = False) -> None:
        nonlocal at
        found = None if at is None else rec.first_mark(what, key, at, sample.end)
        if found is None and optional:
            return  # a step the ACD leaves out when it can (the channel's own ring timeout)
        at = found
        points.append((name, at))

    if phase.metric == "idle":
        points.append(("AcdEnqueue" if phase.system == "acd" else "QueueCallerJoin", sample.start))
    else:
        points.append(("FarmAgentHangup", sample.start))
        if phase.system == "acd":
            step("AcdDialResult (call ended, PBX)", "dial_result", sample.previous)
        else:
            step("Hangup of the agent leg (PBX)", "pbx_agent_hangup", sample.agent)
            step("QueueMemberStatus not in use", "member_free", sample.agent)
    if phase.system == "acd":
        step("Setvar ACD_OFFER applied", "setvar_offer", sample.number)
        step("Setvar ACD_RING_TIMEOUT applied", "setvar_ring_timeout", sample.number, optional=True)
        step("Redirect: acd-connect,1 runs", "acd_connect", sample.number)
        step("Dial() starts", "dial_app", sample.number)
    step("agent leg made (PBX Newchannel)", "pbx_agent_channel", sample.agent)
    points.append(("INVITE at the phone (farm)", sample.end if at is not None else None))
    return points


def break_down(rec: Recorder, phase: Phase) -> None:
    rows: dict[str, list[float]] = {}
    order: list[str] = []
    for sample in phase.samples:
        points = checkpoints(rec, phase, sample)
        if any(ts is None for _, ts in points):
            continue
        for (previous, before), (step, ts) in itertools.pairwise(points):
            assert before is not None and ts is not None
            name = f"{previous} -> {step}"
            if name not in rows:
                rows[name] = []
                order.append(name)
            rows[name].append((ts - before) * 1000.0)
    phase.breakdown = [(name, rows[name]) for name in order]


# ================================================================= the measurement (inside)


async def ami_rtt(client: AmiClient, count: int = 50) -> list[float]:
    """Round trips of an AMI Ping from this process, in ms: the price of one sequential ACD action."""
    out = []
    for _ in range(count):
        began = time.perf_counter()
        await client.action({"Action": "Ping"}, timeout=5)
        out.append((time.perf_counter() - began) * 1000.0)
        await asyncio.sleep(0.005)
    return out


async def quiesce(paths: Paths, farm: Farm, within: float = 30.0) -> None:
    """Hang up whatever is left on the farm; wait until neither Asterisk has a channel."""
    with contextlib.suppress(AmiError):
        await farm.hangup_all()
    deadline = time.monotonic() + within
    counts: list[str] = []
    while time.monotonic() < deadline:
        counts = []
        for inst in ("pbx", "farm"):
            shown = await asyncio.to_thread(pbx_sh, paths, "rx", inst, "core show channels count")
            found = ACTIVE_CHANNELS.search(shown)
            counts.append(f"{inst}: {found.group(1) if found else repr(shown)}")
        if counts == ["pbx: 0", "farm: 0"]:
            await asyncio.sleep(0.5)  # device states and the ACD catch up
            return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"channels still up after {within:.0f} s: {', '.join(counts)}")


@dataclass
class Results:
    phases: list[Phase]
    ami_rtt_ms: list[float]  # AMI Ping round trips from this process
    ringing_after_ms: list[float]  # FarmAgentRinging after the farm's Newchannel, per sample
    dump: dict[str, Any]  # every sample with its checkpoints, for --json


async def measure(paths: Paths, listener_secret: str, acd: AcdService, calls: int, warmup: int,
                  deadline: float, only: str | None = None) -> Results:
    stack_secrets = read_secrets(paths.secrets)
    rec = Recorder()
    pbx = AmiClient("127.0.0.1", 5038, "bench", listener_secret, name="pbx-listener", history=1000)
    farm = Farm("127.0.0.1", 5039, "farm", stack_secrets["ACD_FARM_AMI_SECRET"])
    await pbx.connect()
    await farm.connect()
    pbx.listen(rec.on_pbx)
    farm.ami.listen(rec.on_farm)
    load = Load(farm, rec)
    phases = [
        Phase("app_queue", "idle", APP_QUEUE_DID, "81"),
        Phase("acd", "idle", ACD_DID, "82"),
        Phase("app_queue", "waiting", APP_QUEUE_DID, "83"),
        Phase("acd", "waiting", ACD_DID, "84"),
    ]
    phases = [p for p in phases if only in (None, p.system)]
    # budget per phase, by how long each usually takes (app_queue's (b) turn-around is ~1 s)
    weights = {("app_queue", "idle"): 0.7, ("acd", "idle"): 0.7, ("app_queue", "waiting"): 1.6,
               ("acd", "waiting"): 1.0}
    try:
        rtt = await ami_rtt(pbx)
        for i, phase in enumerate(phases):
            await quiesce(paths, farm)
            if phase.system == "acd":
                await asyncio.to_thread(acd.ensure_ready)
            left = deadline - time.monotonic() - 20.0 * (len(phases) - i)
            share = weights[(phase.system, phase.metric)] / sum(
                weights[(p.system, p.metric)] for p in phases[i:])
            phase_deadline = time.monotonic() + max(30.0, left * share)
            log(f"{phase.system} {phase.label}: {calls} samples + {warmup} warm-up "
                f"(at most {phase_deadline - time.monotonic():.0f} s)")
            began = time.monotonic()
            if phase.metric == "idle":
                await load.run_idle(phase, calls, warmup, phase_deadline)
            else:
                await load.run_waiting(phase, calls + warmup + 5, phase_deadline)
            await quiesce(paths, farm)
            await asyncio.sleep(0.5)  # the listener's last events
            samples, phase.excluded = (idle_samples if phase.metric == "idle" else waiting_samples)(rec, phase, warmup)
            phase.samples = samples[:calls]
            break_down(rec, phase)
            slow = max(5 * percentile([x.ms for x in phase.samples], 50), 50.0)
            phase.outliers = [(x, checkpoints(rec, phase, x))
                              for x in sorted(phase.samples, key=lambda x: -x.ms)[:3] if x.ms > slow]
            ms = [s.ms for s in phase.samples]
            log(f"{phase.system} {phase.label}: {len(phase.numbers)} callers in {time.monotonic() - began:.0f} s, "
                f"n={len(ms)} p50={percentile(ms, 50):.1f} ms p99={percentile(ms, 99):.1f} ms "
                f"(excluded {phase.excluded})")
    finally:
        await farm.close()
        pbx.close()
    if rec.untimed:
        raise RuntimeError(f"{rec.untimed} events without a Timestamp header: is timestampevents=yes set?")
    offsets = [(rec.ringing[s.number] - s.end) * 1000.0 for p in phases for s in p.samples if s.number in rec.ringing]
    dump = {"ami_rtt_ms": rtt, "phases": [{
        "system": p.system, "metric": p.metric, "excluded": p.excluded, "callers": len(p.numbers),
        "samples": [{"number": s.number, "channel": rec.channel.get(s.number, ""), "agent": s.agent,
                     "previous": s.previous, "start": s.start, "end": s.end, "ms": s.ms,
                     "checkpoints": checkpoints(rec, p, s)} for s in p.samples],
    } for p in phases]}
    return Results(phases, rtt, offsets, dump)


def report(results: Results, calls: int) -> bool:
    phases, rtt, offsets = results.phases, results.ami_rtt_ms, results.ringing_after_ms
    by = {(p.system, p.metric): p for p in phases}
    print()
    print("ACD vs app_queue - same PBX (Asterisk 22), same phone farm, agents agent11..14, one run")
    print(f"app_queue: queue bench, {APP_QUEUE_SETTINGS}")
    print("ACD:       queue bench, wrapup 0, ring_timeout 15 s, agents logged in over HTTP, docs/dialplan.md contract")
    print("(a) from AcdEnqueue / QueueCallerJoin (PBX) to the farm's Newchannel of the agent's phone (INVITE in)")
    print("(b) from FarmAgentHangup (previous call ends) to the same phone's next INVITE, 8 callers waiting")
    print()
    print(f"{'system':<10} {'metric':<20} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'excluded':>9}")
    for p in phases:
        ms = [s.ms for s in p.samples]
        print(f"{p.system:<10} {p.label:<20} {len(ms):>5} {percentile(ms, 50):>9.2f} {percentile(ms, 99):>9.2f} "
              f"{p.excluded:>9}")

    def figures(system: str, metric: str) -> list[float]:
        return [s.ms for s in by[(system, metric)].samples] if (system, metric) in by else []

    if len({p.system for p in phases}) == 2:
        print()
        print("ratios ACD / app_queue:")
        for metric in ("idle", "waiting"):
            a, q = figures("acd", metric), figures("app_queue", metric)
            print(f"  {by[('acd', metric)].label:<20} p50 {percentile(a, 50) / percentile(q, 50):6.2f}x   "
                  f"p99 {percentile(a, 99) / percentile(q, 99):6.2f}x")
    print()
    print("targets:")
    if len({p.system for p in phases}) == 2:
        gap = percentile(figures("acd", "idle"), 50) - percentile(figures("app_queue", "idle"), 50)
        print(f"  (a) ACD p50 within {TARGET_IDLE_MS:g} ms of app_queue's: {gap:+.2f} ms -> "
              f"{'MET' if gap <= TARGET_IDLE_MS else 'MISSED'}")
    if ("acd", "waiting") in by:
        p50, p99 = percentile(figures("acd", "waiting"), 50), percentile(figures("acd", "waiting"), 99)
        print(f"  (b) ACD p50 below {TARGET_WAITING_MS:g} ms: {p50:.2f} ms -> "
              f"{'MET' if p50 < TARGET_WAITING_MS else 'MISSED'} (p99 {p99:.2f} ms)")
    print(f"  reference, {REFERENCE}")
    print()
    print("where the time goes: PBX events on the way, p50 / p99 ms of each step, over the samples that have them all")
    for p in phases:
        if not p.breakdown:
            print(f"  {p.system} {p.label}: no sample has all of its events (the dialplan class needs the breakdown)")
            continue
        print(f"  {p.system} {p.label} (n={len(p.breakdown[0][1])}):")
        for name, values in p.breakdown:
            print(f"    {name:<62} {percentile(values, 50):8.2f} {percentile(values, 99):8.2f}")
    outliers = [(p, sample, points) for p in phases for sample, points in p.outliers]
    if outliers:
        print()
        print("slowest samples above 5x their p50 (and 50 ms), with the PBX events on the way (ms after the start):")
        for p, sample, points in outliers:
            steps = ", ".join(f"{name} {'-' if ts is None else f'{(ts - sample.start) * 1000:.1f}'}"
                              for name, ts in points[1:])
            print(f"  {p.system} {p.label}: {sample.ms:.1f} ms, caller {sample.number} -> {sample.agent}: {steps}")
    print()
    print(f"AMI Ping round trip from a Python client (panoramisk), n={len(rtt)}: p50 {percentile(rtt, 50):.2f} ms, "
          f"p99 {percentile(rtt, 99):.2f} ms (each sequential ACD action costs about one)")
    print(f"farm: FarmAgentRinging comes {percentile(offsets, 50):.2f} ms (p50) after the Newchannel used as "
          f"'INVITE received'")
    complete = all(len(p.samples) >= calls for p in phases)
    if not complete:
        print(f"INCOMPLETE: fewer than {calls} samples in some phase (time limit, or callers excluded)")
    return complete


def run_inside(args: argparse.Namespace) -> int:
    """Inside the namespace: bring the stack up, measure, print, and stop what was started."""
    began = time.monotonic()
    deadline = began + args.time_limit - 40.0  # leave time for the orderly stop
    paths = Paths(args.root.absolute(), args.state_dir.absolute(), None)

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    acd: AcdService | None = None
    try:
        log("pbx.sh build / install (bench root)")
        pbx_sh(paths, "build", within=900)
        (paths.root / OURS).touch()  # a debootstrap (no root to copy) replaced the folder
        pbx_sh(paths, "install")
        listener_secret = install_bench_config(paths.root, breakdown=not args.no_breakdown)
        log("pbx.sh start all (waits for the farm's agents to register, up to ~10 s)")
        pbx_sh(paths, "start", "all", within=180)
        shown = pbx_sh(paths, "rx", "pbx", "queue show bench")
        if sum(f"PJSIP/{a}" in shown for a in AGENTS) != len(AGENTS):
            raise RuntimeError(f"app_queue's queue bench is not as configured:\n{shown}")
        log("starting the ACD (embedded PostgreSQL, migrations)")
        acd = AcdService(paths.state / "acd", read_secrets(paths.secrets)["ACD_AMI_SECRET"],
                         shlex.split(args.acd_command) if args.acd_command else [sys.executable, "-m", "acd"])
        acd.start()
        acd.ensure_ready()
        results = asyncio.run(measure(paths, listener_secret, acd, args.calls, args.warmup, deadline, args.only))
        complete = report(results, args.calls)
        if args.json:
            args.json.write_text(json.dumps(results.dump, indent=1))
            log(f"samples written to {args.json}")
        log(f"measured in {time.monotonic() - began:.0f} s")
        return 0 if complete else 1
    except (RuntimeError, AmiError, OSError, subprocess.SubprocessError, urllib.error.URLError) as exc:
        log(f"FAILED: {type(exc).__name__}: {exc}")
        if acd is not None:
            log(f"ACD log tail:\n{acd.tail()}")
        return 1
    finally:
        if acd is not None:
            acd.stop()
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            pbx_sh(paths, "stop", "all", within=120)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--calls", type=int, default=200, help="samples per system and metric (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="samples dropped first in each phase (default 10)")
    parser.add_argument("--netns", default=NETNS, help=f"network namespace to create and delete (default {NETNS})")
    parser.add_argument("--no-netns", action="store_true",
                        help="run in the current network namespace (only where nothing else uses the PBX ports)")
    parser.add_argument("--source-root", type=Path, default=SOURCE_ROOT,
                        help=f"the built Asterisk root to copy, read-only (default {SOURCE_ROOT})")
    parser.add_argument("--root", type=Path, default=BENCH_ROOT, help=f"the root copy (default {BENCH_ROOT})")
    parser.add_argument("--state-dir", type=Path, default=BENCH_STATE, help=f"state dir (default {BENCH_STATE})")
    parser.add_argument("--keep", action="store_true", help="keep the root copy and the state dir afterwards")
    parser.add_argument("--time-limit", type=float, default=600.0,
                        help="seconds for the measurement, stack start included (default 600)")
    parser.add_argument("--acd-command", default="",
                        help="the command that runs the ACD, before 'run -c <config>' (default: this Python, -m acd); "
                             "e.g. another checkout's '/other/.venv/bin/python -m acd'")
    parser.add_argument("--only", choices=("acd", "app_queue"),
                        help="measure one system only (experiments; no ratios, no target for (a))")
    parser.add_argument("--no-breakdown", action="store_true",
                        help="listener without the dialplan class: end-to-end figures only (a control for its load)")
    parser.add_argument("--json", type=Path, help="also write every sample and its PBX events to this file")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.calls < 1 or args.warmup < 0:
        parser.error("--calls must be positive and --warmup not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_inside(args) if args.inside else run_isolated(args)


if __name__ == "__main__":
    sys.exit(main())
