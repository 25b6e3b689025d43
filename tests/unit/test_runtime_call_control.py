"""The runtime carries out the core's call control with the caller's channel, also when the
command comes after the call's closing record in the same batch (an overflow does that)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field

from doubles import ListSink, accepted

from acd.core.acd import Acd
from acd.core.commands import CancelOffer, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallerHungUp, CallMoved, CallPriorityChanged, TimerFired
from acd.core.record_types import Record
from acd.core.timers import call_timer, ring_timer
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
    """Notes each command when it is written, which is when the runtime hands it over."""

    done: list[tuple[str, ...]] = field(default_factory=list)

    def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> Awaitable[None]:
        self.done.append(("ring", channel, endpoint))
        return accepted()

    def cancel(self, channel: str) -> Awaitable[None]:
        self.done.append(("cancel", channel))
        return accepted()

    def overflow(self, channel: str, target: str) -> Awaitable[None]:
        self.done.append(("overflow", channel, target))
        return accepted()

    def tag(self, channel: str, queue: str, priority: int, enqueued_at: float) -> Awaitable[None]:
        self.done.append(("tag", channel, f"{queue}/{priority}/{enqueued_at:g}"))
        return accepted()


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
        (TimerFired(call_timer("c1")), 108.0),  # max wait: the core closes the call, then asks to overflow it
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


async def test_a_ring_is_written_before_the_records_and_metrics_of_its_decision() -> None:
    order: list[str] = []

    class Sink:
        def append(self, record: Record) -> None:
            order.append(type(record).__name__)

    class Control(RecordingControl):
        def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> Awaitable[None]:
            order.append("ring")
            return super().ring(channel, offer_id, endpoint, ring_timeout)

    runtime = Runtime(Acd(CONFIG), Control(), Sink(), Metrics(CONFIG.queues), clock=lambda: 5.0)
    runtime.handle_now(AgentLoggedIn("a1"))
    order.clear()
    runtime.handle_now(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    assert order[0] == "ring"
    assert "InteractionRecord" in order[1:]  # the same decision's records follow


async def test_deliver_handles_at_once_only_when_nothing_waits_ahead() -> None:
    control = RecordingControl()
    runtime = Runtime(Acd(CONFIG), control, ListSink(), Metrics(CONFIG.queues), clock=lambda: 5.0)
    assert runtime.deliver(AgentLoggedIn("a1"))  # the writer is not running yet: queued
    assert runtime.handled == 0
    writer = asyncio.create_task(runtime.run())
    await asyncio.sleep(0)
    assert runtime.handled == 1
    runtime.deliver(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    assert runtime.handled == 2  # handled inside deliver: the ring is already written
    assert control.done == [("ring", "PJSIP/trunk-1", "agent1")]
    runtime.submit(CallerHungUp("c1"))  # now something waits in the inbox ...
    runtime.deliver(CallArrived("c2", "billing", 5, channel="PJSIP/trunk-2"))
    assert runtime.handled == 2  # ... so this one queues behind it, in order
    runtime.drain()
    await writer
    assert runtime.handled == 4
    assert control.done[-1] == ("ring", "PJSIP/trunk-2", "agent1")  # a1 was freed by c1's hang-up first


async def test_a_cancel_followed_by_a_new_offer_for_the_same_call_sends_one_redirect() -> None:
    """The new Redirect ends the old Dial; a second one at once would be refused by Asterisk."""
    config = RoutingConfig(
        queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
        agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 1),))),
    )
    control = RecordingControl()
    runtime = Runtime(Acd(config), control, ListSink(), Metrics(config.queues), clock=lambda: 0.0)
    runtime.handle_now(AgentLoggedIn("a1"))
    runtime.handle_now(AgentLoggedIn("a2"))
    out = runtime.handle_now(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    ring = next(c for c in out if isinstance(c, RingAgent))
    out = runtime.handle_now(TimerFired(ring_timer(ring.offer_id)))  # the ACD's ring timer: cancel, then a2
    assert [type(c).__name__ for c in out if isinstance(c, CancelOffer | RingAgent)] == ["CancelOffer", "RingAgent"]
    assert control.done == [("ring", "PJSIP/trunk-1", "agent1"), ("ring", "PJSIP/trunk-1", "agent2")]


async def test_a_moved_caller_is_tagged_on_their_channel() -> None:
    control = await _run([
        (CallArrived("c1", "sales", 5, enqueued_at=100.0, channel="PJSIP/trunk-1"), 100.0),
        (CallMoved("c1", "billing"), 103.5),
        (CallPriorityChanged("c1", 8), 104.0),
    ])
    assert control.done[:2] == [("tag", "PJSIP/trunk-1", "billing/5/103.5"), ("tag", "PJSIP/trunk-1", "billing/8/103.5")]
