"""Every test, in two lanes side by side: what ``make test`` runs.

Why: the end-to-end tests spend most of their time waiting on real calls (a phone ringing, a caller
talking, a wrap-up running out) with the CPUs idle, and they cannot share one PBX (each test wants the
agents, the heartbeat and an idle PBX to itself). So a second PBX and phone farm run in a network
namespace of their own (same ports on a loopback of their own), from a copy of the Asterisk root, with
a state folder of their own; lane B runs the e2e modules named in ``LANE_B`` there, while lane A runs
every other test (unit, simulation, PostgreSQL, Prometheus, browser, and the other e2e modules) on the
usual PBX. Both lanes must pass, and both must have collected tests.

    python tests/lanes.py [pytest options, e.g. -x]

Lane B's output goes to ``build/lane-b.log`` and is printed after lane A's. The namespace and
everything in it are removed at the end, also after a failure or Ctrl-C; the root copy is kept
(``/var/cache/acd/asterisk-root-lane-b``) and refreshed when the root it copies is rebuilt.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
E2E = REPO / "tests" / "e2e"
# The e2e modules of lane B, about half of the e2e time (the rest runs in lane A with everything else).
LANE_B = (
    "test_acd_transfers.py",
    "test_acd_callbacks.py",
    "test_acd_monitor.py",
    "test_acd_presence.py",
    "test_acd_screens.py",
    "test_acd_customers.py",
    "test_dialplan_guards.py",
    "test_acd_standby.py",
)
SOURCE_ROOT = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root"))
ROOT_B = Path("/var/cache/acd/asterisk-root-lane-b")
STATE_B = Path("/var/lib/acd-lane-b")
NETNS = "acd-lane-b"
MARKER = ".acd-root-built"  # what pbx.sh build writes into a finished root
LOG_B = REPO / "build" / "lane-b.log"


def say(text: str) -> None:
    print(f"lanes: {text}", flush=True)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=check)


def netns_pids() -> list[int]:
    done = run("ip", "netns", "pids", NETNS, check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def remove_netns() -> None:
    """Stop whatever still runs in lane B's namespace (only lane B's processes live there), then drop it."""
    if NETNS not in run("ip", "netns", "list", check=False).stdout.split():
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in netns_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while netns_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
    run("ip", "netns", "del", NETNS, check=False)


def lane_b_env() -> dict[str, str]:
    return {
        **os.environ,
        "ACD_ASTERISK_ROOT": str(ROOT_B),
        "ACD_STATE_DIR": str(STATE_B),
        "ACD_SECRETS_FILE": str(STATE_B / "secrets.env"),
    }


def prepare_root() -> None:
    """Lane B's root: a copy of the built root (so pbx.sh sees it built), refreshed when that changes."""
    source = SOURCE_ROOT / MARKER
    if not source.is_file():
        raise SystemExit(f"lanes: no built Asterisk root at {SOURCE_ROOT}: run `make asterisk` first")
    mine = ROOT_B / MARKER
    if mine.is_file() and mine.read_text() == source.read_text():
        return
    began = time.monotonic()
    env = lane_b_env()
    if (ROOT_B / "etc" / "asterisk").is_dir():  # an old copy: nothing of it may still run or be mounted
        subprocess.run(["bash", str(REPO / "deploy/asterisk/pbx.sh"), "stop", "all"], env=env, timeout=120, check=False)
    tmp = ROOT_B.with_name(ROOT_B.name + ".tmp")
    for folder in (tmp, ROOT_B):
        if folder.exists():
            shutil.rmtree(folder)
    subprocess.run(["cp", "-a", str(SOURCE_ROOT), str(tmp)], check=True, timeout=600)
    for db in ("var/lib/asterisk/astdb.sqlite3", "var/lib/asterisk-farm/astdb.sqlite3"):
        (tmp / db).unlink(missing_ok=True)  # lane A's contacts and devices, not lane B's
    tmp.rename(ROOT_B)
    say(f"copied the Asterisk root for lane B in {time.monotonic() - began:.1f} s")


def start_lane_b(options: list[str]) -> subprocess.Popen[bytes]:
    remove_netns()  # left by a run that was killed
    run("ip", "netns", "add", NETNS)
    run("ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up")
    STATE_B.mkdir(parents=True, exist_ok=True)
    LOG_B.parent.mkdir(exist_ok=True)
    modules = [str(E2E / m) for m in LANE_B]
    argv = [
        *("ip", "netns", "exec", NETNS),
        sys.executable,
        "-m",
        "pytest",
        "-ra",
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(REPO / "build" / "lane-b-tmp"),
        *options,
        *modules,
    ]
    with LOG_B.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=lane_b_env())


def verdict(lane: str, code: int) -> bool:
    if code == 5:
        say(f"lane {lane}: no tests were collected: failing")
    elif code != 0:
        say(f"lane {lane}: pytest exited with {code}")
    return code == 0


def main(options: list[str]) -> int:
    if os.geteuid() != 0:
        raise SystemExit("lanes: the e2e tests need root (chroot, network namespace)")
    missing = [m for m in LANE_B if not (E2E / m).is_file()]
    if missing:
        raise SystemExit(f"lanes: LANE_B names modules that do not exist: {missing}")
    prepare_root()
    lane_b = start_lane_b(options)
    say(f"lane B: {len(LANE_B)} e2e modules on a second PBX in namespace {NETNS}, output in {LOG_B}")
    ignored = [f"--ignore={E2E / m}" for m in LANE_B]
    try:
        code_a = subprocess.run(
            [sys.executable, "-m", "pytest", "-ra", *ignored, *options, "tests"], cwd=REPO, check=False
        ).returncode
        code_b = lane_b.wait()
    finally:
        if lane_b.poll() is None:
            lane_b.send_signal(signal.SIGINT)  # pytest tears its fixtures down (the PBX stops) on SIGINT
            try:
                lane_b.wait(120)
            except subprocess.TimeoutExpired:
                lane_b.kill()
        remove_netns()
    say("lane B's output:")
    sys.stdout.write(LOG_B.read_text(errors="replace"))
    ok_a, ok_b = verdict("A", code_a), verdict("B", code_b)
    return 0 if ok_a and ok_b else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
