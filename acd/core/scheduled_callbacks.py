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
"""

from __future__ import annotations

from acd.core import transfer_numbers
from acd.core.errors import InvalidTransition, InvalidValue, UnknownEntity, UnknownQueue
from acd.core.events import CallArrived, CallbackScheduled, ScheduledCallbackCancelled
from acd.core.floor import Floor
from acd.core.timers import TimerKey, scheduled_timer


class UnknownScheduledCallback(UnknownEntity):
    error_id = "unknown_scheduled_callback"
    kind = "scheduled callback"


def scheduled(floor: Floor, e: CallbackScheduled, now: float) -> None:
    """Keep the callback aside until its time; refused: an unknown queue, a number not allowed."""
    if e.queue not in floor.queues:
        raise UnknownQueue(e.queue)
    if not transfer_numbers.allowed(e.number, floor.config.policy.callback_numbers):
        raise InvalidValue("CallbackScheduled", "number", "not a number [callbacks] allowed_numbers allows")
    if e.callback_id in floor.scheduled or e.callback_id in floor.calls or e.callback_id in floor.closed:
        raise InvalidTransition(e.callback_id, "scheduled", "CallbackScheduled")
    floor.scheduled[e.callback_id] = e
    floor.arm(scheduled_timer(e.callback_id), max(e.at, now))


def cancelled(floor: Floor, e: ScheduledCallbackCancelled) -> None:
    """Called off before its time; one already in its queue (or unknown) is refused."""
    if e.callback_id in floor.calls or e.callback_id in floor.closed:
        raise InvalidTransition(e.callback_id, "entered", "ScheduledCallbackCancelled")
    if floor.scheduled.pop(e.callback_id, None) is None:
        raise UnknownScheduledCallback(e.callback_id)
    floor.disarm(scheduled_timer(e.callback_id))


def due(floor: Floor, key: TimerKey, now: float) -> None:
    """Its time has come: it enters the queue as a callback (a queue removed meanwhile: dropped)."""
    from acd.core.call_handlers import call_arrived  # the one way a call enters a queue

    floor.timers.pop(key, None)
    e = floor.scheduled.pop(key.subject, None)
    if e is None:
        return
    queue = floor.queues.get(e.queue)
    if queue is None:
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
