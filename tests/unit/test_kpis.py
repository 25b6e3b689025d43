"""KPI formulas of docs/kpis.md on hand-made records with hand-computed answers."""

from __future__ import annotations

import dataclasses

import pytest

from acd.core.kpis import DispositionCount, dispositions, latest, occupancy, queue_kpis, state_seconds
from acd.core.record_types import AgentStateRecord, InteractionRecord


def rec(
    cid: str,
    outcome: str | None,
    wait: float | None,
    *,
    answered: bool = False,
    talk: float | None = None,
    wrap: float | None = None,
    seq: int = 5,
) -> InteractionRecord:
    return InteractionRecord(
        interaction_id=cid,
        seq=seq,
        queue="q",
        priority=5,
        caller="",
        arrived_at=0.0,
        answered_at=wait if answered else None,
        outcome=outcome,  # type: ignore[arg-type]
        wait_seconds=wait,
        talk_seconds=talk,
        wrapup_seconds=wrap,
        sla_threshold_seconds=20.0,
    )


RECORDS = [
    rec("a1", "answered", 10.0, answered=True, talk=100.0, wrap=20.0),  # within SLA
    rec("a2", "answered", 20.0, answered=True, talk=200.0, wrap=0.0),  # within SLA: T is inclusive
    rec("a3", "answered", 30.0, answered=True, talk=500.0, wrap=200.0),  # late, handle breach (700 > 600)
    rec("a4", None, 40.0, answered=True),  # answered, still talking: no AHT yet
    rec("ab1", "abandoned", 3.0),  # short abandon
    rec("ab2", "abandoned", 5.0),  # not short: S is exclusive
    rec("ov", "overflowed", 300.0),
    rec("f", "failed", 1.0),
    rec("open", None, None),  # still waiting: not offered
]


def test_queue_kpis() -> None:
    k = queue_kpis(RECORDS, short_abandon_seconds=5.0, max_handle_seconds=600.0)
    assert (k.offered, k.answered, k.answered_within_sla) == (8, 4, 2)
    assert (k.abandoned, k.short_abandoned, k.overflowed, k.failed) == (2, 1, 1, 1)
    assert k.service_level == pytest.approx(2 / 7)  # overflow counts, the short abandon does not
    assert k.abandonment_rate == pytest.approx(1 / 7)
    assert k.asa == pytest.approx((10 + 20 + 30 + 40) / 4)
    assert (k.handled, k.aht) == (3, pytest.approx((120 + 200 + 700) / 3))
    assert (k.handle_breaches, k.handle_breach_rate) == (1, pytest.approx(1 / 3))
    assert k.max_wait == 300.0


def test_dispositions_count_handled_calls_per_kind_and_code() -> None:
    def coded(record: InteractionRecord, code: str | None) -> InteractionRecord:
        return dataclasses.replace(record, disposition=code)

    records = [
        coded(RECORDS[0], "order/new"),
        coded(RECORDS[1], "order/cancel"),
        coded(RECORDS[2], None),  # handled without a disposition
        coded(RECORDS[3], "order/new"),  # still talking: not handled yet
        coded(RECORDS[4], "order/new"),  # abandoned: not handled
        coded(rec("p", "answered", 5.0, answered=True, talk=10.0, wrap=0.0), "5"),  # a phone's code
    ]
    assert dispositions(records) == [
        DispositionCount("q", "5", None, "kind", 1, 0.25),
        DispositionCount("q", "5", "5", "code", 1, 0.25),
        DispositionCount("q", "order", None, "kind", 2, 0.5),
        DispositionCount("q", "order", "order/cancel", "code", 1, 0.25),
        DispositionCount("q", "order", "order/new", "code", 1, 0.25),
        DispositionCount("q", None, None, "kind", 1, 0.25),
        DispositionCount("q", None, None, "code", 1, 0.25),
    ]


def test_empty_sets_have_no_ratios() -> None:
    k = queue_kpis([rec("ab", "abandoned", 1.0)], short_abandon_seconds=5.0)
    assert (k.service_level, k.asa, k.aht, k.abandonment_rate) == (None, None, None, None)


def test_latest_keeps_the_highest_seq() -> None:
    old, new = rec("x", None, None, seq=1), rec("x", "abandoned", 9.0, seq=2)
    assert latest([new, old]) == [new]
    assert latest([old, new]) == [new]


def interval(state: str, start: float, end: float | None) -> AgentStateRecord:
    return AgentStateRecord(f"{state}{start}", "a", state, start, ended_at=end)  # type: ignore[arg-type]


def test_occupancy_counts_reserved_as_available_and_ignores_pauses() -> None:
    intervals = [
        interval("ready", 0.0, 10.0),
        interval("reserved", 10.0, 15.0),
        interval("on_call", 15.0, 75.0),
        interval("wrap_up", 75.0, 90.0),
        interval("paused", 90.0, 200.0),
        interval("ready", 200.0, None),  # open: runs to the end of the window
    ]
    assert state_seconds(intervals, 0.0, 210.0)["ready"] == 20.0
    assert occupancy(intervals, 0.0, 210.0) == pytest.approx(75 / (75 + 25))
    assert occupancy(intervals, 20.0, 80.0) == pytest.approx(1.0)
    assert occupancy([interval("paused", 0.0, 10.0)], 0.0, 10.0) is None
