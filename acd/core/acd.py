"""``Acd``: the one door through which events change routing state.

``handle(event, now)`` looks the event's subjects up, checks every transition it implies against
the tables in ``states`` and only then changes anything, so an event that raises leaves the core
exactly as it was. After each accepted event the floor is re-matched (``Floor.dispatch``) and the
commands produced are returned, in order, for the runtime to carry out.

Timers: the core arms ``call:<call id>`` (widening, cool-down expiry, max wait), ``ring:<offer id>``
(ring timeout) and ``wrapup:<agent id>``. A ``TimerFired`` for a key that is no longer armed is a
harmless race with its cancellation and is ignored. Late misses for an offer the core already
closed are ignored too; a late *answer* raises ``OfferClosed`` (see ``errors``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from acd.core import metrics
from acd.core.agent import Agent
from acd.core.commands import CancelOffer, Command, OverflowCall
from acd.core.config import RoutingConfig
from acd.core.decisions import Explanation, explain
from acd.core.eligibility import level_at
from acd.core.errors import InvalidTransition, OfferClosed, UnknownAgent, UnknownCall, UnknownOffer, UnknownQueue
from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentResumed,
    CallArrived,
    CallEnded,
    CallerHungUp,
    ConfigChanged,
    DispositionSet,
    Event,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    OfferUnanswered,
    TimerFired,
    WrapUpDone,
)
from acd.core.floor import Floor, call_timer, wrapup_timer
from acd.core.interaction import Call
from acd.core.reconfigure import reconfigure
from acd.core.records import OfferRecord, OfferResult, Outcome
from acd.core.snapshot import Snapshot, take
from acd.core.states import AgentInput, AgentState, CallInput, CallState, agent_transition, call_transition

AUTO_PAUSE_REASON = "missed"


class Acd:
    def __init__(self, config: RoutingConfig) -> None:
        self._floor = Floor(config)
        reconfigure(self._floor, config, 0.0)
        self._floor.out.clear()
        self._handlers: dict[type[Any], Callable[[Any, float], None]] = {
            CallArrived: self._call_arrived,
            CallerHungUp: self._caller_hung_up,
            OfferAnswered: self._offer_answered,
            OfferRejected: lambda e, now: self._offer_missed(e.offer_id, "rejected", now, "OfferRejected"),
            OfferUnanswered: lambda e, now: self._offer_missed(e.offer_id, "unanswered", now, "OfferUnanswered"),
            OfferFailed: lambda e, now: self._offer_missed(e.offer_id, "failed", now, "OfferFailed"),
            CallEnded: self._call_ended,
            AgentLoggedIn: self._logged_in,
            AgentLoggedOut: lambda e, now: self._step_away(e.agent_id, AgentInput.LOG_OUT, "", now),
            AgentPaused: lambda e, now: self._step_away(e.agent_id, AgentInput.PAUSE, e.reason, now),
            AgentResumed: self._resumed,
            WrapUpDone: self._wrapup_done,
            AgentReachability: self._reachability,
            DispositionSet: self._disposition,
            ConfigChanged: lambda e, now: reconfigure(self._floor, e.config, now),
            TimerFired: self._timer_fired,
        }

    # -- the door ---------------------------------------------------------------------------
    def handle(self, event: Event, now: float) -> list[Command]:
        """Apply one event at time ``now``; return the commands to carry out, in order."""
        floor = self._floor
        floor.out = []
        self._handlers[type(event)](event, now)
        floor.dispatch(now)
        out, floor.out = floor.out, []
        return out

    # -- read-only queries ------------------------------------------------------------------
    @property
    def config(self) -> RoutingConfig:
        return self._floor.config

    def snapshot(self, now: float) -> Snapshot:
        floor = self._floor
        agents = (floor.agents[a.id] for a in floor.config.agents)
        return take(now, floor.queues, floor.calls.values(), agents)

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

    def _agent(self, agent_id: str) -> Agent:
        if not self._floor.configured(agent_id):
            raise UnknownAgent(agent_id)
        return self._floor.agents[agent_id]

    # -- calls ------------------------------------------------------------------------------
    def _call_arrived(self, e: CallArrived, now: float) -> None:
        queue = self._floor.queues.get(e.queue)
        if queue is None:
            raise UnknownQueue(e.queue)
        if e.call_id in self._floor.calls or e.call_id in self._floor.closed:
            state = self._call(e.call_id, "CallArrived", ended_ok=True).state
            raise InvalidTransition(e.call_id, state.value, "CallArrived")
        call = Call.arrive(e, queue, now)
        call.level = level_at(queue, call.enqueued_at, now)
        self._floor.add_call(call, now)
        if now >= call.enqueued_at + queue.max_wait_seconds:
            # Re-announced after a restart with its wait already used up.
            self._overflow(call, "max_wait", now)

    def _caller_hung_up(self, e: CallerHungUp, now: float) -> None:
        call = self._call(e.call_id, "CallerHungUp")
        call_transition(call.call_id, call.state, CallInput.HANG_UP, "CallerHungUp")
        if call.state is CallState.CONNECTED:
            self._end_talk(call, "caller_hangup", now, "CallerHungUp")
            return
        self._leave(call, "abandoned", "caller_hangup", now, "CallerHungUp")

    def _call_ended(self, e: CallEnded, now: float) -> None:
        call = self._call(e.call_id, "CallEnded")
        call_transition(call.call_id, call.state, CallInput.END, "CallEnded")
        if call.state is CallState.CONNECTED:
            self._end_talk(call, e.reason, now, "CallEnded")
        else:
            # The channel went away before an answer for a reason other than the caller hanging up.
            self._leave(call, "failed", e.reason, now, "CallEnded")

    def _leave(self, call: Call, outcome: Outcome, reason: str, now: float, event: str) -> None:
        """A queued or ringing call leaves unanswered (checked by the caller for the call)."""
        agent = self._ringing_agent(call)
        if agent is not None:
            agent_transition(agent.agent_id, agent.state, AgentInput.CANCEL, event)
            self._cancel_ringing(call, agent, now)
        self._floor.leave_queue(call, outcome, reason, now)

    def _overflow(self, call: Call, reason: str, now: float) -> None:
        call_transition(call.call_id, call.state, CallInput.OVERFLOW, "overflow")
        self._leave(call, "overflowed", reason, now, "overflow")
        self._floor.emit(OverflowCall(call.call_id, call.queue.overflow_target, reason))

    def _ringing_agent(self, call: Call) -> Agent | None:
        if call.offer_id is None:
            return None
        return self._floor.agents[self._floor.offers[call.offer_id].agent_id]

    def _cancel_ringing(self, call: Call, agent: Agent, now: float) -> None:
        assert call.offer_id is not None
        self._floor.emit(CancelOffer(call.offer_id, call.call_id, agent.agent_id))
        self._floor.end_offer(call.offer_id, "cancelled", now)
        call.offer_id = None
        self._floor.move_agent(agent, AgentState.READY, now)

    def _end_talk(self, call: Call, reason: str, now: float, event: str) -> None:
        floor = self._floor
        agent = floor.agents[str(call.record.agent_id)]
        wrapup = call.queue.wrapup_seconds
        if agent.retiring:
            what = AgentInput.CALL_END_RETIRE
        elif wrapup > 0:
            what = AgentInput.CALL_END
        else:
            what = AgentInput.CALL_END_NO_WRAPUP
        target = agent_transition(agent.agent_id, agent.state, what, event)
        call.state = CallState.ENDED
        floor.close_call(call)
        if target is AgentState.WRAP_UP:
            floor.write(call.talk_ended(now, reason, None))
            floor.wrapping[agent.agent_id] = call
            floor.move_agent(agent, target, now)
            floor.arm(wrapup_timer(agent.agent_id), now + wrapup)
            return
        record = call.talk_ended(now, reason, 0.0)
        floor.write(record)
        floor.emit(metrics.handled(call.queue.name, record.talk_seconds or 0.0))
        floor.move_agent(agent, target, now)
        if agent.retiring:
            agent.retiring = False

    def _disposition(self, e: DispositionSet, now: float) -> None:
        call = self._call(e.call_id, "DispositionSet", ended_ok=True)
        call_transition(call.call_id, call.state, CallInput.DISPOSITION, "DispositionSet")
        self._floor.write(call.disposition(e.code, e.notes))

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
        call.state = CallState.CONNECTED
        call.offer_id = None
        floor.write(record)
        floor.disarm(call_timer(call.call_id))
        wait = record.wait_seconds or 0.0
        met = bool(record.within_sla)
        floor.out.extend(metrics.queue_exit(call.queue.name, "answered", wait, within_sla=met, short_abandon=False))
        agent.misses = 0
        floor.move_agent(agent, AgentState.ON_CALL, now)
        agent.call_id = call.call_id

    def _offer_missed(self, offer_id: str, result: OfferResult, now: float, event: str) -> None:
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
        target = agent_transition(agent.agent_id, agent.state, what, event)
        floor.end_offer(offer_id, result, now)
        agent.misses = misses
        call.cooldowns[agent.agent_id] = now + floor.config.policy.reoffer_cooldown_seconds
        floor.requeue(call, now)
        floor.move_agent(agent, target, now, AUTO_PAUSE_REASON if pause else "")

    # -- agents -----------------------------------------------------------------------------
    def _logged_in(self, e: AgentLoggedIn, now: float) -> None:
        agent = self._agent(e.agent_id)
        target = agent_transition(agent.agent_id, agent.state, AgentInput.LOG_IN, "AgentLoggedIn")
        agent.misses = 0
        self._floor.move_agent(agent, target, now)

    def _resumed(self, e: AgentResumed, now: float) -> None:
        agent = self._agent(e.agent_id)
        target = agent_transition(agent.agent_id, agent.state, AgentInput.RESUME, "AgentResumed")
        agent.misses = 0
        self._floor.move_agent(agent, target, now)

    def _step_away(self, agent_id: str, what: AgentInput, reason: str, now: float) -> None:
        """Pause or log out; a ringing offer is withdrawn, a wrap-up ends early."""
        agent = self._agent(agent_id)
        event = "AgentLoggedOut" if what is AgentInput.LOG_OUT else "AgentPaused"
        target = agent_transition(agent.agent_id, agent.state, what, event)
        self._leave_state(agent, now)
        self._floor.move_agent(agent, target, now, reason)

    def _leave_state(self, agent: Agent, now: float) -> None:
        """Tidy up what the agent's current state holds before it moves on."""
        floor = self._floor
        if agent.state is AgentState.RESERVED and agent.offer_id is not None:
            call = floor.calls[floor.offers[agent.offer_id].interaction_id]
            call_transition(call.call_id, call.state, CallInput.WITHDRAW, "withdraw")
            floor.emit(CancelOffer(agent.offer_id, call.call_id, agent.agent_id))
            floor.end_offer(agent.offer_id, "cancelled", now)
            floor.requeue(call, now)  # withdrawn, not missed: no cool-down, no miss
        elif agent.state is AgentState.WRAP_UP:
            self._finish_wrapup(agent, now)

    def _finish_wrapup(self, agent: Agent, now: float) -> None:
        floor = self._floor
        call = floor.wrapping.pop(agent.agent_id)
        record = call.wrapup_ended(now)
        floor.write(record)
        floor.emit(metrics.handled(call.queue.name, (record.talk_seconds or 0.0) + (record.wrapup_seconds or 0.0)))
        floor.disarm(wrapup_timer(agent.agent_id))

    def _wrapup_done(self, e: WrapUpDone, now: float) -> None:
        agent = self._agent(e.agent_id)
        target = agent_transition(agent.agent_id, agent.state, AgentInput.WRAP_UP_DONE, "WrapUpDone")
        self._finish_wrapup(agent, now)
        self._floor.move_agent(agent, target, now)

    def _reachability(self, e: AgentReachability, now: float) -> None:
        agent = self._agent(e.agent_id)
        self._floor.set_reachability(agent, e.reachable, e.busy_elsewhere)

    # -- timers -----------------------------------------------------------------------------
    def _timer_fired(self, e: TimerFired, now: float) -> None:
        floor = self._floor
        if e.key not in floor.timers:
            return  # cancelled or replaced: the fire raced its cancellation
        kind, _, ref = e.key.partition(":")
        if kind == "ring":
            offer = floor.offers[ref]
            # Validate before the timer is consumed, so a refused fire changes nothing.
            self._check_ring_timeout(offer)
            del floor.timers[e.key]
            floor.emit(CancelOffer(offer.offer_id, offer.interaction_id, offer.agent_id))
            self._offer_missed(ref, "unanswered", now, "TimerFired")
        elif kind == "wrapup":
            agent = floor.agents[ref]
            target = agent_transition(ref, agent.state, AgentInput.WRAP_UP_DONE, "TimerFired")
            del floor.timers[e.key]
            self._finish_wrapup(agent, now)
            floor.move_agent(agent, target, now)
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
        call.cooldowns = {a: until for a, until in call.cooldowns.items() if until > now}
        level = level_at(call.queue, call.enqueued_at, now)
        if call.state is CallState.WAITING:
            floor.index.remove_call(call.call_id)
            call.level = level
            floor.index.add_call(call)
            floor.dirty_calls[call.call_id] = None
        else:
            call.level = level
        floor.arm_call_timer(call, now)
