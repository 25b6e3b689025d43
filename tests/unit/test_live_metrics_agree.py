"""Live counters and the KPI code count the same calls, for any event sequence.

The random floor of ``test_core_properties`` runs with tight SLA limits, so that waits and handle
times land on both sides of every threshold; at the end, each queue's counters and histograms
must equal what ``acd.core.kpis.queue_kpis`` computes from the records the core wrote.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from core_builders import Driver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_core_properties import CFG, OPS, World, action

from acd.core.commands import MetricUpdate, RecordCommand
from acd.core.kpis import latest, queue_kpis
from acd.core.record_types import InteractionRecord
from acd.metrics import Metrics

TIGHT = dataclasses.replace(
    CFG,
    queues=tuple(dataclasses.replace(q, max_handle_seconds=20.0, sla_threshold_seconds=8.0) for q in CFG.queues),
)

COUNTED = (
    "offered",
    "answered",
    "answered_within_sla",
    "abandoned",
    "short_abandoned",
    "overflowed",
    "failed",
    "wait_breached",
    "handle_breached",
    "moved",
)


def observations(d: Driver, name: str, queue: str, **labels: str) -> list[float]:
    wanted = {("queue", queue), *labels.items()}
    return [c.value for c in d.log if isinstance(c, MetricUpdate) and c.name == name and wanted <= set(c.labels)]


def run_and_compare(actions: list[tuple[str, int, int, float]]) -> dict[str, float]:
    """Play the actions, compare live figures with the KPI code per queue, return the live totals."""
    w = World()
    w.d = Driver.of(TIGHT)
    for op, i, j, dt in actions:
        w.advance(dt)
        w.act(op, i, j)
    w.drain()
    w.advance(1000.0)  # every wrap-up ends
    d = w.d
    records = latest(
        c.record for c in d.log if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)
    )
    metrics = Metrics(TIGHT.queues)
    for update in (c for c in d.log if isinstance(c, MetricUpdate)):
        metrics.apply(update)
    totals: dict[str, float] = {}
    for q in TIGHT.queues:
        k = queue_kpis(
            [r for r in records if r.queue == q.name],
            short_abandon_seconds=TIGHT.policy.short_abandon_seconds,
            max_handle_seconds=q.max_handle_seconds,
            max_wait_seconds=q.max_wait_seconds,
        )
        live = {name: d.metric_total(f"acd_calls_{name}_total", q.name) for name in COUNTED}
        assert live == {
            "offered": k.offered,
            "answered": k.answered,
            "answered_within_sla": k.answered_within_sla,
            "abandoned": k.abandoned,
            "short_abandoned": k.short_abandoned,
            "overflowed": k.overflowed,
            "failed": k.failed,
            "wait_breached": k.wait_breaches,
            "handle_breached": k.handle_breaches,
            "moved": k.moved,
        }, q.name
        handles = observations(d, "acd_handle_seconds", q.name)
        assert len(handles) == k.handled
        answered_waits = observations(d, "acd_queue_wait_seconds", q.name, outcome="answered")
        if k.asa is not None:
            assert sum(answered_waits) / len(answered_waits) == pytest.approx(k.asa)
        if k.aht is not None:
            assert sum(handles) / len(handles) == pytest.approx(k.aht)
        registry = metrics.registry.get_sample_value
        assert registry("acd_calls_wait_breached_total", {"queue": q.name}) == k.wait_breaches
        assert registry("acd_calls_handle_breached_total", {"queue": q.name}) == k.handle_breaches
        for name, value in live.items():
            totals[name] = totals.get(name, 0.0) + value
        totals["handled"] = totals.get("handled", 0.0) + k.handled
    return totals


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, max_size=80))
def test_counters_agree_with_the_kpis_of_the_records(actions: list[tuple[str, int, int, float]]) -> None:
    run_and_compare(actions)


def test_the_random_floor_reaches_both_sides_of_every_threshold() -> None:
    """So the agreement above is not vacuous: seeded sequences of the same actions hit T, S, max wait
    and max handle from both sides."""
    rng = random.Random(7)
    totals: dict[str, float] = {}
    for _ in range(40):
        actions = [(rng.choice(OPS), rng.randint(0, 30), rng.randint(0, 9), rng.uniform(0.0, 12.0)) for _ in range(80)]
        for name, value in run_and_compare(actions).items():
            totals[name] = totals.get(name, 0.0) + value
    assert totals["answered"] > totals["answered_within_sla"] > 0
    assert totals["abandoned"] > totals["short_abandoned"] > 0
    assert totals["offered"] > totals["wait_breached"] > 0
    assert totals["handled"] > totals["handle_breached"] > 0
    assert totals["overflowed"] > 0 and totals["failed"] > 0 and totals["moved"] > 0
