"""Transfers across an ACD restart (docs/records.md, "Segments"; docs/dialplan.md, "Ends the ACD did
not see").

A call transferred before a restart keeps its segments: the restarted core counts on from what the
records hold, and no segment id is ever given twice. A caller transferred while no ACD listened is
two stays after the restart, as if the ACD had seen the transfer: the answered stay closes at the
transfer, with its talk as a segment, and the caller waits in the queue they are in now.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from acd.ami.ended_unseen import settle, with_records, with_segments
from acd.ami.resync import EndTrace, OfferedCaller, ResyncResult
from acd.ami.roster import Roster
from acd.ami.translate import Translator
from acd.core.acd import Acd
from acd.core.commands import MetricUpdate, RecordCommand, RingAgent, StartTimer
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.core.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentResumed,
    CallArrived,
    CallEnded,
    CallHandedOver,
    CallInProgress,
    CallTransferred,
    Event,
    OfferAnswered,
    ResyncFinished,
    ResyncStarted,
)
from acd.core.kpis import is_arrival
from acd.core.metric_updates import CALLS_ARRIVED
from acd.core.record_types import InteractionRecord, SegmentRecord
from acd.core.states import AgentState
from acd.core.timers import wrapup_timer

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0, wrapup_seconds=30.0),
        QueueConfig("support", (SkillRequirement("support", 1),), sla_threshold_seconds=30.0, wrapup_seconds=5.0),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a5", "agent5", (("support", 3),))),
)
CALL = "00000000-0000-0000-0000-000000000001"


def _records(commands: Sequence[object], kind: type) -> list:  # type: ignore[type-arg]
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, kind)]


def _feed(acd: Acd, events: Sequence[Event], now: float) -> list[object]:
    out: list[object] = []
    for event in [ResyncStarted(), *events, ResyncFinished()]:
        out.extend(acd.handle(event, now))
    return out


def _restarted() -> Acd:
    acd = Acd(CONFIG)
    for agent in ("a1", "a5"):
        acd.handle(AgentLoggedIn(agent), 1100.0)  # presence restored from the records
    return acd


def _first_run() -> tuple[list[object], InteractionRecord]:
    """a1 answers the call in billing at 1004 and transfers it to support at 1010; a5 answers at 1015.
    Returns what the run wrote and the call's record as it is left open (a5 talking)."""
    acd = Acd(CONFIG)
    out: list[object] = []
    for agent in ("a1", "a5"):
        out += acd.handle(AgentLoggedIn(agent), 1000.0)
    out += acd.handle(CallArrived(CALL, "billing", 5, caller="555", uniqueid="1000.1"), 1000.0)
    ring = next(c for c in out if isinstance(c, RingAgent))
    out += acd.handle(OfferAnswered(ring.offer_id), 1004.0)
    out += acd.handle(CallTransferred(CALL, "a1", "support"), 1010.0)
    ring = [c for c in out if isinstance(c, RingAgent)][-1]
    out += acd.handle(OfferAnswered(ring.offer_id), 1015.0)
    return out, _records(out, InteractionRecord)[-1]


def test_a_call_transferred_before_a_restart_and_again_after_keeps_every_segment_apart() -> None:
    first_run, open_record = _first_run()
    (before,) = _records(first_run, SegmentRecord)
    assert (open_record.queue, open_record.agent_id, open_record.ended_at) == ("support", "a5", None)
    # the restart: a5 still talks; the records hold one segment for the call
    acd = _restarted()
    talking = CallInProgress(CallArrived(CALL, "support", 5, uniqueid="1000.1"), "a5", 1015.0)
    events = with_segments(with_records([talking], [open_record], ResyncResult(), Roster(CONFIG)), {CALL: 1})
    _feed(acd, events, 1100.0)
    out = acd.handle(CallTransferred(CALL, "a5", "billing"), 1110.0)
    ring = next(c for c in out if isinstance(c, RingAgent))
    out += acd.handle(OfferAnswered(ring.offer_id), 1140.0)
    out += acd.handle(CallEnded(CALL), 1150.0)
    after = _records(out, SegmentRecord)
    segments = [before, *after]
    assert [(s.agent_id, s.queue, s.started_at, s.ended_at, s.transfer_target) for s in segments] == [
        ("a1", "billing", 1004.0, 1010.0, "queue:support"),
        ("a5", "support", 1015.0, 1110.0, "queue:billing"),
        ("a1", "billing", 1140.0, 1150.0, ""),  # the last talk is a segment too: the call has segments
    ]
    assert len({s.segment_id for s in segments}) == 3


def test_without_the_count_the_last_talk_of_a_restarted_call_is_not_a_segment() -> None:
    """The count is what says the call was transferred before: a call the records hold no segment of
    stays a call with no segments (its one stay is its one talk)."""
    _, open_record = _first_run()
    acd = _restarted()
    talking = CallInProgress(CallArrived(CALL, "support", 5, uniqueid="1000.1"), "a5", 1015.0, record=open_record)
    _feed(acd, [talking], 1100.0)
    assert _records(acd.handle(CallEnded(CALL), 1150.0), SegmentRecord) == []


def test_the_same_segment_written_again_keeps_its_id() -> None:
    """Ids are made of the segment's facts: a replay of the same transfer writes the same row again."""
    ids = set()
    for _ in range(2):
        first_run, _ = _first_run()
        ids |= {s.segment_id for s in _records(first_run, SegmentRecord)}
    assert len(ids) == 1


# answered by a1 in billing, left open: the ACD was killed mid-call
ANSWERED = InteractionRecord(
    CALL,
    1_000_000_002,
    "billing",
    5,
    "555",
    1000.0,
    uniqueid="1000.1",
    linkedid="1000.1",
    customer_id="k1",
    answered_at=1004.0,
    agent_id="a1",
    wait_seconds=4.0,
    within_sla=True,
    sla_threshold_seconds=20.0,
)
# the caller as the resync finds them: waiting in support since the transfer (ACD_ENQUEUED)
FOUND = CallArrived(CALL, "support", 5, caller="555", enqueued_at=1012.000_2, uniqueid="1000.1", linkedid="1000.1")
TRACE = EndTrace("agent1", "1000.1", 1004.0, 1012.0, "transfer")  # acd-transfer's trace of a1's talk


def test_a_caller_transferred_while_the_acd_was_down_is_two_stays() -> None:
    events = with_records([FOUND], [ANSWERED], ResyncResult(waiting=(FOUND,), ended=(TRACE,)), Roster(CONFIG))
    assert [type(e).__name__ for e in events] == ["CallInProgress", "CallTransferred"]
    acd = _restarted()
    out = _feed(acd, events, 1100.0)
    stays = _records(out, InteractionRecord)
    first = next(r for r in stays if r.end_reason == "transferred")
    assert first.interaction_id != CALL
    assert (first.queue, first.agent_id, first.outcome, first.answered_at, first.ended_at, first.talk_seconds) == (
        "billing",
        "a1",
        "answered",
        1004.0,
        1012.0,
        8.0,
    )
    assert (first.customer_id, first.wait_seconds, first.within_sla) == ("k1", 4.0, True)  # kept from the record
    assert first.wrapup_seconds == 30.0  # its wrap-up ran out while the ACD was away
    assert acd.agent_state("a1") is AgentState.READY
    (segment,) = _records(out, SegmentRecord)
    assert (segment.stay_id, segment.agent_id, segment.started_at, segment.ended_at) == (
        first.interaction_id,
        "a1",
        1004.0,
        1012.0,
    )
    assert (segment.transfer_kind, segment.transfer_target) == ("blind", "queue:support")
    # the caller's new stay: support, arrived at the transfer, routed as an arrival once the resync is over
    now = [r for r in stays if r.interaction_id == CALL][-1]
    assert (now.interaction_id, now.queue, now.arrived_at, now.answered_at) == (CALL, "support", 1012.0, None)
    assert [r.agent_id for r in out if isinstance(r, RingAgent)] == ["a5"]
    answered = acd.handle(OfferAnswered(next(r for r in out if isinstance(r, RingAgent)).offer_id), 1101.0)
    stay = _records(answered, InteractionRecord)[-1]
    assert (stay.wait_seconds, stay.within_sla) == (89.0, False)  # support's clock from the transfer


def test_a_wrap_up_still_running_after_the_restart_is_kept() -> None:
    events = with_records([FOUND], [ANSWERED], ResyncResult(waiting=(FOUND,), ended=(TRACE,)), Roster(CONFIG))
    acd = _restarted()
    out = _feed(acd, events, 1020.0)
    assert acd.agent_state("a1") is AgentState.WRAP_UP
    assert [c.at for c in out if isinstance(c, StartTimer) and c.key == wrapup_timer("a1")] == [1042.0]


def test_without_a_trace_the_transfer_is_dated_by_the_callers_new_enqueue() -> None:
    events = with_records([FOUND], [ANSWERED], ResyncResult(waiting=(FOUND,)), Roster(CONFIG))
    assert isinstance(events[1], CallTransferred) and events[1].ended_at == FOUND.enqueued_at


def test_a_caller_waiting_whose_record_was_never_answered_is_one_stay() -> None:
    waiting = InteractionRecord(CALL, 7, "support", 5, "555", 1000.0, uniqueid="1000.1")
    events = with_records([FOUND], [waiting], ResyncResult(waiting=(FOUND,)), Roster(CONFIG))
    assert events == [dataclasses.replace(FOUND, judged=True)]  # the previous run judged it at entry


def test_a_caller_transferred_and_gone_in_the_gap_closes_transferred_at_the_transfer() -> None:
    acd = _restarted()
    out = _feed(acd, settle([ANSWERED], ResyncResult(ended=(TRACE,)), Roster(CONFIG)), 1100.0)
    closed = _records(out, InteractionRecord)[-1]
    assert (closed.outcome, closed.end_reason, closed.ended_at, closed.talk_seconds) == (
        "answered",
        "transferred",
        1012.0,
        8.0,
    )


def test_a_transfer_trace_is_read() -> None:
    assert EndTrace.parse("agent1", "1000.1,1004,1012,transfer") == TRACE


def test_a_caller_waiting_for_a_named_agent_is_still_theirs_after_a_restart() -> None:
    """The channel's ACD_DIRECTED (the agent's endpoint) names the agent again: a5 alone, though a1
    serves support too here, until the transfer plus ``[transfers] agent_wait``."""
    config = RoutingConfig(
        queues=CONFIG.queues,
        agents=(AgentConfig("a1", "agent1", (("support", 5),)), AgentConfig("a5", "agent5", (("support", 1),))),
        policy=RoutingPolicy(transfer_agent_wait_seconds=30.0),
    )
    found = dataclasses.replace(FOUND, directed_to="agent5")  # as resync reads it: an endpoint
    translator = Translator(config)
    events = translator.reconcile(ResyncResult(waiting=(found,)))
    (arrival,) = [e for e in events if isinstance(e, CallArrived)]
    assert arrival.directed_to == "a5"
    acd = Acd(config)
    acd.handle(AgentLoggedIn("a1"), 1015.0)
    acd.handle(AgentLoggedIn("a5"), 1015.0)
    acd.handle(AgentPaused("a5", "break"), 1015.0)
    out = _feed(acd, [arrival], 1020.0)
    assert [c.agent_id for c in out if isinstance(c, RingAgent)] == []  # a1 is ready: not for this caller
    assert [c.agent_id for c in acd.handle(AgentResumed("a5"), 1025.0) if isinstance(c, RingAgent)] == ["a5"]
    # an endpoint no agent has: the queue's caller
    stranger = Translator(config).reconcile(ResyncResult(waiting=(dataclasses.replace(FOUND, directed_to="agent9"),)))
    assert [e.directed_to for e in stranger if isinstance(e, CallArrived)] == [""]


def test_a_blind_transfer_to_a_named_agent_made_while_the_acd_was_down_waits_for_that_agent() -> None:
    found = dataclasses.replace(FOUND, directed_to="a5")  # named by reconcile
    events = with_records([found], [ANSWERED], ResyncResult(waiting=(found,), ended=(TRACE,)), Roster(CONFIG))
    assert isinstance(events[1], CallTransferred) and events[1].target_agent == "a5"


def test_an_attended_transfer_completed_while_the_acd_was_down_is_two_stays_with_the_consulted_agent_on_the_call() -> (
    None
):
    """The record says a1 answered; the caller's channel still names a1's offer (acd-connect, agent1)
    but is bridged with agent5's leg, handed over at 1020 (SHARED(ACD_HANDED_OVER)): a1's stay closes
    transferred then, a5 answers the caller's next stay then and talks with them now."""
    call = CallArrived(CALL, "billing", 5, caller="555", enqueued_at=1000.0, uniqueid="1000.1")
    offered = OfferedCaller(call, "offer-1", "agent1", 1004.0, "1000.7", "PJSIP/agent5-0000000a", "agent5", 1020.0)
    result = ResyncResult(connected=(offered,))
    found = Translator(CONFIG).reconcile(result)
    assert [e.agent_id for e in found if isinstance(e, CallInProgress)] == ["a5"]  # who the caller talks with
    events = with_records(found, [ANSWERED], result, Roster(CONFIG))
    assert [type(e).__name__ for e in events if isinstance(e, CallInProgress | CallHandedOver)] == [
        "CallInProgress",
        "CallHandedOver",
    ]
    acd = _restarted()
    out = _feed(acd, events, 1100.0)
    assert acd.agent_state("a5") is AgentState.ON_CALL
    assert acd.agent_state("a1") is AgentState.READY  # its wrap-up (30 s) ran out while the ACD was away
    stays = _records(out, InteractionRecord)
    first = next(r for r in stays if r.end_reason == "transferred")
    assert (first.agent_id, first.answered_at, first.ended_at, first.talk_seconds) == ("a1", 1004.0, 1020.0, 16.0)
    (segment,) = _records(out, SegmentRecord)  # no consult was seen: no consult segment
    assert (segment.stay_id, segment.agent_id, segment.started_at, segment.ended_at) == (
        first.interaction_id,
        "a1",
        1004.0,
        1020.0,
    )
    assert (segment.transfer_kind, segment.transfer_target) == ("attended", "agent:a5")
    ended = acd.handle(CallEnded(CALL), 1130.0)
    last = _records(ended, InteractionRecord)[-1]
    assert (last.interaction_id, last.agent_id, last.answered_at, last.ended_at) == (CALL, "a5", 1020.0, 1130.0)


def test_a_handover_seen_before_the_restart_is_taken_over_with_the_consulted_agent() -> None:
    """The record already names a5 (the ACD saw the handover): nothing is handed over again."""
    handed = dataclasses.replace(ANSWERED, agent_id="a5", answered_at=1020.0)
    call = CallArrived(CALL, "billing", 5, caller="555", enqueued_at=1000.0, uniqueid="1000.1")
    offered = OfferedCaller(call, "offer-1", "agent1", 1004.0, "1000.7", "PJSIP/agent5-0000000a", "agent5", 1020.0)
    result = ResyncResult(connected=(offered,))
    events = with_records(Translator(CONFIG).reconcile(result), [handed], result, Roster(CONFIG))
    (taken,) = [e for e in events if isinstance(e, CallInProgress | CallHandedOver)]
    assert isinstance(taken, CallInProgress) and (taken.agent_id, taken.record) == ("a5", handed)


def test_a_caller_transferred_while_the_acd_was_down_keeps_their_wait_so_far() -> None:
    # 30 s waited in stays before billing, then 4 s in billing before a1 answered: acd-transfer made
    # the channel's ACD_WAITED 34 at the transfer
    found = dataclasses.replace(FOUND, waited_before=34.0)
    events = with_records([found], [ANSWERED], ResyncResult(waiting=(found,), ended=(TRACE,)), Roster(CONFIG))
    acd = _restarted()
    _feed(acd, events, 1100.0)
    call = acd._floor.calls[CALL]
    assert call.queue.name == "support"
    assert call.waited_before == 34.0
    assert call.waited_in_all(1100.0) == 34.0 + 1100.0 - 1012.0


def test_an_older_dialplans_empty_wait_is_only_the_answered_stays() -> None:
    events = with_records([FOUND], [ANSWERED], ResyncResult(waiting=(FOUND,), ended=(TRACE,)), Roster(CONFIG))
    acd = _restarted()
    _feed(acd, events, 1100.0)
    assert acd._floor.calls[CALL].waited_before == 4.0


def test_a_handover_found_with_no_time_on_the_channel_is_taken_as_now() -> None:
    """No SHARED(ACD_HANDED_OVER) to read (an older dialplan): the handover still happens, at the
    restart, rather than being refused and leaving a1 on a call a5 talks on."""
    call = CallArrived(CALL, "billing", 5, caller="555", enqueued_at=1000.0, uniqueid="1000.1")
    offered = OfferedCaller(call, "offer-1", "agent1", 1004.0, "1000.7", "PJSIP/agent5-0000000a", "agent5", None)
    result = ResyncResult(connected=(offered,))
    events = with_records(Translator(CONFIG).reconcile(result), [ANSWERED], result, Roster(CONFIG))
    acd = _restarted()
    out = _feed(acd, events, 1100.0)
    assert acd.agent_state("a5") is AgentState.ON_CALL
    first = next(r for r in _records(out, InteractionRecord) if r.end_reason == "transferred")
    assert (first.agent_id, first.ended_at) == ("a1", 1100.0)


def test_a_transfer_a_restart_learns_of_is_an_arrival_in_its_queue_and_the_caller_found_again_is_not() -> None:
    """docs/kpis.md, "arrival": the stay the transfer started while no ACD listened is support's
    arrival, counted by the run that learns of it; the answered billing stay arrived in the previous
    run, which counted it. The records tell the same two stays as arrivals."""
    events = with_records([FOUND], [ANSWERED], ResyncResult(waiting=(FOUND,), ended=(TRACE,)), Roster(CONFIG))
    out = _feed(_restarted(), events, 1100.0)
    arrived = [dict(c.labels)["queue"] for c in out if isinstance(c, MetricUpdate) and c.name == CALLS_ARRIVED]
    assert arrived == ["support"]
    stays = {r.interaction_id: r for r in _records(out, InteractionRecord)}
    assert sorted(r.queue for r in stays.values() if is_arrival(r)) == ["billing", "support"]
    # a caller found waiting in the stay its record holds arrived before: not again
    waiting = InteractionRecord(CALL, 7, "support", 5, "555", 1012.0, uniqueid="1000.1")
    again = with_records([FOUND], [waiting], ResyncResult(waiting=(FOUND,)), Roster(CONFIG))
    out = _feed(_restarted(), again, 1100.0)
    assert not [c for c in out if isinstance(c, MetricUpdate) and c.name == CALLS_ARRIVED]
