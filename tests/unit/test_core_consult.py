"""Attended transfer to another agent (docs/kpis.md, "Transfers"): while a consult leg is open the
consulted agent is busy (``consulting``) and offered no caller (an offer that crossed the consult leg
is withdrawn, not missed); completing it hands the caller over (the transferring agent's stay closes,
transfer kind ``attended``, target ``agent:<id>``; the consulted agent's stay is answered at the
completion); going back frees the consulted agent and keeps the consult as a segment."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from acd.core.acd import Acd
from acd.core.commands import CancelOffer, ConsultCall, FinishConsult, RecordCommand, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.errors import InvalidTransition, UnknownAgent
from acd.core.events import (
    AgentLoggedIn,
    AgentPaused,
    CallArrived,
    CallEnded,
    CallHandedOver,
    ConsultEnded,
    ConsultFinishRequested,
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
    ),
    agents=(AgentConfig("a", "agent1", (("billing", 3),)), AgentConfig("b", "agent2", (("billing", 3),))),
)


def _records(commands: Sequence[object], kind: type) -> list:  # type: ignore[type-arg]
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, kind)]


def _talking(acd: Acd) -> list[object]:
    """c1 arrives in billing at 0 and a answers at 4; then b logs in."""
    log: list[object] = list(acd.handle(AgentLoggedIn("a"), 0.0))
    log += acd.handle(CallArrived("c1", "billing", 5, caller="555"), 0.0)
    ring = next(c for c in log if isinstance(c, RingAgent))
    log += acd.handle(OfferAnswered(ring.offer_id), 4.0)
    log += acd.handle(AgentLoggedIn("b"), 5.0)
    return log


def test_a_consult_request_is_checked_and_handed_to_the_pbx() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    assert acd.handle(ConsultRequested("c1", "b"), 10.0) == [ConsultCall("c1", "a", "agent1", "agent2")]
    assert acd.agent_state("b") is AgentState.READY  # nothing moves before the PBX's word
    with pytest.raises(UnknownAgent):
        acd.handle(ConsultRequested("c1", "nobody"), 10.0)
    with pytest.raises(InvalidTransition):
        acd.handle(ConsultRequested("c1", "a"), 10.0)
    with pytest.raises(InvalidTransition):  # nothing to finish
        acd.handle(ConsultFinishRequested("c1", "complete"), 10.0)


def test_the_consulted_agent_is_busy_and_offered_no_caller() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    acd.handle(ConsultStarted("c1", "a", "b"), 10.0)
    assert acd.agent_state("b") is AgentState.CONSULTING
    commands = acd.handle(CallArrived("c2", "billing", 5), 11.0)
    assert not [c for c in commands if isinstance(c, RingAgent)]
    with pytest.raises(InvalidTransition):  # no pause on a consult leg
        acd.handle(AgentPaused("b", "break"), 12.0)
    assert acd.handle(ConsultFinishRequested("c1", "cancel"), 12.0) == [FinishConsult("c1", "a", "agent1", "cancel")]


def test_an_offer_that_crossed_the_consult_leg_is_withdrawn_not_missed() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    ring = next(c for c in acd.handle(CallArrived("c2", "billing", 5), 9.0) if isinstance(c, RingAgent))
    assert ring.agent_id == "b"
    commands = acd.handle(ConsultStarted("c1", "a", "b"), 10.0)
    assert CancelOffer(ring.offer_id, "c2", "b") in commands
    assert acd.agent_state("b") is AgentState.CONSULTING
    assert [v.state.value for v in acd.queued_calls(10.0)] == ["waiting"]
    with pytest.raises(InvalidTransition):  # the late answer of the withdrawn offer changes nothing
        acd.handle(OfferAnswered(ring.offer_id), 10.5)
    assert acd.agent_state("b") is AgentState.CONSULTING


def test_complete_hands_the_caller_over() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    acd.handle(ConsultStarted("c1", "a", "b"), 10.0)
    commands = acd.handle(CallHandedOver("c1", "a", "b"), 25.0)
    assert acd.agent_state("a") is AgentState.WRAP_UP
    assert acd.agent_state("b") is AgentState.ON_CALL
    assert acd.talking("c1") == ("billing", "b")
    segments = _records(commands, SegmentRecord)
    consult, talk_a = segments
    assert (consult.kind, consult.agent_id, consult.started_at, consult.ended_at) == ("consult", "b", 10.0, 25.0)
    assert (talk_a.kind, talk_a.agent_id, talk_a.started_at, talk_a.ended_at) == ("talk", "a", 4.0, 25.0)
    assert (talk_a.transfer_kind, talk_a.transfer_target) == ("attended", "agent:b")
    stays = latest(_records(commands, InteractionRecord))
    a_stay = next(r for r in stays if r.agent_id == "a")
    b_stay = next(r for r in stays if r.agent_id == "b")
    # the consult counts in a's talk (and so in a's handle time); b's starts at the completion
    assert (a_stay.end_reason, a_stay.talk_seconds, a_stay.interaction_id) == ("transferred", 21.0, talk_a.stay_id)
    assert (b_stay.interaction_id, b_stay.answered_at, b_stay.wait_seconds, b_stay.within_sla) == (
        "c1",
        25.0,
        0.0,
        None,
    )
    acd.handle(WrapUpDone("a"), 30.0)
    commands = acd.handle(CallEnded("c1"), 40.0)
    b_end = latest(_records(commands, InteractionRecord))[0]
    assert (b_end.agent_id, b_end.talk_seconds) == ("b", 15.0)
    (talk_b,) = _records(commands, SegmentRecord)
    assert (talk_b.agent_id, talk_b.started_at, talk_b.ended_at, talk_b.transfer_kind) == ("b", 25.0, 40.0, None)
    assert acd.agent_state("b") is AgentState.WRAP_UP
    done = latest(_records(acd.handle(WrapUpDone("b"), 45.0), InteractionRecord))[0]
    assert handle_seconds(done) == 20.0


def test_back_to_the_caller_frees_the_consulted_agent_and_keeps_the_consult() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    acd.handle(ConsultStarted("c1", "a", "b"), 10.0)
    with pytest.raises(InvalidTransition):  # a consult that is not the open one
        acd.handle(ConsultEnded("c1", "b", "a"), 12.0)
    commands = acd.handle(ConsultEnded("c1", "a", "b"), 18.0)
    assert acd.agent_state("b") is AgentState.READY
    assert acd.talking("c1") == ("billing", "a")
    (consult,) = _records(commands, SegmentRecord)
    assert (consult.kind, consult.agent_id, consult.stay_id, consult.started_at, consult.ended_at) == (
        "consult",
        "b",
        "c1",
        10.0,
        18.0,
    )
    with pytest.raises(InvalidTransition):  # completed after going back: no consult open
        acd.handle(CallHandedOver("c1", "a", "b"), 19.0)
    # b is offered callers again
    ring = [c for c in acd.handle(CallArrived("c2", "billing", 5), 20.0) if isinstance(c, RingAgent)]
    assert [r.agent_id for r in ring] == ["b"]
