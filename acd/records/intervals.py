"""Interval reports: the queue KPIs per queue and per 15, 30 or 60 minutes of local time.

Workforce-management tools forecast and schedule from interval history, one row per queue and
interval; this module gives it from the records with the definitions of ``acd.records.report``
(docs/kpis.md, "Interval reports"). An interaction belongs to the interval of its enqueue time;
agent state intervals are clipped to each interval. Intervals are cut in a time zone's local time,
daylight saving included: a day of 23 or 25 hours has 4 intervals of 15 minutes fewer or more, and
the repeated hour of an autumn change appears twice, told apart by its UTC offset.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.report import CALLS_CTE, COUNTS, queue_kpis_of, ratio

INTERVAL_MINUTES = (15, 30, 60)
MAX_INTERVALS = 3000  # a month of quarter hours: one request, one query, a bounded answer
_GRID = timedelta(minutes=15)  # every zone in use is a whole number of quarter hours off UTC

_INTERVAL_SQL = text(
    """
WITH bounds AS (
    SELECT b.lo, b.hi, b.n::int AS n
    FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) WITH ORDINALITY AS b(lo, hi, n)
),"""
    + CALLS_CTE.format(
        bucket="b.n",
        source="interactions i JOIN queues q ON q.name = i.queue "
        "JOIN bounds b ON i.arrived_at >= b.lo AND i.arrived_at < b.hi",
    )
    + "\nSELECT queue, bucket,"
    + COUNTS
    + "\nFROM calls GROUP BY queue, bucket"
)

# Agents of a queue: those whose skills meet each of the queue's base requirements (as
# acd_agents_logged_in{queue} counts them), by the skills the records hold now.
_STAFF_SQL = text("""
WITH bounds AS (
    SELECT b.lo, b.hi, b.n::int AS n
    FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) WITH ORDINALITY AS b(lo, hi, n)
), members AS (
    SELECT q.name AS queue, a.id AS agent_id
    FROM queues q CROSS JOIN agents a
    WHERE NOT EXISTS (
        SELECT 1 FROM queue_skills qs
        WHERE qs.queue = q.name AND NOT EXISTS (
            SELECT 1 FROM agent_skills s
            WHERE s.agent_id = a.id AND s.skill = qs.skill AND s.proficiency >= qs.min_proficiency))
), clipped AS (
    SELECT m.queue, b.n AS bucket, st.state,
           GREATEST(0, EXTRACT(EPOCH FROM
               LEAST(COALESCE(st.ended_at, b.hi), b.hi) - GREATEST(st.started_at, b.lo)))::float8 AS seconds
    FROM bounds b
    JOIN agent_states st ON st.started_at < b.hi AND (st.ended_at IS NULL OR st.ended_at > b.lo)
    JOIN members m ON m.agent_id = st.agent_id
)
SELECT queue, bucket,
       COALESCE(sum(seconds) FILTER (WHERE state <> 'logged_out'), 0) AS logged_in,
       COALESCE(sum(seconds) FILTER (WHERE state IN ('on_call', 'wrap_up')), 0) AS busy,
       COALESCE(sum(seconds) FILTER (WHERE state IN ('ready', 'reserved')), 0) AS available
FROM clipped GROUP BY queue, bucket
""")


@dataclasses.dataclass(frozen=True, slots=True)
class IntervalKpis:
    """One queue over one interval (docs/kpis.md, "Interval reports")."""

    queue: str
    interval_start: datetime  # aware, in the report's zone
    interval_end: datetime
    offered: int
    answered: int
    abandoned: int  # short abandons included, as in the queue report
    short_abandoned: int
    answered_within_sla: int
    service_level: float | None
    asa: float | None
    aht: float | None
    handled: int
    average_wait: float | None
    max_wait: float | None
    agents_logged_in: float  # average number over the interval
    occupancy: float | None
    still_waiting: int  # calls of the interval still open: in none of the figures above
    still_handling: int


def interval_bounds(start: datetime, end: datetime, minutes: int, zone: tzinfo) -> list[tuple[datetime, datetime]]:
    """[start, end) cut where ``zone``'s local clock reads a multiple of ``minutes`` past midnight.

    Boundaries are found on the UTC quarter-hour grid, so a local hour that repeats (autumn) gives two
    intervals, and a skipped one (spring) none. The first and last intervals are clipped to the range.
    """
    if minutes not in INTERVAL_MINUTES:
        raise ValueError(f"an interval is one of {INTERVAL_MINUTES} minutes, not {minutes}")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    at = epoch + ((start - epoch) // _GRID) * _GRID
    cuts = [start]
    while at < end:
        if at > start:
            local = at.astimezone(zone)
            if (local.hour * 60 + local.minute) % minutes == 0:
                cuts.append(at)
        at += _GRID
    cuts.append(end)
    return [(lo.astimezone(zone), hi.astimezone(zone)) for lo, hi in itertools.pairwise(cuts)]


async def interval_report(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    minutes: int,
    zone: tzinfo,
    short_abandon_seconds: float = 5.0,
    queues: frozenset[str] | None = None,
) -> list[IntervalKpis]:
    """Every interval of every queue (``queues``: those only), zeros included, in time order per queue.

    The queues are those configured now and those with calls in the range.
    """
    bounds = interval_bounds(start, end, minutes, zone)
    if len(bounds) > MAX_INTERVALS:
        raise ValueError(f"{len(bounds)} intervals: at most {MAX_INTERVALS} in one report")
    params = {
        "starts": [lo for lo, _ in bounds],
        "ends": [hi for _, hi in bounds],
        "short": short_abandon_seconds,
    }
    async with engine.connect() as conn:
        counts = {(r["queue"], r["bucket"]): r for r in (await conn.execute(_INTERVAL_SQL, params)).mappings()}
        staff = {(r["queue"], r["bucket"]): r for r in (await conn.execute(_STAFF_SQL, params)).mappings()}
        configured = (await conn.execute(text("SELECT name FROM queues WHERE configured"))).scalars().all()
    names = sorted({*configured, *(q for q, _ in counts)})
    if queues is not None:
        names = [q for q in names if q in queues]
    return [
        _row(q, n, lo, hi, counts.get((q, n)), staff.get((q, n))) for q in names for n, (lo, hi) in enumerate(bounds, 1)
    ]


def _row(
    queue: str, n: int, lo: datetime, hi: datetime, counts: Mapping[Any, Any] | None, staff: Mapping[Any, Any] | None
) -> IntervalKpis:
    c: Mapping[Any, Any] = counts if counts is not None else dict.fromkeys(_ZERO_KEYS, 0)
    s: Mapping[Any, Any] = staff if staff is not None else {"logged_in": 0.0, "busy": 0.0, "available": 0.0}
    kpis = queue_kpis_of(c)
    length = _seconds_between(lo, hi)
    return IntervalKpis(
        queue=queue,
        interval_start=lo,
        interval_end=hi,
        offered=kpis.offered,
        answered=kpis.answered,
        abandoned=kpis.abandoned,
        short_abandoned=kpis.short_abandoned,
        answered_within_sla=kpis.answered_within_sla,
        service_level=kpis.service_level,
        asa=kpis.asa,
        aht=kpis.aht,
        handled=kpis.handled,
        average_wait=ratio(c["wait_offered"], c["waited"]),
        max_wait=kpis.max_wait if kpis.offered else None,
        agents_logged_in=float(s["logged_in"]) / length if length > 0 else 0.0,
        occupancy=ratio(float(s["busy"]), float(s["busy"]) + float(s["available"])),
        still_waiting=c["still_waiting"],
        still_handling=c["still_handling"],
    )


_ZERO_KEYS = (
    *("offered", "answered", "answered_within_sla", "abandoned", "short_abandoned", "overflowed", "failed"),
    *("wait_answered", "wait_offered", "waited", "handled", "handle_total", "handle_breaches", "max_wait"),
    *("wait_breaches", "moved", "transferred", "callbacks", "callbacks_completed", "callbacks_failed"),
    "arrivals",
    *("still_waiting", "still_handling"),
)


def wfm_rows(rows: list[IntervalKpis]) -> list[dict[str, object]]:
    """The interval-history CSV layout workforce-management tools import (docs/kpis.md, "Interval reports").

    One row per queue and interval; the interval's local date and start time in columns of their own,
    its UTC offset beside them (two rows of an autumn night share a start time); counts as integers,
    durations in whole seconds, ratios as percentages with one decimal; an undefined figure is empty.
    """
    out: list[dict[str, object]] = []
    for r in rows:
        out.append(
            {
                "Date": r.interval_start.strftime("%Y-%m-%d"),
                "Interval": r.interval_start.strftime("%H:%M"),
                "UTC Offset": r.interval_start.strftime("%z"),
                "Interval Minutes": round(_seconds_between(r.interval_start, r.interval_end) / 60),
                "Queue": r.queue,
                "Offered": r.offered,
                "Answered": r.answered,
                "Abandoned": r.abandoned - r.short_abandoned,
                "Short Abandoned": r.short_abandoned,
                "Answered Within SL": r.answered_within_sla,
                "Service Level %": _percent(r.service_level),
                "ASA": _seconds(r.asa),
                "AHT": _seconds(r.aht),
                "Handled": r.handled,
                "Average Wait": _seconds(r.average_wait),
                "Max Wait": _seconds(r.max_wait),
                "Agents Logged In": f"{r.agents_logged_in:.2f}",
                "Occupancy %": _percent(r.occupancy),
                "Open Calls": r.still_waiting + r.still_handling,
            }
        )
    return out


def _seconds_between(lo: datetime, hi: datetime) -> float:
    """Elapsed seconds: two times of one ``ZoneInfo`` subtract as wall clocks (0 across an autumn change)."""
    return (hi.astimezone(UTC) - lo.astimezone(UTC)).total_seconds()


def _seconds(value: float | None) -> object:
    return "" if value is None else round(value)


def _percent(value: float | None) -> object:
    return "" if value is None else f"{100 * value:.1f}"
