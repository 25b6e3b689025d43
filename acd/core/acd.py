"""``Acd``: the one door through which events change routing state.

``handle(event, now)`` looks the event's subjects up, checks every transition it implies against
the tables in ``states`` and only then changes anything, so an event that raises leaves the core
exactly as it was; the first check is that every value it carries is one the core can hold
(``bounds``). After each accepted event the floor is re-matched (``Floor.dispatch``) and the
commands produced are returned, in order, for the runtime to carry out; between ``ResyncStarted``
and ``ResyncFinished`` nothing is matched, so a resync's callers are routed together, by priority.

Timers (``timers.TimerKey``): the core arms one ``call`` timer per queued call (widening, cool-down
expiry, max wait), one ``ring`` timer per offer (ring timeout) and one ``wrapup`` timer per agent in
wrap-up. A ``TimerFired`` for a key that is no longer armed is a
harmless race with its cancellation and is ignored. Late misses for an offer the core already
closed are ignored too; a late *answer* raises ``OfferClosed`` (see ``errors``).
"""

from __future__ import annotations

import math

from acd.core import agent_handlers, metric_updates
from acd.core.agent import Agent
from acd.core.bounds import check_event, check_now
from acd.core.commands import CancelOffer, Command, OverflowCall
from acd.core.config import QueueConfig, RoutingConfig
from acd.core.decisions import Explanation, explain
from acd.core.eligibility import level_at
from acd.core.errors import (
    AlreadyInQueue,
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
    AgentReachability,
    AgentResumed,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallFellBack,
    CallInProgress,
    CallLeftUnseen,
    CallMoved,
    CallPriorityChanged,
    ConfigChanged,
    DispositionSet,
    Event,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    OfferUnanswered,
    ResyncFinished,
    ResyncStarted,
    TimerFired,
    WrapUpDone,
)
from acd.core.floor import Floor
from acd.core.interaction import Call
from acd.core.kpis import handle_seconds, is_short_abandon
from acd.core.reconfigure import reconfigure
from acd.core.record_types import OfferRecord, OfferResult, Outcome
from acd.core.snapshot import CallView, Snapshot, take
from acd.core.states import (
    AgentInput,
    AgentState,
    CallInput,
    CallState,
    agent_transition,
    call_transition,
    step_call,
)
from acd.core.timers import call_timer, wrapup_timer

AUTO_PAUSE_REASON = "missed"


def _talk_end(call: Call, ended_at: float | None, now: float) -> float | None:
    """When a conversation reported as ended earlier really ended: within [answer, now], or None (now).

    The time comes from outside (the PBX's trace); a value that cannot be true is brought back to
    the nearest possible one rather than written into the record.
    """
    answered_at = call.record.answered_at
    if ended_at is None or answered_at is None or not math.isfinite(ended_at):
        return None
    return min(max(ended_at, answered_at), now)


class Acd:
    def __init__(self, config: RoutingConfig) -> None:
        self._floor = Floor(config)
        reconfigure(self._floor, config, 0.0)
        self._floor.out.clear()
        self._held = False  # between ResyncStarted and ResyncFinished: load, do not route

    # -- the door ---------------------------------------------------------------------------
    def handle(self, event: Event, now: float) -> list[Command]:
        """Apply one event at time ``now``; return the commands to carry out, in order."""
        check_now(now)
        check_event(event, now)
        floor = self._floor
        floor.out = []
        self._apply(event, now)
        if not self._held:
            floor.dispatch(now)
        out, floor.out = floor.out, []
        return out

    def _apply(self, event: Event, now: float) -> None:
        # A match, not a dict of bound lambdas, so that a copied Acd never drives the original.
        floor = self._floor
        match event:
            case CallArrived():
                self._call_arrived(event, now)
            case CallInProgress():
                self._take_over(event, now)
            case CallLeftUnseen():
                self._left_unseen(event, now)
            case ResyncStarted():
                self._held = True
            case ResyncFinished():
                self._held = False
            case CallerHungUp():
                self._caller_hung_up(event, now)
            case CallFellBack():
                self._fell_back(event, now)
            case OfferAnswered():
                self._offer_answered(event, now)
            case OfferRejected():
                self._offer_missed(event.offer_id, "rejected", now, "OfferRejected")
            case OfferUnanswered():
                self._offer_missed(event.offer_id, "unanswered", now, "OfferUnanswered")
            case OfferFailed():
                cooldown = event.reason != OfferFailed.NOT_STARTED
                self._offer_missed(event.offer_id, "failed", now, "OfferFailed", cooldown=cooldown)
            case CallEnded():
                self._call_ended(event, now)
            case AgentLoggedIn():
                agent_handlers.logged_in(floor, event, now)
            case AgentLoggedOut():
                agent_handlers.step_away(floor, event.agent_id, AgentInput.LOG_OUT, "", now)
            case AgentPaused():
                agent_handlers.step_away(floor, event.agent_id, AgentInput.PAUSE, event.reason, now)
            case AgentResumed():
                agent_handlers.resumed(floor, event, now)
            case WrapUpDone():
                agent_handlers.wrapup_done(floor, event, now)
            case AgentReachability():
                agent_handlers.reachability(floor, event, now)
            case DispositionSet():
                self._disposition(event, now)
            case CallPriorityChanged():
                self._reprioritize(event)
            case CallMoved():
                self._move(event, now)
            case ConfigChanged():
                reconfigure(floor, event.config, now)
            case TimerFired():
                self._timer_fired(event, now)

    # -- read-only queries ------------------------------------------------------------------
    @property
    def config(self) -> RoutingConfig:
        return self._floor.config

    def snapshot(self, now: float) -> Snapshot:
        floor = self._floor
        agents = (floor.agents[a.id] for a in floor.config.agents)
        return take(now, floor.queues, floor.calls.values(), agents)

    def agent_state(self, agent_id: str) -> AgentState | None:
        """One agent's state (None for an unknown agent), without building a whole snapshot."""
        agent = self._floor.agents.get(agent_id)
        return None if agent is None else agent.state

    def positions(self) -> dict[str, tuple[str, int]]:
        """Each waiting caller's queue and place in it (1 = next), in routing order.

        For the holding announcements: a caller ringing an agent has no position.
        """
        by_queue: dict[str, list[Call]] = {}
        for call in self._floor.calls.values():
            if call.state is CallState.WAITING:
                by_queue.setdefault(call.queue.name, []).append(call)
        places: dict[str, tuple[str, int]] = {}
        for name, calls in by_queue.items():
            for place, call in enumerate(sorted(calls, key=lambda c: c.key), start=1):
                places[call.call_id] = (name, place)
        return places

    def queued_calls(self, now: float) -> list[CallView]:
        """Every caller still in a queue (waiting or ringing), by queue name and then routing order."""
        places = self.positions()
        floor = self._floor
        views = []
        for call in floor.calls.values():
            if call.state not in (CallState.WAITING, CallState.RINGING):
                continue
            place = places.get(call.call_id)
            agent = None if call.offer_id is None else floor.offers[call.offer_id].agent_id
            views.append(CallView(call.call_id, call.queue.name, call.priority, call.state, call.waited(now),
                                  None if place is None else place[1], agent))
        order = {c.call_id: c.key for c in floor.calls.values()}
        return sorted(views, key=lambda v: (v.queue, order[v.call_id]))

    def explain(self, call_id: str) -> Explanation | None:
        decision = self._floor.decisions.last_for(call_id)
        return None if decision is None else explain(decision, self._floor.agents)

    # -- lookups (raise before anything changes) --------------------------------------------
    def _call(self, call_id: str, event: str, *, ended_ok: bool = False) -> Call:
        call = self._floor.calls.get(call_id)
        if call is not None:
            return call
        closed = self._floor.closed.get(call_id)
        if closed is None:
            raise UnknownCall(call_id)
        if not ended_ok:
            raise InvalidTransition(call_id, CallState.ENDED.value, event)
        return closed

    def _new_call_queue(self, call_id: str, queue_name: str, event: str) -> QueueConfig:
        """The queue of a call the core does not know yet; a known or closed call is refused."""
        queue = self._floor.queues.get(queue_name)
        if queue is None:
            raise UnknownQueue(queue_name)
        if call_id in self._floor.calls or call_id in self._floor.closed:
            state = self._call(call_id, event, ended_ok=True).state
            raise InvalidTransition(call_id, state.value, event)
        return queue

    # -- calls ------------------------------------------------------------------------------
    def _call_arrived(self, e: CallArrived, now: float) -> None:
        queue = self._new_call_queue(e.call_id, e.queue, "CallArrived")
        call = Call.arrive(e, queue, now)
        call.level = level_at(queue, call.enqueued_at, now)
        self._floor.add_call(call, now)
        if now >= call.enqueued_at + queue.max_wait_seconds:
            # Re-announced after a restart with its wait already used up.
            self._overflow(call, "max_wait", now)

    def _take_over(self, e: CallInProgress, now: float) -> None:
        """A caller found talking after a (re)start: connected since ``answered_at``, the agent on the call."""
        floor = self._floor
        arrival = e.call
        queue = self._new_call_queue(arrival.call_id, arrival.queue, "CallInProgress")
        agent = floor.agents.get(e.agent_id)
        if agent is None or not floor.configured(e.agent_id):
            raise UnknownAgent(e.agent_id)
        agent_transition(agent.agent_id, agent.state, AgentInput.TAKE_OVER, "CallInProgress")
        if e.record is not None and (e.record.interaction_id != arrival.call_id or e.record.queue != queue.name):
            raise InvalidTransition(arrival.call_id, "recorded elsewhere", "CallInProgress")
        call = Call.arrive(arrival, queue, now) if e.record is None else Call.resume(e.record, queue, now)
        step_call(call, CallInput.TAKE_OVER, "CallInProgress")
        floor.calls[call.call_id] = call
        floor.write(call.answered(e.answered_at, agent.agent_id))
        agent.misses = 0
        floor.move_agent(agent, AgentInput.TAKE_OVER, now)
        agent.call_id = call.call_id

    def _left_unseen(self, e: CallLeftUnseen, now: float) -> None:
        """Closed at once, at the time the PBX kept: never in the routing index, never offered."""
        floor = self._floor
        arrival = e.call
        queue = self._new_call_queue(arrival.call_id, arrival.queue, "CallLeftUnseen")
        call = Call.arrive(arrival, queue, now)
        left = min(max(e.left_at, call.enqueued_at), now) if math.isfinite(e.left_at) else now
        probe = call.left_queue(left, e.outcome, e.reason)
        short = is_short_abandon(probe, floor.config.policy.short_abandon_seconds)
        floor.write(call.reclassify_short_abandon() if short else probe)
        floor.out.extend(metric_updates.queue_exit(queue, e.outcome, left - call.enqueued_at, within_sla=False,
                                            short_abandon=short))
        step_call(call, CallInput.LEFT_UNSEEN, "CallLeftUnseen")
        floor.close_call(call)

    def _caller_hung_up(self, e: CallerHungUp, now: float) -> None:
        call = self._call(e.call_id, "CallerHungUp")
        call_transition(call.call_id, call.state, CallInput.HANG_UP, "CallerHungUp")
        if call.state is CallState.CONNECTED:
            self._end_talk(call, CallInput.HANG_UP, "caller_hangup", now, "CallerHungUp")
            return
        self._leave(call, CallInput.HANG_UP, "abandoned", "caller_hangup", now, "CallerHungUp")

    def _fell_back(self, e: CallFellBack, now: float) -> None:
        """Overflowed by the dialplan itself, to its fallback: no OverflowCall (the caller is there)."""
        call = self._call(e.call_id, "CallFellBack")
        call_transition(call.call_id, call.state, CallInput.OVERFLOW, "CallFellBack")
        reason = f"fallback_{e.reason}" if e.reason else "fallback"
        self._leave(call, CallInput.OVERFLOW, "overflowed", reason, now, "CallFellBack")

    def _call_ended(self, e: CallEnded, now: float) -> None:
        call = self._call(e.call_id, "CallEnded")
        call_transition(call.call_id, call.state, CallInput.END, "CallEnded")
        if call.state is CallState.CONNECTED:
            self._end_talk(call, CallInput.END, e.reason, now, "CallEnded", _talk_end(call, e.ended_at, now))
        else:
            # The channel went away before an answer for a reason other than the caller hanging up.
            self._leave(call, CallInput.END, "failed", e.reason, now, "CallEnded")

    def _leave(self, call: Call, what: CallInput, outcome: Outcome, reason: str, now: float, event: str) -> None:
        """A queued or ringing call leaves unanswered by ``what`` (checked by the caller for the call)."""
        agent = self._ringing_agent(call)
        if agent is not None:
            agent_transition(agent.agent_id, agent.state, AgentInput.CANCEL, event)
            self._floor.cancel_ringing(call, now)
        self._floor.leave_queue(call, what, outcome, reason, now)

    def _overflow(self, call: Call, reason: str, now: float) -> None:
        call_transition(call.call_id, call.state, CallInput.OVERFLOW, "overflow")
        self._leave(call, CallInput.OVERFLOW, "overflowed", reason, now, "overflow")
        self._floor.emit(OverflowCall(call.call_id, call.queue.overflow_target, reason))

    def _ringing_agent(self, call: Call) -> Agent | None:
        if call.offer_id is None:
            return None
        return self._floor.agents[self._floor.offers[call.offer_id].agent_id]

    def _end_talk(self, call: Call, how: CallInput, reason: str, now: float, event: str,
                  ended_at: float | None = None) -> None:
        """The conversation ended (``how``: END or HANG_UP, checked by the caller) at ``ended_at``
        (default ``now``); the agent's wrap-up runs from then."""
        floor = self._floor
        agent = floor.agents[str(call.record.agent_id)]
        end = now if ended_at is None else ended_at
        wrapup = call.queue.wrapup_seconds
        if agent.retiring:
            what = AgentInput.CALL_END_RETIRE
        elif wrapup > 0 and end + wrapup > now:
            what = AgentInput.CALL_END
        elif wrapup > 0:
            what = AgentInput.CALL_END_WRAPUP_ELAPSED
        else:
            what = AgentInput.CALL_END_NO_WRAPUP
        target = agent_transition(agent.agent_id, agent.state, what, event)
        step_call(call, how, event)
        floor.close_call(call)
        if target is AgentState.WRAP_UP:
            floor.write(call.talk_ended(end, reason, None))
            floor.wrapping[agent.agent_id] = call
            floor.move_agent(agent, what, now)
            floor.arm(wrapup_timer(agent.agent_id), end + wrapup)
            return
        spent = wrapup if what is AgentInput.CALL_END_WRAPUP_ELAPSED else 0.0
        record = call.talk_ended(end, reason, spent)
        floor.write(record)
        floor.out.extend(metric_updates.handled(call.queue, handle_seconds(record) or 0.0))
        floor.move_agent(agent, what, now)
        if agent.retiring:
            agent.retiring = False

    def _disposition(self, e: DispositionSet, now: float) -> None:
        call = self._call(e.call_id, "DispositionSet", ended_ok=True)
        call_transition(call.call_id, call.state, CallInput.DISPOSITION, "DispositionSet")
        self._floor.write(call.disposition(e.code, e.notes))

    def _reprioritize(self, e: CallPriorityChanged) -> None:
        call = self._call(e.call_id, "CallPriorityChanged")
        call_transition(call.call_id, call.state, CallInput.REPRIORITIZE, "CallPriorityChanged")
        self._floor.reprioritize(call, e.priority)
        self._floor.emit(call.tag())

    def _move(self, e: CallMoved, now: float) -> None:
        """To another queue; a ringing offer is cancelled first and its agent is READY again, no miss."""
        call = self._call(e.call_id, "CallMoved")
        call_transition(call.call_id, call.state, CallInput.MOVE, "CallMoved")
        queue = self._floor.queues.get(e.queue)
        if queue is None:
            raise UnknownQueue(e.queue)
        if queue.name == call.queue.name:
            raise AlreadyInQueue(call.call_id, queue.name)
        agent = self._ringing_agent(call)
        if agent is not None:
            agent_transition(agent.agent_id, agent.state, AgentInput.CANCEL, "CallMoved")
            self._floor.cancel_ringing(call, now)
        step_call(call, CallInput.MOVE, "CallMoved")  # a ringing call waits again; a waiting one stays
        self._floor.move_call(call, queue, now)
        self._floor.emit(call.tag())

    # -- offers -----------------------------------------------------------------------------
    def _open_offer(self, offer_id: str) -> OfferRecord | None:
        """The open offer, None if it was closed already, ``UnknownOffer`` if never seen."""
        record = self._floor.offers.get(offer_id)
        if record is None and offer_id not in self._floor.closed_offers:
            raise UnknownOffer(offer_id)
        return record

    def _offer_answered(self, e: OfferAnswered, now: float) -> None:
        floor = self._floor
        offer = self._open_offer(e.offer_id)
        if offer is None:
            raise OfferClosed(e.offer_id, floor.closed_offers[e.offer_id], "OfferAnswered")
        call = floor.calls[offer.interaction_id]
        agent = floor.agents[offer.agent_id]
        call_transition(call.call_id, call.state, CallInput.ANSWER, "OfferAnswered")
        agent_transition(agent.agent_id, agent.state, AgentInput.ANSWER, "OfferAnswered")
        floor.end_offer(offer.offer_id, "answered", now)
        record = call.answered(now, agent.agent_id)
        step_call(call, CallInput.ANSWER, "OfferAnswered")
        call.offer_id = None
        floor.write(record)
        floor.disarm(call_timer(call.call_id))
        wait = record.wait_seconds or 0.0
        met = bool(record.within_sla)
        floor.out.extend(metric_updates.queue_exit(call.queue, "answered", wait, within_sla=met, short_abandon=False))
        agent.misses = 0
        floor.move_agent(agent, AgentInput.ANSWER, now)
        agent.call_id = call.call_id

    def _offer_missed(self, offer_id: str, result: OfferResult, now: float, event: str, *,
                      cooldown: bool = True) -> None:
        floor = self._floor
        offer = self._open_offer(offer_id)
        if offer is None:
            return  # a late report on an offer already closed: the caller has moved on
        call = floor.calls[offer.interaction_id]
        agent = floor.agents[offer.agent_id]
        call_transition(call.call_id, call.state, CallInput.MISS, event)
        # Only the agent's own doing counts toward auto-pause; an unreachable phone does not.
        misses = agent.misses + (1 if result in ("rejected", "unanswered") else 0)
        pause = result != "failed" and misses >= floor.config.policy.max_consecutive_misses
        what = AgentInput.MISS_AND_PAUSE if pause else AgentInput.MISS
        agent_transition(agent.agent_id, agent.state, what, event)
        floor.end_offer(offer_id, result, now)
        agent.misses = misses
        if cooldown:
            call.cooldowns[agent.agent_id] = now + floor.config.policy.reoffer_cooldown_seconds
        floor.requeue(call, CallInput.MISS, now)
        floor.move_agent(agent, what, now, AUTO_PAUSE_REASON if pause else "")

    # -- timers -----------------------------------------------------------------------------
    def _timer_fired(self, e: TimerFired, now: float) -> None:
        floor = self._floor
        if e.key not in floor.timers:
            return  # cancelled or replaced: the fire raced its cancellation
        ref = e.key.subject
        if e.key.kind == "ring":
            offer = floor.offers[ref]
            # Validate before the timer is consumed, so a refused fire changes nothing.
            self._check_ring_timeout(offer)
            del floor.timers[e.key]
            floor.emit(CancelOffer(offer.offer_id, offer.interaction_id, offer.agent_id))
            self._offer_missed(ref, "unanswered", now, "TimerFired")
        elif e.key.kind == "wrapup":
            agent = floor.agents[ref]
            agent_transition(ref, agent.state, AgentInput.WRAP_UP_DONE, "TimerFired")
            del floor.timers[e.key]
            floor.finish_wrapup(agent, now)
            floor.move_agent(agent, AgentInput.WRAP_UP_DONE, now)
        else:
            call = floor.calls[ref]
            del floor.timers[e.key]
            self._call_timer(call, now)

    def _check_ring_timeout(self, offer: OfferRecord) -> None:
        floor = self._floor
        call = floor.calls[offer.interaction_id]
        agent = floor.agents[offer.agent_id]
        call_transition(call.call_id, call.state, CallInput.MISS, "TimerFired")
        agent_transition(agent.agent_id, agent.state, AgentInput.MISS, "TimerFired")

    def _call_timer(self, call: Call, now: float) -> None:
        floor = self._floor
        if now >= call.enqueued_at + call.queue.max_wait_seconds:
            self._overflow(call, "max_wait", now)
            return
        call_transition(call.call_id, call.state, CallInput.TICK, "TimerFired")
        floor.tick(call, now)
