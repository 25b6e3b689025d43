"""The runtime hands the core's call control to its port at once, in the decision's order, with the
rest of the decision (an overflow comes after the call's closing record in the same batch)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from doubles import ListSink, MockControl

from acd.core.acd import Acd
from acd.core.commands import CancelOffer, ControlCommand, OverflowCall, PublishNext, RingAgent, TagCall, WithdrawNext
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallerHungUp, CallMoved, CallPriorityChanged, TimerFired
from acd.core.record_types import OfferRecord, Record
from acd.core.timers import call_timer, ring_timer
from acd.metrics import Metrics
from acd.ports import NotCarriedOut
from acd.runtime import Runtime

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("sales", (SkillRequirement("sales", 1),), max_wait_seconds=8.0, overflow_target="voicemail"),
        QueueConfig("billing", (SkillRequirement("billing", 1),)),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


def noting(done: list[tuple[str, ...]]) -> MockControl:
    """Call control that notes each command when it is handed over (call id first) and accepts it."""

    def handler(command: ControlCommand) -> None:
        if isinstance(command, RingAgent):
            done.append(("ring", command.call_id, command.endpoint))
        elif isinstance(command, CancelOffer):
            done.append(("cancel", command.call_id))
        elif isinstance(command, OverflowCall):
            done.append(("overflow", command.call_id, command.target))
        elif isinstance(command, TagCall):
            done.append(("tag", command.call_id, f"{command.queue}/{command.priority}/{command.enqueued_at:g}"))

    return MockControl(handler)


async def _run(events: list[tuple[object, float]]) -> list[tuple[str, ...]]:
    clock = [0.0]
    done: list[tuple[str, ...]] = []
    runtime = Runtime(Acd(CONFIG), noting(done), ListSink(), Metrics(CONFIG.queues), clock=lambda: clock[0])
    writer = asyncio.create_task(runtime.run())
    for event, at in events:
        clock[0] = at
        runtime.handle_now(event)  # type: ignore[arg-type]
    runtime.drain()
    await writer
    return done


async def test_an_overflowed_caller_is_redirected() -> None:
    done = await _run(
        [
            (CallArrived("c1", "sales", 5, enqueued_at=100.0, channel="PJSIP/trunk-1"), 100.0),
            (TimerFired(call_timer("c1")), 108.0),  # max wait: the core closes the call, then asks to overflow it
        ]
    )
    assert done == [("overflow", "c1", "voicemail")]


async def test_a_call_re_announced_with_its_wait_used_up_is_overflowed() -> None:
    done = await _run([(CallArrived("c1", "sales", 5, enqueued_at=0.0, channel="PJSIP/trunk-1"), 100.0)])
    assert done == [("overflow", "c1", "voicemail")]


async def test_a_ring_is_written_before_the_records_and_metrics_of_its_decision() -> None:
    order: list[str] = []

    class Sink:
        def append(self, record: Record) -> None:
            order.append(type(record).__name__)

    def handler(command: ControlCommand) -> None:
        order.append(type(command).__name__)

    runtime = Runtime(Acd(CONFIG), MockControl(handler), Sink(), Metrics(CONFIG.queues), clock=lambda: 5.0)
    runtime.handle_now(AgentLoggedIn("a1"))
    order.clear()
    runtime.handle_now(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    assert order[0] == "RingAgent"
    assert "InteractionRecord" in order[1:]  # the same decision's records follow


async def test_deliver_handles_at_once_only_when_nothing_waits_ahead() -> None:
    done: list[tuple[str, ...]] = []
    runtime = Runtime(Acd(CONFIG), noting(done), ListSink(), Metrics(CONFIG.queues), clock=lambda: 5.0)
    assert runtime.deliver(AgentLoggedIn("a1"))  # the writer is not running yet: queued
    assert runtime.handled == 0
    writer = asyncio.create_task(runtime.run())
    await asyncio.sleep(0)
    assert runtime.handled == 1
    runtime.deliver(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    assert runtime.handled == 2  # handled inside deliver: the ring is already written
    assert done == [("ring", "c1", "agent1")]
    runtime.submit(CallerHungUp("c1"))  # now something waits in the inbox ...
    runtime.deliver(CallArrived("c2", "billing", 5, channel="PJSIP/trunk-2"))
    assert runtime.handled == 2  # ... so this one queues behind it, in order
    runtime.drain()
    await writer
    assert runtime.handled == 4
    assert done[-1] == ("ring", "c2", "agent1")  # a1 was freed by c1's hang-up first


async def test_each_command_goes_with_the_rest_of_its_decision() -> None:
    """The port may leave out a cancel a later Redirect of the same caller makes needless."""
    config = RoutingConfig(
        queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
        agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 1),))),
    )
    sent: list[tuple[str, list[str]]] = []

    class Control:
        def send(self, command: ControlCommand, rest: Sequence[ControlCommand] = ()) -> Awaitable[None]:
            sent.append((type(command).__name__, [type(c).__name__ for c in rest]))
            return MockControl().send(command)

        def publish(self, command: PublishNext | WithdrawNext) -> Awaitable[None]:
            return MockControl().publish(command)

    runtime = Runtime(Acd(config), Control(), ListSink(), Metrics(config.queues), clock=lambda: 0.0)
    runtime.handle_now(AgentLoggedIn("a1"))
    runtime.handle_now(AgentLoggedIn("a2"))
    out = runtime.handle_now(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    ring = next(c for c in out if isinstance(c, RingAgent))
    sent.clear()
    runtime.handle_now(TimerFired(ring_timer(ring.offer_id)))  # the ACD's ring timer: cancel, then a2
    assert sent == [("CancelOffer", ["RingAgent"]), ("RingAgent", [])]


async def test_a_moved_caller_is_tagged() -> None:
    done = await _run(
        [
            (CallArrived("c1", "sales", 5, enqueued_at=100.0, channel="PJSIP/trunk-1"), 100.0),
            (CallMoved("c1", "billing"), 103.5),
            (CallPriorityChanged("c1", 8), 104.0),
        ]
    )
    assert done[:2] == [("tag", "c1", "billing/5/103.5"), ("tag", "c1", "billing/8/103.5")]


async def test_a_ring_call_control_refuses_comes_back_as_a_failed_offer() -> None:
    """Refused at once (nothing written) or by the replies: either way the core hears it, in one line."""
    sink = ListSink()

    async def refused_later() -> None:
        raise NotCarriedOut("ami: Redirect: No such channel")

    def handler(command: ControlCommand) -> Awaitable[None] | None:
        if isinstance(command, RingAgent) and command.call_id == "c1":
            raise NotCarriedOut("no\nchannel")
        if isinstance(command, RingAgent):
            return refused_later()
        return None

    runtime = Runtime(Acd(CONFIG), MockControl(handler), sink, Metrics(CONFIG.queues), clock=lambda: 5.0)
    writer = asyncio.create_task(runtime.run())
    runtime.handle_now(AgentLoggedIn("a1"))
    runtime.handle_now(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    await asyncio.sleep(0.01)
    runtime.handle_now(CallerHungUp("c1"))
    runtime.handle_now(CallArrived("c2", "billing", 5, channel="PJSIP/trunk-2"))
    await asyncio.sleep(0.01)
    runtime.drain()
    await writer
    results = [(r.interaction_id, r.result) for r in sink.records if isinstance(r, OfferRecord) and r.result]
    assert results[:2] == [("c1", "failed"), ("c2", "failed")]
