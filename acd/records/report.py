"""``acd report``: KPIs per queue and per agent for a date range, computed in SQL from the records.

The formulas are those of docs/kpis.md, as coded in ``acd.core.kpis``; the tests check that this
SQL and those functions give the same figures on the same records. An interaction belongs to the
interval of its enqueue time (``arrived_at``); agent state intervals are clipped to the range.

    acd report --from 2026-11-01 --to 2026-11-02 [--by queue|agent] [--format table|csv|json]

The database is ``--database-url``, else DATABASE_URL, else the embedded server in ``var/pg``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import io
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.core.kpis import QueueKpis
from acd.records.cli_database import add_database_arguments, database_url
from acd.records.errors import RecordsError

# Conditions shared by the counts; "answered" wins over an outcome, as in acd.core.kpis.queue_kpis, and a
# stay that ended "moved" (the caller left for another queue) is not offered in its queue.
_QUEUE_SQL = text("""
WITH calls AS (
    SELECT i.queue, i.outcome, i.wait_seconds AS wait, i.talk_seconds + i.wrapup_seconds AS handle,
           q.max_handle_seconds, q.max_wait_seconds,
           (i.answered_at IS NOT NULL OR (i.outcome IS NOT NULL AND i.outcome <> 'moved')) AS offered,
           i.answered_at IS NULL AND i.outcome = 'moved' AS moved,
           i.answered_at IS NOT NULL AS answered,
           i.answered_at IS NULL AND i.outcome = 'abandoned' AS abandoned,
           i.answered_at IS NULL AND i.outcome = 'abandoned' AND i.wait_seconds < :short AS short,
           i.answered_at IS NOT NULL AND i.wait_seconds <= i.sla_threshold_seconds AS met
    FROM interactions i JOIN queues q ON q.name = i.queue
    WHERE i.arrived_at >= :start AND i.arrived_at < :end
)
SELECT queue,
       count(*) FILTER (WHERE offered) AS offered,
       count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE met) AS answered_within_sla,
       count(*) FILTER (WHERE abandoned) AS abandoned,
       count(*) FILTER (WHERE short) AS short_abandoned,
       count(*) FILTER (WHERE NOT answered AND outcome = 'overflowed') AS overflowed,
       count(*) FILTER (WHERE NOT answered AND outcome = 'failed') AS failed,
       sum(wait) FILTER (WHERE answered) AS wait_answered,
       count(*) FILTER (WHERE answered AND handle IS NOT NULL) AS handled,
       sum(handle) FILTER (WHERE answered AND handle IS NOT NULL) AS handle_total,
       count(*) FILTER (WHERE answered AND handle > max_handle_seconds) AS handle_breaches,
       max(wait) FILTER (WHERE offered) AS max_wait,
       count(*) FILTER (WHERE offered AND wait >= max_wait_seconds) AS wait_breaches,
       count(*) FILTER (WHERE moved) AS moved
FROM calls GROUP BY queue ORDER BY queue
""")

_AGENT_SQL = text("""
WITH clipped AS (
    SELECT agent_id, state,
           GREATEST(0, EXTRACT(EPOCH FROM LEAST(COALESCE(ended_at, :end), :end) - GREATEST(started_at, :start)))::float8
               AS seconds
    FROM agent_states
    WHERE started_at < :end AND (ended_at IS NULL OR ended_at > :start)
), states AS (
    SELECT agent_id,
           sum(seconds) FILTER (WHERE state IN ('on_call', 'wrap_up')) AS busy,
           sum(seconds) FILTER (WHERE state IN ('ready', 'reserved')) AS available,
           sum(seconds) FILTER (WHERE state = 'paused') AS paused
    FROM clipped GROUP BY agent_id
), calls AS (
    SELECT agent_id, count(*) AS answered,
           count(*) FILTER (WHERE talk_seconds IS NOT NULL AND wrapup_seconds IS NOT NULL) AS handled,
           sum(talk_seconds + wrapup_seconds) AS handle_total
    FROM interactions
    WHERE arrived_at >= :start AND arrived_at < :end AND answered_at IS NOT NULL AND agent_id IS NOT NULL
    GROUP BY agent_id
)
SELECT COALESCE(s.agent_id, c.agent_id) AS agent, COALESCE(c.answered, 0) AS answered,
       COALESCE(c.handled, 0) AS handled, c.handle_total, COALESCE(s.busy, 0) AS busy_seconds,
       COALESCE(s.available, 0) AS available_seconds, COALESCE(s.paused, 0) AS paused_seconds
FROM states s FULL JOIN calls c ON c.agent_id = s.agent_id
ORDER BY agent
""")


@dataclasses.dataclass(frozen=True, slots=True)
class AgentKpis:
    agent: str
    answered: int
    handled: int
    aht: float | None
    occupancy: float | None
    busy_seconds: float
    available_seconds: float
    paused_seconds: float


def _ratio(numerator: float | None, denominator: float) -> float | None:
    return (numerator or 0.0) / denominator if denominator > 0 else None


async def queue_report(engine: AsyncEngine, start: datetime, end: datetime,
                       short_abandon_seconds: float = 5.0) -> dict[str, QueueKpis]:
    params = {"start": start, "end": end, "short": short_abandon_seconds}
    async with engine.connect() as conn:
        rows = (await conn.execute(_QUEUE_SQL, params)).mappings().all()
    report: dict[str, QueueKpis] = {}
    for r in rows:
        base = r["offered"] - r["short_abandoned"]
        report[r["queue"]] = QueueKpis(
            offered=r["offered"], answered=r["answered"], answered_within_sla=r["answered_within_sla"],
            abandoned=r["abandoned"], short_abandoned=r["short_abandoned"],
            overflowed=r["overflowed"], failed=r["failed"],
            handled=r["handled"], handle_breaches=r["handle_breaches"],
            service_level=_ratio(r["answered_within_sla"], base),
            asa=_ratio(r["wait_answered"], r["answered"]),
            aht=_ratio(r["handle_total"], r["handled"]),
            abandonment_rate=_ratio(r["abandoned"] - r["short_abandoned"], base),
            max_wait=r["max_wait"],
            handle_breach_rate=_ratio(r["handle_breaches"], r["handled"]),
            wait_breaches=r["wait_breaches"],
            moved=r["moved"],
        )
    return report


async def agent_report(engine: AsyncEngine, start: datetime, end: datetime) -> list[AgentKpis]:
    async with engine.connect() as conn:
        rows = (await conn.execute(_AGENT_SQL, {"start": start, "end": end})).mappings().all()
    return [
        AgentKpis(
            agent=r["agent"], answered=r["answered"], handled=r["handled"],
            aht=_ratio(r["handle_total"], r["handled"]),
            occupancy=_ratio(r["busy_seconds"], float(r["busy_seconds"] + r["available_seconds"])),
            busy_seconds=float(r["busy_seconds"]), available_seconds=float(r["available_seconds"]),
            paused_seconds=float(r["paused_seconds"]),
        )
        for r in rows
    ]


# -- command line ----------------------------------------------------------------------------------

def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if not rows:
        return "(no data)\n" if fmt == "table" else ""
    columns = list(rows[0])
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


async def _report(url: str, args: argparse.Namespace) -> str:
    engine = create_async_engine(url)
    try:
        if args.by == "agent":
            rows = [dataclasses.asdict(a) for a in await agent_report(engine, args.start, args.end)]
        else:
            kpis = await queue_report(engine, args.start, args.end, args.short_abandon)
            rows = [{"queue": q, **dataclasses.asdict(k)} for q, k in kpis.items()]
    finally:
        await engine.dispose()
    return _render(rows, args.format)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd report", description="KPIs per queue or agent (docs/kpis.md).")
    parser.add_argument("--from", dest="start", type=_when, required=True, help="ISO date/time, UTC if naive")
    parser.add_argument("--to", dest="end", type=_when, required=True, help="exclusive end, ISO date/time")
    parser.add_argument("--by", choices=("queue", "agent"), default="queue")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--short-abandon", type=float, default=5.0, help="S in seconds (policy)")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error("--to must be after --from")
    try:
        with database_url(args) as url:
            sys.stdout.write(asyncio.run(_report(url, args)))
    except (RecordsError, SQLAlchemyError, OSError) as exc:
        print(f"acd report: {exc}", file=sys.stderr)
        return 1
    return 0
