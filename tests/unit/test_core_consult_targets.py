"""Attended transfer to a queue and to an outside number (docs/kpis.md, "Transfers").

To a queue: the consult goes to the agent a new arrival there would be offered first (skills and
proficiency, ready agents only), refused with ``NoAgentReady`` when there is none; completing it gives
the caller a new stay in that queue answered by that agent (a transferred-in arrival answered at
once: wait 0, within the SL); going back leaves the caller with the first agent.

To a number: refused unless the allowed patterns match (nothing reaches the PBX); completing it closes
the stay ``transferred`` with segment target ``number:<n>`` (the caller leaves the ACD) and the
transferring agent's handle time ends there; going back keeps the consult as a segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from acd.core.acd import Acd
from acd.core.commands import ConsultCall, MetricUpdate, RecordCommand, RingAgent, TagCall
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.core.errors import InvalidTransition, NoAgentReady, NumberNotAllowed, UnknownQueue
from acd.core.events import (
    AgentLoggedIn,
    AgentPaused,
    CallArrived,
    CallEnded,
    CallHandedOver,
    ConsultEnded,
    ConsultRequested,
    ConsultStarted,
    OfferAnswered,
    WrapUpDone,
)
from acd.core.kpis import handle_seconds, latest
from acd.core.record_types import InteractionRecord, SegmentRecord
from acd.core.states import AgentState

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0, wrapup_seconds=30.0),
        QueueConfig("support", (SkillRequirement("support", 1),), sla_threshold_seconds=30.0, wrapup_seconds=10.0),
    ),
    agents=(
        AgentConfig("a", "agent1", (("billing", 3),)),
        AgentConfig("b", "agent2", (("billing", 3),)),
        AgentConfig("c", "agent3", (("support", 5),)),
        AgentConfig("d", "agent4", (("support", 2),)),
    ),
    policy=RoutingPolicy(transfer_numbers=("_1555NXXXXXX",)),
)
NUMBER = "15552345678"


def _records(commands: Sequence[object], kind: type) -> list:  # type: ignore[type-arg]
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, kind)]


def _talking(acd: Acd, *agents: str) -> None:
    """c1 arrives in billing at 0 and a answers at 4; then ``agents`` log in (at 5, in that order)."""
    acd.handle(AgentLoggedIn("a"), 0.0)
    ring = next(c for c in acd.handle(CallArrived("c1", "billing", 5), 0.0) if isinstance(c, RingAgent))
    acd.handle(OfferAnswered(ring.offer_id), 4.0)
    for agent in agents:
        acd.handle(AgentLoggedIn(agent), 5.0)


def test_a_queue_consult_goes_to_the_agent_the_acd_would_offer_a_new_arrival() -> None:
    acd = Acd(CONFIG)
    _talking(acd, "d", "c", "b")
    # c has the higher support proficiency: first, as for a routed call; b (billing only) never
    assert acd.handle(ConsultRequested("c1", "", for_queue="support"), 10.0) == [
        ConsultCall("c1", "a", "agent1", "agent3")
    ]
    acd.handle(AgentPaused("c", "break"), 11.0)
    assert acd.handle(ConsultRequested("c1", "", for_queue="support"), 12.0) == [
        ConsultCall("c1", "a", "agent1", "agent4")
    ]
    with pytest.raises(UnknownQueue):
        acd.handle(ConsultRequested("c1", "", for_queue="nowhere"), 12.0)


def test_a_queue_with_no_agent_ready_refuses_the_consult() -> None:
    acd = Acd(CONFIG)
    _talking(acd, "b")
    with pytest.raises(NoAgentReady, match="support"):
        acd.handle(ConsultRequested("c1", "", for_queue="support"), 10.0)
    acd.handle(AgentLoggedIn("c"), 11.0)
    acd.handle(ConsultStarted("c1", "a", "b"), 12.0)  # b consulting: never picked for billing
    acd.handle(ConsultEnded("c1", "a", "b"), 13.0)
    ring = next(c for c in acd.handle(CallArrived("c2", "support", 5), 14.0) if isinstance(c, RingAgent))
    acd.handle(OfferAnswered(ring.offer_id), 15.0)  # c on a call now: not picked either
    with pytest.raises(NoAgentReady):
        acd.handle(ConsultRequested("c1", "", for_queue="support"), 16.0)


def test_a_completed_queue_consult_is_a_new_stay_in_that_queue_answered_by_the_picked_agent() -> None:
    acd = Acd(CONFIG)
    _talking(acd, "c")
    acd.handle(ConsultRequested("c1", "", for_queue="support"), 8.0)
    acd.handle(ConsultStarted("c1", "a", "c"), 10.0)
    assert acd.agent_state("c") is AgentState.CONSULTING
    commands = acd.handle(CallHandedOver("c1", "a", "c"), 25.0)
    assert acd.talking("c1") == ("support", "c")
    assert acd.agent_state("a") is AgentState.WRAP_UP
    assert acd.agent_state("c") is AgentState.ON_CALL
    consult, talk_a = _records(commands, SegmentRecord)
    assert (consult.kind, consult.agent_id, consult.queue, consult.started_at) == ("consult", "c", "billing", 10.0)
    assert (talk_a.agent_id, talk_a.transfer_kind, talk_a.transfer_target) == ("a", "attended", "queue:support")
    stays = latest(_records(commands, InteractionRecord))
    a_stay = next(r for r in stays if r.agent_id == "a")
    c_stay = next(r for r in stays if r.agent_id == "c")
    assert (a_stay.queue, a_stay.end_reason, a_stay.talk_seconds) == ("billing", "transferred", 21.0)
    # a transferred-in arrival in support, answered at the transfer: wait 0, within support's SL
    assert (c_stay.interaction_id, c_stay.queue, c_stay.arrived_at, c_stay.answered_at) == ("c1", "support", 25.0, 25.0)
    assert (c_stay.wait_seconds, c_stay.within_sla) == (0.0, True)
    answered = [
        c for c in commands if isinstance(c, MetricUpdate) and c.name == "acd_calls_answered_total" and c.labels
    ]
    assert [dict(c.labels)["queue"] for c in answered] == ["support"]
    # the caller's channel says the new stay (what a restarted ACD's resync reads back)
    assert [(t.queue, t.enqueued_at) for t in commands if isinstance(t, TagCall)] == [("support", 25.0)]
    commands = acd.handle(CallEnded("c1"), 40.0)
    assert acd.agent_state("c") is AgentState.WRAP_UP
    done = latest(_records(acd.handle(WrapUpDone("c"), 45.0), InteractionRecord))[0]
    assert (done.queue, handle_seconds(done)) == ("support", 20.0)  # support's own wrap-up, 15 s talk + 5


def test_back_from_a_queue_consult_leaves_the_caller_with_the_first_agent() -> None:
    acd = Acd(CONFIG)
    _talking(acd, "c")
    acd.handle(ConsultRequested("c1", "", for_queue="support"), 8.0)
    acd.handle(ConsultStarted("c1", "a", "c"), 10.0)
    (consult,) = _records(acd.handle(ConsultEnded("c1", "a", "c"), 18.0), SegmentRecord)
    assert (consult.kind, consult.agent_id, consult.ended_at) == ("consult", "c", 18.0)
    assert acd.talking("c1") == ("billing", "a")
    assert acd.agent_state("c") is AgentState.READY
    # a later consult of c asked as an agent (from the phone) hands over in billing, not support
    acd.handle(ConsultStarted("c1", "a", "c"), 20.0)
    acd.handle(CallHandedOver("c1", "a", "c"), 22.0)
    assert acd.talking("c1") == ("billing", "c")


def test_a_number_consult_is_checked_against_the_allowed_patterns_before_the_pbx() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    with pytest.raises(NumberNotAllowed):
        acd.handle(ConsultRequested("c1", "", number="19005551234"), 10.0)
    assert acd.handle(ConsultRequested("c1", "", number=NUMBER), 10.0) == [ConsultCall("c1", "a", "agent1", "", NUMBER)]
    with pytest.raises(NumberNotAllowed):  # nor believed from the PBX
        acd.handle(ConsultStarted("c1", "a", "", "19005551234"), 11.0)


def test_a_completed_number_consult_joins_the_caller_to_it_and_ends_the_agents_handle_time() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    acd.handle(ConsultStarted("c1", "a", "", NUMBER), 10.0)
    assert acd.agent_state("a") is AgentState.ON_CALL
    commands = acd.handle(CallHandedOver("c1", "a", "", number=NUMBER), 25.0)
    assert acd.talking("c1") is None
    assert acd.agent_state("a") is AgentState.WRAP_UP
    consult, talk = _records(commands, SegmentRecord)
    assert (consult.kind, consult.agent_id, consult.transfer_target, consult.ended_at) == (
        "consult",
        "a",
        f"number:{NUMBER}",
        25.0,
    )
    assert (talk.kind, talk.transfer_kind, talk.transfer_target) == ("talk", "attended", f"number:{NUMBER}")
    (stay,) = latest(_records(commands, InteractionRecord))
    assert (stay.outcome, stay.end_reason, stay.talk_seconds) == ("answered", "transferred", 21.0)
    done = latest(_records(acd.handle(WrapUpDone("a"), 30.0), InteractionRecord))[0]
    assert handle_seconds(done) == 26.0  # 21 s talk (the consult in it) + 5 s wrap-up


def test_back_from_a_number_consult_keeps_it_as_a_segment() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    acd.handle(ConsultStarted("c1", "a", "", NUMBER), 10.0)
    (consult,) = _records(acd.handle(ConsultEnded("c1", "a", "", NUMBER), 14.0), SegmentRecord)
    assert (consult.agent_id, consult.transfer_target, consult.started_at) == ("a", f"number:{NUMBER}", 10.0)
    assert acd.talking("c1") == ("billing", "a")
    commands = acd.handle(CallEnded("c1"), 20.0)
    (stay,) = latest(_records(commands, InteractionRecord))
    assert stay.end_reason != "transferred"


def test_a_phone_consult_of_a_queue_tells_its_leg_the_picked_agent_and_completes_into_that_queue() -> None:
    """``*2`` then a queue's number (docs/dialplan.md, "Transfers"): the same pick as the REST API's,
    answered to the waiting consult leg (``phone_leg``); only from the agent talking with the caller;
    its completion is a new stay in that queue answered by the picked agent."""
    leg = "Local/300@acd-transfer-00000001;2"
    acd = Acd(CONFIG)
    _talking(acd, "b")
    with pytest.raises(NoAgentReady):  # nobody ready in support: nothing told, the phone gives up
        acd.handle(ConsultRequested("c1", "", for_queue="support", phone_leg=leg, phone_agent="a"), 6.0)
    acd.handle(AgentLoggedIn("c"), 7.0)
    with pytest.raises(InvalidTransition):  # b is not the agent on the call
        acd.handle(ConsultRequested("c1", "", for_queue="support", phone_leg=leg, phone_agent="b"), 7.5)
    assert acd.handle(ConsultRequested("c1", "", for_queue="support", phone_leg=leg, phone_agent="a"), 8.0) == [
        ConsultCall("c1", "a", "agent1", "agent3", phone_leg=leg)
    ]
    acd.handle(ConsultStarted("c1", "a", "c"), 9.0)
    assert acd.agent_state("c") is AgentState.CONSULTING
    acd.handle(CallHandedOver("c1", "a", "c"), 20.0)
    assert acd.talking("c1") == ("support", "c")
