"""Which ``acd_ended`` trace tells the talk a caller had while the AMI link was down (docs/dialplan.md,
"Ends the ACD did not see"): the one the endpoint of the caller's offer wrote for that caller, never an
earlier stay's ``transfer`` trace (an agent who blind-transferred the same caller earlier), whichever
the PBX lists first."""

from __future__ import annotations

from acd.ami.callers import CallerLeg
from acd.ami.resync import EndTrace, OfferedCaller, ResyncResult
from acd.ami.translate import Translator
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallArrived, CallEnded, CallerHungUp, OfferAnswered

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 3),))),
)
CALL, UNIQUEID, CHANNEL = "call-1", "1000.1", "PJSIP/trunk-00000001"
# agent1 answered the caller's first stay and blind-transferred them back to the queue at 1020
TRANSFERRED = EndTrace("agent1", UNIQUEID, 1004.0, 1020.0, "transfer")
TALKED = EndTrace("agent2", UNIQUEID, 1030.0, 1040.0, "caller")  # agent2 answered the next offer


def _translator(connected: bool) -> Translator:
    translator = Translator(CONFIG)
    leg = translator.book.add(CallerLeg(CALL, UNIQUEID, CHANNEL, "billing", 5))
    translator.book.ring(leg, "offer-2", "agent2")
    if connected:
        translator.book.connect(leg)
    return translator


def test_a_ring_gone_in_the_gap_is_answered_by_its_endpoints_trace_behind_an_earlier_transfer() -> None:
    events = _translator(False).reconcile(ResyncResult(ended=(TRANSFERRED, TALKED)))
    assert not any(isinstance(e, CallerHungUp) for e in events)
    assert OfferAnswered("offer-2", answered_at=1030.0) in events
    assert CallEnded(CALL, reason="hangup", ended_at=1040.0) in events


def test_a_talk_found_over_ends_at_its_endpoints_trace_never_an_earlier_transfer() -> None:
    call = CallArrived(CALL, "billing", 5, enqueued_at=1021.0, channel=CHANNEL, uniqueid=UNIQUEID)
    over = OfferedCaller(call, "offer-2", "agent2", 1030.0)
    events = _translator(True).reconcile(ResyncResult(over=(over,), ended=(TRANSFERRED, TALKED)))
    assert [e for e in events if isinstance(e, CallEnded)] == [CallEnded(CALL, reason="hangup", ended_at=1040.0)]
    # no trace of agent2's yet (the h extension not run so far): it ends now, not at the transfer
    events = _translator(True).reconcile(ResyncResult(over=(over,), ended=(TRANSFERRED,)))
    assert [e for e in events if isinstance(e, CallEnded)] == [CallEnded(CALL, reason="hangup")]


def test_a_talk_found_over_under_another_offer_than_the_one_we_knew_talking_is_left_to_its_hangup() -> None:
    call = CallArrived(CALL, "billing", 5, enqueued_at=1021.0, channel=CHANNEL, uniqueid=UNIQUEID)
    over = OfferedCaller(call, "offer-9", "agent2", 1030.0)
    translator = _translator(True)
    assert not [e for e in translator.reconcile(ResyncResult(over=(over,))) if isinstance(e, CallEnded)]
