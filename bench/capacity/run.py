"""Inside the namespace: bring the stack up, step each system's load up until it fails, print; the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
from collections.abc import Callable
from pathlib import Path

import bench.capacity
from bench.capacity.plan import AGENT_COUNT, AGENTS, ANSWER_DELAY, HOLDS, RATES, STEP_SECONDS, SYSTEMS, TALK
from bench.capacity.report import report, step_line
from bench.capacity.stack import (
    PBX2_AMI_PORT,
    Kamailio,
    capacity_acd,
    install_capacity_config,
    ready_agents,
    register_farm_with_kamailio,
    start_kamailio,
    wait_for,
)
from bench.capacity.steps import Driver, Step, quiesce
from bench.vs_app_queue.acd_side import START_WITHIN, stop_acd
from bench.vs_app_queue.isolation import BENCH_ROOT, SOURCE_ROOT, Paths, pbx_sh, run_in_namespace
from bench.vs_app_queue.pbx_config import read_secrets
from bench.vs_app_queue.plan import log
from bench.vs_app_queue.recorder import Recorder
from phonefarm import AmiClient, AmiError, AmiEvent, Farm
from phonefarm.acd_process import AcdProcess

NETNS = "acdcap"
ROOT = BENCH_ROOT.with_name("asterisk-root-capacity")
STATE = Path("/var/lib/acd-capacity")


def entered(where: dict[str, str], pbx: str) -> Callable[[AmiEvent], None]:
    """A listener noting on which PBX each caller entered its queue."""

    def on(event: AmiEvent) -> None:
        kind = event.get("Event")
        if kind == "QueueCallerJoin":
            where.setdefault(event.get("CallerIDNum", ""), pbx)
        elif kind == "UserEvent" and event.get("UserEvent") == "AcdEnqueue":
            where.setdefault(event.get("AcdCaller", event.get("CallerIDNum", "")), pbx)

    return on


class Stack:
    """What runs besides the PBX and the farm, started and stopped as the systems take turns."""

    def __init__(self, paths: Paths, args: argparse.Namespace) -> None:
        self.paths = paths
        self.args = args
        self.secrets = read_secrets(paths.secrets)
        self.acd: AcdProcess | None = None
        self.kamailio: Kamailio | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="acdcap-"))  # short: a unix socket's path is <= 107 bytes

    def start_acd(self, two_pbxs: bool) -> None:
        self.stop_acd()
        control = str(self.folder / "rpc.sock") if two_pbxs else None
        command = shlex.split(self.args.acd_command) if self.args.acd_command else [sys.executable, "-m", "acd"]
        log(f"starting the ACD ({'pbx and pbx2, [kamailio]' if two_pbxs else 'one PBX'})")
        self.acd = capacity_acd(self.paths.state / "acd", self.secrets["ACD_AMI_SECRET"], command, control)
        self.acd.start(START_WITHIN)
        ready_agents(self.acd)

    def stop_acd(self) -> None:
        if self.acd is not None:
            stop_acd(self.acd)
            self.acd = None

    def start_cluster(self) -> None:
        log("starting Kamailio and pbx2; the phones register with Kamailio too")
        self.kamailio = start_kamailio(self.folder, self.secrets)
        register_farm_with_kamailio(self.paths, AGENTS)
        pbx_sh(self.paths, "start", "pbx2", within=120)
        kamailio = self.kamailio
        wait_for(lambda: set(AGENTS) <= kamailio.registered(), 30, "the phones registered with Kamailio")
        wait_for(kamailio.pbxs_active, 15, "both PBXs active in Kamailio's dispatcher")

    def stop(self) -> None:
        self.stop_acd()
        if self.kamailio is not None:
            self.kamailio.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Listeners:
    """The benchmark's read-only AMI user ``bench`` on each PBX, feeding the recorder; one dropped by its
    PBX (a listener that falls behind is) is connected again before the next step."""

    def __init__(self, secret: str, rec: Recorder, where: dict[str, str]) -> None:
        self.secret, self.rec, self.where = secret, rec, where
        self.clients: dict[str, AmiClient] = {}

    async def ensure(self, pbxs: dict[str, int]) -> list[AmiClient]:
        for name, port in pbxs.items():
            client = self.clients.get(name)
            if client is not None and client.lost is None:
                continue
            if client is not None:
                log(f"connecting the listener on {name} again")
                client.close()
            client = AmiClient("127.0.0.1", port, "bench", self.secret, name=name, history=1000)
            await client.connect()
            client.listen(self.rec.on_pbx)
            client.listen(entered(self.where, name))
            self.clients[name] = client
        return [self.clients[name] for name in pbxs]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


async def measure(paths: Paths, stack: Stack, listener_secret: str, args: argparse.Namespace) -> list[Step]:
    deadline = time.monotonic() + args.time_limit - 60.0  # leave time for the orderly stop
    rec, where = Recorder(), dict[str, str]()
    listeners = Listeners(listener_secret, rec, where)
    farm = Farm("127.0.0.1", 5039, "farm", stack.secrets["ACD_FARM_AMI_SECRET"])
    await farm.connect()
    farm.ami.listen(rec.on_farm)
    steps: list[Step] = []
    try:
        for agent in AGENTS:
            await farm.set_agent(agent, "answer", delay=ANSWER_DELAY, talk=TALK)
        for index, system in enumerate(s for s in SYSTEMS if s.key in args.systems):
            pbxs = {"pbx": 5038}
            if system.key == "app_queue":
                stack.stop_acd()
            elif system.key == "acd":
                await asyncio.to_thread(stack.start_acd, False)
            else:
                await asyncio.to_thread(stack.stop_acd)
                await asyncio.to_thread(stack.start_cluster)
                pbxs["pbx2"] = PBX2_AMI_PORT
                await asyncio.to_thread(stack.start_acd, True)
            instances = (*pbxs, "farm")
            farm.trunk = system.trunk
            await quiesce(paths, farm, instances)
            driver = Driver(paths, farm, rec, instances, where, await listeners.ensure(pbxs))
            idle = await driver.idle()
            shares = ", ".join(f"{part} {100 * share:.1f}" for part, share in idle.items() if share)
            log(f"{system.title}: idle CPU, % of a core: {shares}")
            log(f"{system.title}: stepping up")
            for kind, loads in (("rate", args.rates), ("hold", args.holds)):
                driver.listeners = await listeners.ensure(pbxs)
                for n, load in enumerate(loads):
                    if time.monotonic() > deadline:
                        log(f"{system.title}: out of time before {kind} step {load:g}")
                        break
                    step = Step(system, kind, float(load), f"9{index}{1 if kind == 'rate' else 2}{n}")
                    step.idle = idle
                    await driver.run(step, args.step_seconds)
                    steps.append(step)
                    print(f"{system.title}\n{step_line(step)}", flush=True)
                    if step.failure:
                        break
    finally:
        await farm.close()
        listeners.close()
    return steps


def run_inside(args: argparse.Namespace) -> int:
    began = time.monotonic()
    paths = Paths(args.root.absolute(), args.state_dir.absolute(), None, str(AGENT_COUNT))

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    stack: Stack | None = None
    try:
        log(f"pbx.sh build / install (capacity root, {AGENT_COUNT} agents)")
        pbx_sh(paths, "build", within=900)
        pbx_sh(paths, "install")
        listener_secret = install_capacity_config(paths.root)
        log("pbx.sh start all")
        pbx_sh(paths, "start", "all", within=180)
        shown = pbx_sh(paths, "rx", "pbx", "queue show bench")
        if sum(f"PJSIP/{a} " in shown for a in AGENTS) != len(AGENTS):
            raise RuntimeError(f"app_queue's queue bench is not as configured:\n{shown}")
        stack = Stack(paths, args)
        steps = asyncio.run(measure(paths, stack, listener_secret, args))
        report(steps, args.rates, args.holds)
        print(
            "\nThe machine's two cores are shared with whatever else runs (other tests, soaks): single figures"
            " move between runs; compare the systems by the ratios of one run.",
            flush=True,
        )
        log(f"measured in {time.monotonic() - began:.0f} s")
        return 0 if steps else 1
    except (RuntimeError, AmiError, OSError, subprocess.SubprocessError, urllib.error.URLError, KeyError) as exc:
        log(f"FAILED: {type(exc).__name__}: {exc}")
        if stack is not None and stack.acd is not None:
            log(f"ACD log tail:\n{stack.acd.tail(30)}")
        if stack is not None and stack.kamailio is not None:
            log(f"Kamailio log tail:\n{stack.kamailio.log_tail()}")
        return 1
    finally:
        if stack is not None:
            stack.stop()
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            pbx_sh(paths, "stop", "all", within=120)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(bench.capacity.__doc__ or "").split("\n", 1)[0])
    floats = lambda text: [float(x) for x in text.split(",") if x]  # noqa: E731
    ints = lambda text: [int(x) for x in text.split(",") if x]  # noqa: E731
    parser.add_argument("--rates", type=floats, default=list(RATES), help="calls/s steps, comma-separated")
    parser.add_argument("--holds", type=ints, default=list(HOLDS), help="held-caller steps, comma-separated")
    parser.add_argument("--step-seconds", type=float, default=STEP_SECONDS, help="seconds of calls per rate step")
    parser.add_argument(
        "--systems",
        type=lambda text: [x for x in text.split(",") if x],
        default=[s.key for s in SYSTEMS],
        help="which set-ups, comma-separated: app_queue,acd,acd2 (default all three)",
    )
    parser.add_argument("--netns", default=NETNS, help=f"network namespace to create and delete (default {NETNS})")
    parser.add_argument("--no-netns", action="store_true", help="run in the current network namespace")
    parser.add_argument("--source-root", type=Path, default=SOURCE_ROOT, help="the built Asterisk root to copy")
    parser.add_argument("--root", type=Path, default=ROOT, help=f"the root copy (default {ROOT})")
    parser.add_argument("--state-dir", type=Path, default=STATE, help=f"state dir (default {STATE})")
    parser.add_argument("--keep", action="store_true", help="keep the root copy and the state dir afterwards")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds for all of it (default 600)")
    parser.add_argument("--acd-command", default="", help="the command that runs the ACD (default: -m acd)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if unknown := set(args.systems) - {s.key for s in SYSTEMS}:
        parser.error(f"unknown systems {sorted(unknown)}")
    if not args.rates or not args.holds or min(args.rates) <= 0 or min(args.holds) <= 0 or args.step_seconds <= 0:
        parser.error("--rates, --holds and --step-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.inside:
        return run_inside(args)
    if os.geteuid() != 0:
        print(
            "bench_capacity: SKIPPED: needs root (network namespace, chrooted Asterisk); run: "
            "sudo .venv/bin/python -m bench.bench_capacity",
            file=sys.stderr,
        )
        return 0
    options = ["--rates", ",".join(f"{r:g}" for r in args.rates), "--holds", ",".join(map(str, args.holds))]
    options += ["--step-seconds", f"{args.step_seconds:g}", "--systems", ",".join(args.systems)]
    options += ["--time-limit", f"{args.time_limit:g}"]
    options += ["--acd-command", args.acd_command] if args.acd_command else []
    return run_in_namespace(args, "bench.bench_capacity", options, args.time_limit + 120, str(AGENT_COUNT))
