"""Metrics benchmarks: what one Prometheus scrape costs, and what metrics cost the ACD per call.

Run ``python bench/bench_metrics.py`` (``make bench`` runs it). It prints figures and asserts nothing;
it runs for about half a minute.

- Scrape: 50 queues and 2,000 logged-in agents, calls answered and abandoned in every queue so that
  every series exists. Timed: ``generate_latest`` on the registry, a real HTTP GET of /metrics from
  the aiohttp app over loopback, and the once-a-second gauge refresh from the core's snapshot.
- CPU per 1,000 calls: the real ``Runtime`` (the one writer, with its timers and call-control worker)
  and a call control that Asterisk answers at once, driven call by call: arrive, ring, answer, end;
  one call in ten hangs up while ringing. Three ways: the real ``Metrics``; a no-op ``Metrics`` (updates
  dropped, routing latency not timed); and a core whose ``MetricUpdate`` commands are filtered out
  before the runtime sees them (no metrics and no forecast input at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import cast

import aiohttp
from aiohttp.test_utils import TestServer
from prometheus_client import Histogram, generate_latest

from acd.bootstrap import build, settings_for
from acd.core.acd import Acd
from acd.core.commands import Command, MetricUpdate, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, CallerHungUp, Event, OfferAnswered
from acd.forecast import Forecaster
from acd.http.keys import READY
from acd.metrics import Metrics
from acd.ports import MockControl
from acd.readiness import Readiness
from acd.runtime import Runtime

QUEUES = 50
AGENTS = 2_000
SCRAPES = 50
CALLS = 5_000  # per CPU round
ROUNDS = 3


def held(rng: random.Random, skills: list[str]) -> tuple[tuple[str, int], ...]:
    """Three skills at random proficiencies, sorted by skill."""
    return tuple(sorted((s, rng.randint(1, 5)) for s in rng.sample(skills, 3)))


def routing_config(queues: int = QUEUES, agents: int = AGENTS, seed: int = 1) -> RoutingConfig:
    rng = random.Random(seed)
    skills = [f"s{i:02d}" for i in range(queues)]
    queue_configs = tuple(
        QueueConfig(f"q{i:02d}", (SkillRequirement(skills[i], 1),), sla_threshold_seconds=float(10 + i % 4 * 5))
        for i in range(queues)
    )
    agent_configs = tuple(AgentConfig(f"a{i:05d}", f"PJSIP/a{i:05d}", held(rng, skills)) for i in range(agents))
    return RoutingConfig(queue_configs, agent_configs)


class DiscardSink:
    def append(self, record: object) -> None: ...


class _Discard:
    def observe(self, amount: float) -> None: ...


class NoMetrics(Metrics):
    """Metrics off: the core's updates are dropped and routing latency is not timed."""

    def __init__(self, queues: Iterable[QueueConfig]) -> None:
        super().__init__(queues)
        self.decision_seconds = cast(Histogram, _Discard())

    def apply(self, update: MetricUpdate) -> None:
        return None


class AcdWithoutMetrics(Acd):
    """A core whose metric updates never reach the runtime (nor the forecaster that reads them)."""

    def handle(self, event: Event, now: float) -> list[Command]:
        return [c for c in super().handle(event, now) if not isinstance(c, MetricUpdate)]


class Traffic:
    """Calls through a runtime, one at a time, as the AMI pump would deliver them."""

    def __init__(self, runtime: Runtime, queues: list[str]) -> None:
        self.runtime = runtime
        self.queues = queues
        self.made = 0

    def login_everyone(self) -> None:
        for agent in self.runtime.core.config.agents:
            self.runtime.handle_now(AgentLoggedIn(agent.id))

    def call(self) -> None:
        self.made += 1
        call_id = f"c{self.made}"
        out = self.runtime.handle_now(
            CallArrived(call_id, self.queues[self.made % len(self.queues)], 5, channel=f"PJSIP/trunk-{self.made}")
        )
        ring = next((c for c in out if isinstance(c, RingAgent)), None)
        if ring is None or self.made % 10 == 0:
            self.runtime.handle_now(CallerHungUp(call_id))  # an abandon (while ringing, or while waiting)
            return
        self.runtime.handle_now(OfferAnswered(ring.offer_id))
        self.runtime.handle_now(CallEnded(call_id))

    async def calls(self, count: int) -> None:
        for i in range(count):
            self.call()
            if i % 100 == 99:
                await asyncio.sleep(0)  # let the call-control worker collect Asterisk's replies


async def started(runtime: Runtime) -> tuple[Runtime, asyncio.Task[None], Traffic]:
    core = runtime.core
    writer = asyncio.create_task(runtime.run())
    await asyncio.sleep(0)
    traffic = Traffic(runtime, [q.name for q in core.config.queues])
    traffic.login_everyone()
    return runtime, writer, traffic


async def stopped(runtime: Runtime, writer: asyncio.Task[None]) -> None:
    runtime.drain()
    await writer


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1e3:6.2f} ms   p99 {p99 * 1e3:6.2f} ms"


async def always_ready() -> Readiness:
    return Readiness(ami_connected=True, database_reachable=True)


async def bench_scrape() -> None:
    print(f"== one scrape of /metrics: {QUEUES} queues, {AGENTS:,} agents logged in")
    config = routing_config()
    parts = await build(settings_for(config), control=MockControl(), records=DiscardSink())
    parts.site[READY] = always_ready
    metrics = parts.metrics
    runtime, writer, traffic = await started(parts.runtime)
    await traffic.calls(2_000)
    for i, queue in enumerate(config.queues):  # a caller waiting in every other queue, for the gauges
        if i % 2 == 0:
            runtime.handle_now(CallArrived(f"w{i}", queue.name, 5, channel=f"PJSIP/w{i}"))
    refresh: list[float] = []
    for _ in range(50):
        began = time.perf_counter()
        now = runtime.now()
        parts.forecaster.publish(metrics, runtime.core.snapshot(now), runtime.core.config, now)
        refresh.append(time.perf_counter() - began)
    body = generate_latest(metrics.registry)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    print(f"   exposition: {len(body) / 1024:,.0f} KiB, {series:,} samples")
    render: list[float] = []
    for _ in range(SCRAPES):
        began = time.perf_counter()
        generate_latest(metrics.registry)
        render.append(time.perf_counter() - began)
    print(f"   generate_latest(registry)        {ms(render)}")
    server = TestServer(parts.site, host="127.0.0.1")
    await server.start_server()
    http: list[float] = []
    stalls: list[float] = []  # how late a 1 ms timer of the event loop fires while scrapes run

    async def ticker() -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - began - 0.001)

    tick = asyncio.create_task(ticker())
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.port}/metrics"
            for _ in range(SCRAPES):
                began = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                http.append(time.perf_counter() - began)
    finally:
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
        await server.close()
    print(f"   HTTP GET /metrics (loopback)     {ms(http)}")
    print(
        f"   event-loop stall during scrapes  {ms(stalls)}, max {max(stalls) * 1000:.1f} ms"
        " (the exposition renders in a thread; routing keeps its turns)"
    )
    print(f"   gauge refresh from the snapshot  {ms(refresh)}  (once a second in the service)")
    await stopped(runtime, writer)


async def cpu_per_thousand_calls(make: Callable[[RoutingConfig], tuple[Acd, Metrics]]) -> float:
    """CPU milliseconds per 1,000 calls: the best of a few rounds on a fresh floor each."""
    best = float("inf")
    for _ in range(ROUNDS):
        config = routing_config()
        core, metrics = make(config)
        # the variants swap the core and the metrics: wired by hand, as build makes only the real ones
        runtime = Runtime(core, MockControl(), DiscardSink(), metrics, sinks=(Forecaster(),))
        runtime, writer, traffic = await started(runtime)
        await traffic.calls(500)  # warm up
        began = time.process_time()
        await traffic.calls(CALLS)
        await asyncio.sleep(0)
        best = min(best, (time.process_time() - began) / CALLS * 1_000 * 1_000)
        await stopped(runtime, writer)
    return best


async def bench_cpu() -> None:
    print(f"== ACD CPU per 1,000 calls ({QUEUES} queues, {AGENTS:,} agents; arrive, ring, answer, end; 10 % abandon)")
    variants: list[tuple[str, Callable[[RoutingConfig], tuple[Acd, Metrics]]]] = [
        ("metrics on (real Metrics)", lambda c: (Acd(c), Metrics(c.queues))),
        ("metrics off (no-op Metrics)", lambda c: (Acd(c), NoMetrics(c.queues))),
        ("no MetricUpdate reaches the runtime", lambda c: (AcdWithoutMetrics(c), NoMetrics(c.queues))),
    ]
    figures = {}
    for name, make in variants:
        figures[name] = await cpu_per_thousand_calls(make)
    on = figures[variants[0][0]]
    for name, cpu in figures.items():
        extra = "" if cpu == on else f"   (metrics on costs {on - cpu:+6.1f} ms, {100 * (on - cpu) / on:+5.1f} %)"
        print(f"   {name:38s} {cpu:6.1f} ms CPU, {cpu:5.0f} us a call{extra}")


async def run() -> None:
    await bench_scrape()
    await bench_cpu()


def main() -> int:
    print(f"python {sys.version.split()[0]}; wall-clock and process CPU on this machine")
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
