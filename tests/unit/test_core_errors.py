"""Refused events: typed errors that name what was wrong, and a core left exactly as it was."""

from __future__ import annotations

import copy

import pytest
from core_builders import Driver, agent, config, queue

from acd.core.errors import (
    InvalidTransition,
    OfferClosed,
    UnknownAgent,
    UnknownCall,
    UnknownOffer,
    UnknownQueue,
)
from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    CallArrived,
    CallEnded,
    CustomerIdentified,
    DispositionSet,
    Event,
    OfferAnswered,
    OfferUnanswered,
    TimerFired,
    WrapUpDone,
)
from acd.core.timers import TimerKey, ring_timer, wrapup_timer


def busy_floor() -> Driver:
    d = Driver.of(config([queue("q", wrapup_seconds=10.0)], [agent("a1"), agent("a2"), agent("a3")]))
    d.login("a1", "a2", now=0.0)
    d.arrive("talking", 1.0)
    d.answer("talking", 2.0)
    d.arrive("ringing", 3.0)
    d.arrive("waiting", 4.0)
    return d


def refuse(d: Driver, event: Event, now: float, error: type[Exception]) -> Exception:
    before = copy.deepcopy(d.acd)
    snap_before = d.acd.snapshot(now)
    with pytest.raises(error) as caught:
        d.acd.handle(event, now)
    assert d.acd.snapshot(now) == snap_before
    # The whole core, not just its snapshot, is untouched: replaying the same future gives the same result.
    probe = AgentLoggedIn("a3")
    assert copy.deepcopy(d.acd).handle(probe, now) == before.handle(probe, now)
    return caught.value


def test_unknown_queue() -> None:
    d = busy_floor()
    err = refuse(d, CallArrived("x", "nope", 5), 5.0, UnknownQueue)
    assert isinstance(err, UnknownQueue) and err.key == "nope" and err.error_id == "unknown_queue"


def test_unknown_agent_call_and_offer() -> None:
    d = busy_floor()
    refuse(d, AgentLoggedIn("ghost"), 5.0, UnknownAgent)
    refuse(d, CallEnded("ghost"), 5.0, UnknownCall)
    refuse(d, DispositionSet("ghost", "sale"), 5.0, UnknownCall)
    refuse(d, OfferAnswered("ghost"), 5.0, UnknownOffer)
    refuse(d, OfferUnanswered("ghost"), 5.0, UnknownOffer)


@pytest.mark.parametrize(
    ("event", "state", "name"),
    [
        (AgentLoggedIn("a1"), "on_call", "AgentLoggedIn"),
        (AgentPaused("a1"), "on_call", "AgentPaused"),
        (AgentLoggedOut("a1"), "on_call", "AgentLoggedOut"),
        (WrapUpDone("a2"), "reserved", "WrapUpDone"),
        (DispositionSet("waiting", "sale"), "waiting", "DispositionSet"),
        (CallArrived("waiting", "q", 5), "waiting", "CallArrived"),
    ],
)
def test_invalid_transitions_name_state_and_event(event: Event, state: str, name: str) -> None:
    err = refuse(busy_floor(), event, 5.0, InvalidTransition)
    assert isinstance(err, InvalidTransition)
    assert (err.state, err.event) == (state, name)
    assert state in str(err) and name in str(err)


def test_events_for_an_ended_call_are_invalid_transitions() -> None:
    d = busy_floor()
    d.end("talking", 5.0)
    err = refuse(d, CallEnded("talking"), 6.0, InvalidTransition)
    assert isinstance(err, InvalidTransition) and err.state == "ended"


def test_a_late_miss_for_a_closed_offer_is_ignored() -> None:
    d = busy_floor()
    offer = d.offer_of("ringing")
    d.fire(ring_timer(offer.offer_id))
    assert d.acd.handle(OfferUnanswered(offer.offer_id), 30.0) == []


def test_a_late_answer_for_a_closed_offer_raises_offer_closed() -> None:
    d = busy_floor()
    offer = d.offer_of("ringing")
    d.fire(ring_timer(offer.offer_id))
    err = refuse(d, OfferAnswered(offer.offer_id), 30.0, OfferClosed)
    assert isinstance(err, OfferClosed) and err.state == "unanswered"


def test_a_stale_timer_is_ignored() -> None:
    d = busy_floor()
    assert d.acd.handle(TimerFired(wrapup_timer("a1")), 50.0) == []
    assert d.acd.handle(TimerFired(TimerKey("call", "nonsense")), 50.0) == []


def test_dispositions_land_on_the_record_with_a_higher_seq() -> None:
    d = busy_floor()
    d.send(DispositionSet("talking", "sale", "upsold"), 5.0)
    d.end("talking", 6.0)
    before = d.interactions()["talking"]
    d.fire(wrapup_timer("a1"))
    d.send(DispositionSet("talking", "refund", "changed mind"), 20.0)
    after = d.interactions()["talking"]
    assert (after.disposition, after.notes) == ("refund", "changed mind")
    assert after.seq == before.seq + 2
    assert after.wrapup_seconds == 10.0


def test_a_customer_identified_lands_on_the_record_during_the_call_and_after_it() -> None:
    d = busy_floor()
    refuse(d, CustomerIdentified("waiting", "c-1"), 5.0, InvalidTransition)  # nobody has it yet
    refuse(d, CustomerIdentified("ghost", "c-1"), 5.0, UnknownCall)
    d.send(CustomerIdentified("ringing", "c-2"), 5.0)  # the desk shows the caller while it rings
    assert d.interactions()["ringing"].customer_id == "c-2"
    d.send(CustomerIdentified("talking", "c-1"), 5.0)
    during = d.interactions()["talking"]
    assert during.customer_id == "c-1"
    assert d.acd.handle(CustomerIdentified("talking", "c-1"), 5.5) == []  # the same customer: nothing to write
    d.end("talking", 6.0)
    assert d.interactions()["talking"].customer_id == "c-1"  # later records keep it
    d.send(CustomerIdentified("talking", "c-3"), 7.0)  # in wrap-up: the agent's last call
    after = d.interactions()["talking"]
    assert (after.customer_id, after.outcome) == ("c-3", "answered")
    assert after.seq == during.seq + 2
