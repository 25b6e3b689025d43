"""How callbacks count (docs/kpis.md, "Callbacks"), and the live counters counting what the records say.

A callback is offered once, when settled: answered (its caller reached) with the wait up to the agent's
accept of the try that reached them, or failed (not reached on the last try); never abandoned. The
live counters move at that moment, so they agree with ``acd.core.kpis.queue_kpis`` over the records,
for scripted cases and for random event sequences with callbacks in them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from core_builders import Driver, agent, config, queue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_core_properties import OPS, World

from acd.core.callbacks import digits_of
from acd.core.commands import MetricUpdate, RecordCommand, RingAgent
from acd.core.events import (
    AgentLoggedIn,
    AgentReachability,
    AgentResumed,
    CallArrived,
    CallbackAccepted,
    CallbackCallerGone,
    CallbackEnded,
    CallEnded,
    CallerHungUp,
    Event,
    OfferAnswered,
    TimerFired,
)
from acd.core.kpis import QueueKpis, is_callback, latest, queue_kpis
from acd.core.record_types import InteractionRecord
from acd.core.states import CallState
from acd.core.timers import call_timer
from acd.metrics import Metrics

Q = queue("q", {"s": 1}, sla_threshold_seconds=40.0, callback_after_seconds=10.0, callback_attempts=2)
CFG = config([Q], [agent("a1", {"s": 1})])


def _record(call_id: str, **kw: object) -> InteractionRecord:
    base = InteractionRecord(call_id, 1, "q", 5, "555", 0.0, sla_threshold_seconds=20.0)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_callbacks_count_by_outcome_and_never_as_abandons() -> None:
    records = [
        _record(
            "reached",
            answered_at=15.0,
            wait_seconds=15.0,
            within_sla=True,
            outcome="answered",
            end_reason="callback",
            talk_seconds=60.0,
            wrapup_seconds=0.0,
        ),
        _record(
            "late",
            answered_at=90.0,
            wait_seconds=90.0,
            within_sla=False,
            outcome="answered",
            end_reason="callback",
            talk_seconds=30.0,
            wrapup_seconds=0.0,
        ),
        _record(
            "unreached",
            ended_at=200.0,
            wait_seconds=200.0,
            within_sla=False,
            outcome="failed",
            end_reason="callback_unreached_noanswer",
        ),
        _record("pending", end_reason="callback"),  # waiting in its place: not offered yet
        _record("talking", answered_at=50.0, wait_seconds=50.0, within_sla=False, end_reason="callback"),
        _record(
            "held",
            answered_at=5.0,
            wait_seconds=5.0,
            within_sla=True,
            outcome="answered",
            end_reason="hangup",
            talk_seconds=10.0,
            wrapup_seconds=0.0,
        ),
        _record(
            "gone", ended_at=30.0, wait_seconds=30.0, within_sla=False, outcome="abandoned", end_reason="caller_hangup"
        ),
    ]
    k = queue_kpis(records, short_abandon_seconds=5.0)
    assert [r.interaction_id for r in records if is_callback(r)] == [
        "reached",
        "late",
        "unreached",
        "pending",
        "talking",
    ]
    assert (k.callbacks, k.callbacks_completed, k.callbacks_failed) == (5, 2, 1)
    assert (k.offered, k.answered, k.failed, k.abandoned) == (6, 4, 1, 1)  # the pending one is not offered
    assert k.answered_within_sla == 2 and k.service_level == pytest.approx(2 / 6)
    assert k.abandonment_rate == pytest.approx(1 / 6)  # the unreached callback is no abandon
    assert k.asa == pytest.approx((15 + 90 + 50 + 5) / 4)  # a callback's wait ends at the agent's accept
    assert k.callback_rate == pytest.approx(3 / 6)
    assert queue_kpis(records[-2:], short_abandon_seconds=5.0).callback_rate == 0.0
    assert queue_kpis([], short_abandon_seconds=5.0).callback_rate is None


COUNTERS = {
    "offered": "acd_calls_offered_total",
    "answered": "acd_calls_answered_total",
    "answered_within_sla": "acd_calls_answered_within_sla_total",
    "abandoned": "acd_calls_abandoned_total",
    "failed": "acd_calls_failed_total",
    "callbacks_completed": "acd_callbacks_completed_total",
    "callbacks_failed": "acd_callbacks_failed_total",
    "arrivals": "acd_calls_arrived_total",  # every stay an arrival (docs/kpis.md, "arrival")
}


def _compare(d: Driver, queues: list[str]) -> dict[str, QueueKpis]:
    """Live counters (and the ASA of the wait histogram) against the KPIs of the records, per queue."""
    records = latest(
        c.record for c in d.log if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)
    )
    metrics = Metrics([q for q in d.acd._floor.config.queues])
    for update in (c for c in d.log if isinstance(c, MetricUpdate)):
        metrics.apply(update)  # every update is one the service knows
    found = {}
    for name in queues:
        mine = [r for r in records if r.queue == name]
        k = queue_kpis(mine, short_abandon_seconds=d.acd._floor.config.policy.short_abandon_seconds)
        live = {field: d.metric_total(series, name) for field, series in COUNTERS.items()}
        assert live == {field: getattr(k, field) for field in COUNTERS}, name
        waits = [
            c.value
            for c in d.log
            if isinstance(c, MetricUpdate)
            and c.name == "acd_queue_wait_seconds"
            and {("queue", name), ("outcome", "answered")} <= set(c.labels)
        ]
        assert (sum(waits) / len(waits) if waits else None) == pytest.approx(k.asa), name
        found[name] = k
    # taken in one queue, a callback a supervisor moved counts in the queue it is settled in: the totals agree
    taken = sum(d.metric_total("acd_callbacks_accepted_total", name) for name in queues)
    assert taken == sum(k.callbacks for k in found.values())
    return found


def _ring(out: Sequence[object]) -> RingAgent:
    (ring,) = [c for c in out if isinstance(c, RingAgent)]
    return ring


def test_live_counters_count_a_callback_once_settled_as_its_record_says() -> None:
    d = Driver.of(CFG)
    for i, call in enumerate(("c1", "c2", "c3")):
        d.send(CallArrived(call, "q", 5, caller=f"+1555000{i}"), float(i))
    d.send(CallbackAccepted("c1", "15550000"), 11.0)
    d.send(CallbackCallerGone("c1"), 11.0)
    d.send(CallbackAccepted("c2", "15550001"), 12.0)
    d.send(CallbackCallerGone("c2"), 12.0)
    first = _ring(d.send(AgentLoggedIn("a1"), 20.0))
    assert first.callback == "15550000"
    d.send(OfferAnswered(first.offer_id), 22.0)  # the agent accepts at 22: not counted yet
    assert d.metric_total("acd_calls_answered_total", "q") == 0
    out = d.send(CallbackEnded(first.offer_id, "NOANSWER"), 50.0)  # c1 not reached: tried again later
    second = _ring(out)
    assert second.call_id == "c2"
    d.send(OfferAnswered(second.offer_id), 52.0)
    out = d.send(CallbackEnded(second.offer_id, "BUSY"), 60.0)
    third = _ring(out)  # c3, who holds on, while c1 and c2 wait out their gaps
    assert third.call_id == "c3" and not third.callback
    d.send(OfferAnswered(third.offer_id), 61.0)
    d.send(CallEnded("c3"), 70.0)
    d.send(TimerFired(call_timer("c1")), 110.0)
    again = [c for c in d.log if isinstance(c, RingAgent)][-1]
    assert again.call_id == "c1"
    d.send(OfferAnswered(again.offer_id), 112.0)  # reached on the second try: wait 112, past T
    d.send(CallbackEnded(again.offer_id, "ANSWER"), 200.0)
    d.send(TimerFired(call_timer("c2")), 200.0)
    last = [c for c in d.log if isinstance(c, RingAgent)][-1]
    assert last.call_id == "c2"
    d.send(OfferAnswered(last.offer_id), 201.0)
    d.send(CallbackEnded(last.offer_id, "NOANSWER"), 230.0)  # second and last try: closed failed
    k = _compare(d, ["q"])["q"]
    assert (k.offered, k.answered, k.failed, k.abandoned) == (3, 2, 1, 0)
    assert (k.callbacks, k.callbacks_completed, k.callbacks_failed) == (2, 1, 1)
    assert k.asa == pytest.approx((112.0 + 59.0) / 2)
    tries = {
        dict(c.labels)["result"] for c in d.log if isinstance(c, MetricUpdate) and c.name == "acd_callback_tries_total"
    }
    assert tries == {"noanswer", "busy", "reached"}
    (wait,) = [c.value for c in d.log if isinstance(c, MetricUpdate) and c.name == "acd_callback_wait_seconds"]
    assert wait == pytest.approx(112.0 - 11.0)  # off the line: from taking it to the agent's accept


def test_a_waiting_callback_with_its_gap_over_sets_no_timer_that_fires_at_once() -> None:
    """With the agent busy, the callback waits; its call timer must not be armed at a moment already past."""
    d = Driver.of(CFG)
    d.send(AgentLoggedIn("a1"), 0.0)
    d.send(CallArrived("c1", "q", 5, caller="1"), 0.0)
    d.send(OfferAnswered(_ring(d.log).offer_id), 1.0)
    d.send(CallArrived("c2", "q", 5, caller="2"), 2.0)
    d.send(CallbackAccepted("c2", "2"), 13.0)
    d.send(CallbackCallerGone("c2"), 13.0)
    assert all(at > 13.0 for key, at in d.timers.items() if key == call_timer("c2"))


# -- random sequences: test_core_properties' floor, with callbacks taken and dialled -------------------
CB_CFG = dataclasses.replace(
    World().d.acd._floor.config,
    queues=tuple(
        dataclasses.replace(
            q, callback_after_seconds=5.0, callback_attempts=2, callback_gap_seconds=8.0, sla_threshold_seconds=8.0
        )
        for q in World().d.acd._floor.config.queues
    ),
)
CB_OPS = [*OPS, "takecb", "takecb", "cbend", "cbend"]
SEEDED_OPS = [op for op in CB_OPS if op != "lost"]  # the seeded floor below, as it was chosen (a lost PBX aside)
cb_action = st.tuples(st.sampled_from(CB_OPS), st.integers(0, 30), st.integers(0, 9), st.floats(0.0, 12.0))


class CallbackWorld(World):
    def __init__(self) -> None:
        super().__init__()
        self.d = Driver.of(CB_CFG)

    def act(self, op: str, i: int, j: int) -> None:
        floor = self.d.acd._floor
        if op == "arrive":  # callers with a number, so that they may take a callback
            call_id = f"c{len(self.calls)}"
            self.calls.append(call_id)
            self.apply(CallArrived(call_id, ("q1", "q2", "q3")[j % 3], j % 3, caller=f"+1{len(self.calls)}"))
            return
        if op in ("takecb", "cbend", "end", "hangup"):
            waiting = sorted(
                c for c, call in floor.calls.items() if call.state is CallState.WAITING and not call.callback
            )
            talking = sorted(
                c for c, call in floor.calls.items() if call.state is CallState.CONNECTED and call.callback
            )
            if op == "takecb" and waiting:
                call = floor.calls[waiting[i % len(waiting)]]
                self.apply(CallbackAccepted(call.call_id, digits_of(call.record.caller)))
                self.apply(CallbackCallerGone(call.call_id))
                return
            if op in ("cbend", "end") and talking:
                call = floor.calls[talking[i % len(talking)]]
                self.apply(CallbackEnded(call.callback_offer, ("ANSWER", "NOANSWER", "BUSY")[j % 3]))
                return
            if op in ("takecb", "cbend"):
                return
        super().act(op, i, j)

    def apply(self, event: Event | None, timer: object = None) -> None:
        call = self.d.acd._floor.calls.get(getattr(event, "call_id", ""))
        if isinstance(event, (CallEnded, CallerHungUp)) and call is not None and call.callback:
            return  # a callback has no caller channel: no hang-up or channel end ever reaches the core
        super().apply(event, timer)  # type: ignore[arg-type]

    def check(self, out: Any, waiting_before: Any) -> None:
        """As the property test's, but a callback in its gap after an unreached try is rightly passed over."""
        floor = self.d.acd._floor
        gap = {c for c, call in floor.calls.items() if call.callback and call.callback_not_before >= self.now}
        super().check(out, {c: v for c, v in waiting_before.items() if c not in gap})

    def drain_callbacks(self) -> None:
        """Every callback dialled until it is settled: the caller answers, or the tries run out."""
        for _ in range(50):
            self.advance(20.0)
            floor = self.d.acd._floor
            talking = [c for c in floor.calls.values() if c.state is CallState.CONNECTED and c.callback]
            for call in talking:
                self.apply(CallbackEnded(call.callback_offer, "NOANSWER" if call.callback_tries == 0 else "ANSWER"))
            for call in [c for c in floor.calls.values() if c.state is CallState.RINGING and c.callback]:
                assert call.offer_id is not None
                self.apply(OfferAnswered(call.offer_id))
            for a in ("a1", "a2", "a3", "a4"):
                self.apply(AgentLoggedIn(a))
                self.apply(AgentResumed(a))
                self.apply(AgentReachability(a, reachable=True))
            if not any(c.callback for c in floor.calls.values()):
                return


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cb_action, max_size=80))
def test_counters_agree_with_the_records_with_callbacks(actions: list[tuple[str, int, int, float]]) -> None:
    w = CallbackWorld()
    for op, i, j, dt in actions:
        w.advance(dt)
        w.act(op, i, j)
    w.drain()
    w.drain_callbacks()
    w.advance(1000.0)
    found = _compare(w.d, ["q1", "q2", "q3"])
    assert not any(c.callback for c in w.d.acd._floor.calls.values())
    for k in found.values():
        assert k.callbacks == k.callbacks_completed + k.callbacks_failed  # all settled


def test_the_random_callback_floor_settles_callbacks_both_ways() -> None:
    import random

    rng = random.Random(15)
    totals = {"callbacks": 0, "callbacks_completed": 0, "callbacks_failed": 0}
    for _ in range(30):
        w = CallbackWorld()
        for _ in range(80):
            w.advance(rng.uniform(0.0, 12.0))
            w.act(rng.choice(SEEDED_OPS), rng.randint(0, 30), rng.randint(0, 9))
        w.drain()
        w.drain_callbacks()
        w.advance(1000.0)
        for k in _compare(w.d, ["q1", "q2", "q3"]).values():
            for name in totals:
                totals[name] += getattr(k, name)
    assert totals["callbacks_completed"] > 0 and totals["callbacks_failed"] > 0
