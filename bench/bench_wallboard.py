"""Wallboard benchmark: does a wall of 200 live screens slow routing down?

Run ``python bench/bench_wallboard.py`` (``make bench`` runs it); about a minute. It prints figures
and asserts nothing.

The real ``Runtime`` (the one writer, its timers and call-control worker) and the real HTTP app on
loopback, on a floor of 10 queues and 200 agents, take 50 calls a minute as the AMI pump would hand
them over (arrive, ring, answer 2 s later, talk 10 s, wrap-up 5 s on the core's timer). Phases
alternate: no screen, then 200 Server-Sent Events clients on ``/wallboard/events``, twice each.
The clients run in a child process, so only the ACD's side of the stream is on the ACD's event loop.

Two routing latencies, per phase kind:

- decision: the time the core takes for one event (what ``acd_routing_decision_seconds`` measures);
- submit to decision: from the moment an event is handed to the runtime to the end of its decision,
  so any turn of the event loop spent building boards or writing to screens shows up here.

Target: no more than 20 % rise with 200 screens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import aiohttp
from aiohttp.test_utils import TestServer
from prometheus_client import Histogram

from acd.core.acd import Acd
from acd.core.commands import Command, ControlCommand, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, Event, OfferAnswered
from acd.http.app import build_app
from acd.http.bearer import Bearers
from acd.http.keys import PUBLISHER
from acd.http.wallboard import require_tokens
from acd.metrics import Metrics
from acd.ports import MockControl
from acd.readiness import Readiness
from acd.records.stores.tokens import Token
from acd.runtime import Runtime

QUEUES = 10
AGENTS = 200
CLIENTS = 200
CALLS_PER_MINUTE = 50
PHASE_SECONDS = 12.0
SETTLE_SECONDS = 1.5
RING_SECONDS, TALK_SECONDS, WRAPUP_SECONDS = 2.0, 10.0, 5.0
TARGET_RISE = 20.0  # per cent


def routing_config(seed: int = 1) -> RoutingConfig:
    rng = random.Random(seed)
    skills = [f"s{i}" for i in range(QUEUES)]
    queues = tuple(
        QueueConfig(
            f"q{i}", (SkillRequirement(skills[i], 1),), sla_threshold_seconds=20.0, wrapup_seconds=WRAPUP_SECONDS
        )
        for i in range(QUEUES)
    )
    agents = tuple(
        AgentConfig(
            f"a{i:03d}", f"PJSIP/a{i:03d}", tuple(sorted((s, rng.randint(1, 5)) for s in rng.sample(skills, 3)))
        )
        for i in range(AGENTS)
    )
    return RoutingConfig(queues, agents)


class DiscardSink:
    def append(self, record: object) -> None: ...


class Decisions:
    """Stands in for ``acd_routing_decision_seconds``: keeps every observation of the phase."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def observe(self, amount: float) -> None:
        self.samples.append(amount)


class TimedAcd(Acd):
    """Notes when each submitted event's decision ends, for the submit-to-decision latency."""

    def __init__(self, config: RoutingConfig) -> None:
        super().__init__(config)
        self.submitted: dict[int, float] = {}
        self.latencies: list[float] = []

    def handle(self, event: Event, now: float) -> list[Command]:
        commands = super().handle(event, now)
        began = self.submitted.pop(id(event), None)
        if began is not None:
            self.latencies.append(time.perf_counter() - began)
        return commands


class Traffic:
    """50 calls a minute over the queues in turn; each answered after a ring and ended after a talk."""

    runtime: Runtime  # set once the runtime is built around this traffic's call control

    def __init__(self, core: TimedAcd, rung: list[str]) -> None:
        self.core, self.rung = core, rung
        self.made = 0

    def ring(self, command: ControlCommand) -> None:
        """Call control's handler: Asterisk accepts every action at once; the rings are kept to answer."""
        if isinstance(command, RingAgent):
            self.rung.append(command.offer_id)

    def submit(self, event: Event) -> None:
        self.core.submitted[id(event)] = time.perf_counter()
        self.runtime.submit(event)

    async def _answer_and_end(self, offer_id: str, call_id: str) -> None:
        await asyncio.sleep(RING_SECONDS)
        self.submit(OfferAnswered(offer_id))
        await asyncio.sleep(TALK_SECONDS)
        self.submit(CallEnded(call_id))

    async def run(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                self.made += 1
                call_id = f"c{self.made}"
                queue = f"q{self.made % QUEUES}"
                self.submit(CallArrived(call_id, queue, 5, channel=f"PJSIP/trunk-{self.made}"))
                await asyncio.sleep(0.05)  # the writer's turn: the ring is out
                for offer_id in self.rung:
                    task = asyncio.create_task(self._answer_and_end(offer_id, call_id))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                self.rung.clear()
                await asyncio.sleep(60.0 / CALLS_PER_MINUTE - 0.05)
        finally:
            for task in tasks:
                task.cancel()


async def always_ready() -> Readiness:
    return Readiness(ami_connected=True, database_reachable=True)


SCREEN_TOKEN = "acd_0123456789abcdef_bench-wallboard"  # the screens' wallboard token (no PostgreSQL here)
TOKEN_ENV = "ACD_WALLBOARD_TOKEN"  # how the child gets it: not in its command line


async def screen_token(bearer: str) -> Token | None:
    if bearer != SCREEN_TOKEN:
        return None
    return Token("0123456789abcdef", "wallboard", None, (), "bench", datetime.now(UTC), None)


# -- the screens, in a child process ----------------------------------------------------------------
async def screens(url: str, count: int) -> None:
    """``count`` SSE clients reading as browsers do, until stdin closes; prints the boards they got."""
    received = 0

    async def watch(session: aiohttp.ClientSession) -> None:
        nonlocal received
        headers = {"Authorization": f"Bearer {os.environ[TOKEN_ENV]}"}
        async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as response:
            async for line in response.content:
                if line.startswith(b"event: board"):
                    received += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        watchers = [asyncio.create_task(watch(session)) for _ in range(count)]
        await asyncio.to_thread(sys.stdin.read)  # the parent closes stdin to stop us
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
    print(received, flush=True)


@dataclass
class Figures:
    """What the phases of one kind (with or without screens) measured, added up."""

    decisions: list[float] = field(default_factory=list)
    submit_to_decision: list[float] = field(default_factory=list)
    cpu: float = 0.0
    delivered: int = 0
    built: int = 0


# -- the benchmark ----------------------------------------------------------------------------------
def summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return statistics.median(ordered) * 1e6, p95 * 1e6, statistics.fmean(ordered) * 1e6


async def phase(
    runtime: Runtime, core: TimedAcd, decisions: Decisions, server: TestServer, clients: int
) -> tuple[list[float], list[float], float, int]:
    """One phase: (decision samples, submit-to-decision samples, CPU seconds, boards received)."""
    publisher = server.app[PUBLISHER]
    child = None
    if clients:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--screens",
            str(clients),
            f"http://127.0.0.1:{server.port}/wallboard/events",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, TOKEN_ENV: SCREEN_TOKEN},
        )
        for _ in range(300):
            if publisher.subscribers >= clients:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"only {publisher.subscribers} of {clients} screens connected")
    await asyncio.sleep(SETTLE_SECONDS)
    decisions.samples.clear()
    core.latencies.clear()
    cpu = time.process_time()
    await asyncio.sleep(PHASE_SECONDS)
    cpu = time.process_time() - cpu
    measured = (decisions.samples.copy(), core.latencies.copy())
    boards = 0
    if child is not None:
        assert child.stdin is not None
        child.stdin.close()
        out, _ = await child.communicate()
        boards = int(out.decode().strip() or 0)
        for _ in range(100):
            if publisher.subscribers == 0:
                break
            await asyncio.sleep(0.05)
    return measured[0], measured[1], cpu, boards


async def run() -> None:
    config = routing_config()
    core = TimedAcd(config)
    metrics = Metrics(config.queues, config.agents)
    decisions = Decisions()
    metrics.decision_seconds = cast(Histogram, decisions)
    rung: list[str] = []
    traffic = Traffic(core, rung)
    # a timed core and a timed histogram: wired by hand, as acd.bootstrap.build makes only the real ones
    runtime = Runtime(core, MockControl(traffic.ring), DiscardSink(), metrics)
    traffic.runtime = runtime
    writer = asyncio.create_task(runtime.run())
    for agent in config.agents:
        runtime.handle_now(AgentLoggedIn(agent.id))
    app = build_app(runtime, metrics, lambda: {"ok": True}, ready=always_ready)
    require_tokens(app, Bearers(screen_token, streams_per_token=CLIENTS))  # every screen on one token
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    publisher = server.app[PUBLISHER]
    traffic_task = asyncio.create_task(traffic.run())
    print(
        f"== {QUEUES} queues, {AGENTS} agents, {CALLS_PER_MINUTE} calls/min; "
        f"phases of {PHASE_SECONDS:.0f} s, without and with {CLIENTS} wallboard screens, twice"
    )
    await asyncio.sleep(3.0)  # the first calls reach talk and wrap-up
    results = {0: Figures(), CLIENTS: Figures()}
    try:
        for clients in (0, CLIENTS, 0, CLIENTS):
            built = publisher.built
            d, s, cpu, boards = await phase(runtime, core, decisions, server, clients)
            held = results[clients]
            held.decisions += d
            held.submit_to_decision += s
            held.cpu += cpu
            held.delivered += boards
            held.built += publisher.built - built
            print(
                f"   {clients:3d} screens: {len(d):4d} decisions, {cpu / PHASE_SECONDS * 100:5.1f} % CPU"
                + (f", {publisher.built - built} boards built, {boards:,} delivered" if clients else "")
            )
    finally:
        traffic_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await traffic_task
        await server.close()
        runtime.drain()
        await writer
    without, with_ = results[0], results[CLIENTS]
    print(
        f"   boards: {with_.built} built for {with_.delivered:,} delivered ({CLIENTS} screens); "
        f"{publisher.dropped} screen(s) dropped as slow"
    )
    for name, before, after in (
        ("decision (acd_routing_decision_seconds)", without.decisions, with_.decisions),
        ("submit to decision", without.submit_to_decision, with_.submit_to_decision),
    ):
        a, b = summary(before), summary(after)
        rise = (b[0] - a[0]) / a[0] * 100
        verdict = "within" if rise <= TARGET_RISE else "OVER"
        print(f"   {name}:")
        print(f"     without screens  p50 {a[0]:7.1f} us   p95 {a[1]:7.1f} us   mean {a[2]:7.1f} us")
        print(f"     {CLIENTS} screens      p50 {b[0]:7.1f} us   p95 {b[1]:7.1f} us   mean {b[2]:7.1f} us")
        print(
            f"     rise of the p50: {rise:+.1f} % ({verdict} the {TARGET_RISE:.0f} % target); "
            f"p95 {(b[1] - a[1]) / a[1] * 100:+.1f} %"
        )


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--screens":
        asyncio.run(screens(sys.argv[3], int(sys.argv[2])))
        return 0
    print(f"python {sys.version.split()[0]}; wall-clock and process CPU on this machine")
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
