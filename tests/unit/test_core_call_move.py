"""``CallMoved``: a supervisor moves a queued caller to another queue. The stay in the old queue is
closed with outcome ``moved`` (not offered there), the caller arrives afresh in the new queue, a
ringing offer is withdrawn without a miss, and a free agent of the new queue is rung at once."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from acd.core.acd import Acd
from acd.core.commands import CancelOffer, MetricUpdate, RecordCommand, RingAgent, TagCall
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.errors import AlreadyInQueue, InvalidTransition, UnknownCall, UnknownQueue
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallEnded,
    CallMoved,
    CallPriorityChanged,
    Customer,
    OfferAnswered,
)
from acd.core.kpis import latest, queue_kpis
from acd.core.metric_updates import CALLS_MOVED, CALLS_OFFERED
from acd.core.record_types import InteractionRecord, OfferRecord
from acd.core.states import AgentState, CallState

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0),
        QueueConfig("sales", (SkillRequirement("sales", 1),), sla_threshold_seconds=10.0, max_wait_seconds=60.0),
    ),
    agents=(AgentConfig("b1", "billing1", (("billing", 3),)), AgentConfig("s1", "sales1", (("sales", 3),))),
)


def _interactions(commands: Sequence[object]) -> list[InteractionRecord]:
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)]


def _counted(commands: Sequence[object], name: str) -> list[str]:
    return [dict(c.labels)["queue"] for c in commands if isinstance(c, MetricUpdate) and c.name == name]


def test_a_waiting_caller_moves_and_is_rung_at_once_by_a_free_agent_of_the_new_queue() -> None:
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("s1"), 0.0)
    acd.handle(CallArrived("c1", "billing", 3, caller="555"), 0.0)
    commands = acd.handle(CallMoved("c1", "sales"), 30.0)
    left, joined = _interactions(commands)
    assert (left.queue, left.outcome, left.wait_seconds, left.within_sla, left.ended_at) == (
        "billing",
        "moved",
        30.0,
        None,
        30.0,
    )
    assert left.interaction_id != "c1"
    assert (
        joined.interaction_id,
        joined.queue,
        joined.arrived_at,
        joined.outcome,
        joined.caller,
        joined.sla_threshold_seconds,
        joined.priority,
    ) == ("c1", "sales", 30.0, None, "555", 10.0, 3)
    assert _counted(commands, CALLS_MOVED) == ["billing"]
    assert _counted(commands, CALLS_OFFERED) == []  # offered in sales only when it leaves that queue
    ring = next(c for c in commands if isinstance(c, RingAgent))
    assert (ring.call_id, ring.agent_id) == ("c1", "s1")


def test_the_wait_in_the_new_queue_runs_from_the_move() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c1", "billing", 3), 0.0)
    acd.handle(CallMoved("c1", "sales"), 100.0)  # past sales' max wait of 60 s, counted from the move
    assert [(v.call_id, v.queue, v.waited) for v in acd.queued_calls(105.0)] == [("c1", "sales", 5.0)]
    log = acd.handle(AgentLoggedIn("s1"), 105.0)
    log += acd.handle(OfferAnswered(next(c for c in log if isinstance(c, RingAgent)).offer_id), 108.0)
    log += acd.handle(CallEnded("c1"), 200.0)
    records = latest(_interactions(log))
    answered = next(r for r in records if r.interaction_id == "c1")
    assert (answered.queue, answered.wait_seconds, answered.within_sla) == ("sales", 8.0, True)


def test_a_ringing_caller_is_withdrawn_without_a_miss_and_the_agent_is_ready_again() -> None:
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("b1"), 0.0)
    ring = next(c for c in acd.handle(CallArrived("c1", "billing", 3), 1.0) if isinstance(c, RingAgent))
    commands = acd.handle(CallMoved("c1", "sales"), 4.0)
    assert CancelOffer(ring.offer_id, "c1", "b1") in commands
    offers = [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, OfferRecord)]
    assert [(o.offer_id, o.result) for o in offers] == [(ring.offer_id, "cancelled")]
    assert acd.agent_state("b1") is AgentState.READY
    assert acd._floor.agents["b1"].misses == 0
    assert not acd._floor.calls["c1"].cooldowns  # not a miss: b1 could take it again at once
    view = acd.queued_calls(5.0)
    assert [(v.call_id, v.queue, v.state, v.position) for v in view] == [("c1", "sales", CallState.WAITING, 1)]


def test_refusals_change_nothing() -> None:
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("b1"), 0.0)
    ring = next(c for c in acd.handle(CallArrived("c1", "billing", 3), 0.0) if isinstance(c, RingAgent))
    acd.handle(CallArrived("c2", "billing", 3), 0.0)
    with pytest.raises(UnknownQueue):
        acd.handle(CallMoved("c2", "nowhere"), 1.0)
    with pytest.raises(AlreadyInQueue):
        acd.handle(CallMoved("c2", "billing"), 1.0)
    with pytest.raises(UnknownCall):
        acd.handle(CallMoved("nope", "sales"), 1.0)
    acd.handle(OfferAnswered(ring.offer_id), 2.0)
    with pytest.raises(InvalidTransition) as refused:
        acd.handle(CallMoved("c1", "sales"), 3.0)
    assert refused.value.state == "connected"
    acd.handle(CallEnded("c1"), 4.0)
    with pytest.raises(InvalidTransition):
        acd.handle(CallMoved("c1", "sales"), 5.0)
    assert [(v.call_id, v.queue) for v in acd.queued_calls(5.0)] == [("c2", "billing")]


def test_the_kpis_leave_a_moved_stay_out_of_the_first_queue_and_count_it_in_the_second() -> None:
    acd = Acd(CONFIG)
    log = acd.handle(CallArrived("c1", "billing", 3), 0.0)
    log += acd.handle(CallMoved("c1", "sales"), 50.0)
    log += acd.handle(CallMoved("c1", "billing"), 52.0)  # and back: a third stay
    log += acd.handle(AgentLoggedIn("b1"), 60.0)
    log += acd.handle(OfferAnswered(next(c for c in log if isinstance(c, RingAgent)).offer_id), 61.0)
    records = latest(_interactions(log))
    assert sorted((r.queue, r.outcome or "open") for r in records) == [
        ("billing", "moved"),
        ("billing", "open"),
        ("sales", "moved"),
    ]
    billing = queue_kpis([r for r in records if r.queue == "billing"], short_abandon_seconds=5.0)
    sales = queue_kpis([r for r in records if r.queue == "sales"], short_abandon_seconds=5.0)
    assert (billing.offered, billing.answered, billing.moved, billing.service_level, billing.asa) == (1, 1, 1, 1.0, 9.0)
    assert (sales.offered, sales.moved, sales.service_level, sales.max_wait) == (0, 1, None, None)


def test_a_move_and_a_priority_change_are_written_onto_the_channel_before_any_ring() -> None:
    """What a restarted ACD reads back (resync): the new queue, the new stay's start, and the
    priority before the VIP boost (the dialplan's, to which the boost is added again on arrival).
    A moved caller keeps that priority, plus the new queue's own VIP boost."""
    config = RoutingConfig(
        queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), vip_priority_boost=4), *CONFIG.queues[1:]),
        agents=CONFIG.agents,
    )
    acd = Acd(config)
    acd.handle(CallArrived("c1", "billing", 3, customer=Customer("k1", "Ada", "vip")), 0.0)
    assert acd.queued_calls(0.0)[0].priority == 7
    assert [c for c in acd.handle(CallPriorityChanged("c1", 9), 5.0) if isinstance(c, TagCall)] == [
        TagCall("c1", "billing", 5, 0.0)
    ]
    acd.handle(AgentLoggedIn("s1"), 6.0)
    commands = acd.handle(CallMoved("c1", "sales"), 30.0)
    tags = [i for i, c in enumerate(commands) if isinstance(c, TagCall)]
    ring = next(i for i, c in enumerate(commands) if isinstance(c, RingAgent))
    # the 30 s waited in billing go with the caller (ACD_WAITED): their wait so far is kept
    # a new stay: ACD_DIRECTED is cleared as well (a priority change, above, leaves it)
    assert [commands[i] for i in tags] == [TagCall("c1", "sales", 5, 30.0, 30.0, new_stay=True)] and tags[0] < ring
    # in sales, which gives VIPs no boost, the caller routes at the priority they would arrive with
    assert next(c for c in _interactions(commands) if c.queue == "sales").priority == 5
