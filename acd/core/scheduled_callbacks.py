"""Scheduled callbacks: a call asked for at a time enters its queue at that time.

Someone (an agent from the desk, a supervisor, an admin: the API, docs/api.md "Scheduled callbacks")
asks the company to call a number at a time. Until then it is no call at all: the core keeps it aside
(``Floor.scheduled``) with a ``scheduled`` timer at its time. When the timer fires, it enters the queue
as a callback with no channel (acd.core.callbacks: the agent is rung first, then the number is dialled;
retries and the outcome as for any callback), with the queue's ``scheduled_callback_priority`` and the
scheduled time as its enqueue time, so its SLA clock starts when it enters the queue (docs/kpis.md,
"Scheduled callbacks"). The time is a timer event, so the simulator can play it like any other.

The number is checked here as it will be dialled: digits only, and one the admin's ``[callbacks]
allowed_numbers`` patterns allow (the dialplan checks it again: docs/security.md). The rows that make
scheduled callbacks survive a restart are the API's (PostgreSQL); a restarted ACD schedules the ones
not yet entered again, and a time already past enters at once.

A caller of a closed queue whose closed treatment is ``callback`` may take one for the queue's next
opening (``closed_accepted``): the time comes from the opening hours here, and the shell keeps the row
(``KeepScheduledCallback``). The number they called from needs no pattern (the dialplan marked it as
one that took a callback, as for a holding caller's); one they keyed in does. They may key a time
instead (``HHMM``, as a holding caller's below), taken only when the queue is open then (its week
and holidays); a time refused is told to them (``RefuseCallbackTime``) and they may key another.

A holding caller may ask for one at a time (``time_asked``, docs/dialplan.md "Callbacks at a time"):
they key ``HHMM``, in the queue's zone (UTC for a queue without opening hours): today's, or tomorrow's
when today's is over (``today_or_tomorrow_at``), checked against its opening hours and holidays.
A time taken schedules the callback as for a closed queue's caller; one refused is told to them
(``RefuseCallbackTime``) and they keep holding.

A time taken does not end their stay yet: the caller is told it is kept only once its row is written
(``ACD_CB_KEPT``), and the dialplan gives up after 5 s. Until it says which (``telling``), the caller
keeps holding in their place. ``CallbackTimeKept`` (they were told) ends the stay (``overflowed``, end
reason ``scheduled_callback``: docs/kpis.md "Scheduled callbacks"); ``CallbackTimeNotKept`` (the
dialplan gave up: back to the music) closes the callback ``not_kept``, and so does the caller leaving
holding any other way meanwhile (offered to an agent, overflowed, moved, hung up: ``settle_told``).
The dialplan's answer wins every race (docs/dialplan.md, "Callbacks at a time"): a caller is never
both holding and called back, nor holding without a place.
"""

from __future__ import annotations

from acd.core import metric_updates, transfer_numbers
from acd.core.callbacks import digits_of
from acd.core.commands import CloseScheduledCallback, KeepScheduledCallback, RefuseCallbackTime
from acd.core.errors import InvalidTransition, InvalidValue, UnknownCall, UnknownEntity, UnknownQueue
from acd.core.events import (
    CallArrived,
    CallbackScheduled,
    CallbackTimeAsked,
    CallbackTimeKept,
    CallbackTimeNotKept,
    ClosedCallbackAccepted,
    ClosedCallbackNotKept,
    ScheduledCallbackCancelled,
)
from acd.core.floor import Floor
from acd.core.hours import CALLBACK_TARGET, UTC, clock_time, today_or_tomorrow_at
from acd.core.states import CallInput, CallState, check_call
from acd.core.timers import TimerKey, scheduled_timer

QUEUE_REMOVED = "queue_removed"  # its queue left the config before it entered
NUMBER_NOT_ALLOWED = "number_not_allowed"  # read back at a start, its number no longer allowed
ASKED_AT_A_TIME = "scheduled_callback"  # the end reason of a holding caller's stay who asked for one
NOT_KEPT = "not_kept"  # the caller was not told in time that it is kept (a message instead, or back to holding)
TELLING_RECHECK = 1.0  # a callback whose time comes while its caller is still being told: looked at again then


class UnknownScheduledCallback(UnknownEntity):
    error_id = "unknown_scheduled_callback"
    kind = "scheduled callback"


def close(floor: Floor, callback_id: str, queue: str, reason: str) -> None:
    """A scheduled callback that will never enter its queue: its row is closed with ``reason``, counted."""
    floor.out.append(CloseScheduledCallback(callback_id, queue, reason))
    floor.out.append(metric_updates.scheduled_closed(queue, reason))


def scheduled(floor: Floor, e: CallbackScheduled, now: float) -> None:
    """Keep the callback aside until its time; refused: an unknown queue, a number not allowed (one read
    back from the records at a start is closed with that outcome instead: it would never enter)."""
    own = e.own and transfer_numbers.is_number(e.number)
    allowed = own or transfer_numbers.allowed(e.number, floor.config.policy.callback_numbers)
    if e.restored and e.callback_id not in floor.scheduled and e.callback_id not in floor.calls:
        if e.queue not in floor.queues:
            close(floor, e.callback_id, e.queue, QUEUE_REMOVED)
            return
        if not allowed:
            close(floor, e.callback_id, e.queue, NUMBER_NOT_ALLOWED)
            return
    if e.queue not in floor.queues:
        raise UnknownQueue(e.queue)
    if not allowed:
        raise InvalidValue("CallbackScheduled", "number", "not a number [callbacks] allowed_numbers allows")
    if e.callback_id in floor.scheduled or e.callback_id in floor.calls or e.callback_id in floor.closed:
        raise InvalidTransition(e.callback_id, "scheduled", "CallbackScheduled")
    floor.scheduled[e.callback_id] = e
    floor.arm(scheduled_timer(e.callback_id), max(e.at, now))


def closed_accepted(floor: Floor, e: ClosedCallbackAccepted, now: float) -> None:
    """A closed queue's caller took a callback for its next opening: scheduled there, with the
    queue's ``scheduled_callback_priority`` when it enters (docs/kpis.md, "Scheduled callbacks")."""
    call = floor.closed.get(e.call_id)
    if call is None:
        raise UnknownCall(e.call_id)
    hours = call.queue.hours
    queue = floor.queues.get(call.queue.name)
    if queue is None or hours is None or hours.closed_target != CALLBACK_TARGET:
        raise InvalidValue("ClosedCallbackAccepted", "call_id", "not a caller of a queue closed with callback")
    if call.record.end_reason != "closed":
        raise InvalidValue("ClosedCallbackAccepted", "call_id", "not a caller who met the closed treatment")
    own = e.number == digits_of(call.record.caller) and transfer_numbers.is_number(e.number)
    if e.time:
        second = clock_time(e.time)
        keyed = None if second is None else today_or_tomorrow_at(hours.zone, now, second)
        reason = ""
        if second is None:
            reason = "malformed"
        elif keyed is None:
            reason = "past"  # a time the clocks skip that day
        elif not hours.is_open(keyed):
            reason = "closed"
        elif not own and not transfer_numbers.allowed(e.number, floor.config.policy.callback_numbers):
            reason = "number"
        if reason or keyed is None:
            floor.emit(RefuseCallbackTime(e.call_id, reason or "past"))
            return
        at: float | None = keyed
    else:
        at = hours.next_opening(now)
    if at is None:
        raise InvalidValue("ClosedCallbackAccepted", "call_id", "the queue does not open within a year")
    scheduled(floor, CallbackScheduled(e.callback_id, queue.name, e.number, at, own=own), now)
    floor.out.append(
        KeepScheduledCallback(e.callback_id, queue.name, e.number, at, call_id=e.call_id, zone=hours.zone_name, own=own)
    )


def time_asked(floor: Floor, e: CallbackTimeAsked, now: float) -> None:
    """A holding caller keyed a time to be called back at: taken when it is well formed (today's in the
    queue's zone, or tomorrow's when today's is over; not one the clocks skip), when the queue is open
    then, and the number one it may call; else refused, and they
    keep holding (a caller no longer holding is refused outright: they are not in the ACD's hands).
    Taken, they still hold in their place until the dialplan says they were told (``time_kept``)."""
    call = floor.calls.get(e.call_id)
    if call is None:
        raise UnknownCall(e.call_id)
    if call.state is not CallState.WAITING or call.callback:
        raise InvalidValue("CallbackTimeAsked", "call_id", "the call is not a caller holding")
    if e.call_id in floor.telling:
        raise InvalidTransition(e.call_id, "being told a time is kept", "CallbackTimeAsked")
    check_call(call, CallInput.OVERFLOW, "CallbackTimeAsked")
    queue, hours = call.queue, call.queue.hours
    zone = UTC if hours is None else hours.zone
    second = clock_time(e.time)
    at = None if second is None else today_or_tomorrow_at(zone, now, second)
    own = e.number == digits_of(call.record.caller) and transfer_numbers.is_number(e.number)
    reason = ""
    if second is None:
        reason = "malformed"
    elif at is None or at <= now:
        reason = "past"  # a time the clocks skip that day
    elif hours is not None and not hours.is_open(at):
        reason = "closed"
    elif not own and not transfer_numbers.allowed(e.number, floor.config.policy.callback_numbers):
        reason = "number"
    if reason or at is None:
        floor.emit(RefuseCallbackTime(call.call_id, reason or "past"))
        return
    scheduled(floor, CallbackScheduled(e.callback_id, queue.name, e.number, at, own=own), now)
    floor.telling[call.call_id] = e.callback_id
    floor.emit(
        KeepScheduledCallback(e.callback_id, queue.name, e.number, at, call_id=e.call_id, zone=zone.name, own=own)
    )


def time_kept(floor: Floor, e: CallbackTimeKept, now: float) -> None:
    """The caller heard that their time is kept: their stay ends (``overflowed``, end reason
    ``scheduled_callback``). A late or forged answer (none being told, another callback) changes nothing."""
    if floor.telling.get(e.call_id) != e.callback_id:
        return
    del floor.telling[e.call_id]
    call = floor.calls[e.call_id]  # still holding there (settle_told after every event)
    floor.leave_queue(call, CallInput.OVERFLOW, "overflowed", ASKED_AT_A_TIME, now)


def time_not_kept(floor: Floor, e: CallbackTimeNotKept) -> None:
    """The dialplan gave up waiting: the caller holds on in their place, the callback is closed ``not_kept``.
    Also one this run did not take but read back from the records (the ACD that took it stopped while
    the caller was being told, and this one took over): the caller holding now is never called back
    too. Nothing else is closed: the callback's id is that caller's own (``closed_callback_id``)."""
    if floor.telling.get(e.call_id) == e.callback_id:
        del floor.telling[e.call_id]
    elif e.callback_id in floor.telling.values():
        return
    call = floor.calls.get(e.call_id)
    if call is None or call.state is not CallState.WAITING:
        return
    _close_unscheduled(floor, e.callback_id)


def settle_told(floor: Floor) -> None:
    """After every event: a caller being told their time is kept who no longer holds in the queue the
    callback is for (offered to an agent, overflowed, moved, hung up, fallen back) was never told: the
    callback is closed ``not_kept``; one called off meanwhile (its row not written) is forgotten here,
    and the caller holds on."""
    for call_id, callback_id in list(floor.telling.items()):
        call = floor.calls.get(call_id)
        kept = floor.scheduled.get(callback_id)
        if kept is not None and call is not None and call.state is CallState.WAITING and call.queue.name == kept.queue:
            continue
        del floor.telling[call_id]
        _close_unscheduled(floor, callback_id)


def _close_unscheduled(floor: Floor, callback_id: str) -> None:
    kept = floor.scheduled.pop(callback_id, None)
    if kept is None:
        return
    floor.disarm(scheduled_timer(callback_id))
    close(floor, callback_id, kept.queue, NOT_KEPT)


def not_kept(floor: Floor, e: ClosedCallbackNotKept) -> None:
    """The caller of closed call ``call_id`` was sent to leave a message, never told their callback is
    kept: it is closed ``not_kept`` (its row says so, counted), whatever the shell confirms later
    (docs/dialplan.md, "Closed queues"). Idempotent: one no longer scheduled (closed, called off, or
    never kept) is left as it is."""
    call = floor.closed.get(e.call_id)
    scheduled = floor.scheduled.get(e.callback_id)
    if call is None or scheduled is None or scheduled.queue != call.queue.name:
        return
    del floor.scheduled[e.callback_id]
    floor.disarm(scheduled_timer(e.callback_id))
    close(floor, e.callback_id, scheduled.queue, NOT_KEPT)


def cancelled(floor: Floor, e: ScheduledCallbackCancelled) -> None:
    """Called off before its time; one already in its queue (or unknown) is refused."""
    if e.callback_id in floor.calls or e.callback_id in floor.closed:
        raise InvalidTransition(e.callback_id, "entered", "ScheduledCallbackCancelled")
    if floor.scheduled.pop(e.callback_id, None) is None:
        raise UnknownScheduledCallback(e.callback_id)
    floor.disarm(scheduled_timer(e.callback_id))


def queue_removed(floor: Floor) -> None:
    """A config without some queue is in force: the callbacks scheduled in it are closed (their rows
    say ``queue_removed``), not kept aside for a queue that will never take them."""
    for callback_id, e in sorted(floor.scheduled.items(), key=lambda item: (item[1].at, item[0])):
        if e.queue not in floor.queues:
            del floor.scheduled[callback_id]
            floor.disarm(scheduled_timer(callback_id))
            close(floor, callback_id, e.queue, QUEUE_REMOVED)


def due(floor: Floor, key: TimerKey, now: float) -> None:
    """Its time has come: it enters the queue as a callback, counted as a callback taken
    (``acd_callbacks_accepted_total``, docs/kpis.md "Scheduled callbacks"; a queue removed meanwhile:
    closed ``queue_removed``)."""
    from acd.core.call_handlers import call_arrived  # the one way a call enters a queue

    floor.timers.pop(key, None)
    if key.subject in floor.telling.values():  # its caller still holds, not yet told it is kept
        floor.arm(key, now + TELLING_RECHECK)
        return
    e = floor.scheduled.pop(key.subject, None)
    if e is None:
        return
    queue = floor.queues.get(e.queue)
    if queue is None:
        close(floor, e.callback_id, e.queue, QUEUE_REMOVED)
        return
    arrival = CallArrived(
        e.callback_id,
        e.queue,
        queue.scheduled_callback_priority,
        caller=e.number,
        enqueued_at=e.at,
        callback=e.number,
    )
    call_arrived(floor, arrival, now)
    if e.callback_id in floor.calls:  # entered (counted once: a restart reads it back as a callback waiting)
        floor.arrived(queue.name)  # an arrival there (docs/kpis.md, "arrival"), as a new caller is
        floor.out.append(metric_updates.inc(metric_updates.CALLBACKS_ACCEPTED, queue.name))
