"""``CallPriorityChanged``: a supervisor moves a queued caller to another priority band. The caller
keeps their enqueue time, routing order follows the new band at once, and the record says so."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from acd.core.acd import Acd
from acd.core.commands import RecordCommand, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.errors import InvalidTransition, UnknownCall
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, CallPriorityChanged, OfferAnswered
from acd.core.record_types import InteractionRecord

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


def _rings(commands: Sequence[object]) -> list[str]:
    return [c.call_id for c in commands if isinstance(c, RingAgent)]


def test_a_raised_caller_is_offered_first() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("old-low", "billing", 1), 0.0)
    acd.handle(CallArrived("new-high", "billing", 5), 1.0)
    commands = acd.handle(CallPriorityChanged("old-low", 9), 2.0)
    records = [c.record for c in commands if isinstance(c, RecordCommand)]
    assert [(r.interaction_id, r.priority) for r in records if isinstance(r, InteractionRecord)] == [("old-low", 9)]
    assert [(v.call_id, v.priority, v.position) for v in acd.queued_calls(3.0)] == [
        ("old-low", 9, 1),
        ("new-high", 5, 2),
    ]
    assert _rings(acd.handle(AgentLoggedIn("a1"), 3.0)) == ["old-low"]


def test_a_lowered_caller_keeps_their_enqueue_time_within_the_new_band() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("first", "billing", 5), 0.0)
    acd.handle(CallArrived("second", "billing", 1), 1.0)
    acd.handle(CallPriorityChanged("first", 1), 2.0)
    assert [v.call_id for v in acd.queued_calls(3.0)] == ["first", "second"]  # same band: waited longer
    assert [v.waited for v in acd.queued_calls(3.0)] == [3.0, 2.0]


def test_a_ringing_call_keeps_ringing_with_its_new_priority() -> None:
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("a1"), 0.0)
    assert _rings(acd.handle(CallArrived("c1", "billing", 1), 0.0)) == ["c1"]
    assert not _rings(acd.handle(CallPriorityChanged("c1", 7), 1.0))
    assert [(v.call_id, v.state.value, v.priority) for v in acd.queued_calls(1.0)] == [("c1", "ringing", 7)]


def test_refused_for_a_call_in_conversation_ended_or_unknown() -> None:
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("a1"), 0.0)
    ring = next(c for c in acd.handle(CallArrived("c1", "billing", 1), 0.0) if isinstance(c, RingAgent))
    acd.handle(OfferAnswered(ring.offer_id), 1.0)
    with pytest.raises(InvalidTransition):
        acd.handle(CallPriorityChanged("c1", 9), 2.0)
    acd.handle(CallEnded("c1"), 3.0)
    with pytest.raises(InvalidTransition):
        acd.handle(CallPriorityChanged("c1", 9), 4.0)
    with pytest.raises(UnknownCall):
        acd.handle(CallPriorityChanged("nope", 9), 4.0)
