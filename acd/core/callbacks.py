"""Callbacks that keep the caller's place: a holding caller hangs up and is called back in turn.

Why a flag and not a queue of its own: the caller's place is the call's routing key (priority,
SLA deadline, enqueue time), so a callback stays the same ``Call``, WAITING in the same index, with
``callback`` set to the number to call back and no channel. Routing order is untouched; only the
ring differs (``RingAgent.callback``: the agent is rung first, then the caller is dialled), and
a callback never overflows at the queue's maximum wait (there is nobody holding to send anywhere).

How a callback counts is defined in docs/kpis.md ("Callbacks"): its wait ends when the agent
accepts it, it is never an abandon, and a caller never reached closes ``failed`` with end reason
``callback_unreached``. It leaves the queue, for the live counters, once it is settled: when the
conversation with the caller reached is over (closed with end reason ``callback``), or when its last
try failed; so the counters count what its record finally says, never an accept later undone.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from acd.core import metric_updates, transfer_numbers
from acd.core.commands import OfferCallback
from acd.core.config import QueueConfig
from acd.core.errors import InvalidTransition, InvalidValue, UnknownCall
from acd.core.events import CallbackAccepted, CallbackCallerGone, CallbackEnded, CallbackQueueGone
from acd.core.floor import Floor
from acd.core.interaction import Call
from acd.core.states import AgentInput, CallInput, CallState, check_agent, check_call, step_call
from acd.core.timers import call_timer

MAX_NUMBER = 32
UNREACHED = "callback_unreached"
REACHED = "callback"  # the end reason of a callback whose caller was reached, once the talk is over
# After taking the callback the caller is still on the line for a while: saying their name for the
# agent's whisper, hearing when to expect the call, thanked (docs/dialplan.md, "Callbacks"). The
# callback is offered to no agent until their Hangup (``CallbackCallerGone``), else dialling them back
# would find their own line busy and the whisper would name no one; at most this long, should that
# Hangup be lost (an AMI reconnect).
ON_LINE_BOUND = 40.0
QUEUE_REMOVED = "queue_removed"  # a pending callback whose queue left the config (as reconfigure's overflow)
NUMBER_NOT_ALLOWED = "number_not_allowed"  # a pending callback whose keyed number the patterns no longer allow


def digits_of(caller: str) -> str:
    """The number a callback dials for a caller: their number's digits, at most 32 (as the dialplan's
    ``FILTER(0-9,...)`` keeps them)."""
    return "".join(c for c in caller if "0" <= c <= "9")[:MAX_NUMBER]


def offer_on_arrival(floor: Floor, call: Call, *, clear: bool = False) -> None:
    """A queue that offers callbacks tells holding when to offer this caller one (after their whole
    wait so far: docs/dialplan.md, "Callbacks"); ``clear``, for a later stay: a queue that offers none
    takes away the offer an earlier queue set."""
    after = call.queue.callback_after_seconds
    if call.callback or (after is None and not clear):
        return
    floor.emit(OfferCallback(call.call_id, after))


def may_call(floor: Floor, call: Call, number: str) -> bool:
    """Whether a callback of ``call`` may dial ``number``: the caller's own number (digits), or one they
    keyed in that the admin's ``[callbacks] allowed_numbers`` patterns allow (docs/security.md)."""
    if not number or number != digits_of(number):
        return False
    return number == digits_of(call.record.caller) or transfer_numbers.allowed(
        number, floor.config.policy.callback_numbers
    )


def restored(floor: Floor, call: Call, number: str, now: float) -> bool:
    """A pending callback of the previous run (its open record), arriving again: same place, no channel.

    One whose number the admin's patterns no longer allow (a number the caller keyed in) is closed at
    once, ``overflowed`` with end reason ``number_not_allowed`` and its wait up to now, never left open
    to be refused again at every start (docs/kpis.md, "Callbacks"); False then, and the call is closed."""
    if not number or number != digits_of(number):
        raise InvalidValue("CallArrived", "callback", "not a number: digits only, at most 32")
    keyed = "" if number == digits_of(call.record.caller) else number
    call.record = dataclasses.replace(call.record, end_reason="callback", callback_number=keyed)
    if not may_call(floor, call, number):
        end = max(now, call.enqueued_at)
        wait = call.waited(end)
        floor.write(call.left_queue(end, "overflowed", NUMBER_NOT_ALLOWED))
        floor.queue_exit(call.queue, "overflowed", wait, now, within_sla=False, short_abandon=False)
        floor.close_call(call)
        return False
    step_call(call, CallInput.CALLBACK, "CallArrived")
    call.callback = number
    return True


def queue_gone(floor: Floor, e: CallbackQueueGone, now: float) -> None:
    """A pending callback read back at a start whose queue is no longer configured: closed at once,
    ``overflowed`` with end reason ``queue_removed`` and its wait up to now, never left open (docs/kpis.md,
    "Callbacks"). Records only: this run has no such queue, so its live counters do not move."""
    record = e.record
    if record.queue in floor.queues:
        raise InvalidValue("CallbackQueueGone", "queue", "the queue is configured: the callback waits there again")
    if record.answered_at is not None or record.ended_at is not None or record.end_reason != REACHED:
        raise InvalidValue("CallbackQueueGone", "record", "not a pending callback")
    if record.interaction_id in floor.calls or record.interaction_id in floor.closed:
        raise InvalidTransition(record.interaction_id, "known", "CallbackQueueGone")
    gone = QueueConfig(record.queue, (), sla_threshold_seconds=record.sla_threshold_seconds)
    call = Call.resume(record, gone, now)
    floor.write(call.left_queue(max(now, call.enqueued_at), "overflowed", QUEUE_REMOVED))
    floor.close_call(call)


def accepted(floor: Floor, e: CallbackAccepted, now: float) -> None:
    """The caller took the callback: same place, no channel; called back at the number they called from,
    or at the one they keyed in, if the admin's patterns allow it."""
    call = floor.calls.get(e.call_id)
    if call is None:
        raise UnknownCall(e.call_id)
    check_call(call, CallInput.CALLBACK, "CallbackAccepted")
    if call.state is not CallState.WAITING or call.callback:
        raise InvalidValue("CallbackAccepted", "call_id", "the call is not a caller holding")
    number = e.number
    if not may_call(floor, call, number):
        raise InvalidValue("CallbackAccepted", "number", "neither the caller's number nor one they may key in")
    step_call(call, CallInput.CALLBACK, "CallbackAccepted")
    call.callback = number
    call.callback_at = now
    floor.write(call.callback_taken("" if number == digits_of(call.record.caller) else number))
    floor.out.append(metric_updates.inc(metric_updates.CALLBACKS_ACCEPTED, call.queue.name))
    # out of the routing index while the caller is still on the line (ON_LINE_BOUND): their Hangup,
    # or the call timer at the bound, puts it back (Floor.tick)
    floor.leave_routing(call)
    call.callback_not_before = now + ON_LINE_BOUND
    floor.arm_call_timer(call, now)  # max wait no longer applies: only widening and cool-downs


def caller_gone(floor: Floor, e: CallbackCallerGone, now: float) -> None:
    """The caller who took the callback hung up: it may be offered to an agent now (a late or repeated
    report, or one for a callback already tried or settled, changes nothing)."""
    call = floor.calls.get(e.call_id)
    if call is None or not call.callback or call.callback_tries or call.state is not CallState.WAITING:
        return
    if call.callback_not_before > now:
        call.callback_not_before = now
        floor.tick(call, now)


def _talking(floor: Floor, offer_id: str) -> Call | None:
    for call in floor.calls.values():
        if call.callback_offer == offer_id and call.state is CallState.CONNECTED:
            return call
    return None


def ended(floor: Floor, e: CallbackEnded, now: float) -> None:
    """The callback's dial of the caller ended: a conversation over, or a try that did not reach them."""
    from acd.core.call_handlers import call_ended  # the one way a conversation ends
    from acd.core.events import CallEnded

    call = _talking(floor, e.offer_id)
    if call is None:
        return  # a late or repeated report: the callback has moved on
    if e.status == "ANSWER":
        call_ended(floor, CallEnded(call.call_id, reason=REACHED), now)  # checks first, then moves
        floor.out.append(metric_updates.callback_try(call.queue.name, e.status))
        _settled(floor, call, "answered", now)
        return
    agent = floor.agents[str(call.record.agent_id)]
    check_agent(agent, AgentInput.CALL_END_NO_WRAPUP, "CallbackEnded")
    last = call.callback_tries + 1 >= call.queue.callback_attempts
    check_call(call, CallInput.END if last else CallInput.CALLBACK_RETRY, "CallbackEnded")
    floor.out.append(metric_updates.callback_try(call.queue.name, e.status))
    call.callback_tries += 1
    call.callback_offer = ""
    if call.callback_tries >= call.queue.callback_attempts:
        check_call(call, CallInput.END, "CallbackEnded")
        step_call(call, CallInput.END, "CallbackEnded")
        record = call.callback_unreached(now, e.status.lower())
        floor.write(record)
        _settled(floor, call, "failed", now)
        floor.close_call(call)
    else:
        check_call(call, CallInput.CALLBACK_RETRY, "CallbackEnded")
        step_call(call, CallInput.CALLBACK_RETRY, "CallbackEnded")
        floor.write(call.callback_retry())
        # out of the routing index until the gap has passed (its call timer puts it back: Floor.tick)
        call.callback_not_before = now + call.queue.callback_gap_seconds
        floor.arm(call_timer(call.call_id), call.callback_not_before)
    agent.call_id = None
    floor.move_agent(agent, AgentInput.CALL_END_NO_WRAPUP, now)


def _settled(floor: Floor, call: Call, outcome: Literal["answered", "failed"], now: float) -> None:
    """The callback leaves its queue for the live counters, as its record now says (docs/kpis.md,
    "Callbacks"): reached (wait and SL of the accept of the try that reached the caller), or not."""
    record, name = call.record, call.queue.name
    wait = record.wait_seconds if record.wait_seconds is not None else call.waited(now)
    floor.queue_exit(call.queue, outcome, wait, now, within_sla=bool(record.within_sla), short_abandon=False)
    if outcome == "answered":
        floor.out.append(metric_updates.inc(metric_updates.CALLBACKS_COMPLETED, name))
        if call.callback_at is not None and record.answered_at is not None:
            floor.out.append(metric_updates.callback_wait(name, record.answered_at - call.callback_at))
    else:
        floor.out.append(metric_updates.inc(metric_updates.CALLBACKS_FAILED, name))
