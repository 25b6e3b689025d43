"""A discrete-event simulation that drives the real routing core on a virtual clock.

The simulator plays the outside world: callers arrive (Poisson), wait with a patience, talk;
agents' phones ring, are answered after a delay, ring out or are declined; timers fire when the
core asked. In a queue that offers callbacks, a caller still holding when the offer is read takes it
with the traffic's probability (``CallbackAccepted``, as holding's UserEvent would say); when the core
serves the callback the agent is rung first, and once they accept the caller is dialled and answers
or not (``CallbackEnded``, as the dialplan's result would say). A caller of a queue closed with
``closed = "callback"`` takes a callback for its next opening with the traffic's ``closed_accept``
(``ClosedCallbackAccepted``, as acd-overflow's UserEvent would say): the core schedules it, and at the
opening it is served like any callback. It hands every event to
``Acd.handle`` exactly as the runtime would and carries out the commands it gets back. It never
reads the wall clock, and all chance comes from ``random.Random`` streams seeded from the scenario,
so the same scenario and seed give the same figures.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from acd.core.acd import Acd
from acd.core.callbacks import digits_of
from acd.core.claims import DEFAULT_PRIORITY
from acd.core.commands import (
    CancelOffer,
    CancelTimer,
    Command,
    OfferCallback,
    OverflowCall,
    PublishNext,
    RecordCommand,
    RingAgent,
    StartTimer,
    WithdrawNext,
)
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallbackAccepted,
    CallbackCallerGone,
    CallbackEnded,
    CallEnded,
    CallerHungUp,
    ClosedCallbackAccepted,
    Customer,
    DispositionSet,
    Event,
    OfferAnswered,
    OfferRejected,
    TimerFired,
)
from acd.core.hours import CALLBACK_TARGET
from acd.core.record_types import AgentStateRecord, InteractionRecord, OfferRecord
from acd.core.states import CallState
from acd.core.timers import TimerKey
from acd.sim.scenario import AgentGroup, Scenario, TalkTime, Traffic

CLAIM_PRIORITY = DEFAULT_PRIORITY  # the dialplan claims for callers of the default priority only
CALLBACK_OFFER_RECHECK = 5.0  # seconds: holding reads a callback offer that fell due while ringing once back
Progress = Callable[[float, float], None]  # (virtual seconds done, horizon)
# (virtual now, event, the core's commands for it): every step, before the commands are carried out.
# ``Recorded`` keeps only the latest snapshot of each record; a test that replays every snapshot the
# core emitted (through the outbox, say) or counts ring attempts needs the full stream.
Observer = Callable[[float, Event, list[Command]], None]


@dataclass
class Recorded:
    """The latest snapshot of every record the core asked to write."""

    interactions: dict[str, InteractionRecord] = field(default_factory=dict)
    offers: dict[str, OfferRecord] = field(default_factory=dict)
    intervals: dict[str, AgentStateRecord] = field(default_factory=dict)

    def keep(self, command: RecordCommand) -> None:
        r = command.record
        if isinstance(r, InteractionRecord):
            self.interactions[r.interaction_id] = r
        elif isinstance(r, OfferRecord):
            self.offers[r.offer_id] = r
        elif isinstance(r, AgentStateRecord):
            self.intervals[r.interval_id] = r


def _draw_talk(rng: random.Random, talk: TalkTime) -> float:
    if talk.distribution == "lognormal":
        # Choose mu so that the distribution's mean is mean_seconds.
        mu = math.log(talk.mean_seconds) - talk.sigma**2 / 2
        return rng.lognormvariate(mu, talk.sigma)
    return rng.expovariate(1.0 / talk.mean_seconds)


class Simulation:
    def __init__(self, scenario: Scenario, progress: Progress | None = None, observer: Observer | None = None) -> None:
        self.scenario = scenario
        self.acd = Acd(scenario.routing_config())
        # the offers published for the dialplan to claim (claims on), and how many callers claimed one
        self._published: dict[str, PublishNext] = {}
        self._claimed: list[str] = []  # the offer ids claimed
        self.recorded = Recorded()
        self.now = 0.0
        self.events_handled = 0
        self._progress = progress
        self._observer = observer
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0  # insertion order breaks ties between equal times: deterministic
        self._timers: dict[TimerKey, int] = {}  # key -> seq of the live schedule
        self._queued: set[str] = set()  # callers still waiting (patience may still run out)
        self._live_offers: set[str] = set()
        self._call_traffic: dict[str, Traffic] = {}
        self._group: dict[str, AgentGroup] = {a: g for g in scenario.agents for a in g.agent_ids()}
        seed = scenario.seed
        # Separate streams, so changing the agents does not change the arrivals and vice versa.
        self._arrival_rng = {t.queue: random.Random(f"{seed}/arrivals/{t.queue}") for t in scenario.traffic}
        self._caller_rng = {t.queue: random.Random(f"{seed}/callers/{t.queue}") for t in scenario.traffic}
        # the callers' answers to callback offers and dials: a stream of their own, so that the same
        # scenario with and without callbacks draws the same arrivals and patience
        self._callback_rng = {t.queue: random.Random(f"{seed}/callbacks/{t.queue}") for t in scenario.traffic}
        # the callback offer on each caller's channel, as holding holds it: the latest OfferCallback wins
        self._callback_offers: dict[str, int] = {}
        self._agent_rng = random.Random(f"{seed}/agents")
        # OTF's inputs (docs/kpis.md, "OTF and FCR"): who calls and how agents close calls, in streams
        # of their own, so a scenario without them draws exactly what it drew before
        self._number_rng = {t.queue: random.Random(f"{seed}/numbers/{t.queue}") for t in scenario.traffic}
        self._disposition_rng = {t.queue: random.Random(f"{seed}/dispositions/{t.queue}") for t in scenario.traffic}
        self._caller_of: dict[str, str] = {}  # a call's number, when not its id (a pool of callers)
        self._calls_made = 0

    # -- the event list ---------------------------------------------------------------------
    def _at(self, when: float, action: Callable[[], None]) -> int:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, action))
        return self._seq

    def _deliver(self, event: Event) -> None:
        self.events_handled += 1
        commands = self.acd.handle(event, self.now)
        if self._observer is not None:
            self._observer(self.now, event, commands)
        for command in commands:
            self._carry_out(command)

    def run(self) -> Recorded:
        for group in self.scenario.agents:
            for agent_id in group.agent_ids():
                self._deliver(AgentLoggedIn(agent_id))
        for traffic in self.scenario.traffic:
            if traffic.calls_per_minute > 0:
                self._schedule_arrival(traffic)
        horizon = self.scenario.horizon_seconds
        step = horizon / 20  # report progress every 5 % of the horizon
        next_report = step
        while self._heap:
            when, _, action = heapq.heappop(self._heap)
            self.now = when
            action()
            if self._progress is not None and when >= next_report and next_report <= horizon:
                self._progress(min(when, horizon), horizon)
                next_report += step
        return self.recorded

    @property
    def claimed(self) -> list[str]:
        """The offers callers claimed, in order (claims on, docs/dialplan.md "Claims")."""
        return self._claimed

    # -- callers ----------------------------------------------------------------------------
    def _schedule_arrival(self, traffic: Traffic) -> None:
        when = self.now + self._arrival_rng[traffic.queue].expovariate(traffic.calls_per_minute / 60.0)
        if when < self.scenario.horizon_seconds:
            self._at(when, lambda: self._arrive(traffic))

    def _arrive(self, traffic: Traffic) -> None:
        rng = self._caller_rng[traffic.queue]
        self._calls_made += 1
        call_id = f"{traffic.queue}-{self._calls_made:07d}"
        vip = traffic.vip_share > 0 and rng.random() < traffic.vip_share
        customer = Customer(f"cust-{call_id}", "", "vip") if vip else None
        patience = traffic.patience_mean_seconds
        self._queued.add(call_id)
        self._call_traffic[call_id] = traffic
        if patience is not None:
            self._at(self.now + rng.expovariate(1.0 / patience), lambda: self._give_up(call_id))
        caller = call_id
        if traffic.callers > 0:
            caller = f"{traffic.queue}-caller-{self._number_rng[traffic.queue].randrange(traffic.callers):05d}"
            self._caller_of[call_id] = caller
        arrival = CallArrived(call_id, traffic.queue, traffic.priority, caller=caller, customer=customer)
        claim = self._published.pop(traffic.queue, None) if traffic.priority == CLAIM_PRIORITY else None
        if claim is not None:  # the dialplan claims the queue's publication and rings its agent at once
            arrival = dataclasses.replace(arrival, claimed_offer=claim.offer_id, claimed_agent=claim.agent_id)
            self._claimed.append(claim.offer_id)
            self._ring(
                RingAgent(
                    claim.offer_id, call_id, claim.agent_id, claim.endpoint, claim.ring_timeout_seconds, claim.record
                )
            )
        self._deliver(arrival)
        self._schedule_arrival(traffic)

    def _give_up(self, call_id: str) -> None:
        if call_id in self._queued:
            self._queued.discard(call_id)
            self._deliver(CallerHungUp(call_id))

    # -- agents -----------------------------------------------------------------------------
    def _ring(self, ring: RingAgent) -> None:
        group = self._group[ring.agent_id]
        rng = self._agent_rng
        self._live_offers.add(ring.offer_id)
        if rng.random() < group.miss_probability:
            return  # rings out: the core's ring timer handles it
        reject = rng.random() < group.reject_probability
        delay = group.answer_delay_seconds * rng.uniform(0.5, 1.5)
        self._at(self.now + delay, lambda: self._respond(ring, reject))

    def _respond(self, ring: RingAgent, reject: bool) -> None:
        if ring.offer_id not in self._live_offers:
            return  # cancelled or timed out meanwhile
        self._live_offers.discard(ring.offer_id)
        if reject:
            self._deliver(OfferRejected(ring.offer_id))
            return
        self._queued.discard(ring.call_id)
        traffic = self._call_traffic[ring.call_id]
        talk = _draw_talk(self._caller_rng[traffic.queue], traffic.talk)
        self._deliver(OfferAnswered(ring.offer_id))
        if ring.callback:
            self._dial_back(ring, traffic, talk)
            return
        if traffic.dispositions:
            codes, weights = zip(*traffic.dispositions, strict=True)
            code = self._disposition_rng[traffic.queue].choices(codes, weights)[0]
            self._deliver(DispositionSet(ring.call_id, code))
        self._at(self.now + talk, lambda: self._deliver(CallEnded(ring.call_id)))

    # -- callbacks --------------------------------------------------------------------------
    def _offer_callback(self, call_id: str, offer: int) -> None:
        """Holding reads the callback offer now: to a caller still holding (not ringing an agent),
        unless a later OfferCallback replaced or cleared it."""
        if call_id not in self._queued or self._callback_offers.get(call_id) != offer:
            return
        if self.acd.call_state(call_id) is not CallState.WAITING:  # ringing an agent: offered once back
            self._at(self.now + CALLBACK_OFFER_RECHECK, lambda: self._offer_callback(call_id, offer))
            return
        traffic = self._call_traffic[call_id]
        if self._callback_rng[traffic.queue].random() >= traffic.callback_accept:
            return  # declined: holds on, patience still running
        self._queued.discard(call_id)  # hung up, keeping their place: never abandons
        self._deliver(CallbackAccepted(call_id, digits_of(self._caller_of.get(call_id, call_id))))
        self._deliver(CallbackCallerGone(call_id))  # the name and goodbye take no simulated time

    def _closed_callback(self, call_id: str) -> None:
        """A caller of a queue closed with ``callback``: asked, they take one for the next opening
        (the number they called from) or are left to voicemail. The callback's id is the ACD's, made
        here as the shell makes it (one per caller); it is served with the caller's traffic."""
        traffic = self._call_traffic[call_id]
        if self._callback_rng[traffic.queue].random() >= traffic.callback_closed_accept:
            return
        callback_id = f"cb-{call_id}"
        self._call_traffic[callback_id] = traffic
        self._deliver(ClosedCallbackAccepted(call_id, callback_id, digits_of(call_id)))

    def _dial_back(self, ring: RingAgent, traffic: Traffic, talk: float) -> None:
        """The agent accepted the callback: the caller is dialled, and answers or not."""
        rng = self._callback_rng[traffic.queue]
        if rng.random() < traffic.callback_answer:
            end, status = self.now + traffic.callback_pickup_seconds + talk, "ANSWER"
        else:
            end, status = self.now + traffic.callback_ring_seconds, "NOANSWER"
        self._at(end, lambda: self._deliver(CallbackEnded(ring.offer_id, status)))

    # -- commands ---------------------------------------------------------------------------
    def _carry_out(self, command: Command) -> None:
        if isinstance(command, RecordCommand):
            self.recorded.keep(command)
        elif isinstance(command, RingAgent):
            self._ring(command)
        elif isinstance(command, CancelOffer):
            self._live_offers.discard(command.offer_id)
        elif isinstance(command, PublishNext):  # the PBX's ACD_NEXT_<queue> (docs/dialplan.md, "Claims")
            self._published[command.queue] = command
        elif isinstance(command, WithdrawNext):
            self._published.pop(command.queue, None)
        elif isinstance(command, StartTimer):
            key, token = command.key, self._seq + 1  # the seq _at is about to assign
            self._timers[key] = token
            self._at(max(command.at, self.now), lambda: self._fire(key, token))
        elif isinstance(command, CancelTimer):
            self._timers.pop(command.key, None)
        elif isinstance(command, OverflowCall):
            self._queued.discard(command.call_id)
            if command.target == CALLBACK_TARGET:
                self._closed_callback(command.call_id)
        elif isinstance(command, OfferCallback):
            call_id, offer = command.call_id, self._callback_offers.get(command.call_id, 0) + 1
            self._callback_offers[call_id] = offer
            if command.after_seconds is not None:  # None: the queue offers none (cleared)
                self._at(self.now + command.after_seconds, lambda: self._offer_callback(call_id, offer))

    def _fire(self, key: TimerKey, token: int) -> None:
        if self._timers.get(key) != token:
            return  # cancelled or restarted since
        del self._timers[key]
        self._deliver(TimerFired(key))
