"""Calls that ended while no ACD was listening close with their true end; the agent gets the wrap-up left.

A restarted ACD starts from the interactions its predecessor left open and the PBX's trace of each
conversation's end (AstDB ``acd_ended/<agent endpoint>``). ``settle`` turns the two into core events;
the core closes the record at the traced end and counts the agent's wrap-up from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from acd.ami.ended_unseen import NOT_TRACED, settle, with_records
from acd.ami.resync import EndTrace, LeftTrace, OfferedCaller, ResyncResult
from acd.ami.roster import Roster
from acd.core.acd import Acd
from acd.core.commands import MetricUpdate, OverflowCall, RecordCommand, RingAgent, StartTimer
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.errors import InvalidValue
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallEnded,
    CallInProgress,
    CallLeftUnseen,
    Event,
    OfferAnswered,
    ResyncFinished,
    ResyncStarted,
    TimerFired,
)
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState
from acd.core.timers import wrapup_timer

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("support", (SkillRequirement("support", 1),), sla_threshold_seconds=30.0, wrapup_seconds=20.0),
    ),
    agents=(AgentConfig("a5", "agent5", (("support", 4),)), AgentConfig("a6", "agent6", (("support", 3),))),
)


def left_open(n: int, seq: int, arrived_at: float, **fields: Any) -> InteractionRecord:
    """Call ``n`` of the support queue as a previous run left it open; its PBX ids come from its arrival."""
    uniqueid = f"{arrived_at:g}.{n}"
    return InteractionRecord(
        **{
            "interaction_id": f"00000000-0000-0000-0000-{n:012d}",
            "seq": seq,
            "queue": "support",
            "priority": 5,
            "caller": f"555000{n}",
            "arrived_at": arrived_at,
            "uniqueid": uniqueid,
            "linkedid": uniqueid,
            "sla_threshold_seconds": 30.0,
            **fields,
        }
    )


# answered by the previous run, never closed: it was killed mid-call
OPEN = left_open(
    1,
    1_000_000_002,
    1000.0,
    customer_id="k1",
    answered_at=1004.0,
    agent_id="a5",
    wait_seconds=4.0,
    within_sla=True,
    disposition="7",
)


def _records(commands: Sequence[object]) -> list[InteractionRecord]:
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)]


def _feed(acd: Acd, events: list[Event], now: float) -> list[object]:
    out: list[object] = []
    for event in [ResyncStarted(), *events, ResyncFinished()]:
        out.extend(acd.handle(event, now))
    return out


def _restarted() -> Acd:
    acd = Acd(CONFIG)
    for agent in ("a5", "a6"):
        acd.handle(AgentLoggedIn(agent), 1020.0)  # presence restored from the records
    return acd


def test_a_call_that_ended_in_the_gap_closes_at_its_true_end_and_the_agent_wraps_up_from_then() -> None:
    acd = _restarted()
    trace = EndTrace("agent5", "1000.1", 1004.01, 1016.0, "agent")
    events = settle([OPEN], ResyncResult(ended=(trace,)), Roster(CONFIG))
    out = _feed(acd, events, 1022.0)
    closed = _records(out)[-1]
    assert (closed.outcome, closed.ended_at, closed.answered_at, closed.talk_seconds, closed.agent_id) == (
        "answered",
        1016.0,
        1004.0,
        12.0,
        "a5",
    )
    # what the previous run knew is kept, and the new snapshot outranks every earlier one
    assert (closed.customer_id, closed.disposition, closed.priority, closed.wait_seconds) == ("k1", "7", 5, 4.0)
    assert closed.seq > OPEN.seq
    assert acd.agent_state("a5") is AgentState.WRAP_UP
    assert [c.at for c in out if isinstance(c, StartTimer) and c.key == wrapup_timer("a5")] == [1036.0]  # end + 20 s
    # the next caller goes to the other agent, not to a5 in the middle of the wrap-up
    rings = [c for c in acd.handle(CallArrived("c2", "support", 5), 1023.0) if isinstance(c, RingAgent)]
    assert [r.agent_id for r in rings] == ["a6"]
    done = _records(acd.handle(TimerFired(wrapup_timer("a5")), 1036.0))
    assert done[-1].wrapup_seconds == 20.0


def test_a_wrap_up_that_ran_out_in_the_gap_ends_at_once() -> None:
    acd = _restarted()
    trace = EndTrace("agent5", "1000.1", 1004.0, 1010.0, "caller")
    out = _feed(acd, settle([OPEN], ResyncResult(ended=(trace,)), Roster(CONFIG)), 1045.0)
    closed = _records(out)[-1]
    assert (closed.ended_at, closed.talk_seconds, closed.wrapup_seconds) == (1010.0, 6.0, 20.0)
    assert acd.agent_state("a5") is AgentState.READY
    assert not [c for c in out if isinstance(c, StartTimer) and c.key == wrapup_timer("a5")]


def test_a_call_answered_in_the_gap_and_ended_there_closes_answered_by_the_traced_agent() -> None:
    # the previous run rang agent6 for it, then died before the answer
    ringing = left_open(2, 1_000_000_001, 1001.0, linkedid="")
    acd = _restarted()
    trace = EndTrace("agent6", "1001.2", 1008.0, 1015.0, "agent")
    closed = _records(_feed(acd, settle([ringing], ResyncResult(ended=(trace,)), Roster(CONFIG)), 1020.5))[-1]
    assert (
        closed.outcome,
        closed.agent_id,
        closed.answered_at,
        closed.ended_at,
        closed.wait_seconds,
        closed.talk_seconds,
    ) == ("answered", "a6", 1008.0, 1015.0, 7.0, 7.0)


def test_callers_still_on_the_pbx_are_left_to_the_resync_and_other_ends_are_not_theirs() -> None:
    roster = Roster(CONFIG)
    waiting = CallArrived("x", "support", 5, uniqueid="1000.1")
    assert settle([OPEN], ResyncResult(waiting=(waiting,)), roster) == []
    # agent5's trace is of a later call: this one ended unseen, untraced; closed now, and said so
    later = EndTrace("agent5", "1030.9", 1031.0, 1040.0, "agent")
    acd = _restarted()
    events = settle([OPEN], ResyncResult(ended=(later,)), roster)
    assert [type(e).__name__ for e in events] == ["CallInProgress", "CallEnded"]
    closed = _records(_feed(acd, events, 1050.0))[-1]
    assert (closed.outcome, closed.ended_at, closed.end_reason) == ("answered", 1050.0, NOT_TRACED)
    # a caller never answered who is gone left no trace: their record is not touched
    unanswered = InteractionRecord(
        "00000000-0000-0000-0000-000000000003", 1, "support", 5, "555", 1002.0, uniqueid="1002.3"
    )
    assert settle([unanswered], ResyncResult(), roster) == []


def test_a_call_found_still_talking_goes_on_from_its_record() -> None:
    talking = OfferedCaller(CallArrived(OPEN.interaction_id, "support", 5, uniqueid="1000.1"), "o1", "agent5", 1004.0)
    found: list[Event] = [CallInProgress(talking.call, "a5", 1004.0)]
    (event,) = with_records(found, [OPEN], ResyncResult(), Roster(CONFIG))
    assert isinstance(event, CallInProgress) and event.record == OPEN
    acd = _restarted()
    _feed(acd, [event], 1020.0)
    closed = _records(acd.handle(CallEnded(OPEN.interaction_id), 1030.0))[-1]
    assert (closed.customer_id, closed.disposition, closed.talk_seconds) == ("k1", "7", 26.0)


def test_a_call_handed_over_before_the_restart_is_taken_over_with_the_agent_who_talks_now() -> None:
    """After an attended transfer the caller's channel still names the first agent (a6: acd-connect's
    offer and answer time); the open stay's record says a5 answered it at the handover: the record wins,
    so a5 is on the call, a6 is free, and the stay keeps its own answer (no negative wait)."""
    handed = left_open(1, 1_000_000_003, 1010.0, answered_at=1010.0, agent_id="a5", wait_seconds=0.0, within_sla=True)
    talking = OfferedCaller(CallArrived(handed.interaction_id, "support", 5, uniqueid="1000.1"), "o1", "agent6", 1004.0)
    found: list[Event] = [CallInProgress(talking.call, "a6", 1004.0)]
    (event,) = with_records(found, [handed], ResyncResult(), Roster(CONFIG))
    assert isinstance(event, CallInProgress)
    assert (event.agent_id, event.answered_at, event.record) == ("a5", 1010.0, handed)
    acd = _restarted()
    _feed(acd, [event], 1020.0)
    assert acd.agent_state("a5") is AgentState.ON_CALL
    closed = _records(acd.handle(CallEnded(handed.interaction_id), 1030.0))[-1]
    assert (closed.agent_id, closed.answered_at, closed.wait_seconds, closed.talk_seconds) == ("a5", 1010.0, 0.0, 20.0)


def test_an_end_time_that_cannot_be_true_is_brought_within_the_call_or_refused() -> None:
    for told, expected in ((990.0, 1004.0), (1050.0, 1030.0)):  # before the answer; ahead of now (clock skew)
        acd = _restarted()
        _feed(acd, [CallInProgress(CallArrived(OPEN.interaction_id, "support", 5), "a5", 1004.0, record=OPEN)], 1020.0)
        closed = _records(acd.handle(CallEnded(OPEN.interaction_id, ended_at=told), 1030.0))[-1]
        assert closed.ended_at == expected
    for impossible in (float("nan"), float("inf"), 2000.0):  # refused: the call goes on, unchanged
        with pytest.raises(InvalidValue):
            acd.handle(CallEnded("c-x", ended_at=impossible), 1030.0)
        with pytest.raises(InvalidValue):
            acd.handle(
                CallLeftUnseen(
                    CallArrived("c-y", "support", 5, enqueued_at=1000.0), impossible, "abandoned", "caller_hangup"
                ),
                1030.0,
            )


def test_a_trace_is_read_only_when_it_is_one() -> None:
    assert EndTrace.parse("agent5", "1000.1,1004.5,1016.25,agent") == EndTrace(
        "agent5", "1000.1", 1004.5, 1016.25, "agent"
    )
    for bad in (
        "",
        "1000.1,1004.5,1016.25",
        "1000.1,x,1016.25,agent",
        "1000.1,1004.5,nan,agent",
        "1000.1,1016,1004,agent",
        "1000.1,1004.5,1016.25,someone",
        ",1004.5,1016.25,agent",
        "1000.1,1004.5,inf,caller",
    ):
        assert EndTrace.parse("agent5", bad) is None, bad


WAITING = left_open(4, 1_000_000_000, 900.0, priority=7, customer_id="k4")  # queued by the previous run, never answered


def test_a_caller_who_hung_up_in_the_gap_is_abandoned_at_the_time_they_left_and_never_rung() -> None:
    acd = _restarted()  # two agents free: a call that was routed would ring one
    events = settle([WAITING], ResyncResult(left=(LeftTrace("900.4", 1012.5, "abandoned"),)), Roster(CONFIG))
    out = _feed(acd, events, 1030.0)  # long past the queue's maximum wait (120 s): still no overflow
    assert not [c for c in out if isinstance(c, RingAgent | OverflowCall)]
    closed = _records(out)[-1]
    assert (closed.outcome, closed.end_reason, closed.ended_at, closed.wait_seconds, closed.within_sla) == (
        "abandoned",
        "caller_hangup",
        1012.5,
        112.5,
        False,
    )
    assert (closed.customer_id, closed.priority, closed.arrived_at) == ("k4", 7, 900.0)
    assert acd.snapshot(1030.0).queues["support"].waiting == 0
    assert [c.value for c in out if isinstance(c, MetricUpdate) and c.name == "acd_calls_abandoned_total"] == [1.0]


def test_a_caller_holding_sent_to_its_fallback_in_the_gap_is_overflowed_and_a_short_abandon_stays_short() -> None:
    acd = _restarted()
    fell = settle([WAITING], ResyncResult(left=(LeftTrace("900.4", 930.0, "overflowed"),)), Roster(CONFIG))
    closed = _records(_feed(acd, fell, 1030.0))[-1]
    assert (closed.outcome, closed.end_reason, closed.ended_at) == ("overflowed", "fallback", 930.0)
    quick = InteractionRecord("00000000-0000-0000-0000-000000000005", 1, "support", 5, "555", 1000.0, uniqueid="1000.5")
    gone = settle([quick], ResyncResult(left=(LeftTrace("1000.5", 1001.0, "abandoned"),)), Roster(CONFIG))
    closed = _records(_feed(acd, gone, 1030.0))[-1]
    assert (closed.outcome, closed.wait_seconds, closed.within_sla) == ("abandoned", 1.0, None)  # S is 5 s


def test_a_left_trace_is_read_only_when_it_is_one() -> None:
    assert LeftTrace.parse("900.4,1012.5,abandoned") == LeftTrace("900.4", 1012.5, "abandoned")
    for bad in ("", "900.4,1012.5", "900.4,x,abandoned", "900.4,nan,abandoned", "900.4,1012.5,left", ",1,abandoned"):
        assert LeftTrace.parse(bad) is None, bad


def test_a_caller_found_in_its_h_extension_after_an_answer_is_answered_and_ends_not_left_open() -> None:
    """Restarted while the previous run rang agent6 for it: the caller was answered, talked and is running
    acd-connect's h extension when the resync looks, its trace not written yet. The talk is over: answered
    at the channel's SHARED(ACD_ANSWERED), ended now (docs/dialplan.md, "Ends the ACD did not see")."""
    ringing = left_open(2, 1_000_000_001, 1001.0, linkedid="")
    call = CallArrived(ringing.interaction_id, "support", 5, uniqueid="1001.2")
    over = OfferedCaller(call, "o2", "agent6", 1008.0)
    events = settle([ringing], ResyncResult(over=(over,)), Roster(CONFIG))
    assert [type(e).__name__ for e in events] == ["CallInProgress", "CallEnded"]
    acd = _restarted()
    closed = _records(_feed(acd, events, 1020.5))[-1]
    assert (closed.outcome, closed.agent_id, closed.answered_at, closed.ended_at, closed.end_reason) == (
        "answered",
        "a6",
        1008.0,
        1020.5,
        "hangup",
    )
    assert acd.agent_state("a6") is AgentState.WRAP_UP


@pytest.mark.parametrize(("told", "expected"), [(1022.5, 1022.5), (900.0, 1021.0), (None, 1030.0), (1050.0, 1030.0)])
def test_an_answer_reported_late_counts_from_when_it_was_within_the_offer_and_now(
    told: float | None, expected: float
) -> None:
    """OfferAnswered with the answer the PBX kept (a resync's finding): the wait ends and the talk starts
    then; a time before the offer or after now is brought to the nearest true one, none is now; one
    that is no time (NaN, far ahead) is refused and the offer rings on."""
    acd = _restarted()
    rings = [c for c in acd.handle(CallArrived("c1", "support", 5), 1021.0) if isinstance(c, RingAgent)]
    for impossible in (float("nan"), 2000.0):
        with pytest.raises(InvalidValue):
            acd.handle(OfferAnswered(rings[0].offer_id, answered_at=impossible), 1030.0)
    answered = _records(acd.handle(OfferAnswered(rings[0].offer_id, answered_at=told), 1030.0))[-1]
    assert (answered.answered_at, answered.wait_seconds) == (expected, expected - 1021.0)
    assert acd.agent_state(rings[0].agent_id) is AgentState.ON_CALL
