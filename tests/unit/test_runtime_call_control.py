"""The runtime carries out the core's call control with the caller's channel, also when the
command comes after the call's closing record in the same batch (an overflow does that)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from acd.core.acd import Acd
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallerHungUp, TimerFired
from acd.core.records import Record
from acd.metrics import Metrics
from acd.runtime import Runtime

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("sales", (SkillRequirement("sales", 1),), max_wait_seconds=8.0, overflow_target="voicemail"),
        QueueConfig("billing", (SkillRequirement("billing", 1),)),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


@dataclass
class RecordingControl:
    done: list[tuple[str, ...]] = field(default_factory=list)

    async def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> None:
        self.done.append(("ring", channel, endpoint))

    async def cancel(self, channel: str) -> None:
        self.done.append(("cancel", channel))

    async def overflow(self, channel: str, target: str) -> None:
        self.done.append(("overflow", channel, target))


@dataclass
class ListSink:
    records: list[Record] = field(default_factory=list)

    def append(self, record: Record) -> None:
        self.records.append(record)


async def _run(events: list[tuple[object, float]]) -> RecordingControl:
    clock = [0.0]
    control = RecordingControl()
    runtime = Runtime(Acd(CONFIG), control, ListSink(), Metrics(CONFIG.queues), clock=lambda: clock[0])
    writer = asyncio.create_task(runtime.run())
    for event, at in events:
        clock[0] = at
        runtime.handle_now(event)  # type: ignore[arg-type]
    runtime.drain()
    await writer
    return control


async def test_an_overflowed_caller_is_redirected_with_its_channel() -> None:
    control = await _run([
        (CallArrived("c1", "sales", 5, enqueued_at=100.0, channel="PJSIP/trunk-1"), 100.0),
        (TimerFired("call:c1"), 108.0),  # max wait: the core closes the call, then asks to overflow it
    ])
    assert control.done == [("overflow", "PJSIP/trunk-1", "voicemail")]


async def test_a_call_re_announced_with_its_wait_used_up_is_overflowed_with_its_channel() -> None:
    control = await _run([(CallArrived("c1", "sales", 5, enqueued_at=0.0, channel="PJSIP/trunk-1"), 100.0)])
    assert control.done == [("overflow", "PJSIP/trunk-1", "voicemail")]


async def test_the_channel_of_a_closed_call_is_forgotten() -> None:
    clock = [0.0]
    runtime = Runtime(Acd(CONFIG), RecordingControl(), ListSink(), Metrics(CONFIG.queues), clock=lambda: clock[0])
    runtime.handle_now(AgentLoggedIn("a1"))
    runtime.handle_now(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    assert runtime.channel_of("c1") == "PJSIP/trunk-1"
    runtime.handle_now(CallerHungUp("c1"))
    assert runtime.channel_of("c1") is None
