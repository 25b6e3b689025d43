"""The isolated stack, from outside: network namespace, root copy, state dir, and the clean-up after."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from acd.records.errors import EmbeddedPostgresError
from acd.records.startup.embedded import EmbeddedPostgres
from bench.vs_app_queue.plan import log

REPO = Path(__file__).resolve().parents[2]
PBX_SH = REPO / "deploy" / "asterisk" / "pbx.sh"
SOURCE_ROOT = Path(os.environ.get("ACD_ASTERISK_ROOT", "/var/cache/acd/asterisk-root"))
BENCH_ROOT = Path("/var/cache/acd/asterisk-root-bench")
BENCH_STATE = Path("/var/lib/acd-bench")
NETNS = "acdbench"
FARM_AGENTS = "20"  # what pbx.sh install registers (its default); agents 11..14 are ours
OURS = ".acd-bench"  # marker file in the root copy and the state dir: only such folders are ever deleted


@dataclass(frozen=True)
class Paths:
    root: Path
    state: Path
    netns: str | None  # None: run in the current network namespace
    farm_agents: str = FARM_AGENTS  # agents agent1..N that pbx.sh install gives the farm

    @property
    def secrets(self) -> Path:
        return self.state / "secrets.env"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ACD_ASTERISK_ROOT": str(self.root),
            "ACD_STATE_DIR": str(self.state),
            "ACD_SECRETS_FILE": str(self.secrets),
            "ACD_FARM_AGENTS": self.farm_agents,
        }

    def in_netns(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv


def pbx_sh(paths: Paths, *args: str, within: float = 300) -> str:
    """Run deploy/asterisk/pbx.sh for the bench root (in the namespace); its output, or RuntimeError."""
    done = subprocess.run(
        paths.in_netns(["bash", str(PBX_SH), *args]),
        env=paths.env(),
        capture_output=True,
        text=True,
        timeout=within,
        check=False,
    )
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
        outside = Paths(paths.root, paths.state, None, paths.farm_agents)
        try:
            pbx_sh(
                paths if paths.netns and netns_exists(paths.netns) else outside,
                "stop",
                "all",
                within=120,
            )
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
        print(
            "bench_vs_app_queue: SKIPPED: needs root (network namespace, chrooted Asterisk); "
            "run: sudo .venv/bin/python -m bench.bench_vs_app_queue",
            file=sys.stderr,
        )
        return 0
    options = ["--calls", str(args.calls), "--warmup", str(args.warmup), "--time-limit", str(args.time_limit)]
    options += ["--acd-command", args.acd_command] if args.acd_command else []
    options += ["--json", str(args.json.absolute())] if args.json else []
    options += ["--only", args.only] if args.only else []
    options += ["--metric", args.metric] if args.metric else []
    options += ["--no-breakdown"] if args.no_breakdown else []
    options += ["--claim"] if args.claim else []
    options += ["--no-event-filter"] if args.no_event_filter else []
    return run_in_namespace(args, "bench.bench_vs_app_queue", options, args.time_limit + 120)


def run_in_namespace(
    args: argparse.Namespace, module: str, options: list[str], within: float, farm_agents: str = FARM_AGENTS
) -> int:
    """Outside: namespace, root copy, state dir; ``python -m module --inside --root R --state-dir S options``
    inside, for at most ``within`` s; always clean up. ``args`` holds ``root``, ``state_dir``,
    ``source_root``, ``netns``, ``no_netns`` and ``keep`` (each run's command line has them); the
    soak (bench/soak) runs inside this way too."""
    root, state, source = args.root.absolute(), args.state_dir.absolute(), args.source_root.resolve()
    if root.resolve() == source or root == SOURCE_ROOT or state in (Path("/var/lib/acd"), Path("/")):
        print(f"refusing to use {root} / {state}: those belong to the shared stack", file=sys.stderr)
        return 2
    paths = Paths(root, state, None if args.no_netns else args.netns, farm_agents)
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
                print(
                    f"{folder} exists and was not made by this benchmark (no {OURS} in it): choose "
                    "another --root / --state-dir",
                    file=sys.stderr,
                )
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
            argv = [sys.executable, "-m", module, "--inside", "--root", str(root), "--state-dir", str(state), *options]
            inner = subprocess.Popen(paths.in_netns(argv), env=paths.env(), cwd=REPO, start_new_session=True)
            try:
                return inner.wait(timeout=within)
            except subprocess.TimeoutExpired:
                log(f"the run inside did not end within {within:.0f} s: stopping it")
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
