"""What the core and the runtime keep per call stays bounded: a day of traffic must not drift (the soak's RSS)."""

from __future__ import annotations

import asyncio

from doubles import ListSink, MockControl

from acd.core.acd import Acd
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallArrived
from acd.core.wait_estimate import WINDOW_SECONDS, HandleTimes
from acd.metrics import Metrics
from acd.runtime import Runtime

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


def test_handle_times_keep_only_the_window_when_nobody_reads_the_aht() -> None:
    times = HandleTimes()
    for i in range(10_000):  # a call ended every 30 s, over more than three days
        times.observe("billing", i * 30.0, 120.0)
    assert times.kept("billing") <= WINDOW_SECONDS / 30 + 1
    assert times.aht("billing", 10_000 * 30.0) == 120.0


def test_handle_times_mean_is_unchanged_by_pruning_on_observe() -> None:
    times = HandleTimes(window_seconds=100.0)
    times.observe("billing", 0.0, 10.0)
    times.observe("billing", 50.0, 30.0)
    times.observe("billing", 120.0, 50.0)  # the one at 0 leaves the window here
    assert times.kept("billing") == 2
    assert times.aht("billing", 120.0) == 40.0
    assert times.aht("billing", 151.0) == 50.0
    assert times.aht("billing", 300.0) is None


async def test_a_call_the_core_refuses_is_not_kept_open_by_the_runtime() -> None:
    clock = [0.0]
    runtime = Runtime(Acd(CONFIG), MockControl(), ListSink(), Metrics(CONFIG.queues), clock=lambda: clock[0])
    worker = asyncio.create_task(runtime.run())
    assert runtime.handle_now(CallArrived("call-1", "no-such-queue", 5)) == []  # refused: unknown queue
    assert not runtime.call_open("call-1")
    runtime.handle_now(CallArrived("call-2", "billing", 5))
    assert runtime.call_open("call-2")
    assert runtime.handle_now(CallArrived("call-2", "billing", 5)) == []  # a refused duplicate
    assert runtime.call_open("call-2")  # the call it repeats is still open
    runtime.drain()
    await worker
