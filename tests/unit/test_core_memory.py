"""What the core and the runtime keep per call stays bounded: a day of traffic must not drift (the soak's RSS)."""

from __future__ import annotations

import asyncio

import pytest
from doubles import ListSink, MockControl

from acd.core import floor as floor_module
from acd.core.acd import Acd
from acd.core.commands import RecordCommand, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.errors import OfferClosed, UnknownCall, UnknownOffer
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CustomerIdentified,
    DispositionSet,
    OfferAnswered,
    OfferRejected,
)
from acd.core.record_types import InteractionRecord
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


def _answered_and_ended(acd: Acd, call_id: str, now: float) -> str:
    """A call answered by a1 and ended; returns its offer's id."""
    rings = [c for c in acd.handle(CallArrived(call_id, "billing", 5), now) if isinstance(c, RingAgent)]
    assert len(rings) == 1
    acd.handle(OfferAnswered(rings[0].offer_id), now + 1)
    acd.handle(CallEnded(call_id), now + 10)
    return rings[0].offer_id


def test_late_events_reach_the_closed_calls_kept_and_the_forgotten_ones_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(floor_module, "CLOSED_KEPT", 2)
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("a1"), 0.0)
    offers = [_answered_and_ended(acd, f"call-{i}", 100.0 * i) for i in range(1, 4)]
    now = 400.0
    # the last two are kept: a late disposition and customer id are written on them
    for call_id in ("call-2", "call-3"):
        records = [c.record for c in acd.handle(DispositionSet(call_id, "sale"), now) if isinstance(c, RecordCommand)]
        assert [(r.interaction_id, r.disposition) for r in records if isinstance(r, InteractionRecord)] == [
            (call_id, "sale")
        ]
        written = acd.handle(CustomerIdentified(call_id, "cust-7"), now)
        assert any(isinstance(c, RecordCommand) and c.record.customer_id == "cust-7" for c in written)  # type: ignore[union-attr]
        assert acd.call_queue(call_id) == "billing"
    with pytest.raises(OfferClosed):
        acd.handle(OfferAnswered(offers[2]), now)
    # the oldest is forgotten: the late events are refused with the call's clear error, nothing written
    with pytest.raises(UnknownCall):
        acd.handle(DispositionSet("call-1", "sale"), now)
    with pytest.raises(UnknownCall):
        acd.handle(CustomerIdentified("call-1", "cust-7"), now)
    assert acd.call_queue("call-1") is None
    with pytest.raises(UnknownOffer):
        acd.handle(OfferAnswered(offers[0]), now)


def test_a_closed_call_keeps_no_cooldowns() -> None:
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("a1"), 0.0)
    rings = [c for c in acd.handle(CallArrived("call-1", "billing", 5), 0.0) if isinstance(c, RingAgent)]
    acd.handle(OfferRejected(rings[0].offer_id), 1.0)  # a1 may not be offered it again for a while
    assert acd._floor.calls["call-1"].cooldowns
    acd.handle(CallerHungUp("call-1"), 2.0)
    assert acd._floor.closed["call-1"].cooldowns == {}
