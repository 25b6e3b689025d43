"""The core's mutable state and the primitive moves on it, used by the handlers behind ``Acd.handle``.

The floor holds agents, open calls, open offers, the routing indexes and the armed timers, and
knows how to make one consistent move (offer a call, close an offer, move an agent, let a call
leave the queue), emitting the records, metrics and call-control commands that go with it. It does
not validate events: the handlers (``call_handlers``, ``agent_handlers``) check every transition
against ``states`` before they call a move, so a refused event leaves the floor untouched; the
moves themselves go through ``states.step_call`` / ``step_agent``.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable

from acd.core import metric_updates
from acd.core.agent import Agent
from acd.core.closed_offers import ClosedOffers
from acd.core.commands import CancelOffer, CancelTimer, Command, RecordCommand, RingAgent, StartTimer
from acd.core.config import QueueConfig, RoutingConfig
from acd.core.decisions import Decision, DecisionLog
from acd.core.eligibility import level_at, next_widening_at, queue_matches
from acd.core.events import CallbackScheduled
from acd.core.ids import offer_id
from acd.core.interaction import Call
from acd.core.kpis import handle_seconds, is_short_abandon
from acd.core.record_types import OfferRecord, OfferResult, Outcome, Record
from acd.core.routing import RoutingIndex
from acd.core.service_level import QueueRank, RunningServiceLevel
from acd.core.states import AgentInput, AgentState, CallInput, CallState, step_agent, step_call
from acd.core.timers import TimerKey, call_timer, ring_timer, wrapup_timer
from acd.core.wait_estimate import HandleTimes, estimated_wait, serving

CLOSED_KEPT = 10_000  # ended calls and offers remembered for dispositions and late reports


@dataclasses.dataclass(frozen=True, slots=True)
class Consult:
    """An open consult leg: ``agent_id`` (talking with the caller) consults ``target`` since ``started_at``;
    ``queue``: the queue the ACD picked ``target`` for (an attended transfer to a queue); ``number``: an
    outside number consulted instead of an agent (``target`` empty)."""

    agent_id: str
    target: str
    started_at: float
    queue: str = ""
    number: str = ""


class Floor:
    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.agents: dict[str, Agent] = {}  # every agent ever configured; removed ones stay LOGGED_OUT
        self.configured_ids: set[str] = set()  # agents in the current config, not retiring
        self.queues = {q.name: q for q in config.queues}
        self.wrapping: dict[str, Call] = {}  # agent id -> the call the agent is wrapping up
        self.consults: dict[str, Consult] = {}  # call id -> its open consult leg (one at a time)
        # call id -> (agent picked, queue) of an attended transfer to a queue asked of the PBX, until it
        # says the consult leg started (docs/kpis.md, "Transfers")
        self.queue_consults: dict[str, tuple[str, str]] = {}
        # agent id -> the waiting calls transferred to that agent by name, offered to them alone until
        # the call's ``directed_until`` (docs/kpis.md, "Transfers"); such a call is in no routing index
        self.directed: dict[str, dict[str, None]] = {}
        self.calls: dict[str, Call] = {}  # WAITING, RINGING, CONNECTED
        self.closed: OrderedDict[str, Call] = OrderedDict()
        self.offers: dict[str, OfferRecord] = {}  # open offers
        self.closed_offers = ClosedOffers(CLOSED_KEPT)  # compact: 16 bytes an id (acd.core.closed_offers)
        self.index = RoutingIndex(config.queues)
        self.service_level = RunningServiceLevel(config.policy.service_level_window_seconds)
        self.handle_times = HandleTimes()  # the AHT of the estimated wait (acd.core.wait_estimate)
        self.timers: dict[TimerKey, float] = {}
        self.scheduled: dict[str, CallbackScheduled] = {}  # scheduled callbacks not yet in their queue
        # call id -> the callback at a time that holding caller keyed, until the dialplan says whether
        # they were told it is kept (acd.core.scheduled_callbacks.time_asked)
        self.telling: dict[str, str] = {}
        # stays that started while a resync held the rules (found in the gap, or transferred in it)
        # and no run judged by the estimated-wait limit: judged when the resync finishes
        self.unjudged: dict[str, None] = {}
        self.decisions = DecisionLog()
        self.step = 0  # counts agent changes; explanations read agent history by it
        self.intervals = 0  # counts agent-state intervals; part of each interval id
        # queue -> (agent id, offer id) published on the PBX for a caller to claim (acd.core.claims)
        self.published: dict[str, tuple[str, str]] = {}
        self.withdrawn: dict[str, str] = {}  # offer id -> agent id of publications taken back, oldest first
        self.dirty_agents: dict[str, None] = {}  # insertion-ordered sets, sorted before use
        self.dirty_calls: dict[str, None] = {}
        # changed while a PBX was being resynced (docs/pbxs.md, "Resync is scoped"): looked at again at
        # its end, once (an agent is not looked at again for every event the resync loads)
        self.parked_agents: dict[str, None] = {}
        self.parked_calls: dict[str, None] = {}
        self.out: list[Command] = []

    # -- output -----------------------------------------------------------------------------
    def emit(self, command: Command) -> None:
        self.out.append(command)

    def write(self, record: Record) -> None:
        self.out.append(RecordCommand(record))

    def arm(self, key: TimerKey, at: float) -> None:
        if self.timers.get(key) != at:
            self.timers[key] = at
            self.out.append(StartTimer(key, at))

    def disarm(self, key: TimerKey) -> None:
        if self.timers.pop(key, None) is not None:
            self.out.append(CancelTimer(key))

    # -- agents -----------------------------------------------------------------------------
    def configured(self, agent_id: str) -> bool:
        return agent_id in self.configured_ids

    def move_agent(self, agent: Agent, what: AgentInput, now: float, reason: str = "") -> None:
        """Move the agent by ``what`` (already checked by the caller), keeping the ready index in step.

        The state the agent leaves is credited with its whole length (``acd_agent_state_seconds_total``),
        unless its start is unknown: the logged-out stretch an agent starts in, before any event.
        """
        previous, routable = agent.state, agent.routable
        state = step_agent(agent, what)
        if routable:
            self.index.remove_agent(agent.agent_id)
        if agent.since_known:
            self.out.extend(metric_updates.agent_left(agent.agent_id, previous, now - agent.since))
        self.intervals += 1
        for record in agent.entered(previous, now, self.intervals, reason):
            self.write(record)
        if state is not AgentState.RESERVED:
            agent.offer_id = None
        if state in (AgentState.READY, AgentState.PAUSED, AgentState.LOGGED_OUT):
            if agent.call_id is not None and previous in (AgentState.ON_CALL, AgentState.WRAP_UP):
                agent.last_call_id = agent.call_id
            agent.call_id = None
        self._after_agent_change(agent)

    def set_reachability(self, agent: Agent, reachable: bool, busy_elsewhere: bool) -> None:
        if agent.routable:
            self.index.remove_agent(agent.agent_id)
        agent.reachable = reachable
        agent.busy_elsewhere = busy_elsewhere
        self._after_agent_change(agent)

    def _after_agent_change(self, agent: Agent) -> None:
        self.step += 1
        agent.remember(self.step)
        if agent.routable:
            self.index.add_agent(agent.agent_id, agent.idle_since)
            self.dirty_agents[agent.agent_id] = None

    def queue_exit(
        self, queue: QueueConfig, outcome: Outcome, wait: float, now: float, *, within_sla: bool, short_abandon: bool
    ) -> None:
        """A call left ``queue`` (answer, abandon, overflow, failure): the live counters and the running SL."""
        self.out.extend(
            metric_updates.queue_exit(queue, outcome, wait, within_sla=within_sla, short_abandon=short_abandon)
        )
        if not short_abandon:
            self.service_level.count(queue.name, now, within_sla=within_sla, answered=outcome == "answered")

    def handled(self, queue: QueueConfig, seconds: float, now: float) -> None:
        """An answered call's handling is over (talk + wrap-up known): its metrics and the estimate's AHT."""
        self.out.extend(metric_updates.handled(queue, seconds))
        self.handle_times.observe(queue.name, now, seconds)

    def estimated_wait(self, call: Call, now: float) -> int | None:
        """The estimate a WAITING ``call`` hears (acd.core.wait_estimate): its place among its queue's
        waiting callers in routing order, the queue's AHT and the agents serving it."""
        name, key = call.queue.name, call.key
        place = 1 + sum(
            1 for c in self.calls.values() if c.queue.name == name and c.state is CallState.WAITING and c.key < key
        )
        return estimated_wait(place, self.handle_times.aht(name, now), serving(self.agents.values(), call.queue))

    def queue_ranks(self, now: float) -> Callable[[str], QueueRank] | None:
        """Where each queue stands against its SL target, for one dispatch; None when the policy
        chooses between queues by deadline (docs/routing-core.md, "Choosing between queues")."""
        if self.config.policy.queue_choice != "service_level":
            return None
        tally, queues = self.service_level, self.queues

        def rank(name: str) -> QueueRank:
            queue = queues.get(name)
            return (0, 0.0) if queue is None else tally.rank(queue, now)

        return rank

    # -- calls ------------------------------------------------------------------------------
    def add_call(self, call: Call, now: float) -> None:
        self.calls[call.call_id] = call
        self.write(call.record)
        self.enter_routing(call, now)
        self.arm_call_timer(call, now)

    def enter_routing(self, call: Call, now: float) -> None:
        """A WAITING call may be offered: to anyone eligible (the routing index), or, directed to an
        agent by name, to that agent alone (``directed``). Matched at the next dispatch.

        Not a callback before its ``callback_not_before`` (its caller still on the line, or the gap
        after an unreached try: acd.core.callbacks): every path that puts a waiting call back (a
        reconfiguration, a priority change, a move, a fall-back from an agent by name) passes here,
        and its call timer brings it back at that moment (``tick``)."""
        if call.callback and call.callback_not_before > now:
            return
        if call.directed_to:
            self.directed.setdefault(call.directed_to, {})[call.call_id] = None
        else:
            self.index.add_call(call)
        self.dirty_calls[call.call_id] = None

    def leave_routing(self, call: Call) -> None:
        """The call is offered to nobody (ringing, leaving, or about to enter again)."""
        self.index.remove_call(call.call_id)
        waiting = self.directed.get(call.directed_to)
        if waiting is not None:
            waiting.pop(call.call_id, None)
            if not waiting:
                del self.directed[call.directed_to]

    def undirect(self, call: Call, now: float) -> None:
        """A call directed to an agent falls back to its queue: anyone eligible may take it now."""
        if not call.directed_to:
            return
        waiting = call.state is CallState.WAITING
        if waiting:
            self.leave_routing(call)
        call.directed_to = ""
        call.directed_until = 0.0
        if waiting:
            self.enter_routing(call, now)
        self.arm_call_timer(call, now)

    def directed_call(self, agent_id: str) -> Call | None:
        """The first (routing order) waiting call directed to ``agent_id``, if any."""
        waiting = self.directed.get(agent_id)
        if not waiting:
            return None
        return min((self.calls[c] for c in waiting), key=lambda c: c.key)

    def arm_call_timer(self, call: Call, now: float) -> None:
        """One timer per queued call, at its next moment: widening, cool-down expiry or max wait."""
        # a callback has nobody holding to overflow: no max wait, but a try's gap (acd.core.callbacks),
        # only while it runs (a gap already over would fire at once, again and again)
        moments = [call.enqueued_at + call.queue.max_wait_seconds]
        if call.callback:
            moments = [call.callback_not_before] if call.callback_not_before > now else []
        widen = next_widening_at(call.queue, call.level, call.enqueued_at)
        if widen is not None:
            moments.append(widen)
        moments.extend(until for until in call.cooldowns.values() if until > now)
        if call.empty_deadline is not None:
            moments.append(call.empty_deadline)
        if call.directed_to:
            moments.append(call.directed_until)
        if moments:
            self.arm(call_timer(call.call_id), min(moments))
        else:
            self.disarm(call_timer(call.call_id))

    def tick(self, call: Call, now: float) -> None:
        """The call's timer fired before max wait: widen, forget expired cool-downs, re-match."""
        call.cooldowns = {a: until for a, until in call.cooldowns.items() if until > now}
        level = level_at(call.queue, call.enqueued_at, now)
        if call.state is CallState.WAITING and call.callback_not_before <= now:
            self.leave_routing(call)
            call.level = level
            self.enter_routing(call, now)
        else:
            call.level = level
        self.arm_call_timer(call, now)

    def requeue(self, call: Call, what: CallInput, now: float) -> None:
        """Back to WAITING (a miss or a withdrawn offer) with the original enqueue time: the head of its band."""
        step_call(call, what)
        call.offer_id = None
        self.enter_routing(call, now)
        self.arm_call_timer(call, now)

    def reprioritize(self, call: Call, priority: int, now: float) -> None:
        """A new priority band for a WAITING or RINGING call (checked by the caller); enqueue time kept."""
        waiting = call.state is CallState.WAITING
        if waiting:
            self.leave_routing(call)
        call.priority = priority
        self.write(call.reprioritized(priority))
        if waiting:
            self.enter_routing(call, now)

    def move_call(self, call: Call, queue: QueueConfig, now: float) -> None:
        """A WAITING call (checked by the caller; a ringing offer already cancelled) joins ``queue``
        (a call transferred to an agent by name is no longer theirs alone)."""
        self.leave_routing(call)
        call.directed_to = ""
        left = call.move_to(queue, now)
        self.write(left)
        self.out.append(metric_updates.inc(metric_updates.CALLS_MOVED, left.queue))
        call.level = level_at(queue, call.enqueued_at, now)
        self.write(call.record)
        self.arrived(queue.name)
        self.enter_routing(call, now)
        self.arm_call_timer(call, now)

    def arrived(self, queue: str) -> None:
        """A caller entered ``queue``: new, moved, overflowed or transferred in, or a scheduled callback
        at its time (not one found again by a resync or a restart: it arrived before). docs/kpis.md,
        "arrival"; ``kpis.is_arrival`` tells the same stays in the records."""
        self.out.append(metric_updates.inc(metric_updates.CALLS_ARRIVED, queue))

    def overflow_into(self, call: Call, queue: QueueConfig, reason: str, now: float) -> None:
        """A WAITING call overflows into ``queue``: an overflowed exit here, a new arrival there."""
        self.leave_routing(call)
        call.directed_to = ""
        wait = call.waited(now)
        left_queue = call.queue
        self.write(call.move_to(queue, now, "overflowed", reason))
        self.queue_exit(left_queue, "overflowed", wait, now, within_sla=False, short_abandon=False)
        call.level = level_at(queue, call.enqueued_at, now)
        self.write(call.record)
        self.arrived(queue.name)
        self.enter_routing(call, now)
        self.arm_call_timer(call, now)

    def can_serve(self, queue: QueueConfig) -> bool:
        """Someone logged in and not paused holds the skills of ``queue`` at some widening level."""
        return any(
            agent.state not in (AgentState.LOGGED_OUT, AgentState.PAUSED)
            and self.configured(agent.agent_id)
            and queue_matches(agent.skills, queue)
            for agent in self.agents.values()
        )

    def leave_queue(
        self, call: Call, what: CallInput, outcome: Outcome, reason: str, now: float, left_at: float | None = None
    ) -> None:
        """The caller left without being answered (``what``, checked by the caller): abandoned, overflowed
        or failed; at ``left_at`` when that was earlier than now (a lost PBX: docs/pbxs.md)."""
        left = now if left_at is None else min(max(left_at, call.enqueued_at), now)
        probe = call.left_queue(left, outcome, reason)
        # Ask kpis whether it is a short abandon, so the definition lives in one place.
        short = is_short_abandon(probe, self.config.policy.short_abandon_seconds)
        record = call.reclassify_short_abandon() if short else probe
        self.write(record)
        wait = call.waited(left)
        self.queue_exit(call.queue, outcome, wait, now, within_sla=False, short_abandon=short)
        self.leave_routing(call)
        self.disarm(call_timer(call.call_id))
        step_call(call, what)
        self.close_call(call)

    def close_call(self, call: Call) -> None:
        """The call leaves the open calls; it stays among the last ``CLOSED_KEPT`` closed ones, whole
        (the same object a wrap-up still adds to), for its late events. Its re-offer cooldowns go: an
        ended call is never offered again."""
        self.calls.pop(call.call_id, None)
        self.queue_consults.pop(call.call_id, None)
        call.cooldowns.clear()
        self.closed[call.call_id] = call
        while len(self.closed) > CLOSED_KEPT:
            self.closed.popitem(last=False)

    # -- offers -----------------------------------------------------------------------------
    def start_offer(self, call: Call, agent: Agent, now: float, claimed: str = "") -> None:
        """Offer ``call`` to ``agent``; ``claimed``: the offer the dialplan claimed and rings already
        (acd.core.claims), made under that id and with no ``RingAgent``."""
        self.leave_routing(call)
        call.attempts += 1
        oid = claimed or offer_id(call.call_id, call.attempts, now)
        record = OfferRecord(oid, call.call_id, agent.agent_id, now)
        self.offers[oid] = record
        step_call(call, CallInput.OFFER)
        call.offer_id = oid
        self.move_agent(agent, AgentInput.RESERVE, now)
        agent.offer_id = oid
        agent.call_id = call.call_id
        timeout = self.config.policy.ring_timeout_seconds
        if call.callback:
            call.callback_offer = oid
        if not claimed:
            self.emit(
                RingAgent(
                    oid,
                    call.call_id,
                    agent.agent_id,
                    agent.config.endpoint,
                    timeout,
                    call.queue.record,
                    call.callback,
                    call.queue.name if call.callback else "",
                )
            )
        self.arm(ring_timer(oid), now + timeout)
        self.write(record)

    def end_offer(self, oid: str, result: OfferResult, now: float) -> OfferRecord:
        record = self.offers.pop(oid)
        closed = dataclasses.replace(
            record, seq=record.seq + 1, ended_at=now, result=result, ring_seconds=now - record.offered_at
        )
        self.write(closed)
        self.closed_offers.add(oid, result)
        self.disarm(ring_timer(oid))
        return closed

    def cancel_ringing(self, call: Call, now: float) -> None:
        """The caller's side ends a ringing offer (hang-up, overflow): cancel the leg, free the agent."""
        assert call.offer_id is not None
        offer = self.offers[call.offer_id]
        self.emit(CancelOffer(offer.offer_id, call.call_id, offer.agent_id))
        self.end_offer(offer.offer_id, "cancelled", now)
        call.offer_id = None
        agent = self.agents[offer.agent_id]
        if agent.state is AgentState.RESERVED:
            self.move_agent(agent, AgentInput.CANCEL, now)

    def withdraw(self, agent: Agent, now: float) -> None:
        """The agent's side ends a ringing offer (pause, logout, removal): the caller keeps their place.

        Not a miss: no cool-down and no miss count. The caller moves on; the agent's move is the
        caller's business.
        """
        assert agent.offer_id is not None
        call = self.calls[self.offers[agent.offer_id].interaction_id]
        self.emit(CancelOffer(agent.offer_id, call.call_id, agent.agent_id))
        self.end_offer(agent.offer_id, "cancelled", now)
        self.requeue(call, CallInput.WITHDRAW, now)

    def finish_wrapup(self, agent: Agent, now: float) -> None:
        """Record the end of the agent's wrap-up on its interaction; the agent's move is the caller's."""
        call = self.wrapping.pop(agent.agent_id)
        record = call.wrapup_ended(now)
        self.write(record)
        self.handled(call.queue, handle_seconds(record) or 0.0, now)
        self.disarm(wrapup_timer(agent.agent_id))

    # -- routing ----------------------------------------------------------------------------
    def decide(self, call: Call, winner: str | None, now: float) -> None:
        self.decisions.add(
            Decision(
                call_id=call.call_id,
                step=self.step,
                at=now,
                queue=call.queue,
                priority=call.priority,
                level=call.level,
                agents=self.config.agents,
                cooldowns=tuple(sorted(call.cooldowns.items())),
                winner=winner,
            )
        )

    def dispatch(self, now: float, held: frozenset[str] = frozenset()) -> None:
        """Match what changed: newly routable agents first, then newly routable calls.

        Agents go first so that a freed agent takes the best waiting call in routing order, not a
        low-priority call that happened to arrive in the same event. Afterwards no routable agent
        is eligible for a waiting call (cool-downs aside), which is what lets each pass look only
        at what changed.

        ``held``: the PBXs being resynced (docs/pbxs.md, "Resync is scoped"). Their calls are not
        matched (an agent passes them over), and what changed is parked until ``resync_over``, which
        matches them as one picture; the other PBXs' calls are routed meanwhile. With one PBX, a
        resync matches nothing until its end, as if no dispatch ran.
        """
        if held and not self.dirty_agents and self._all_held(held):  # a resync loading its picture: no match
            self.parked_calls.update(self.dirty_calls)
            self.dirty_calls.clear()
            return
        rank = self.queue_ranks(now)  # no call leaves its queue during a dispatch: the ranks hold
        for agent_id in sorted(self.dirty_agents):
            agent = self.agents[agent_id]
            directed = self.directed_call(agent_id) if agent.routable else None
            if directed is not None and directed.pbx in held:
                directed = None
            if directed is not None:  # a caller transferred to this agent by name comes first
                self.decide(directed, agent_id, now)
                self.start_offer(directed, agent, now)
            while agent.routable:
                call_id = self.index.best_call(agent_id, self.calls, now, rank, held)
                if call_id is None:
                    break
                call = self.calls[call_id]
                # Another agent freed in the same event may suit that call better.
                winner = self.index.best_agent(call, now)
                assert winner is not None  # at least ``agent`` is eligible
                self.decide(call, winner, now)
                self.start_offer(call, self.agents[winner], now)
        if held:  # those agents are looked at again once the held PBXs' calls are in
            self.parked_agents.update(self.dirty_agents)
        self.dirty_agents.clear()
        self._dispatch_calls(now, rank, held)

    def _all_held(self, held: frozenset[str]) -> bool:
        """Whether every changed call is of a PBX being resynced (or gone)."""
        calls = self.calls
        return all(c not in calls or calls[c].pbx in held for c in self.dirty_calls)

    def resync_over(self) -> None:
        """A PBX's resync is over: what changed meanwhile is looked at by the next dispatch (a call of a
        PBX still being resynced is parked again)."""
        self.dirty_agents.update(self.parked_agents)
        self.dirty_calls.update(self.parked_calls)
        self.parked_agents.clear()
        self.parked_calls.clear()

    def _dispatch_calls(
        self, now: float, rank: Callable[[str], QueueRank] | None, held: frozenset[str] = frozenset()
    ) -> None:
        """The calls that changed, in routing order, each to its best routable agent (the calls of the
        ``held`` PBXs stay to be matched after their resync)."""
        pending = [self.calls[c] for c in self.dirty_calls if c in self.calls]
        self.dirty_calls.clear()
        if held:
            self.parked_calls.update((c.call_id, None) for c in pending if c.pbx in held)
            pending = [c for c in pending if c.pbx not in held]
        order = (lambda c: c.key) if rank is None else (lambda c: (c.key[0], rank(c.queue.name), c.key))
        for call in sorted(pending, key=order):
            if call.state is not CallState.WAITING:
                continue
            if call.directed_to:  # offered to that agent alone, while they are able to take it
                named = self.agents.get(call.directed_to)
                winner = call.directed_to if named is not None and named.routable else None
            else:
                winner = self.index.best_agent(call, now)
            self.decide(call, winner, now)
            if winner is not None:
                self.start_offer(call, self.agents[winner], now)
