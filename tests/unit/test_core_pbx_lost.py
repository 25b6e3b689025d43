"""A lost PBX closes its calls and frees its agents (docs/pbxs.md, "A PBX dies").

``PbxLost(pbx, at)``: every open call of that PBX closes at ``at`` with end reason ``pbx_lost``
(failed when unanswered, never abandoned); an offer ringing for one of its callers fails with no miss;
an agent talking to one of them goes to wrap-up. The other PBXs' calls are not touched. A later
event of the lost PBX for a closed call is refused; a caller found again is a new stay.
"""

from __future__ import annotations

import pytest
from core_builders import Driver, agent, config, queue

from acd.core.acd import Acd
from acd.core.commands import CancelOffer, MetricUpdate, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.errors import InvalidTransition, OfferClosed
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallbackAccepted,
    CallbackCallerGone,
    CallEnded,
    CallerHungUp,
    ConsultStarted,
    OfferAnswered,
    PbxLost,
)
from acd.core.pbx_loss import lost_stay_id
from acd.core.states import AgentState, CallState

CFG = config(
    [queue("q", sla_threshold_seconds=20.0, max_wait_seconds=600.0, wrapup_seconds=10.0)],
    [agent("a1"), agent("a2")],
    max_consecutive_misses=1,
)


def _lost(d: Driver, pbx: str) -> float:
    return sum(c.value for c in d.log if isinstance(c, MetricUpdate) and c.name == "acd_calls_lost_total"
               and ("pbx", pbx) in c.labels)  # fmt: skip


def test_a_waiting_caller_of_the_lost_pbx_closes_failed_at_the_loss_and_the_other_pbx_goes_on() -> None:
    d = Driver.of(CFG)
    d.send(CallArrived("c2", "q", 5, pbx="pbx2"), 100.0)
    d.send(CallArrived("c1", "q", 5, pbx="pbx1"), 101.0)
    d.send(PbxLost("pbx2", 110.0), 140.0)
    record = d.interactions()["c2"]
    assert (record.outcome, record.end_reason, record.ended_at) == ("failed", "pbx_lost", 110.0)
    assert record.wait_seconds == 10.0
    assert d.acd.call_state("c2") is None
    assert d.acd.call_state("c1") is CallState.WAITING
    assert d.metric_total("acd_calls_failed_total") == 1.0
    assert d.metric_total("acd_calls_abandoned_total") == 0.0
    assert _lost(d, "pbx2") == 1.0 and _lost(d, "pbx1") == 0.0
    d.login("a1", now=141.0)
    assert d.agent_ringing("c1") == "a1"  # pbx1's caller is routed as ever


def test_an_offer_ringing_for_a_caller_of_the_lost_pbx_fails_with_no_miss() -> None:
    d = Driver.of(CFG)
    d.login("a1")
    d.send(CallArrived("c2", "q", 5, pbx="pbx2"), 100.0)
    assert d.agent_ringing("c2") == "a1"
    out = d.send(PbxLost("pbx2", 102.0), 130.0)
    assert not [c for c in out if isinstance(c, CancelOffer)]  # the leg was on the PBX that is gone
    offer = d.offers()[-1]
    assert (offer.result, offer.ended_at) == ("failed", 102.0)
    floor = d.acd._floor
    assert floor.agents["a1"].state is AgentState.READY  # not auto-paused (max_consecutive_misses=1)
    assert floor.agents["a1"].misses == 0
    out = d.send(CallArrived("c1", "q", 5, pbx="pbx1"), 131.0)
    assert [c.agent_id for c in out if isinstance(c, RingAgent)] == ["a1"]


def test_an_agent_talking_through_the_lost_pbx_is_released_to_wrap_up() -> None:
    d = Driver.of(CFG)
    d.login("a1")
    d.send(CallArrived("c2", "q", 5, pbx="pbx2"), 100.0)
    d.answer("c2", 105.0)
    d.send(PbxLost("pbx2", 120.0), 125.0)  # wrap-up runs from the loss: 10 s, to 130
    record = d.interactions()["c2"]
    assert (record.outcome, record.end_reason, record.ended_at, record.agent_id) == (
        "answered",
        "pbx_lost",
        120.0,
        "a1",
    )
    floor = d.acd._floor
    assert floor.agents["a1"].state is AgentState.WRAP_UP
    assert d.metric_total("acd_calls_answered_total") == 1.0 and d.metric_total("acd_calls_failed_total") == 0.0
    assert _lost(d, "pbx2") == 1.0


def test_a_consult_that_outlived_its_caller_ends_with_the_lost_pbx() -> None:
    d = Driver.of(CFG)
    d.login("a1")
    d.send(CallArrived("c2", "q", 5, pbx="pbx2"), 100.0)
    d.answer("c2", 105.0)
    d.login("a2", now=106.0)
    d.send(ConsultStarted("c2", "a1", "a2"), 107.0)
    d.send(CallerHungUp("c2"), 110.0)  # the two agents talk on: the consult outlives its call
    floor = d.acd._floor
    assert floor.agents["a2"].state is AgentState.CONSULTING
    d.send(PbxLost("pbx2", 120.0), 125.0)
    assert floor.agents["a2"].state is AgentState.READY
    assert "c2" not in floor.consults


def test_a_late_event_of_the_lost_pbx_is_refused() -> None:
    d = Driver.of(CFG)
    d.login("a1")
    d.send(CallArrived("c2", "q", 5, pbx="pbx2"), 100.0)
    offer = d.offer_of("c2").offer_id
    d.send(PbxLost("pbx2", 101.0), 130.0)
    with pytest.raises(InvalidTransition):
        d.send(CallerHungUp("c2"), 131.0)
    with pytest.raises(InvalidTransition):
        d.send(CallEnded("c2"), 131.0)
    with pytest.raises(OfferClosed):
        d.send(OfferAnswered(offer), 131.0)
    assert d.acd.call_state("c2") is None
    assert d.interactions()["c2"].end_reason == "pbx_lost"


def test_a_caller_found_again_is_a_new_stay_and_the_lost_one_keeps_pbx_lost() -> None:
    d = Driver.of(CFG)
    d.send(CallArrived("c2", "q", 5, pbx="pbx2"), 100.0)
    d.send(PbxLost("pbx2", 110.0), 140.0)
    # the link comes back: the PBX lived, its resync finds the caller still holding
    d.send(CallArrived("c2", "q", 5, enqueued_at=100.0, pbx="pbx2"), 150.0)
    assert d.acd.call_state("c2") is CallState.WAITING
    records = d.interactions()
    first = records[lost_stay_id("c2", 110.0)]
    assert (first.outcome, first.end_reason, first.ended_at) == ("failed", "pbx_lost", 110.0)
    assert records["c2"].outcome is None and records["c2"].arrived_at == 110.0
    d.login("a1", now=151.0)
    d.answer("c2", 152.0)
    d.end("c2", 160.0)
    records = d.interactions()
    assert records["c2"].outcome == "answered"
    assert records[lost_stay_id("c2", 110.0)].end_reason == "pbx_lost"  # each stay once, the first kept
    assert len(records) == 2


def test_a_callback_is_closed_with_the_pbx_it_is_dialled_on_not_the_caller_s_first_one() -> None:
    q = QueueConfig("billing", (SkillRequirement("billing", 1),), max_wait_seconds=60.0, callback_after_seconds=10.0)
    acd = Acd(RoutingConfig(queues=(q,), agents=(AgentConfig("a1", "agent1", (("billing", 3),)),)))
    acd.handle(CallArrived("c2", "billing", 5, caller="555", pbx="pbx2"), 0.0)
    acd.handle(CallbackAccepted("c2", "555"), 11.0)
    acd.handle(CallbackCallerGone("c2"), 11.0)
    [ring] = [c for c in acd.handle(AgentLoggedIn("a1"), 20.0) if isinstance(c, RingAgent)]
    acd.handle(OfferAnswered(ring.offer_id), 21.0)  # the caller is dialled back, on the first PBX
    assert acd.call_state("c2") is CallState.CONNECTED
    acd.handle(PbxLost("pbx2", 22.0), 23.0)  # the caller's first PBX: the callback has no channel there
    assert acd.call_state("c2") is CallState.CONNECTED
    acd.handle(PbxLost("pbx1", 24.0, dials_callbacks=True), 25.0)  # the PBX it is dialled on
    assert acd.call_state("c2") is None


def test_a_callback_named_as_dialled_through_a_pbx_closes_with_that_one_alone() -> None:
    # several PBXs: each callback is dialled through the first PBX whose link is up; the loss names them
    q = QueueConfig("billing", (SkillRequirement("billing", 1),), max_wait_seconds=60.0, callback_after_seconds=10.0)
    acd = Acd(RoutingConfig(queues=(q,), agents=(AgentConfig("a1", "agent1", (("billing", 3),)),)))
    acd.handle(CallArrived("c2", "billing", 5, caller="555", pbx="pbx1"), 0.0)
    acd.handle(CallbackAccepted("c2", "555"), 11.0)
    acd.handle(CallbackCallerGone("c2"), 11.0)
    [ring] = [c for c in acd.handle(AgentLoggedIn("a1"), 20.0) if isinstance(c, RingAgent)]
    acd.handle(OfferAnswered(ring.offer_id), 21.0)  # dialled through pbx2 (pbx1's link was down)
    acd.handle(PbxLost("pbx1", 22.0, dials_callbacks=True, callbacks=()), 23.0)  # the first, not dialling it
    assert acd.call_state("c2") is CallState.CONNECTED
    acd.handle(PbxLost("pbx2", 24.0, callbacks=("c2",)), 25.0)
    assert acd.call_state("c2") is None
