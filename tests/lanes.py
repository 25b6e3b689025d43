"""Every test, in three lanes side by side: what ``make test`` runs.

Why: the end-to-end tests spend most of their time waiting on real calls (a phone ringing, a caller
talking, a wrap-up running out) with the CPUs idle, and they cannot share one PBX (each test wants the
agents, the heartbeat and an idle PBX to itself). So a second PBX and phone farm run in a network
namespace of their own (same ports on a loopback of their own), from a copy of the Asterisk root, with
a state folder of their own; lane B runs the e2e modules named in ``LANE_B`` there. Lane C runs what
needs no PBX of the lanes' own: the short soak (``tests/soak``, which isolates itself in a namespace of
its own, as the benchmarks do), then the PostgreSQL/Prometheus/browser integration tests
(``tests/integration``, every port a free one). Lane A runs every other test (unit, simulation, and
the other e2e modules) on the usual PBX. Every lane must pass, and every lane must have collected tests.

    python tests/lanes.py [pytest options, e.g. -x]

Lanes B and C write to ``build/lane-b.log`` and ``build/lane-c.log``, printed after lane A's output.
Lane B's namespace and everything in it are removed at the end, also after a failure or Ctrl-C; the
root copy is kept (``/var/cache/acd/asterisk-root-lane-b``) and refreshed when the root it copies is
rebuilt.
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
# Lane C: no PBX of the lanes' own (the soak makes its own), so it runs beside A and B in the host's namespace.
LANE_C = ("tests/soak", "tests/integration")
LOG_C = REPO / "build" / "lane-c.log"


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


def start_lane_c(options: list[str]) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-ra",
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(REPO / "build" / "lane-c-tmp"),
        *options,
        *(str(REPO / m) for m in LANE_C),
    ]
    with LOG_C.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)


def stop(lane: subprocess.Popen[bytes]) -> None:
    if lane.poll() is None:
        lane.send_signal(signal.SIGINT)  # pytest tears its fixtures down (the PBX stops) on SIGINT
        try:
            lane.wait(120)
        except subprocess.TimeoutExpired:
            lane.kill()


def verdict(lane: str, code: int) -> bool:
    if code == 5:
        say(f"lane {lane}: no tests were collected: failing")
    elif code != 0:
        say(f"lane {lane}: pytest exited with {code}")
    return code == 0


def main(options: list[str]) -> int:
    if os.geteuid() != 0:
        raise SystemExit("lanes: the e2e tests need root (chroot, network namespace)")
    missing = [m for m in LANE_B if not (E2E / m).is_file()] + [m for m in LANE_C if not (REPO / m).is_dir()]
    if missing:
        raise SystemExit(f"lanes: LANE_B or LANE_C names tests that do not exist: {missing}")
    prepare_root()
    lane_b = start_lane_b(options)
    say(f"lane B: {len(LANE_B)} e2e modules on a second PBX in namespace {NETNS}, output in {LOG_B}")
    lane_c = start_lane_c(options)
    say(f"lane C: {', '.join(LANE_C)}, output in {LOG_C}")
    ignored = [f"--ignore={E2E / m}" for m in LANE_B] + [f"--ignore={REPO / m}" for m in LANE_C]
    try:
        code_a = subprocess.run(
            [sys.executable, "-m", "pytest", "-ra", *ignored, *options, "tests"], cwd=REPO, check=False
        ).returncode
        code_b = lane_b.wait()
        code_c = lane_c.wait()
    finally:
        stop(lane_b)
        stop(lane_c)
        remove_netns()
    say("lane B's output:")
    sys.stdout.write(LOG_B.read_text(errors="replace"))
    say("lane C's output:")
    sys.stdout.write(LOG_C.read_text(errors="replace"))
    ok = [verdict("A", code_a), verdict("B", code_b), verdict("C", code_c)]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
