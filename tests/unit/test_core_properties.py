"""Property tests: random event sequences against the routing invariants of docs/routing-core.md.

A sequence is a list of actions on a small floor; between actions time moves on and every timer
that falls due fires first, exactly as the runtime would do. Actions are often invalid on purpose
(answering a closed offer, wrap-up done while ready...), to check that refusals are typed and
change nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from core_builders import Driver, agent, config, fingerprint, queue, widen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acd.core.commands import PublishNext, RingAgent, WithdrawNext
from acd.core.config import RoutingConfig
from acd.core.errors import AcdError
from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentResumed,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallMoved,
    DispositionSet,
    Event,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    OfferUnanswered,
    PbxLost,
    WrapUpDone,
)
from acd.core.interaction import Call
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState, CallState
from acd.core.timers import TimerKey

RING_TIMEOUT = 15.0
CFG = config(
    [
        queue("q1", {"s1": 1}, wrapup_seconds=5.0, max_wait_seconds=120.0),
        queue("q2", {"s2": 2}, max_wait_seconds=90.0),
        queue("q3", {"s1": 4}, max_wait_seconds=60.0, widening=(widen(20.0, drop=3),)),
    ],
    [agent("a1", {"s1": 3}), agent("a2", {"s1": 5, "s2": 2}), agent("a3", {"s2": 4}), agent("a4", {"s1": 1, "s2": 5})],
    ring_timeout_seconds=RING_TIMEOUT,
    reoffer_cooldown_seconds=10.0,
    max_consecutive_misses=2,
)
AGENTS = ["a1", "a2", "a3", "a4"]
QUEUES = ["q1", "q2", "q3"]
FIFO_QUEUES = {"q1", "q2"}  # every eligible agent is equally eligible for all their calls
# the actions whose event needs only the call's id, the offer's id, or the agent's id
ON_CALL: dict[str, Callable[[str], Event]] = {"hangup": CallerHungUp, "end": CallEnded}
ON_OFFER: dict[str, Callable[[str], Event]] = {
    "answer": OfferAnswered,
    "reject": OfferRejected,
    "unanswered": OfferUnanswered,
    "failed": OfferFailed,
}
ON_AGENT: dict[str, Callable[[str], Event]] = {
    "login": AgentLoggedIn,
    "logout": AgentLoggedOut,
    "resume": AgentResumed,
    "wrapdone": WrapUpDone,
}

OPS = [
    "arrive",
    "arrive",
    "hangup",
    "answer",
    "answer",
    "reject",
    "unanswered",
    "failed",
    "end",
    "end",
    "login",
    "logout",
    "pause",
    "resume",
    "wrapdone",
    "reach",
    "dispose",
    "move",
    "lost",
]
PBXS = ["pbx1", "pbx2"]
action = st.tuples(st.sampled_from(OPS), st.integers(0, 30), st.integers(0, 9), st.floats(0.0, 12.0))


def fifo_key(call: Call) -> tuple[int, float, str]:
    """docs/routing-core.md's call order within one queue, written independently of the core's own key."""
    return (-call.priority, call.enqueued_at, call.call_id)


class World:
    def __init__(self, cfg: RoutingConfig = CFG) -> None:
        self.d = Driver.of(cfg)
        # claims (docs/dialplan.md, "Claims"): what the PBX holds per queue, and every publication made
        self.published: dict[str, PublishNext] = {}
        self.ever_published: list[PublishNext] = []
        self.now = 0.0
        self.calls: list[str] = []
        self.last_offer: dict[str, str] = {}  # call id -> most recent offer id, open or not
        self.outcomes: dict[str, list[str]] = {}

    def advance(self, dt: float) -> None:
        target = self.now + dt
        while True:
            due = sorted((at, key) for key, at in self.d.timers.items() if at <= target)
            if not due:
                break
            at, key = due[0]
            self.step_event_timer(key, max(at, self.now))
        self.now = target

    def step_event_timer(self, key: TimerKey, at: float) -> None:
        self.now = at
        self.apply(None, key)

    def apply(self, event: Event | None, timer: TimerKey | None = None) -> None:
        from acd.core.events import TimerFired

        if event is None:
            assert timer is not None
            event = TimerFired(timer)
        ev: Event = event
        before_fp = fingerprint(self.d.acd)
        before = {c.call_id: c for c in self.d.acd._floor.calls.values()}
        waiting_before = {
            cid: (fifo_key(c), dict(c.cooldowns), c.queue.name)
            for cid, c in before.items()
            if c.state is CallState.WAITING
        }
        try:
            out = self.d.send(ev, self.now)
        except AcdError:
            assert fingerprint(self.d.acd) == before_fp, f"refused {ev} changed the core"
            return
        self.check(out, waiting_before)

    def check(
        self, out: Sequence[object], waiting_before: Mapping[str, tuple[tuple[object, ...], dict[str, float], str]]
    ) -> None:
        floor = self.d.acd._floor
        for c in out:
            if isinstance(c, PublishNext):
                self.published[c.queue] = c
                self.ever_published.append(c)
            elif isinstance(c, WithdrawNext):
                self.published.pop(c.queue, None)
            if isinstance(c, RingAgent):
                self.last_offer[c.call_id] = c.offer_id
                now_in = floor.calls[c.call_id]
                key, _, qname = waiting_before.get(c.call_id, (fifo_key(now_in), {}, now_in.queue.name))
                if now_in.queue.name != qname:  # moved by this very event: a new stay, ordered in its new queue
                    key, qname = fifo_key(now_in), now_in.queue.name
                if qname in FIFO_QUEUES:
                    for other, (okey, ocool, oq) in waiting_before.items():
                        still = floor.calls.get(other)
                        if other == c.call_id or oq != qname or still is None or still.state is not CallState.WAITING:
                            continue
                        if okey[0] == key[0] and okey < key and ocool.get(c.agent_id, -1.0) <= self.now:
                            raise AssertionError(f"FIFO broken: {c.call_id} offered before {other}")
        # an agent is on at most one call; a call rings at most one agent
        holders: dict[str, str] = {}
        for call in floor.calls.values():
            if call.state is CallState.RINGING:
                assert call.offer_id is not None
                offer = floor.offers[call.offer_id]
                assert offer.interaction_id == call.call_id
                assert [o for o in floor.offers.values() if o.interaction_id == call.call_id] == [offer]
                holder = offer.agent_id
            elif call.state is CallState.CONNECTED:
                holder = str(call.record.agent_id)
            else:
                assert not [o for o in floor.offers.values() if o.interaction_id == call.call_id]
                continue
            assert holder not in holders, f"{holder} holds {holders.get(holder)} and {call.call_id}"
            holders[holder] = call.call_id
        for a in floor.agents.values():
            if a.state is AgentState.RESERVED:
                # The ring timer may share its instant with other events; allow float rounding only.
                assert self.now - a.since <= RING_TIMEOUT + 1e-9
                assert holders.get(a.agent_id) == a.call_id
            elif a.state is AgentState.ON_CALL:
                assert holders.get(a.agent_id) == a.call_id
            else:
                assert a.agent_id not in holders
        # outcomes are set once and never change
        for c in out:
            record = getattr(c, "record", None)
            if isinstance(record, InteractionRecord) and record.outcome is not None:
                seen = self.outcomes.setdefault(record.interaction_id, [])
                if not seen:
                    seen.append(record.outcome)
                assert seen == [record.outcome]

    def act(self, op: str, i: int, j: int) -> None:
        agent_id = AGENTS[i % len(AGENTS)]
        call_id = self.calls[i % len(self.calls)] if self.calls else "none"
        floor = self.d.acd._floor
        # Mostly aim at calls where the action makes sense; sometimes at any call, to hit refusals.
        wanted = CallState.CONNECTED if op in ("end", "dispose") else CallState.RINGING
        fitting = sorted(c for c, call in floor.calls.items() if call.state is wanted)
        if fitting and j % 4 != 0:
            call_id = fitting[i % len(fitting)]
        offer = self.last_offer.get(call_id, "no-offer")
        event: Event
        if op == "arrive":
            call_id = f"c{len(self.calls)}"
            self.calls.append(call_id)
            event = CallArrived(call_id, QUEUES[j % len(QUEUES)], j % 3, pbx=PBXS[(j + i) % len(PBXS)])
        elif op == "claim":  # the queue's publication as the PBX holds it, or (a race lost) an older one
            call_id = f"c{len(self.calls)}"
            self.calls.append(call_id)
            name = QUEUES[j % len(QUEUES)]
            held = self.published.pop(name, None)
            if held is None or j % 3 == 0:
                held = self.ever_published[i % len(self.ever_published)] if self.ever_published else None
            event = CallArrived(call_id, name, 5)
            if held is not None:
                event = dataclasses.replace(event, claimed_offer=held.offer_id, claimed_agent=held.agent_id)
                self.last_offer[call_id] = held.offer_id
        elif op in ON_CALL:
            event = ON_CALL[op](call_id)
        elif op in ON_OFFER:
            event = ON_OFFER[op](offer)
        elif op in ON_AGENT:
            event = ON_AGENT[op](agent_id)
        elif op == "pause":
            event = AgentPaused(agent_id, "break")
        elif op == "reach":
            event = AgentReachability(agent_id, reachable=j % 3 != 0, busy_elsewhere=j % 4 == 0)
        elif op == "move":
            event = CallMoved(call_id, QUEUES[j % len(QUEUES)])
        elif op == "lost":
            event = PbxLost(PBXS[j % len(PBXS)], self.now - j)
        else:
            event = DispositionSet(call_id, "code")
        self.apply(event)
        if isinstance(event, PbxLost):  # none of its calls is left open; each closed pbx_lost
            assert not [c for c in floor.calls.values() if c.pbx == event.pbx]
            records = self.d.interactions()
            lost = [r for cid, r in records.items() if cid in self.calls and r.end_reason == "pbx_lost"]
            assert all(r.ended_at is not None and r.ended_at <= self.now for r in lost)

    def drain(self) -> None:
        """End everything: answered calls end, everyone else hangs up or overflows."""
        for call_id in list(self.d.acd._floor.calls):
            call = self.d.acd._floor.calls[call_id]
            self.apply(CallEnded(call_id) if call.state is CallState.CONNECTED else CallerHungUp(call_id))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, max_size=80))
def test_invariants_hold_for_any_event_sequence(actions: list[tuple[str, int, int, float]]) -> None:
    w = World()
    for op, i, j, dt in actions:
        w.advance(dt)
        w.act(op, i, j)
    w.drain()
    w.advance(1000.0)
    records = w.d.interactions()
    moved = {i for i, r in records.items() if r.outcome == "moved"}  # a moved call's stays in earlier queues
    assert set(records) - moved == set(w.calls)
    for call_id in w.calls:
        record = records[call_id]
        assert record.outcome in ("answered", "abandoned", "overflowed", "failed"), call_id
        assert w.outcomes[call_id] == [record.outcome]
    assert not w.d.acd._floor.calls
    assert all(a.state is not AgentState.RESERVED for a in w.d.acd._floor.agents.values())


fifo_action = st.tuples(st.sampled_from(["arrive", "arrive", "arrive", "answer", "end", "login"]), st.integers(0, 30),
                        st.integers(0, 9), st.floats(0.0, 5.0))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(fifo_action, min_size=5, max_size=40))
def test_fifo_within_a_band_on_a_busy_floor(actions: list[tuple[str, int, int, float]]) -> None:
    """Mostly arrivals and few agents: calls queue up, so the order they leave in is exercised."""
    w = World()
    for op, i, j, dt in actions:
        w.advance(dt)
        w.act(op, i, j)


claim_action = st.tuples(st.sampled_from([*OPS, "claim", "claim", "claim"]), st.integers(0, 30), st.integers(0, 9),
                         st.floats(0.0, 12.0))  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claim_action, max_size=80))
def test_invariants_hold_with_claims_in_any_order(actions: list[tuple[str, int, int, float]]) -> None:
    """Claims on (docs/dialplan.md, "Claims"): callers claim the queue's publication or an older one (a
    withdrawal that lost, another queue's, an old leader's) among every other event; an agent still holds
    at most one call, and every call ends once."""
    w = World(dataclasses.replace(CFG, policy=dataclasses.replace(CFG.policy, claim_on_pbx=True)))
    for op, i, j, dt in actions:
        w.advance(dt)
        w.act(op, i, j)
    w.drain()
    w.advance(1000.0)
    records = w.d.interactions()
    moved = {i for i, r in records.items() if r.outcome == "moved"}
    assert set(records) - moved == set(w.calls)
    for call_id in w.calls:
        assert w.outcomes[call_id] == [records[call_id].outcome]
    assert not w.d.acd._floor.calls
    assert all(a.state is not AgentState.RESERVED for a in w.d.acd._floor.agents.values())
