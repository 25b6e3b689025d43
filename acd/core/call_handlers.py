"""What happens to calls and their offers: the handlers behind ``Acd.handle`` for call events.

A caller arrives, is offered, answers or misses, hangs up, falls back, is moved or reprioritized,
and its timers fire. Each handler looks its subjects up and checks every move against the tables
in ``states`` before it changes anything (a refused event leaves the floor as it was), then makes
the moves on the ``Floor``. What agents do of their own accord is in ``agent_handlers``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from acd.core import callbacks, claims, metric_updates, transfer_numbers
from acd.core.agent import Agent
from acd.core.commands import (
    CancelOffer,
    ConsultCall,
    FinishConsult,
    MonitorCall,
    OfferCallback,
    OverflowCall,
    TransferCall,
)
from acd.core.config import QueueConfig
from acd.core.eligibility import level_at, queue_matches
from acd.core.errors import (
    AlreadyInQueue,
    InvalidTransition,
    InvalidValue,
    NoAgentReady,
    NumberNotAllowed,
    OfferClosed,
    OutOfScope,
    UnknownAgent,
    UnknownCall,
    UnknownOffer,
    UnknownQueue,
)
from acd.core.events import (
    AgentTransferRequested,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallFellBack,
    CallHandedOver,
    CallInProgress,
    CallLeftUnseen,
    CallMoved,
    CallPriorityChanged,
    CallTransferred,
    CallTransferredOut,
    ConsultEnded,
    ConsultFinishRequested,
    ConsultRequested,
    ConsultStarted,
    CustomerIdentified,
    DispositionSet,
    MonitorRequested,
    NumberTransferRequested,
    OfferAnswered,
    TransferRequested,
)
from acd.core.floor import Consult, Floor
from acd.core.hours import queue_target
from acd.core.ids import transferred_leg_id
from acd.core.interaction import Call
from acd.core.kpis import TRANSFERRED, handle_seconds, is_short_abandon
from acd.core.record_types import InteractionRecord, OfferRecord, OfferResult, Outcome
from acd.core.states import AgentInput, AgentState, CallInput, CallState, check_agent, check_call, step_call
from acd.core.timers import TimerKey, call_timer, wrapup_timer

AUTO_PAUSE_REASON = "missed"
EWT_LIMIT = "ewt_limit"  # the end reason of a caller diverted at entry by the estimated-wait limit


def talk_end(call: Call, ended_at: float | None, now: float) -> float | None:
    """When a conversation reported as ended earlier really ended: within [answer, now], or None (now).

    The time comes from outside (the PBX's trace); a value that cannot be true is brought back to
    the nearest possible one rather than written into the record.
    """
    answered_at = call.record.answered_at
    if ended_at is None or answered_at is None or not math.isfinite(ended_at):
        return None
    return min(max(ended_at, answered_at), now)


# -- lookups (raise before anything changes) ------------------------------------------------
def call_of(floor: Floor, call_id: str, event: str, *, ended_ok: bool = False) -> Call:
    call = floor.calls.get(call_id)
    if call is not None:
        return call
    closed = floor.closed.get(call_id)
    if closed is None:
        raise UnknownCall(call_id)
    if not ended_ok:
        raise InvalidTransition(call_id, CallState.ENDED.value, event)
    return closed


def _new_call_queue(floor: Floor, call_id: str, queue_name: str, event: str) -> QueueConfig:
    """The queue of a call the core does not know yet; a known or closed call is refused."""
    queue = floor.queues.get(queue_name)
    if queue is None:
        raise UnknownQueue(queue_name)
    if call_id in floor.calls or call_id in floor.closed:
        state = call_of(floor, call_id, event, ended_ok=True).state
        raise InvalidTransition(call_id, state.value, event)
    return queue


# -- calls ------------------------------------------------------------------------------
def call_arrived(floor: Floor, e: CallArrived, now: float, *, join_rule: bool = True) -> None:
    """A caller enters a queue; ``join_rule`` False during a resync (the agents are not all known
    yet: ``queues_emptied`` applies the rule once the resync has finished)."""
    queue = _new_call_queue(floor, e.call_id, e.queue, "CallArrived")
    call = Call.arrive(e, queue, now)
    call.level = level_at(queue, call.enqueued_at, now)
    claimed, displaced = claims.claimed_agent(floor, e)  # a claim not stood by is cancelled before any move
    if displaced:  # the claim took the agent's mark first: that offer's Redirect rings nobody
        offer_missed(floor, displaced, "failed", now, "CallArrived", cooldown=False)
    if e.callback:  # a pending callback loaded back after a restart: waits in its place (acd.core.callbacks)
        if callbacks.restored(floor, call, e.callback, now):
            floor.add_call(call, now)
        return
    if _still_directed(floor, e, call.enqueued_at, now):
        # transferred to an agent by name before a restart: as ``transferred`` left it, that agent
        # alone until the wait from the transfer runs out; the queue's rules meet it at the fall back
        call.directed_to = e.directed_to
        call.directed_until = call.enqueued_at + floor.config.policy.transfer_agent_wait_seconds
        floor.add_call(call, now)
        return
    floor.add_call(call, now)
    if join_rule:  # a live arrival, not a caller a resync finds again
        floor.arrived(queue.name)
    if _closed_treatment(floor, call, now):
        return
    callbacks.offer_on_arrival(floor, call)  # a callback offered after the queue's wait
    if now >= call.enqueued_at + queue.max_wait_seconds:
        # Re-announced after a restart with its wait already used up.
        _overflow(floor, call, "max_wait", now)
    elif join_rule:
        _join_rule(floor, call, now)
        _estimate_rule(floor, call, queue, now)
    elif not e.judged:
        floor.unjudged[call.call_id] = None  # judged once the resync is over (``resync_finished``)
    if claimed is not None and call.state is CallState.WAITING:  # the PBX rings that agent already
        floor.decide(call, claimed.agent_id, now)
        floor.start_offer(call, claimed, now, claimed=e.claimed_offer)


def _still_directed(floor: Floor, e: CallArrived, transferred_at: float, now: float) -> bool:
    """A caller found waiting after a transfer to ``e.directed_to`` by name (a resync's finding) still
    waits for that agent alone: as ``_directed`` judged it at the transfer, and the wait not over."""
    target = floor.agents.get(e.directed_to) if e.directed_to else None
    wait = floor.config.policy.transfer_agent_wait_seconds
    return (
        target is not None
        and floor.configured(target.agent_id)
        and target.state is not AgentState.LOGGED_OUT
        and wait > 0
        and now < transferred_at + wait
    )


def _closed_treatment(floor: Floor, call: Call, now: float) -> bool:
    """A stay that starts while its queue is closed (judged at its enqueue time: a re-announced
    caller is judged by when they arrived) gets the queue's closed treatment at once. A callback (no
    channel to overflow: a pending callback moved here, or one transferred to an agent by name that
    falls back) is not: it waits in its place for the opening."""
    hours = call.queue.hours
    if hours is None or call.callback or hours.is_open(call.enqueued_at):
        return False
    _overflow(floor, call, "closed", now, hours.closed_target, hours.announcement)
    return True


def _arrival_rules(floor: Floor, call: Call, now: float, *, join_rule: bool = True) -> None:
    """What every new stay meets on entering a queue (an arrival, an overflow into the queue, a
    transfer or a move to it): the opening hours, then the join rule, then the estimated-wait limit
    (docs/kpis.md; ``join_rule`` False during a resync, as for ``call_arrived``: ``queues_emptied``
    applies the join rule once the resync has finished; the estimated-wait limit is for callers entering
    live only). The new queue's callback offer is written onto the channel (or cleared), to be
    made once the caller's whole wait so far reaches it."""
    queue = call.queue
    if _closed_treatment(floor, call, now):
        return
    callbacks.offer_on_arrival(floor, call, clear=True)
    if join_rule:
        _join_rule(floor, call, now)
        _estimate_rule(floor, call, queue, now)
    else:
        floor.unjudged[call.call_id] = None  # judged once the resync is over (``resync_finished``)


def _estimate_rule(floor: Floor, call: Call, queue: QueueConfig, now: float) -> None:
    """A queue with ``ewt_limit_seconds``: a new stay still waiting in ``queue`` whom no agent takes
    at once, and whose estimated wait (the one holding would announce: acd.core.wait_estimate) is
    above the limit, is offered a callback at once or overflowed (``ewt_action``; docs/kpis.md,
    "Estimated-wait diversion")."""
    limit = queue.ewt_limit_seconds
    if limit is None or call.queue is not queue or call.callback or call.call_id not in floor.calls:
        return
    if call.state is not CallState.WAITING or floor.index.best_agent(call, now) is not None:
        return
    estimate = floor.estimated_wait(call, now)
    if estimate is None or estimate <= limit:
        return
    if queue.ewt_action == "callback":
        floor.emit(OfferCallback(call.call_id, 0.0))  # holding offers it after its first slice of music
    else:
        _overflow(floor, call, EWT_LIMIT, now)


def resync_finished(floor: Floor, now: float, pbx: str = "pbx") -> None:
    """A resync of ``pbx`` is over and the agents are known: the join rule for every queue nobody can
    serve (``queues_emptied``), then the estimated-wait limit for each stay of that PBX found waiting
    that no run judged at its entry (a caller who arrived, or was transferred, while no ACD listened),
    in routing order, as if it entered now. A stay the previous run saw start is not judged again:
    that run judged it (docs/kpis.md, "Estimated-wait diversion"). The other PBXs' stays wait for
    their own resync's end."""
    queues_emptied(floor, None, now)
    found = [floor.calls[c] for c in floor.unjudged if c in floor.calls and floor.calls[c].pbx == pbx]
    for call in found:
        del floor.unjudged[call.call_id]
    for gone in [c for c in floor.unjudged if c not in floor.calls]:
        del floor.unjudged[gone]
    for call in sorted(found, key=lambda c: c.key):
        _estimate_rule(floor, call, call.queue, now)


def queues_emptied(floor: Floor, skills: dict[str, int] | None, now: float) -> None:
    """An agent holding ``skills`` logged out or paused (None: a resync has finished): the waiting
    callers of each queue they could serve and nobody now can come under the queue's join rule
    (app_queue's leavewhenempty)."""
    for queue in floor.queues.values():
        if queue.empty_overflow_seconds is None or floor.can_serve(queue):
            continue
        if skills is not None and not queue_matches(skills, queue):
            continue
        waiting = [
            c
            for c in floor.calls.values()
            if c.queue.name == queue.name
            and c.state is CallState.WAITING
            and c.empty_deadline is None
            and not c.callback  # no channel to overflow: a callback waits for an agent
            and not c.directed_to  # waits for its agent first; the rule applies when it falls back
        ]
        for call in waiting:
            _join_rule(floor, call, now)


def _join_rule(floor: Floor, call: Call, now: float) -> None:
    """Nobody who could serve the call's queue is logged in (or all are paused): overflow at once,
    or arm the deadline after which the call overflows if that is still so (acd.core.hours). Never a
    callback: it has no channel to overflow, and waits in its place for an agent."""
    after = call.queue.empty_overflow_seconds
    if after is None or call.callback or floor.can_serve(call.queue):
        return
    if after <= 0:
        _overflow(floor, call, "no_agents", now)
        return
    call.empty_deadline = now + after
    floor.arm_call_timer(call, now)


def take_over(floor: Floor, e: CallInProgress, now: float) -> None:
    """A caller found talking after a (re)start: connected since ``answered_at``, the agent on the call."""
    arrival = e.call
    queue = _new_call_queue(floor, arrival.call_id, arrival.queue, "CallInProgress")
    agent = floor.agents.get(e.agent_id)
    if agent is None or not floor.configured(e.agent_id):
        raise UnknownAgent(e.agent_id)
    check_agent(agent, AgentInput.TAKE_OVER, "CallInProgress")
    if e.record is not None and (e.record.interaction_id != arrival.call_id or e.record.queue != queue.name):
        raise InvalidTransition(arrival.call_id, "recorded elsewhere", "CallInProgress")
    resumed = None if e.record is None else Call.resume(e.record, queue, now, arrival.segments, arrival.pbx)
    call = Call.arrive(arrival, queue, now) if resumed is None else resumed
    call.pbx = arrival.pbx  # the PBX the resync found the caller on
    call.waited_before = arrival.waited_before  # the channel's ACD_WAITED: a transfer from here carries it
    step_call(call, CallInput.TAKE_OVER, "CallInProgress")
    floor.calls[call.call_id] = call
    floor.write(call.answered(e.answered_at, agent.agent_id))
    _on_call(floor, agent, AgentInput.TAKE_OVER, call, now)


def left_unseen(floor: Floor, e: CallLeftUnseen, now: float) -> None:
    """Closed at once, at the time the PBX kept: never in the routing index, never offered."""
    arrival = e.call
    queue = _new_call_queue(floor, arrival.call_id, arrival.queue, "CallLeftUnseen")
    call = Call.arrive(arrival, queue, now)
    left = min(max(e.left_at, call.enqueued_at), now) if math.isfinite(e.left_at) else now
    probe = call.left_queue(left, e.outcome, e.reason)
    short = is_short_abandon(probe, floor.config.policy.short_abandon_seconds)
    floor.write(call.reclassify_short_abandon() if short else probe)
    floor.queue_exit(queue, e.outcome, left - call.enqueued_at, now, within_sla=False, short_abandon=short)
    step_call(call, CallInput.LEFT_UNSEEN, "CallLeftUnseen")
    floor.close_call(call)


def caller_hung_up(floor: Floor, e: CallerHungUp, now: float) -> None:
    call = call_of(floor, e.call_id, "CallerHungUp")
    check_call(call, CallInput.HANG_UP, "CallerHungUp")
    if call.state is CallState.CONNECTED:
        end_talk(floor, call, CallInput.HANG_UP, "caller_hangup", now, "CallerHungUp")
        return
    _leave(floor, call, CallInput.HANG_UP, "abandoned", "caller_hangup", now, "CallerHungUp")


def fell_back(floor: Floor, e: CallFellBack, now: float) -> None:
    """Overflowed by the dialplan itself, to its fallback: no OverflowCall (the caller is there)."""
    call = call_of(floor, e.call_id, "CallFellBack")
    check_call(call, CallInput.OVERFLOW, "CallFellBack")
    reason = f"fallback_{e.reason}" if e.reason else "fallback"
    _leave(floor, call, CallInput.OVERFLOW, "overflowed", reason, now, "CallFellBack")


def call_ended(floor: Floor, e: CallEnded, now: float) -> None:
    call = call_of(floor, e.call_id, "CallEnded")
    check_call(call, CallInput.END, "CallEnded")
    if call.state is CallState.CONNECTED:
        end_talk(floor, call, CallInput.END, e.reason, now, "CallEnded", talk_end(call, e.ended_at, now))
    else:
        # The channel went away before an answer for a reason other than the caller hanging up.
        _leave(floor, call, CallInput.END, "failed", e.reason, now, "CallEnded")


def _leave(floor: Floor, call: Call, what: CallInput, outcome: Outcome, reason: str, now: float, event: str) -> None:
    """A queued or ringing call leaves unanswered by ``what`` (checked by the caller for the call)."""
    _cancel_ringing(floor, call, now, event)
    floor.leave_queue(call, what, outcome, reason, now)


def _overflow(floor: Floor, call: Call, reason: str, now: float, target: str = "", announcement: str = "") -> None:
    """To ``target`` (default: the queue's overflow target): an extension of the dialplan's
    acd-overflow, or ``queue:<name>``, a new stay in that ACD queue (docs/kpis.md)."""
    target = target or call.queue.overflow_target
    into = queue_target(target)
    if into is not None:
        queue = floor.queues.get(into)
        if queue is not None and queue.name != call.queue.name:
            check_call(call, CallInput.OVERFLOW_QUEUE, "overflow")
            _cancel_ringing(floor, call, now, "overflow")
            step_call(call, CallInput.OVERFLOW_QUEUE, "overflow")
            floor.overflow_into(call, queue, reason, now)
            floor.emit(call.tag(new_stay=True))
            # the config refuses a ring of queues overflowing into each other (acd.settings)
            _arrival_rules(floor, call, now)
            return
        target = floor.config.policy.overflow_targets[0]  # the queue is gone: the dialplan's first
    check_call(call, CallInput.OVERFLOW, "overflow")
    _leave(floor, call, CallInput.OVERFLOW, "overflowed", reason, now, "overflow")
    floor.emit(OverflowCall(call.call_id, target, reason, announcement))


def _cancel_ringing(floor: Floor, call: Call, now: float, event: str) -> None:
    """Take a ringing call's offer back from the caller's side: its agent is READY again, no miss.

    The agent's move is checked first; the call's is the caller's business.
    """
    if call.offer_id is None:
        return
    check_agent(floor.agents[floor.offers[call.offer_id].agent_id], AgentInput.CANCEL, event)
    floor.cancel_ringing(call, now)


def end_talk(
    floor: Floor, call: Call, how: CallInput, reason: str, now: float, event: str, ended_at: float | None = None
) -> None:
    """The conversation ended (``how``: END or HANG_UP, checked by the caller) at ``ended_at``
    (default ``now``); the agent's wrap-up runs from then."""
    agent = floor.agents[str(call.record.agent_id)]
    end = now if ended_at is None else ended_at
    what = _after_talk(agent, call.queue, end, now)
    check_agent(agent, what, event)
    step_call(call, how, event)
    floor.close_call(call)
    if call.segments:  # a transferred call: its last talk is a segment too
        floor.write(call.talk_segment(call.call_id, end))
    _release(floor, agent, what, call, call.talk_ended, end, reason, now)


def _after_talk(agent: Agent, queue: QueueConfig, end: float, now: float) -> AgentInput:
    """How the agent leaves a talk that ended at ``end`` in ``queue``: to its wrap-up, or past it."""
    wrapup = queue.wrapup_seconds
    if agent.retiring:
        return AgentInput.CALL_END_RETIRE
    if wrapup > 0 and end + wrapup > now:
        return AgentInput.CALL_END
    if wrapup > 0:
        return AgentInput.CALL_END_WRAPUP_ELAPSED
    return AgentInput.CALL_END_NO_WRAPUP


def _release(
    floor: Floor,
    agent: Agent,
    what: AgentInput,
    talk: Call,
    close: Callable[[float, str, float | None], InteractionRecord],
    end: float,
    reason: str,
    now: float,
) -> None:
    """Move the agent by ``what`` (checked) after the talk of ``talk`` ended at ``end``; ``close``
    writes that talk's record (with its wrap-up when there is none to wait for)."""
    wrapup = talk.queue.wrapup_seconds
    if what is AgentInput.CALL_END:
        floor.write(close(end, reason, None))
        floor.wrapping[agent.agent_id] = talk
        floor.move_agent(agent, what, now)
        floor.arm(wrapup_timer(agent.agent_id), end + wrapup)
        return
    spent = wrapup if what is AgentInput.CALL_END_WRAPUP_ELAPSED else 0.0
    record = close(end, reason, spent)
    floor.write(record)
    floor.handled(talk.queue, handle_seconds(record) or 0.0, now)
    floor.move_agent(agent, what, now)
    if agent.retiring:
        agent.retiring = False


# -- transfers ----------------------------------------------------------------------------
def _transferable(call: Call, event: str) -> None:
    """A callback's conversation is not transferred (docs/kpis.md, "Callbacks"): its caller was dialled
    by an Originate, not held in a queue's channel that the PBX could move."""
    if call.callback:
        raise InvalidTransition(call.call_id, "a callback's conversation", event)


def _transfer_target_queue(floor: Floor, call: Call, queue_name: str, event: str) -> QueueConfig:
    check_call(call, CallInput.TRANSFER, event)
    queue = floor.queues.get(queue_name)
    if queue is None:
        raise UnknownQueue(queue_name)
    return queue


def transfer_requested(floor: Floor, e: TransferRequested) -> None:
    """Checked, then handed to the PBX: nothing moves until the PBX says the transfer happened."""
    call = call_of(floor, e.call_id, "TransferRequested")
    _transferable(call, "TransferRequested")
    _transfer_target_queue(floor, call, e.queue, "TransferRequested")
    agent = floor.agents[str(call.record.agent_id)]
    floor.emit(TransferCall(call.call_id, agent.agent_id, agent.config.endpoint, e.queue))


def agent_transfer_requested(floor: Floor, e: AgentTransferRequested) -> None:
    """Blind to an agent by name: checked (talking, the target configured and not the agent on the
    call), then handed to the PBX as a transfer to the call's queue naming that agent."""
    call = call_of(floor, e.call_id, "AgentTransferRequested")
    check_call(call, CallInput.TRANSFER, "AgentTransferRequested")
    _transferable(call, "AgentTransferRequested")
    target = _consulted(floor, call, e.agent, "AgentTransferRequested")
    agent = floor.agents[str(call.record.agent_id)]
    floor.emit(
        TransferCall(
            call.call_id, agent.agent_id, agent.config.endpoint, call.queue.name, target_endpoint=target.config.endpoint
        )
    )


def _directed(floor: Floor, e: CallTransferred) -> bool:
    """Whether the new stay waits for ``e.target_agent`` alone first: a configured agent, logged in,
    not the one transferring, and ``[transfers] agent_wait`` above 0."""
    target = floor.agents.get(e.target_agent) if e.target_agent else None
    return (
        target is not None
        and floor.configured(target.agent_id)
        and target.state is not AgentState.LOGGED_OUT
        and target.agent_id != e.agent_id
        and floor.config.policy.transfer_agent_wait_seconds > 0
    )


def fall_back(floor: Floor, call: Call, now: float) -> None:
    """A call transferred to an agent by name is for anyone eligible in its queue from now on: that
    agent did not take it in time, missed it, or logged out. The queue's arrival rules (hours, the
    join rule) meet it now, as they met a transfer to the queue at once."""
    if not call.directed_to:
        return
    floor.undirect(call, now)
    if call.state is CallState.WAITING:
        _arrival_rules(floor, call, now)


def release_directed(floor: Floor, agent_id: str, now: float) -> None:
    """``agent_id`` logged out or left the config: the callers waiting for them fall back at once."""
    for call_id in sorted(floor.directed.get(agent_id, {})):
        fall_back(floor, floor.calls[call_id], now)


def transferred(floor: Floor, e: CallTransferred, now: float, *, join_rule: bool = True) -> None:
    """Blind to a queue: the agent's talk ends now, or at ``e.ended_at`` for a transfer no ACD saw
    (to wrap-up, in the queue they answered in), the stay they answered closes under its own id, and
    the caller waits in ``queue`` as a new arrival from then (``join_rule`` as for ``call_arrived``).
    Transferred to an agent by name (``target_agent``): offered to that agent alone at first."""
    call = call_of(floor, e.call_id, "CallTransferred")
    queue = _transfer_target_queue(floor, call, e.queue, "CallTransferred")
    if call.record.agent_id != e.agent_id:
        raise InvalidTransition(call.call_id, f"talking to {call.record.agent_id}", "CallTransferred")
    agent = floor.agents[e.agent_id]
    at = talk_end(call, e.ended_at, now)
    end = now if at is None else at
    what = _after_talk(agent, call.queue, end, now)
    check_agent(agent, what, "CallTransferred")
    answered_queue, answered_priority, answered_enqueued = call.queue, call.priority, call.enqueued_at
    segment_stay = transferred_leg_id(call.call_id, call.queue.name, end)
    target = f"agent:{e.target_agent}" if e.target_agent else f"queue:{queue.name}"
    segment = call.talk_segment(segment_stay, end, e.kind, target)
    leg_record = call.transfer_to(queue, end)
    assert leg_record.interaction_id == segment_stay
    # the agent's part, closed: what their wrap-up and disposition land on (the call waits elsewhere)
    talk = Call(
        leg_record.interaction_id,
        answered_queue,
        answered_priority,
        answered_enqueued,
        leg_record,
        state=CallState.CONNECTED,
    )
    step_call(talk, CallInput.END, "CallTransferred")
    step_call(call, CallInput.TRANSFER, "CallTransferred")
    floor.out.append(metric_updates.inc(metric_updates.CALLS_TRANSFERRED, answered_queue.name))
    directed = _directed(floor, e)
    if directed:
        call.directed_to = e.target_agent
        call.directed_until = end + floor.config.policy.transfer_agent_wait_seconds  # from the transfer
    floor.add_call(call, now)
    floor.arrived(call.queue.name)
    floor.close_call(talk)
    floor.write(segment)
    _release(floor, agent, what, talk, _closed(talk), end, TRANSFERRED, now)
    if agent.call_id is not None:
        agent.call_id = talk.call_id
    if not directed:
        _arrival_rules(floor, call, now, join_rule=join_rule)  # a transfer is an arrival in the target queue


def number_transfer_requested(floor: Floor, e: NumberTransferRequested) -> None:
    """Checked against the config's patterns, then handed to the PBX (which checks them again)."""
    call = call_of(floor, e.call_id, "NumberTransferRequested")
    check_call(call, CallInput.TRANSFER, "NumberTransferRequested")  # talking, so it has an agent
    _transferable(call, "NumberTransferRequested")
    if not transfer_numbers.allowed(e.number, floor.config.policy.transfer_numbers):
        raise NumberNotAllowed(e.number)
    agent = floor.agents[str(call.record.agent_id)]
    floor.emit(TransferCall(call.call_id, agent.agent_id, agent.config.endpoint, "", e.number))


def transferred_out(floor: Floor, e: CallTransferredOut, now: float) -> None:
    """Blind to an outside number: the caller leaves the ACD; the stay closes answered (end reason
    ``transferred``) and the agent goes to wrap-up, as at a hang-up."""
    call = call_of(floor, e.call_id, "CallTransferredOut")
    check_call(call, CallInput.TRANSFER, "CallTransferredOut")  # talking, so it has an agent
    if call.record.agent_id != e.agent_id:
        raise InvalidTransition(call.call_id, f"talking to {call.record.agent_id}", "CallTransferredOut")
    agent = floor.agents[e.agent_id]
    what = _after_talk(agent, call.queue, now, now)
    check_agent(agent, what, "CallTransferredOut")
    step_call(call, CallInput.END, "CallTransferredOut")
    floor.close_call(call)
    floor.write(call.talk_segment(call.call_id, now, "blind", f"number:{e.number}"))
    floor.out.append(metric_updates.inc(metric_updates.CALLS_TRANSFERRED, call.queue.name))
    _release(floor, agent, what, call, call.talk_ended, now, TRANSFERRED, now)


def _closed(talk: Call) -> Callable[[float, str, float | None], InteractionRecord]:
    """``_release``'s ``close`` for a stay already closed by the transfer: only the wrap-up is added
    (kept on ``talk``, where a later disposition builds on it)."""

    def close(_end: float, _reason: str, wrapup_seconds: float | None) -> InteractionRecord:
        if wrapup_seconds is not None:
            talk.record = dataclasses.replace(talk.record, wrapup_seconds=wrapup_seconds)
        return talk.record

    return close


def disposition(floor: Floor, e: DispositionSet, now: float) -> None:
    call = call_of(floor, e.call_id, "DispositionSet", ended_ok=True)
    check_call(call, CallInput.DISPOSITION, "DispositionSet")
    floor.write(call.disposition(e.code, e.notes))


def identified(floor: Floor, e: CustomerIdentified) -> None:
    """The call's record names the customer; the same customer again writes nothing."""
    call = call_of(floor, e.call_id, "CustomerIdentified", ended_ok=True)
    check_call(call, CallInput.CUSTOMER, "CustomerIdentified")
    if call.record.customer_id != e.customer_id:
        floor.write(call.identified(e.customer_id))
    if call.record.end_reason == TRANSFERRED and call.record.uniqueid:
        # the agent named the caller after transferring them: their stay now (same channel) too
        for later in floor.calls.values():
            if later.record.uniqueid == call.record.uniqueid and later.record.customer_id != e.customer_id:
                floor.write(later.identified(e.customer_id))


def reprioritize(floor: Floor, e: CallPriorityChanged, now: float) -> None:
    call = call_of(floor, e.call_id, "CallPriorityChanged")
    check_call(call, CallInput.REPRIORITIZE, "CallPriorityChanged")
    floor.reprioritize(call, e.priority, now)
    floor.emit(call.tag())


def move(floor: Floor, e: CallMoved, now: float) -> None:
    """To another queue; a ringing offer is cancelled first and its agent is READY again, no miss."""
    call = call_of(floor, e.call_id, "CallMoved")
    check_call(call, CallInput.MOVE, "CallMoved")
    queue = floor.queues.get(e.queue)
    if queue is None:
        raise UnknownQueue(e.queue)
    if queue.name == call.queue.name:
        raise AlreadyInQueue(call.call_id, queue.name)
    _cancel_ringing(floor, call, now, "CallMoved")
    step_call(call, CallInput.MOVE, "CallMoved")  # a ringing call waits again; a waiting one stays
    floor.move_call(call, queue, now)
    floor.emit(call.tag(new_stay=True))
    _arrival_rules(floor, call, now)


def monitor(floor: Floor, e: MonitorRequested) -> None:
    """A supervisor joins a conversation: checked (talking, in a queue the requester may monitor),
    then handed to call control. Neither the call nor the agent moves."""
    if (e.call_id is None) == (e.agent_id is None):
        raise InvalidValue("MonitorRequested", "call_id", "name the call or its agent, not both or neither")
    if e.agent_id is not None:
        agent = floor.agents.get(e.agent_id)
        if agent is None:
            raise UnknownAgent(e.agent_id)
        if agent.call_id is None or agent.state is not AgentState.ON_CALL:
            raise InvalidTransition(e.agent_id, agent.state.value, "MonitorRequested")
        call = call_of(floor, agent.call_id, "MonitorRequested")
    else:
        assert e.call_id is not None
        call = call_of(floor, e.call_id, "MonitorRequested")
    check_call(call, CallInput.MONITOR, "MonitorRequested")
    if e.queues is not None and call.queue.name not in e.queues:
        raise OutOfScope(call.call_id, call.queue.name)
    agent_id = call.record.agent_id
    agent = floor.agents.get(agent_id or "")
    if agent_id is None or agent is None:
        raise InvalidTransition(call.call_id, call.state.value, "MonitorRequested")
    if e.pbx is not None and e.pbx != call.pbx:  # ChanSpy reaches only the channels of its own PBX
        raise InvalidValue("MonitorRequested", "pbx", f"the phone is on {e.pbx}, the call on {call.pbx}")
    floor.emit(
        MonitorCall(
            call.call_id, agent_id, agent.config.endpoint, e.supervisor_endpoint, e.mode, e.supervisor_channel, e.pbx
        )
    )


# -- offers -----------------------------------------------------------------------------
def _open_offer(floor: Floor, offer_id: str) -> OfferRecord | None:
    """The open offer, None if it was closed already, ``UnknownOffer`` if never seen."""
    record = floor.offers.get(offer_id)
    if record is None and offer_id not in floor.closed_offers:
        raise UnknownOffer(offer_id)
    return record


def answer_time(offer: OfferRecord, answered_at: float | None, now: float) -> float:
    """When an answer reported late really happened: within [the offer, now], or now if not known.

    The time comes from outside (the PBX's channel or trace); one that cannot be true is brought back
    to the nearest possible one, as ``talk_end`` does for an end."""
    if answered_at is None or not math.isfinite(answered_at):
        return now
    return min(max(answered_at, offer.offered_at), now)


def offer_answered(floor: Floor, e: OfferAnswered, now: float) -> None:
    offer = _open_offer(floor, e.offer_id)
    if offer is None:
        raise OfferClosed(e.offer_id, floor.closed_offers[e.offer_id], "OfferAnswered")
    call = floor.calls[offer.interaction_id]
    agent = floor.agents[offer.agent_id]
    check_call(call, CallInput.ANSWER, "OfferAnswered")
    check_agent(agent, AgentInput.ANSWER, "OfferAnswered")
    now = answer_time(offer, e.answered_at, now)  # an answer no ACD heard: its wait and talk from then
    floor.end_offer(offer.offer_id, "answered", now)
    record = call.answered(now, agent.agent_id)
    step_call(call, CallInput.ANSWER, "OfferAnswered")
    call.offer_id = None
    call.directed_to = ""  # a caller transferred to this agent by name reached them
    floor.write(record)
    floor.disarm(call_timer(call.call_id))
    wait = record.wait_seconds or 0.0
    met = bool(record.within_sla)
    if not call.callback:  # a callback leaves the queue once settled (acd.core.callbacks, docs/kpis.md)
        floor.queue_exit(call.queue, "answered", wait, now, within_sla=met, short_abandon=False)
    _on_call(floor, agent, AgentInput.ANSWER, call, now)


def _on_call(floor: Floor, agent: Agent, what: AgentInput, call: Call, now: float) -> None:
    """The agent talks to ``call`` now (answered, or found talking): its misses start afresh."""
    agent.misses = 0
    floor.move_agent(agent, what, now)
    agent.call_id = call.call_id


def offer_missed(
    floor: Floor, offer_id: str, result: OfferResult, now: float, event: str, *, cooldown: bool = True
) -> None:
    offer = _open_offer(floor, offer_id)
    if offer is None:
        return  # a late report on an offer already closed: the caller has moved on
    call = floor.calls[offer.interaction_id]
    agent = floor.agents[offer.agent_id]
    check_call(call, CallInput.MISS, event)
    # Only the agent's own doing counts toward auto-pause; an unreachable phone does not.
    misses = agent.misses + (1 if result in ("rejected", "unanswered") else 0)
    pause = result != "failed" and misses >= floor.config.policy.max_consecutive_misses
    what = AgentInput.MISS_AND_PAUSE if pause else AgentInput.MISS
    check_agent(agent, what, event)
    floor.end_offer(offer_id, result, now)
    agent.misses = misses
    if cooldown:
        call.cooldowns[agent.agent_id] = now + floor.config.policy.reoffer_cooldown_seconds
    directed = bool(call.directed_to) and cooldown  # the named agent missed it (not a lost Redirect)
    floor.requeue(call, CallInput.MISS, now)
    floor.move_agent(agent, what, now, AUTO_PAUSE_REASON if pause else "")
    if directed:
        fall_back(floor, call, now)


# -- timers -----------------------------------------------------------------------------------
def ring_timed_out(floor: Floor, key: TimerKey, now: float) -> None:
    """The offer rang for the whole ring timeout: cancel the leg, a miss for the agent."""
    offer = floor.offers[key.subject]
    # Validate before the timer is consumed, so a refused fire changes nothing.
    call = floor.calls[offer.interaction_id]
    agent = floor.agents[offer.agent_id]
    check_call(call, CallInput.MISS, "TimerFired")
    check_agent(agent, AgentInput.MISS, "TimerFired")
    del floor.timers[key]
    floor.emit(CancelOffer(offer.offer_id, offer.interaction_id, offer.agent_id))
    offer_missed(floor, offer.offer_id, "unanswered", now, "TimerFired")


def call_timer_fired(floor: Floor, key: TimerKey, now: float) -> None:
    """The call's next moment: max wait (overflow), or a widening step or cool-down expiry."""
    call = floor.calls[key.subject]
    del floor.timers[key]
    if now >= call.enqueued_at + call.queue.max_wait_seconds and not call.callback:
        _overflow(floor, call, "max_wait", now)
        return
    if call.directed_to and now >= call.directed_until:
        fall_back(floor, call, now)  # the named agent did not take it in time
        if call.call_id not in floor.calls:
            return  # the queue's arrival rules overflowed it
    if call.empty_deadline is not None and now >= call.empty_deadline:
        call.empty_deadline = None
        if not floor.can_serve(call.queue) and not call.callback:
            _overflow(floor, call, "no_agents", now)
            return
    check_call(call, CallInput.TICK, "TimerFired")
    floor.tick(call, now)


# -- attended transfers: the consult leg, then complete or back -------------------------------
def _talking_call(floor: Floor, call_id: str, agent_id: str, event: str) -> Call:
    """The call ``agent_id`` talks with now, or a refusal."""
    call = call_of(floor, call_id, event)
    if call.state is not CallState.CONNECTED or call.record.agent_id != agent_id:
        raise InvalidTransition(call_id, f"{call.state.value}, not talking to {agent_id}", event)
    return call


def _consulted(floor: Floor, call: Call, target: str, event: str) -> Agent:
    """The configured agent ``target``, another than the one talking with ``call``."""
    if not floor.configured(target):
        raise UnknownAgent(target)
    if target == call.record.agent_id:
        raise InvalidTransition(call.call_id, "consulting the agent on the call", event)
    return floor.agents[target]


def consult_requested(floor: Floor, e: ConsultRequested) -> None:
    """Checked (talking, no consult open, the target ready), then handed to the PBX. An attended
    transfer to a queue consults the agent a new arrival there would be offered first (refused with
    ``NoAgentReady`` when none is ready: nobody is left waiting); one to a number consults it only when
    the config's patterns allow it (docs/kpis.md, "Transfers"). A phone's consult of a queue
    (``phone_leg``) is checked the same way and must come from the agent talking with the caller; its
    leg is told the picked agent (a refusal tells it nothing: the phone gives up after a few seconds)."""
    call = call_of(floor, e.call_id, "ConsultRequested")
    check_call(call, CallInput.HAND_OVER, "ConsultRequested")
    _transferable(call, "ConsultRequested")
    if call.call_id in floor.consults:
        raise InvalidTransition(call.call_id, "consulting", "ConsultRequested")
    agent = floor.agents[str(call.record.agent_id)]
    if e.phone_leg and (not e.for_queue or e.number or e.target or e.phone_agent != agent.agent_id):
        raise InvalidTransition(call.call_id, f"a phone's queue consult not from {e.phone_agent}", "ConsultRequested")
    if e.number:
        if not transfer_numbers.allowed(e.number, floor.config.policy.transfer_numbers):
            raise NumberNotAllowed(e.number)
        floor.emit(ConsultCall(call.call_id, agent.agent_id, agent.config.endpoint, "", e.number))
        return
    picked = e.target
    if e.for_queue:
        if e.for_queue not in floor.queues:
            raise UnknownQueue(e.for_queue)
        picked = floor.index.first_ready(e.for_queue) or ""
        if not picked or picked == agent.agent_id:
            raise NoAgentReady(e.for_queue)
    target = _consulted(floor, call, picked, "ConsultRequested")
    check_agent(target, AgentInput.CONSULT, "ConsultRequested")
    floor.emit(
        ConsultCall(call.call_id, agent.agent_id, agent.config.endpoint, target.config.endpoint, phone_leg=e.phone_leg)
    )
    if e.for_queue:
        floor.queue_consults[call.call_id] = (target.agent_id, e.for_queue)
    else:
        floor.queue_consults.pop(call.call_id, None)


def consult_finish_requested(floor: Floor, e: ConsultFinishRequested) -> None:
    """Only for a call with an open consult leg; the PBX's word moves the agents."""
    call = call_of(floor, e.call_id, "ConsultFinishRequested")
    consult = floor.consults.get(call.call_id)
    if consult is None or call.record.agent_id != consult.agent_id:
        raise InvalidTransition(call.call_id, "no consult open", "ConsultFinishRequested")
    agent = floor.agents[consult.agent_id]
    floor.emit(FinishConsult(call.call_id, agent.agent_id, agent.config.endpoint, e.action))


def consult_started(floor: Floor, e: ConsultStarted, now: float) -> None:
    """The target is busy consulting from now: offered nothing; an offer that crossed the consult
    leg (the target was ringing for a caller) is withdrawn, the caller keeping their place. The agent
    the ACD picked for an attended transfer to a queue consults for that queue. An outside number's
    consult moves no agent."""
    call = _talking_call(floor, e.call_id, e.agent_id, "ConsultStarted")
    if call.call_id in floor.consults:
        raise InvalidTransition(call.call_id, "consulting", "ConsultStarted")
    if e.number:
        if e.target or not transfer_numbers.allowed(e.number, floor.config.policy.transfer_numbers):
            raise NumberNotAllowed(e.number)
        floor.queue_consults.pop(call.call_id, None)
        floor.consults[call.call_id] = Consult(e.agent_id, "", now, number=e.number)
        return
    target = _consulted(floor, call, e.target, "ConsultStarted")
    check_agent(target, AgentInput.CONSULT, "ConsultStarted")
    picked, queue = floor.queue_consults.pop(call.call_id, ("", ""))
    if target.state is AgentState.RESERVED:
        floor.withdraw(target, now)
    floor.move_agent(target, AgentInput.CONSULT, now)
    target.call_id = call.call_id
    in_queue = queue if picked == e.target and queue in floor.queues else ""
    floor.consults[call.call_id] = Consult(e.agent_id, e.target, now, queue=in_queue)


def _open_consult(
    floor: Floor, call_id: str, agent_id: str, target_id: str, number: str, what: AgentInput, event: str
) -> Agent | None:
    """The consulted agent of the call's open consult (None for a number's), or a refusal."""
    consult = floor.consults.get(call_id)
    if consult is None or (consult.agent_id, consult.target, consult.number) != (agent_id, target_id, number):
        raise InvalidTransition(call_id, "no such consult open", event)
    if consult.number:
        return None
    target = floor.agents[target_id]
    check_agent(target, what, event)
    return target


def consult_ended(floor: Floor, e: ConsultEnded, now: float) -> None:
    """Back to the caller: the target is ready again; the consult is kept as a segment. The caller
    may have hung up meanwhile (the two agents talked on): the segment lands on the closed call. A
    number's consult is kept as a segment of the agent who consulted, target ``number:<n>``."""
    target = _open_consult(floor, e.call_id, e.agent_id, e.target, e.number, AgentInput.CONSULT_END, "ConsultEnded")
    call = call_of(floor, e.call_id, "ConsultEnded", ended_ok=True)
    consult = floor.consults.pop(e.call_id)
    if target is None:
        floor.write(call.consult_segment(call.call_id, e.agent_id, consult.started_at, now, f"number:{e.number}"))
        return
    floor.write(call.consult_segment(call.call_id, e.target, consult.started_at, now))
    floor.move_agent(target, AgentInput.CONSULT_END, now)


def handed_over(floor: Floor, e: CallHandedOver, now: float) -> None:
    """The attended transfer completed: the transferring agent's talk ends now (to wrap-up, as in
    ``transferred``) and their stay closes under its own id; the caller's new stay in the same queue
    is answered now by the consulted agent, whose handle time starts here. A consult the ACD picked
    for a queue hands the caller over as a new stay in that queue, answered now (its SL counted as a
    queue transfer's: docs/kpis.md, "Transfers"); a number's completion ends the caller's time in the
    ACD, as a blind transfer to a number does. A handover no ACD saw (``ended_at``, no consult open)
    is taken over with the agent the caller talks with, at the moment the PBX noted."""
    call = _talking_call(floor, e.call_id, e.agent_id, "CallHandedOver")
    # completed while no ACD listened (found by a restarted ACD's resync): no consult open here
    unseen = (e.unseen or e.ended_at is not None) and call.call_id not in floor.consults
    take = AgentInput.TAKE_OVER if unseen else AgentInput.CONSULT_TAKE
    target: Agent | None
    if unseen:
        target = floor.agents.get(e.target)
        if target is None or target.agent_id == e.agent_id or not floor.configured(target.agent_id):
            raise UnknownAgent(e.target)
        check_agent(target, take, "CallHandedOver")
    else:
        target = _open_consult(floor, e.call_id, e.agent_id, e.target, e.number, take, "CallHandedOver")
    check_call(call, CallInput.HAND_OVER, "CallHandedOver")
    agent = floor.agents[e.agent_id]
    at = talk_end(call, e.ended_at, now)
    end = now if at is None else at
    what = _after_talk(agent, call.queue, end, now)
    check_agent(agent, what, "CallHandedOver")
    consult = floor.consults.pop(call.call_id, None)
    if target is None:  # an open consult of a number (``_open_consult``): the caller leaves the ACD
        assert consult is not None
        step_call(call, CallInput.END, "CallHandedOver")
        floor.close_call(call)
        floor.write(call.consult_segment(call.call_id, e.agent_id, consult.started_at, end, f"number:{e.number}"))
        floor.write(call.talk_segment(call.call_id, end, "attended", f"number:{e.number}"))
        floor.out.append(metric_updates.inc(metric_updates.CALLS_TRANSFERRED, call.queue.name))
        _release(floor, agent, what, call, call.talk_ended, end, TRANSFERRED, now)
        return
    answered_queue, answered_priority, answered_enqueued = call.queue, call.priority, call.enqueued_at
    segment_stay = transferred_leg_id(call.call_id, call.queue.name, end)
    if consult is not None:
        floor.write(call.consult_segment(segment_stay, e.target, consult.started_at, end))
    for_queue = consult.queue if consult is not None else ""
    aimed = f"queue:{for_queue}" if for_queue else f"agent:{e.target}"
    segment = call.talk_segment(segment_stay, end, "attended", aimed)
    next_queue = floor.queues[for_queue] if for_queue else None
    leg_record = call.hand_over(e.target, end, next_queue)
    if next_queue is not None:  # the caller's channel says the new stay, for a restarted ACD's resync
        floor.emit(call.tag(new_stay=True))
    talk = Call(
        leg_record.interaction_id,
        answered_queue,
        answered_priority,
        answered_enqueued,
        leg_record,
        state=CallState.CONNECTED,
    )
    step_call(talk, CallInput.END, "CallHandedOver")
    step_call(call, CallInput.HAND_OVER, "CallHandedOver")
    floor.out.append(metric_updates.inc(metric_updates.CALLS_TRANSFERRED, answered_queue.name))
    floor.close_call(talk)
    floor.write(segment)
    floor.write(call.record)
    if next_queue is not None:  # a transferred-in arrival there, answered at once
        floor.arrived(next_queue.name)
        floor.queue_exit(next_queue, "answered", 0.0, now, within_sla=bool(call.record.within_sla), short_abandon=False)
    _release(floor, agent, what, talk, _closed(talk), end, TRANSFERRED, now)
    if agent.call_id is not None:
        agent.call_id = talk.call_id
    floor.move_agent(target, take, now)
    target.call_id = call.call_id
