"""Calls that ended while no ACD was listening: closed with their true end, from the PBX's trace.

A restarted ACD, or a standby taking over, starts from the interactions its predecessor left open
(``acd.records.startup.open_calls``). The first resync says which of those callers are still on the PBX;
the rest ended while nobody listened. For a conversation, the caller channel's ``h`` extension
wrote its answer and end times into AstDB (``EndTrace``, docs/dialplan.md): the call is taken over
from its record (``CallInProgress``, customer, priority and disposition kept) and ended at the
traced time (``CallEnded(ended_at=...)``), so the record closes answered with its true talk time and
the agent gets what is left of the wrap-up (none, if it ran out while the ACD was away).

An answered call with no trace (the agent's last trace is another call's, or the dialplan is older)
is closed the same way at the moment the ACD learns of it, with end reason ``end_not_traced``. A
caller who was never answered and is gone is closed from the trace of their hangup handler
(``LeftTrace``: abandoned, or overflowed when holding's fallback took them) at the time they left
(``CallLeftUnseen``); with no such trace (it was overwritten by later callers), their record stays
as it was.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping

from acd.ami.resync import TRANSFER, LeftTrace, OfferedCaller, ResyncResult
from acd.ami.roster import Roster
from acd.core.callbacks import digits_of
from acd.core.events import (
    CallArrived,
    CallbackQueueGone,
    CallEnded,
    CallHandedOver,
    CallInProgress,
    CallLeftUnseen,
    CallTransferred,
    Customer,
    Event,
)
from acd.core.kpis import TRANSFERRED
from acd.core.record_types import InteractionRecord

log = logging.getLogger(__name__)

NOT_TRACED = "end_not_traced"
FIRST_ARRIVAL_KEPT_SECONDS = 43200.0  # a first arrival further back than this before the stay is no wait
CALLBACK = "callback"  # the end reason of a pending callback's open record (acd.core.interaction)


def settle(left_open: Iterable[InteractionRecord], result: ResyncResult, roster: Roster) -> list[Event]:
    """Events that close each open interaction whose caller the resync did not find on the PBX."""
    present = result.present()
    events: list[Event] = []
    for record in left_open:
        if record.uniqueid in present:
            continue
        if not roster.has_queue(record.queue):
            if _pending_callback(record):
                # its queue left the config while no ACD ran: closed, never left open for ever
                log.info("resync: callback %s closed, its queue %s is gone", record.interaction_id[:8], record.queue)
                events.append(CallbackQueueGone(record))
            continue
        trace = result.ended_call(record.uniqueid)
        # found in its h extension with its talk over, before (or without) a trace: answered, ends now
        over = result.over_call(record.uniqueid) if trace is None else None
        if over is not None and over.answered_at is not None:
            agent = record.agent_id or roster.agent_for(over.endpoint)
            if agent is not None:
                answered = record.answered_at if record.answered_at is not None else over.answered_at
                events.append(CallInProgress(_arrival(record), agent, answered, record=record))
                events.append(CallEnded(record.interaction_id, reason="hangup"))
                continue
        if trace is None and _pending_callback(record):
            # a pending callback: its caller hung up keeping their place; it waits again, in order
            events.extend(_callback(record))
            continue
        if trace is None and record.answered_at is None:
            events.extend(_left(record, result.left_call(record.uniqueid)))
            continue
        agent = record.agent_id if trace is None else (record.agent_id or roster.agent_for(trace.endpoint))
        answered_at = record.answered_at
        if answered_at is None and trace is not None:
            answered_at = trace.answered_at  # answered while the ACD was away
        if agent is None or answered_at is None:
            log.warning("resync: call %s ended unseen; no agent known for it", record.interaction_id[:8])
            continue
        events.append(CallInProgress(_arrival(record), agent, answered_at, record=record))
        if trace is None:
            events.append(CallEnded(record.interaction_id, reason=NOT_TRACED))
        else:
            # transferred, then gone while no ACD listened: the stay the agent answered ends at the transfer
            reason = TRANSFERRED if trace.ended_by == TRANSFER else "hangup"
            events.append(CallEnded(record.interaction_id, reason=reason, ended_at=trace.ended_at))
    if events:
        closing = [e for e in events if not isinstance(e, CallInProgress)]
        untraced = sum(1 for e in closing if isinstance(e, CallEnded) and e.ended_at is None)
        log.info(
            "resync: %d call(s) ended while no ACD listened; %d closed at the end the PBX kept",
            len(closing),
            len(closing) - untraced,
        )
    return events


def _pending_callback(record: InteractionRecord) -> bool:
    """A callback the previous run held waiting (its caller hung up keeping their place; no answer yet)."""
    return record.answered_at is None and record.end_reason == CALLBACK


def _callback(record: InteractionRecord) -> list[Event]:
    """A callback the previous run held (docs/kpis.md, "Callbacks"): back in its place, no channel."""
    number = record.callback_number or digits_of(record.caller)  # the number keyed in, or their own
    if not number:
        return []
    return [dataclasses.replace(_arrival(record), callback=number)]


def _left(record: InteractionRecord, trace: LeftTrace | None) -> list[Event]:
    """An unanswered caller who left: closed as the PBX saw it go, or left alone if it did not say."""
    if trace is None:
        return []
    # The record's priority is the one routing used (boost included): a standard customer adds none.
    customer = None if record.customer_id is None else Customer(record.customer_id, "")
    arrival = _arrival(record, customer)
    reason = "caller_hangup" if trace.outcome == "abandoned" else "fallback"
    return [CallLeftUnseen(arrival, trace.left_at, trace.outcome, reason)]


def _arrival(record: InteractionRecord, customer: Customer | None = None) -> CallArrived:
    """The arrival an open interaction record stands for, as the previous run saw it (with the
    caller's first arrival, unless it is too old to be a caller's wait: then the stay counts as the first)."""
    first = record.first_arrived_at
    if first is not None and not record.arrived_at - FIRST_ARRIVAL_KEPT_SECONDS <= first <= record.arrived_at:
        first = None
    return CallArrived(
        record.interaction_id,
        record.queue,
        record.priority,
        caller=record.caller,
        enqueued_at=record.arrived_at,
        uniqueid=record.uniqueid,
        linkedid=record.linkedid,
        customer=customer,
        arrived_at=first,
    )


def with_records(
    events: list[Event], left_open: Iterable[InteractionRecord], result: ResyncResult, roster: Roster
) -> list[Event]:
    """A call found still talking goes on from its record, when the records have it.

    A caller found waiting whose record says an agent answered them was transferred while no ACD
    listened (only a transfer puts an answered caller back in a queue): the stay the agent answered
    is taken over from its record and closed by that transfer (``CallTransferred`` at the moment the
    PBX kept, ``transferred_at``), and the caller waits in the queue they are in now, a new stay from
    that moment, as if the ACD had seen it (docs/dialplan.md, "Ends the ACD did not see").
    A caller found waiting in the stay their open record holds was judged by the previous run's
    entry rules (``judged``); one with no such record entered while no ACD listened.
    """
    by_id = {r.interaction_id: r for r in left_open}
    out: list[Event] = []
    for event in events:
        if isinstance(event, CallInProgress) and event.record is None:
            record = by_id.get(event.call.call_id)
            if record is not None and record.queue == event.call.queue:
                agent_id, answered_at = event.agent_id, event.answered_at
                offered = result.connected_call(event.call.uniqueid)
                if offered is not None and _handed_over_unseen(record, agent_id, offered, roster):
                    out.extend(_take_over_handed(record, event, agent_id, offered))
                    continue
                offer_agent = roster.agent_for(offered.endpoint) if offered is not None else agent_id
                if _handed_over(record, offer_agent or "", roster):
                    # after an attended transfer the caller's channel still names the first agent
                    # (acd-connect's offer, SHARED(ACD_ANSWERED)); the record knows who talks now
                    assert record.agent_id is not None and record.answered_at is not None
                    agent_id, answered_at = record.agent_id, record.answered_at
                event = CallInProgress(event.call, agent_id, answered_at, record=record)
        elif isinstance(event, CallArrived) and not event.callback:
            record = by_id.get(event.call_id)
            if record is not None and _transferred_unseen(record, roster):
                out.extend(_split(record, event, result))
                continue
            if record is not None and record.queue == event.queue and record.answered_at is None:
                event = dataclasses.replace(event, judged=True)  # the previous run saw this stay start
        out.append(event)
    return out


def _handed_over(record: InteractionRecord, agent_id: str, roster: Roster) -> bool:
    """The open stay was answered by another agent of this ACD than the one the channel's offer rang
    (``agent_id``): the call was handed over by an attended transfer (docs/kpis.md, "Transfers"), and the
    record says who talks and since when."""
    return (
        record.answered_at is not None
        and record.agent_id is not None
        and record.agent_id != agent_id
        and record.agent_id in roster.endpoint_of
    )


def _handed_over_unseen(record: InteractionRecord, agent_id: str, offered: OfferedCaller, roster: Roster) -> bool:
    """The record names the agent the offer rang, the caller is bridged with another agent: an attended
    transfer completed while no ACD listened."""
    return (
        record.answered_at is not None
        and record.agent_id is not None
        and record.agent_id != agent_id
        and roster.agent_for(offered.endpoint) == record.agent_id
        and roster.agent_for(offered.talking_with) == agent_id
    )


def _take_over_handed(
    record: InteractionRecord, event: CallInProgress, target: str, offered: OfferedCaller
) -> list[Event]:
    """The first agent's stay taken over from its record, then handed over to ``target`` when the
    dialplan says it was (``SHARED(ACD_HANDED_OVER)``; not known: now), as if the ACD had seen it."""
    agent, answered_at = record.agent_id, record.answered_at
    assert agent is not None and answered_at is not None
    log.info("resync: call %s was handed over to %s while no ACD listened", record.interaction_id[:8], target)
    return [
        CallInProgress(event.call, agent, answered_at, record=record),
        CallHandedOver(record.interaction_id, agent, target, ended_at=offered.handed_over_at, unseen=True),
    ]


def _transferred_unseen(record: InteractionRecord, roster: Roster) -> bool:
    """An answered stay of a queue and an agent this ACD has: one it can take over and close."""
    return (
        record.answered_at is not None
        and record.agent_id is not None
        and record.agent_id in roster.endpoint_of
        and roster.has_queue(record.queue)
    )


def _split(record: InteractionRecord, waiting: CallArrived, result: ResyncResult) -> list[Event]:
    """The answered stay taken over, then closed by the transfer into the queue the caller waits in."""
    agent, answered_at = record.agent_id, record.answered_at
    assert agent is not None and answered_at is not None
    at = transferred_at(record, waiting, result)
    log.info("resync: call %s was transferred to %s while no ACD listened", record.interaction_id[:8], waiting.queue)
    # The caller's wait so far (docs/kpis.md): the channel's ACD_WAITED, grown by acd-transfer by the
    # answered stay's queue time; the earlier stays' part goes on the stay taken over, and the core
    # adds the answered stay's own at the transfer, as when it sees one.
    earlier = max(0.0, waiting.waited_before - max(0.0, answered_at - record.arrived_at))
    answered = dataclasses.replace(_arrival(record), waited_before=earlier)
    return [
        CallInProgress(answered, agent, answered_at, record=record),
        # to an agent by name (the channel's ACD_DIRECTED): offered to them first, as a transfer seen live
        CallTransferred(record.interaction_id, agent, waiting.queue, ended_at=at, target_agent=waiting.directed_to),
    ]


def transferred_at(record: InteractionRecord, waiting: CallArrived, result: ResyncResult) -> float | None:
    """When the transfer happened: the end of talk acd-transfer wrote for the caller (``EndTrace``
    ``transfer``), else the caller's new enqueue time (``ACD_ENQUEUED``, set at the transfer); None
    (now) if neither is known."""
    trace = result.ended_call(record.uniqueid)
    if trace is not None and trace.ended_by == TRANSFER:
        return trace.ended_at
    return waiting.enqueued_at


def with_segments(events: list[Event], segments: Mapping[str, int]) -> list[Event]:
    """Each call the core takes up again counts on from the segments its records already hold
    (a call transferred before the restart: its later talks are segments too)."""
    if not segments:
        return events
    out: list[Event] = []
    for event in events:
        if isinstance(event, CallArrived) and segments.get(event.call_id):
            event = dataclasses.replace(event, segments=segments[event.call_id])
        elif isinstance(event, CallInProgress | CallLeftUnseen) and segments.get(event.call.call_id):
            event = dataclasses.replace(
                event, call=dataclasses.replace(event.call, segments=segments[event.call.call_id])
            )
        out.append(event)
    return out
