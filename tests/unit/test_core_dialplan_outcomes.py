"""What the core hears of callers the dialplan handled on its own.

``CallInProgress``: a caller a restarted ACD finds already talking to an agent. The core takes the
call over as connected since the answer, so the agent is on a call (not offered another one) and the
call's end closes its interaction with the real wait and talk times, without counting it again.
``CallFellBack``: holding sent the caller to the fallback by itself: an overflow, not an abandon."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from core_builders import queue

from acd.core.acd import Acd
from acd.core.commands import MetricUpdate, OverflowCall, RecordCommand, RingAgent
from acd.core.config import AgentConfig, RoutingConfig
from acd.core.errors import InvalidTransition, UnknownAgent, UnknownQueue
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, CallFellBack, CallInProgress, Customer
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState

CONFIG = RoutingConfig(
    queues=(queue("billing", {"billing": 1}, sla_threshold_seconds=20.0, wrapup_seconds=5.0, vip_priority_boost=3),),
    agents=(AgentConfig("b1", "agent1", (("billing", 3),)), AgentConfig("b2", "agent2", (("billing", 3),))),
)
ARRIVAL = CallArrived(
    "c1",
    "billing",
    5,
    caller="555",
    enqueued_at=1000.0,
    channel="PJSIP/trunk-1",
    uniqueid="1.1",
    customer=Customer("k1", "Ada", "vip"),
)


def _interactions(commands: Sequence[object]) -> list[InteractionRecord]:
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)]


def test_a_call_found_talking_is_taken_over_and_its_end_closes_it_with_the_real_times() -> None:
    acd = Acd(CONFIG)
    taken = acd.handle(CallInProgress(ARRIVAL, "b1", answered_at=1012.0), 1100.0)
    assert acd.agent_state("b1") is AgentState.ON_CALL
    (record,) = _interactions(taken)
    assert (
        record.interaction_id,
        record.arrived_at,
        record.answered_at,
        record.agent_id,
        record.wait_seconds,
        record.within_sla,
        record.priority,
        record.customer_id,
    ) == ("c1", 1000.0, 1012.0, "b1", 12.0, True, 8, "k1")
    assert [c for c in taken if isinstance(c, MetricUpdate) and "calls" in c.name] == []  # counted when answered
    # the agent on the call is not offered the next caller; the other one is
    acd.handle(AgentLoggedIn("b2"), 1101.0)
    rings = [c for c in acd.handle(CallArrived("c2", "billing", 5), 1102.0) if isinstance(c, RingAgent)]
    assert [r.agent_id for r in rings] == ["b2"]
    ended = _interactions(acd.handle(CallEnded("c1"), 1160.0))
    assert [(r.outcome, r.ended_at, r.talk_seconds) for r in ended] == [("answered", 1160.0, 148.0)]
    assert acd.agent_state("b1") is AgentState.WRAP_UP


def test_a_take_over_is_refused_for_an_unknown_queue_or_agent_a_known_call_or_a_busy_agent() -> None:
    acd = Acd(CONFIG)
    with pytest.raises(UnknownQueue):
        acd.handle(CallInProgress(CallArrived("c9", "nowhere", 5), "b1", 1.0), 2.0)
    with pytest.raises(UnknownAgent):
        acd.handle(CallInProgress(ARRIVAL, "zz", 1012.0), 1100.0)
    acd.handle(CallInProgress(ARRIVAL, "b1", 1012.0), 1100.0)
    with pytest.raises(InvalidTransition):
        acd.handle(CallInProgress(ARRIVAL, "b2", 1012.0), 1100.0)  # the call is known now
    with pytest.raises(InvalidTransition):  # b1 is on c1: a second call at once is a bad picture
        acd.handle(CallInProgress(CallArrived("c3", "billing", 5, enqueued_at=1000.0), "b1", 1013.0), 1100.0)


def test_a_caller_the_dialplan_sent_to_its_fallback_leaves_overflowed_not_abandoned() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c1", "billing", 5, enqueued_at=1000.0), 1000.0)
    commands = acd.handle(CallFellBack("c1", "maxwait"), 1900.0)
    (record,) = _interactions(commands)
    assert (record.outcome, record.end_reason, record.wait_seconds, record.within_sla) == (
        "overflowed",
        "fallback_maxwait",
        900.0,
        False,
    )
    assert not [c for c in commands if isinstance(c, OverflowCall)]  # the dialplan moved the caller already
    assert [
        dict(c.labels)["queue"]
        for c in commands
        if isinstance(c, MetricUpdate) and c.name == "acd_calls_overflowed_total"
    ] == ["billing"]
