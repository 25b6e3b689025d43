"""A queue closed part of the day with callbacks for its next opening, played by the simulator
(bench/scenarios/closed_callbacks.toml): claims closes for lunch, 12:00 to 13:00 (closed = "callback").

A caller who reaches it closed meets the closed treatment (``OverflowCall`` to ``callback``) and takes a
callback with the traffic's ``closed_accept`` (``ClosedCallbackAccepted``, as acd-overflow's UserEvent
would say); the core schedules it for 13:00 and, at the opening, it enters the queue and is served as
any callback: the agent rung first, then the caller dialled. Those who decline are left to voicemail.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from acd.core.commands import Command, KeepScheduledCallback, MetricUpdate, OverflowCall, RingAgent
from acd.core.events import ClosedCallbackAccepted, Event
from acd.core.kpis import is_callback, queue_kpis
from acd.core.metric_updates import CALLS_ARRIVED
from acd.sim.engine import Simulation
from acd.sim.report import build_report, format_table
from acd.sim.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "bench" / "scenarios" / "closed_callbacks.toml"
NOON, ONE = 3600.0, 7200.0  # the simulation's 0 is 11:00


class Seen:
    def __init__(self) -> None:
        self.closed: list[tuple[float, OverflowCall]] = []
        self.accepted: list[ClosedCallbackAccepted] = []
        self.kept: list[KeepScheduledCallback] = []
        self.rings: list[tuple[float, RingAgent]] = []
        self.arrived: dict[str, int] = {}  # acd_calls_arrived_total, per queue, as the live counter moves

    def __call__(self, now: float, event: Event, commands: list[Command]) -> None:
        if isinstance(event, ClosedCallbackAccepted):
            self.accepted.append(event)
        self.closed += [(now, c) for c in commands if isinstance(c, OverflowCall) and c.reason == "closed"]
        self.kept += [c for c in commands if isinstance(c, KeepScheduledCallback)]
        self.rings += [(now, c) for c in commands if isinstance(c, RingAgent) and c.callback]
        for c in commands:
            if isinstance(c, MetricUpdate) and c.name == CALLS_ARRIVED:
                queue = dict(c.labels)["queue"]
                self.arrived[queue] = self.arrived.get(queue, 0) + 1


def _run(scenario: Scenario) -> tuple[Simulation, Seen]:
    seen = Seen()
    sim = Simulation(scenario, observer=seen)
    sim.run()
    print("\n" + format_table(build_report(scenario, sim.recorded, sim.events_handled)))
    return sim, seen


def test_callers_of_the_closed_queue_take_callbacks_served_at_the_opening() -> None:
    sim, seen = _run(load_scenario(SCENARIO))
    # the closed treatment met only over lunch, every time to the callback treatment
    assert seen.closed and all(NOON <= t < ONE and c.target == "callback" for t, c in seen.closed)
    # some took a callback, some did not (left to voicemail), for 13:00, at the number they called from
    assert 0 < len(seen.accepted) < len(seen.closed)
    assert all(k.at == pytest.approx(ONE) for k in seen.kept) and len(seen.kept) == len(seen.accepted)
    # each entered the queue at the opening, the agent rung first, then settled as a callback
    taken = {e.callback_id for e in seen.accepted}
    assert {r.call_id for _, r in seen.rings} == taken
    assert min(t for t, _ in seen.rings) >= ONE - 1e-3
    records = {r.interaction_id: r for r in sim.recorded.interactions.values() if is_callback(r)}
    assert set(records) == taken
    assert all(r.arrived_at == pytest.approx(ONE) and r.queue == "claims" for r in records.values())
    assert {r.outcome for r in records.values()} <= {"answered", "failed"}  # never abandoned
    assert sum(1 for r in records.values() if r.outcome == "answered") > len(taken) // 2


def test_without_takers_no_callback_is_scheduled() -> None:
    scenario = load_scenario(SCENARIO)
    traffic = tuple(dataclasses.replace(t, callback_closed_accept=0.0) for t in scenario.traffic)
    sim, seen = _run(dataclasses.replace(scenario, traffic=traffic))
    assert seen.closed and not seen.accepted and not seen.rings
    assert not [r for r in sim.recorded.interactions.values() if is_callback(r)]


def test_a_callback_entering_at_the_opening_is_an_arrival_live_and_in_the_records() -> None:
    """docs/kpis.md, "arrival": each callback taken over lunch is an arrival at 13:00 (the forecast's
    rate sees the burst), besides the closed arrival the caller made; the live counter and the records'
    ``arrivals`` count the same stays."""
    sim, seen = _run(load_scenario(SCENARIO))
    records = list(sim.recorded.interactions.values())
    short = sim.scenario.policy.short_abandon_seconds
    for queue in {r.queue for r in records}:
        mine = [r for r in records if r.queue == queue]
        assert seen.arrived.get(queue, 0) == queue_kpis(mine, short_abandon_seconds=short).arrivals == len(mine)
    entered = sum(1 for r in records if is_callback(r) and r.arrived_at == pytest.approx(ONE))
    assert entered == len(seen.accepted) > 0
