"""Every test, in three lanes side by side: what ``make test`` runs.

Why: the end-to-end tests spend most of their time waiting on real calls (a phone ringing, a caller
talking, a wrap-up running out) with the CPUs idle, and they cannot share one PBX (each test wants the
agents, the heartbeat and an idle PBX to itself). So lanes B and C each have a PBX and phone farm of
their own in a network namespace of their own (same ports on a loopback of their own), from a copy of
the Asterisk root, with a state folder of their own. Lane B runs the e2e modules named in ``LANE_B``;
lane C first runs, in the host's namespace, the short soak (``tests/soak``, which isolates itself in a
namespace of its own, as the benchmarks do) and the PostgreSQL/Prometheus/browser integration tests
(``tests/integration``, every port a free one), then the e2e modules named in ``LANE_C`` on its PBX. Lane A runs every other test (unit, simulation,
and the other e2e modules) on the usual PBX. Every lane must pass, and every lane must have collected
tests.

    python tests/lanes.py [pytest options, e.g. -x]

Lanes B and C write to ``build/lane-b.log`` and ``build/lane-c.log``, printed after lane A's output.
Their namespaces and everything in them are removed at the end, also after a failure or Ctrl-C; the
root copies are kept (``/var/cache/acd/asterisk-root-lane-b`` and ``-lane-c``) and refreshed when the
root they copy is rebuilt.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
E2E = REPO / "tests" / "e2e"
SOURCE_ROOT = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root"))
MARKER = ".acd-root-built"  # what pbx.sh build writes into a finished root


@dataclass(frozen=True)
class Lane:
    """A lane with a PBX of its own: a network namespace, a copy of the Asterisk root, a state folder."""

    name: str
    paths: tuple[str, ...]  # what it runs on its PBX: e2e module names (in tests/e2e) or folders of the repo
    first: tuple[str, ...] = ()  # what it runs before, in the host's namespace (no PBX: folders of the repo)

    @property
    def netns(self) -> str:
        return f"acd-lane-{self.name}"

    @property
    def root(self) -> Path:
        return Path(f"/var/cache/acd/asterisk-root-lane-{self.name}")

    @property
    def state(self) -> Path:
        return Path(f"/var/lib/acd-lane-{self.name}")

    @property
    def log(self) -> Path:
        return REPO / "build" / f"lane-{self.name}.log"

    def targets(self) -> list[Path]:
        return [E2E / p if p.endswith(".py") else REPO / p for p in (*self.first, *self.paths)]

    def commands(self, options: list[str]) -> list[tuple[list[str], dict[str, str] | None]]:
        """The pytest runs of the lane, in order, each with its environment (None: this one's)."""

        def pytest(tmp: str, paths: list[Path]) -> list[str]:
            return [
                *(sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider"),
                *("--basetemp", str(REPO / "build" / tmp)),
                *options,
                *(str(p) for p in paths),
            ]

        runs: list[tuple[list[str], dict[str, str] | None]] = []
        if self.first:
            runs.append((pytest(f"lane-{self.name}-host-tmp", [REPO / p for p in self.first]), None))
        on_pbx = [E2E / p if p.endswith(".py") else REPO / p for p in self.paths]
        runs.append(([*("ip", "netns", "exec", self.netns), *pytest(f"lane-{self.name}-tmp", on_pbx)], self.env()))
        return runs

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ACD_ASTERISK_ROOT": str(self.root),
            "ACD_STATE_DIR": str(self.state),
            "ACD_SECRETS_FILE": str(self.state / "secrets.env"),
        }


# About a third of the e2e time each in lanes B and C (the rest runs in lane A with everything else).
LANE_B = Lane(
    "b",
    (
        "test_acd_transfers.py",
        "test_acd_callbacks.py",
        "test_acd_monitor.py",
        "test_acd_presence.py",
        "test_acd_screens.py",
        "test_acd_customers.py",
        "test_dialplan_guards.py",
    ),
)
# Lane C: the short soak (which isolates itself in a namespace of its own) and the integration tests (every
# port a free one; the wheel's build reaches the package index) in the host's namespace, then the e2e
# modules of the standby pair and the restarts on a PBX of its own.
LANE_C = Lane(
    "c",
    ("test_acd_standby.py", "test_acd_standby_outages.py", "test_acd_restart_truth.py"),
    first=("tests/soak", "tests/integration"),
)
LANES = (LANE_B, LANE_C)


def say(text: str) -> None:
    print(f"lanes: {text}", flush=True)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=check)


def netns_pids(lane: Lane) -> list[int]:
    done = run("ip", "netns", "pids", lane.netns, check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def remove_netns(lane: Lane) -> None:
    """Stop whatever still runs in the lane's namespace (only its processes live there), then drop it."""
    if lane.netns not in run("ip", "netns", "list", check=False).stdout.split():
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in netns_pids(lane):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while netns_pids(lane) and time.monotonic() < deadline:
            time.sleep(0.2)
    run("ip", "netns", "del", lane.netns, check=False)


def prepare_root(lane: Lane) -> None:
    """The lane's root: a copy of the built root (so pbx.sh sees it built), refreshed when that changes."""
    source = SOURCE_ROOT / MARKER
    if not source.is_file():
        raise SystemExit(f"lanes: no built Asterisk root at {SOURCE_ROOT}: run `make asterisk` first")
    mine = lane.root / MARKER
    if mine.is_file() and mine.read_text() == source.read_text():
        return
    began = time.monotonic()
    if (lane.root / "etc" / "asterisk").is_dir():  # an old copy: nothing of it may still run or be mounted
        subprocess.run(
            ["bash", str(REPO / "deploy/asterisk/pbx.sh"), "stop", "all"], env=lane.env(), timeout=120, check=False
        )
    tmp = lane.root.with_name(lane.root.name + ".tmp")
    for folder in (tmp, lane.root):
        if folder.exists():
            shutil.rmtree(folder)
    subprocess.run(["cp", "-a", str(SOURCE_ROOT), str(tmp)], check=True, timeout=600)
    for db in ("var/lib/asterisk/astdb.sqlite3", "var/lib/asterisk-farm/astdb.sqlite3"):
        (tmp / db).unlink(missing_ok=True)  # lane A's contacts and devices, not this lane's
    tmp.rename(lane.root)
    say(f"copied the Asterisk root for lane {lane.name.upper()} in {time.monotonic() - began:.1f} s")


class LaneRun:
    """A lane's pytest runs, one after the other, in a thread; its output in the lane's log."""

    def __init__(self, lane: Lane, options: list[str]) -> None:
        self.lane = lane
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None
        self.code = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"lane-{lane.name}", daemon=True)

    def start(self) -> None:
        remove_netns(self.lane)  # left by a run that was killed
        run("ip", "netns", "add", self.lane.netns)
        run("ip", "netns", "exec", self.lane.netns, "ip", "link", "set", "lo", "up")
        self.lane.state.mkdir(parents=True, exist_ok=True)
        self.lane.log.parent.mkdir(exist_ok=True)
        self._thread.start()

    def _run(self) -> None:
        with self.lane.log.open("wb") as out:
            for argv, env in self.lane.commands(self.options):
                if self._stopped:
                    break
                self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
                code = self.proc.wait()
                out.flush()
                if self.code == 0:
                    self.code = code  # the first failure is the lane's

    def wait(self) -> int:
        self._thread.join()
        return self.code

    def stop(self) -> None:
        self._stopped = True
        if self.proc is not None:
            stop(self.proc)
        self._thread.join(timeout=150)


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
    missing = [str(t) for lane in LANES for t in lane.targets() if not t.exists()]
    if missing:
        raise SystemExit(f"lanes: LANE_B or LANE_C names tests that do not exist: {missing}")
    for lane in LANES:
        prepare_root(lane)
    started: list[LaneRun] = []
    ignored = [f"--ignore={t}" for lane in LANES for t in lane.targets()]
    try:
        for lane in LANES:
            runner = LaneRun(lane, options)
            runner.start()
            started.append(runner)
            said = ", ".join((*lane.first, *lane.paths))
            say(f"lane {lane.name.upper()}: {said} (a PBX in namespace {lane.netns}), output in {lane.log}")
        code_a = subprocess.run(
            [sys.executable, "-m", "pytest", "-ra", *ignored, *options, "tests"], cwd=REPO, check=False
        ).returncode
        codes = {runner.lane.name: runner.wait() for runner in started}
    finally:
        for runner in started:
            runner.stop()
        for lane in LANES:
            remove_netns(lane)
    for lane in LANES:
        say(f"lane {lane.name.upper()}'s output:")
        sys.stdout.write(lane.log.read_text(errors="replace"))
    ok = [verdict("A", code_a), *(verdict(name.upper(), code) for name, code in codes.items())]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
