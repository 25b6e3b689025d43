"""The soak's two sides: outside (isolation, bench/vs_app_queue/isolation.py) and inside (stack, traffic, checks)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import bench.soak
from bench.soak import checks
from bench.soak.checks import Check
from bench.soak.footprint import Footprint
from bench.soak.ledger import Ledger
from bench.soak.plan import (
    AGENTS,
    DRAIN_WITHIN,
    SAMPLE_EVERY,
    SETTLE_WITHIN,
    acd_config,
    log,
    warmup_seconds,
)
from bench.soak.traffic import Churn, callers, set_phones, vary_talk
from bench.vs_app_queue.acd_side import stop_acd
from bench.vs_app_queue.isolation import SOURCE_ROOT, Paths, pbx_sh, run_in_namespace
from bench.vs_app_queue.pbx_config import read_secrets
from phonefarm import AmiError, Farm
from phonefarm.acd_process import AcdProcess

NETNS = "acdsoak"
ROOT = Path("/var/cache/acd/asterisk-root-soak")
STATE = Path("/var/lib/acd-soak")
QUEUES = ("billing", "support", "sales")
START_WITHIN = 90.0  # seconds for the ACD to become healthy: embedded PostgreSQL, migrations, AMI login
SETUP_WITHIN = 300.0  # the root copy, the two Asterisks, the ACD, before the traffic


def login_all(acd: AcdProcess, within: float = 30.0) -> None:
    for agent in AGENTS:
        code, body = acd.post(f"/api/v1/agents/{agent}/login")
        if code != 200:
            raise RuntimeError(f"login {agent} answered {code}: {body}")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = {a["id"]: a for a in acd.get("/api/v1/agents")["agents"]}
        if all(states[a]["state"] == "ready" and states[a]["reachable"] for a in AGENTS):
            return
        time.sleep(0.5)
    raise RuntimeError(f"agents not ready and reachable within {within:.0f} s")


def channel_counts(paths: Paths) -> tuple[int, int]:
    return tuple(  # type: ignore[return-value]
        checks.active_channels(pbx_sh(paths, "rx", inst, "core show channels count", within=30))
        for inst in ("pbx", "farm")
    )


def metrics_text(acd: AcdProcess) -> str:
    request = urllib.request.Request(acd.base + "/metrics", headers={"Authorization": f"Bearer {acd.metrics_token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


async def soak(paths: Paths, acd: AcdProcess, farm_secret: str, minutes: float, seed: int) -> list[Check]:
    """Traffic for ``minutes``, the drain, then every check."""
    rng = random.Random(seed)
    farm = Farm("127.0.0.1", 5039, "farm", farm_secret)
    await farm.connect()
    ledger = Ledger()
    farm.ami.listen(ledger.on_farm)
    assert acd.proc is not None
    footprint = Footprint(acd.proc.pid)
    traffic_s = minutes * 60
    warmup = warmup_seconds(traffic_s)
    window = max(15.0, min(120.0, traffic_s / 10))
    try:
        await set_phones(farm, rng)
        stop, sampled = asyncio.Event(), asyncio.Event()
        churn = Churn(acd, farm, ledger, rng)
        began = time.monotonic()
        sampler = asyncio.create_task(footprint.watch(SAMPLE_EVERY, sampled))
        side = [asyncio.create_task(churn.run(stop)), asyncio.create_task(vary_talk(farm, rng, stop))]
        placing = asyncio.create_task(callers(farm, stop, seed))
        log(f"traffic for {minutes:g} min (warm-up {warmup:.0f} s for the footprint)")
        next_note = began + 60
        while (now := time.monotonic()) < began + traffic_s:
            await asyncio.sleep(min(5.0, began + traffic_s - now))
            if time.monotonic() >= next_note:
                next_note += 60
                last = footprint.samples[-1] if footprint.samples else None
                log(
                    f"{(time.monotonic() - began) / 60:.0f} min: {len(ledger.calls)} calls, farm {ledger.counts()}, "
                    + (f"RSS {last.rss_kib / 1024:.1f} MiB, {last.fds} fds" if last else "no sample")
                )
        stop.set()
        ended = time.monotonic()
        placed = await placing
        await asyncio.gather(*side)
        log(f"traffic stopped: {placed} calls placed, churn {churn.actions}; draining")
        deadline = time.monotonic() + DRAIN_WITHIN
        while ledger.open_calls() and time.monotonic() < deadline:  # noqa: ASYNC110 (the farm's events land meanwhile)
            await asyncio.sleep(1.0)
        open_calls = ledger.open_calls()
        log(f"drained in {time.monotonic() - ended:.0f} s ({len(open_calls)} call(s) still open)")
        sampled.set()
        await sampler
        growth = footprint.growth(began, warmup, ended, window)
        note = "the first ten minutes" if warmup >= 600 else f"the first fifth of the run ({warmup:.0f} s: a short run)"
        results = [
            checks.footprint(growth[0], "footprint RSS", note),
            checks.footprint(growth[1], "footprint fds", note),
        ]
        results.append(await settle_channels(paths))
        results.append(await settle_agents(acd, churn.left_in))
        rows = await settle_records(acd, ledger)
        results.append(checks.records(ledger, rows))
        counters = checks.parse_counters(await asyncio.to_thread(metrics_text, acd), QUEUES)
        results.append(checks.metrics(counters, rows, QUEUES))
        return results
    finally:
        await farm.close()


async def settle_channels(paths: Paths) -> Check:
    deadline = time.monotonic() + SETTLE_WITHIN
    while True:
        pbx, farm = await asyncio.to_thread(channel_counts, paths)
        if (pbx == 0 and farm == 0) or time.monotonic() > deadline:
            return checks.channels(pbx, farm)
        await asyncio.sleep(1.0)


async def settle_agents(acd: AcdProcess, left_in: dict[str, str]) -> Check:
    """Wrap-ups and feature codes take a moment: the agents get SETTLE_WITHIN s to be as left."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while True:
        agents = (await asyncio.to_thread(acd.get, "/api/v1/agents"))["agents"]
        wrong, states = checks.agent_verdicts(agents, left_in)
        if not wrong or time.monotonic() > deadline:
            return checks.agents(wrong, states)
        await asyncio.sleep(1.0)


async def settle_records(acd: AcdProcess, ledger: Ledger) -> list[dict[str, object]]:
    """The interactions, once every caller the farm saw has a closed one (or SETTLE_WITHIN s passed)."""
    deadline = time.monotonic() + SETTLE_WITHIN
    numbers = set(ledger.callers())
    while True:
        rows = [dict(r) for r in await acd.rows("SELECT caller, queue, outcome FROM interactions")]
        closed = {r["caller"] for r in rows if r["outcome"]}
        if numbers <= closed or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(1.0)


def run_inside(args: argparse.Namespace) -> int:
    began = time.monotonic()
    paths = Paths(args.root.absolute(), args.state_dir.absolute(), None)

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    acd: AcdProcess | None = None
    try:
        log("pbx.sh install / start all (soak root)")
        pbx_sh(paths, "install")
        pbx_sh(paths, "start", "all", within=180)
        secrets = read_secrets(paths.secrets)
        workdir = paths.state / "acd"
        acd = AcdProcess(
            workdir,
            lambda port: acd_config(str(workdir), port),
            {"ACD_AMI_SECRET": secrets["ACD_AMI_SECRET"]},
            token_label="soak",
            new_session=True,
        )
        log("starting the ACD (embedded PostgreSQL, migrations)")
        acd.start(START_WITHIN)
        login_all(acd)
        log(f"stack up in {time.monotonic() - began:.0f} s")
        results = asyncio.run(soak(paths, acd, secrets["ACD_FARM_AMI_SECRET"], args.minutes, args.seed))
        for check in results:
            print(check.line(), flush=True)
        failed = [c.name for c in results if not c.ok]
        print(f"soak: {len(results) - len(failed)} of {len(results)} checks passed", flush=True)
        log(f"run took {time.monotonic() - began:.0f} s")
        return 1 if failed else 0
    except (RuntimeError, ValueError, AmiError, OSError, subprocess.SubprocessError, urllib.error.URLError) as exc:
        print(f"FAIL  soak: {type(exc).__name__}: {exc}", flush=True)
        if acd is not None:
            log(f"ACD log tail:\n{acd.tail(30)}")
        return 1
    finally:
        if acd is not None:
            stop_acd(acd)
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            pbx_sh(paths, "stop", "all", within=120)


def run_outside(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("FAIL  soak: needs root (network namespace, chrooted Asterisk): sudo .venv/bin/python -m bench.soak")
        return 1
    if not (args.source_root / ".acd-root-built").is_file():
        print(f"FAIL  soak: no built Asterisk root at {args.source_root} (deploy/asterisk/pbx.sh build makes it)")
        return 1
    options = ["--minutes", f"{args.minutes:g}", "--seed", str(args.seed)]
    return run_in_namespace(args, "bench.soak", options, args.minutes * 60 + SETUP_WITHIN + DRAIN_WITHIN + 300)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=(bench.soak.__doc__ or "").split("\n", 1)[0]
    )
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of traffic (default 60)")
    parser.add_argument("--seed", type=int, default=19, help="seed of the traffic and the agents' actions")
    parser.add_argument("--netns", default=NETNS, help=f"network namespace to create and delete (default {NETNS})")
    parser.add_argument("--no-netns", action="store_true", help="run in the current network namespace")
    parser.add_argument("--source-root", type=Path, default=SOURCE_ROOT, help="the built Asterisk root to copy")
    parser.add_argument("--root", type=Path, default=ROOT, help=f"the root copy (default {ROOT})")
    parser.add_argument("--state-dir", type=Path, default=STATE, help=f"state dir (default {STATE})")
    parser.add_argument("--keep", action="store_true", help="keep the root copy and the state dir afterwards")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.minutes <= 24 * 60:
        parser.error("--minutes must be 1..1440")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_inside(args) if args.inside else run_outside(args)
