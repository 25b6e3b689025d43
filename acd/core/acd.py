"""``Acd``: the one door through which events change routing state, and the read-only queries.

``handle(event, now)`` checks that every value the event carries is one the core can hold
(``bounds``) and hands it to its handler (``call_handlers``, ``agent_handlers``, ``reconfigure``),
which looks the event's subjects up, checks every transition it implies against the tables in
``states`` and only then changes anything, so an event that raises leaves the core exactly as it
was. After each accepted event the floor is re-matched (``Floor.dispatch``) and the commands
produced are returned, in order, for the runtime to carry out; between ``ResyncStarted`` and
``ResyncFinished`` of a PBX none of that PBX's calls is matched, so a resync's callers are routed
together, by priority; the other PBXs' calls are routed meanwhile (docs/pbxs.md, "Resync is scoped").

Timers (``timers.TimerKey``): the core arms one ``call`` timer per queued call (widening, cool-down
expiry, max wait), one ``ring`` timer per offer (ring timeout) and one ``wrapup`` timer per agent in
wrap-up. A ``TimerFired`` for a key that is no longer armed is a harmless race with its
cancellation and is ignored. Late misses for an offer the core already closed are ignored too; a
late *answer* raises ``OfferClosed`` (see ``errors``).
"""

from __future__ import annotations

from collections.abc import Iterable

from acd.core import agent_handlers, call_handlers, callbacks, claims, events, pbx_loss, scheduled_callbacks
from acd.core.bounds import check_event, check_now
from acd.core.commands import Command
from acd.core.config import RoutingConfig
from acd.core.decisions import Explanation, explain
from acd.core.floor import Consult, Floor
from acd.core.interaction import Call
from acd.core.reconfigure import reconfigure
from acd.core.snapshot import CallView, Snapshot, take
from acd.core.states import AgentInput, AgentState, CallState
from acd.core.timers import TimerKey
from acd.core.wait_estimate import estimated_wait, serving
from acd.core.wait_said import wait_said


class Acd:
    def __init__(self, config: RoutingConfig) -> None:
        self._floor = Floor(config)
        reconfigure(self._floor, config, 0.0)
        self._floor.out.clear()
        # the PBXs between their ResyncStarted and ResyncFinished: their calls are loaded, not routed
        self._held: set[str] = set()
        # the PBXs whose first resync is pending (``hold_start``): until each has ended, nothing is matched
        self._starting: set[str] = set()

    def hold_start(self, pbxs: Iterable[str]) -> None:
        """At a start or takeover, before any PBX's link is up: the agents' states come from the records,
        not from a PBX, so an agent restored ready may be talking on a PBX not resynced yet. Until each of
        ``pbxs`` has its first ``ResyncFinished`` (sent by the runtime after a deadline for a PBX whose link
        never comes up), no call of any PBX is matched (docs/pbxs.md, "A start with several PBXs")."""
        self._starting.update(pbxs)

    # -- the door ---------------------------------------------------------------------------
    def handle(self, event: events.Event, now: float) -> list[Command]:
        """Apply one event at time ``now``; return the commands to carry out, in order."""
        check_now(now)
        check_event(event, now)
        floor = self._floor
        floor.out = []
        self._apply(event, now)
        floor.dispatch(now, self._holding())
        if not self._held and not self._starting:
            claims.publish(floor, now)
        scheduled_callbacks.settle_told(floor)
        out, floor.out = floor.out, []
        return out

    def _holding(self) -> frozenset[str]:
        """The PBXs whose calls are not matched now: those being resynced, or every one at a start."""
        if not self._starting:
            return frozenset(self._held)
        return frozenset(self._held | self._starting | {c.pbx for c in self._floor.calls.values()})

    def _holds(self, call_id: str) -> bool:
        """Whether a resync of the call's PBX is under way (its calls are loaded, not judged yet)."""
        call = self._floor.calls.get(call_id)
        return call is not None and call.pbx in self._held

    def _apply(self, event: events.Event, now: float) -> None:
        # A match, not a dict of bound lambdas, so that a copied Acd never drives the original.
        floor = self._floor
        match event:
            case events.CallArrived():
                arrival = pbx_loss.found_again(floor, event)  # a new stay of a call a lost PBX closed
                call_handlers.call_arrived(floor, arrival, now, join_rule=event.pbx not in self._held)
            case events.CallInProgress():
                call_handlers.take_over(floor, event, now)
            case events.CallLeftUnseen():
                call_handlers.left_unseen(floor, event, now)
            case events.CallbackQueueGone():
                callbacks.queue_gone(floor, event, now)
            case events.ResyncStarted():
                self._held.add(event.pbx)
                claims.withdraw_all(floor)
            case events.ResyncFinished():
                self._held.discard(event.pbx)
                self._starting.discard(event.pbx)
                floor.resync_over()
                call_handlers.resync_finished(floor, now, event.pbx)  # the entry rules, now the agents are known
            case events.PbxLost():
                pbx_loss.pbx_lost(floor, event, now)
            case events.CallerHungUp():
                call_handlers.caller_hung_up(floor, event, now)
            case events.CallFellBack():
                call_handlers.fell_back(floor, event, now)
            case events.OfferAnswered():
                call_handlers.offer_answered(floor, event, now)
            case events.OfferRejected():
                call_handlers.offer_missed(floor, event.offer_id, "rejected", now, "OfferRejected")
            case events.OfferUnanswered():
                call_handlers.offer_missed(floor, event.offer_id, "unanswered", now, "OfferUnanswered")
            case events.OfferFailed():
                cooldown = event.reason != events.OfferFailed.NOT_STARTED
                call_handlers.offer_missed(floor, event.offer_id, "failed", now, "OfferFailed", cooldown=cooldown)
            case events.CallEnded():
                call_handlers.call_ended(floor, event, now)
            case events.AgentLoggedIn():
                agent_handlers.logged_in(floor, event, now)
            case events.AgentLoggedOut():
                agent_handlers.step_away(floor, event.agent_id, AgentInput.LOG_OUT, "", now)
            case events.AgentPaused():
                agent_handlers.step_away(floor, event.agent_id, AgentInput.PAUSE, event.reason, now)
            case events.AgentResumed():
                agent_handlers.resumed(floor, event, now)
            case events.WrapUpDone():
                agent_handlers.wrapup_done(floor, event, now)
            case events.AgentReachability():
                agent_handlers.reachability(floor, event, now)
            case events.DispositionSet():
                call_handlers.disposition(floor, event, now)
            case events.CustomerIdentified():
                call_handlers.identified(floor, event)
            case events.CallPriorityChanged():
                call_handlers.reprioritize(floor, event, now)
            case events.CallMoved():
                call_handlers.move(floor, event, now)
            case events.TransferRequested():
                call_handlers.transfer_requested(floor, event)
            case events.CallTransferred():
                call_handlers.transferred(floor, event, now, join_rule=not self._holds(event.call_id))
            case events.AgentTransferRequested():
                call_handlers.agent_transfer_requested(floor, event)
            case events.NumberTransferRequested():
                call_handlers.number_transfer_requested(floor, event)
            case events.CallTransferredOut():
                call_handlers.transferred_out(floor, event, now)
            case events.MonitorRequested():
                call_handlers.monitor(floor, event)
            case events.ConsultRequested():
                call_handlers.consult_requested(floor, event)
            case events.ConsultFinishRequested():
                call_handlers.consult_finish_requested(floor, event)
            case events.ConsultStarted():
                call_handlers.consult_started(floor, event, now)
            case events.ConsultEnded():
                call_handlers.consult_ended(floor, event, now)
            case events.CallHandedOver():
                call_handlers.handed_over(floor, event, now)
            case events.CallbackAccepted():
                callbacks.accepted(floor, event, now)
            case events.CallbackCallerGone():
                callbacks.caller_gone(floor, event, now)
            case events.CallbackEnded():
                callbacks.ended(floor, event, now)
            case events.CallbackScheduled():
                scheduled_callbacks.scheduled(floor, event, now)
            case events.ClosedCallbackAccepted():
                scheduled_callbacks.closed_accepted(floor, event, now)
            case events.CallbackTimeAsked():
                scheduled_callbacks.time_asked(floor, event, now)
            case events.CallbackTimeKept():
                scheduled_callbacks.time_kept(floor, event, now)
            case events.CallbackTimeNotKept():
                scheduled_callbacks.time_not_kept(floor, event)
            case events.ClosedCallbackNotKept():
                scheduled_callbacks.not_kept(floor, event)
            case events.ScheduledCallbackCancelled():
                scheduled_callbacks.cancelled(floor, event)
            case events.ConfigChanged():
                reconfigure(floor, event.config, now)
            case events.TimerFired():
                self._timer_fired(event.key, now)

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

    def agent_last_call(self, agent_id: str) -> str | None:
        """The call an agent talks on or wraps up now, else the one they last wrapped up (None: none).

        After a transfer it is the stay the agent answered, not the caller's next one."""
        agent = self._floor.agents.get(agent_id)
        if agent is None:
            return None
        if agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP) and agent.call_id is not None:
            return agent.call_id
        return agent.last_call_id

    def call_state(self, call_id: str) -> CallState | None:
        """One call's state while it is in progress (None: not known, or ended)."""
        call = self._floor.calls.get(call_id)
        return None if call is None else call.state

    def call_queue(self, call_id: str) -> str | None:
        """The queue of a call in progress or recently ended (None: not known), e.g. for its dispositions."""
        call = self._floor.calls.get(call_id) or self._floor.closed.get(call_id)
        return None if call is None else call.queue.name

    def call_caller(self, call_id: str) -> str | None:
        """The caller's number of a call in progress or recently ended (None: not known)."""
        call = self._floor.calls.get(call_id) or self._floor.closed.get(call_id)
        return None if call is None else call.record.caller

    def talking(self, call_id: str) -> tuple[str, str] | None:
        """The queue and the agent of a call in conversation now (None: not talking, or not known)."""
        call = self._floor.calls.get(call_id)
        if call is None or call.state is not CallState.CONNECTED or call.record.agent_id is None:
            return None
        return call.queue.name, call.record.agent_id

    def consult(self, call_id: str) -> Consult | None:
        """The open consult leg of a call in conversation (None: no consult open): who consults whom
        since when (docs/kpis.md, "Transfers")."""
        return self._floor.consults.get(call_id)

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

    def wait_estimates(self, now: float) -> dict[str, tuple[str, int, int | None]]:
        """Each waiting caller's queue, place (1 = next) and estimated wait in seconds (None: no
        estimate yet): what holding announces, the same figure the entry rule of a queue with an
        ``ewt_limit_seconds`` judges a new caller by (acd.core.wait_estimate)."""
        floor = self._floor
        per_queue: dict[str, tuple[float | None, int]] = {}
        estimates: dict[str, tuple[str, int, int | None]] = {}
        for call_id, (name, place) in self.positions().items():
            if name not in per_queue:
                queue = floor.calls[call_id].queue
                per_queue[name] = (floor.handle_times.aht(name, now), serving(floor.agents.values(), queue))
            aht, staff = per_queue[name]
            estimates[call_id] = (name, place, estimated_wait(place, aht, staff))
        return estimates

    def stay_of(self, call_id: str) -> tuple[str, float] | None:
        """The queue and start of the stay a call is in (a transfer, a move or an overflow starts
        another); None for a call the core no longer holds."""
        call = self._floor.calls.get(call_id)
        return None if call is None else (call.queue.name, call.enqueued_at)

    def waits_said(self, now: float) -> dict[str, int | None]:
        """Each waiting caller of a queue that announces the wait so far (``announce_waited``): that
        wait, over every stay since their first arrival, as holding says it (acd.core.wait_said;
        None: too short to say). Callers of other queues are left out."""
        return {
            call.call_id: wait_said(call.waited_in_all(now))
            for call in self._floor.calls.values()
            if call.state is CallState.WAITING and call.queue.announce_waited
        }

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
            views.append(
                CallView(
                    call.call_id,
                    call.queue.name,
                    call.priority,
                    call.state,
                    call.waited(now),
                    None if place is None else place[1],
                    agent,
                )
            )
        order = {c.call_id: c.key for c in floor.calls.values()}
        return sorted(views, key=lambda v: (v.queue, order[v.call_id]))

    def explain(self, call_id: str) -> Explanation | None:
        decision = self._floor.decisions.last_for(call_id)
        return None if decision is None else explain(decision, self._floor.agents)

    # -- timers -----------------------------------------------------------------------------
    def _timer_fired(self, key: TimerKey, now: float) -> None:
        floor = self._floor
        if key not in floor.timers:
            return  # cancelled or replaced: the fire raced its cancellation
        match key.kind:
            case "ring":
                call_handlers.ring_timed_out(floor, key, now)
            case "wrapup":
                agent_handlers.wrapup_timed_out(floor, key, now)
            case "call":
                call_handlers.call_timer_fired(floor, key, now)
            case "scheduled":
                scheduled_callbacks.due(floor, key, now)
