"""KPIs per queue and per agent for a date range, computed in SQL from the records.

The formulas are those of docs/kpis.md, as coded in ``acd.core.kpis``; the tests check that this
SQL and those functions give the same figures on the same records. An interaction belongs to the
interval of its enqueue time (``arrived_at``); agent state intervals are clipped to the range.

Read by ``acd report`` (``acd.records.cli.report``) and, at start, by the wallboard's tally of the
day so far (``acd.wallboard.seed``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.config import QueueConfig
from acd.core.kpis import DispositionCount, QueueKpis
from acd.core.objectives import Settling
from acd.core.otf import OtfCount, OtfRow

# Conditions shared by the counts; "answered" wins over an outcome, as in acd.core.kpis.queue_kpis, and a
# stay that ended "moved" (the caller left for another queue) is not offered in its queue. A callback is
# told by its end reason (acd.core.kpis.is_callback): "callback" (waiting, or reached and over) or
# "callback_unreached_<status>".
CALLS_CTE = """
calls AS (
    SELECT i.queue, {bucket} AS bucket, i.outcome, i.wait_seconds AS wait,
           i.talk_seconds + i.wrapup_seconds AS handle,
           q.max_handle_seconds, q.max_wait_seconds,
           (i.answered_at IS NOT NULL OR (i.outcome IS NOT NULL AND i.outcome <> 'moved')) AS offered,
           i.answered_at IS NULL AND i.outcome = 'moved' AS moved,
           i.answered_at IS NOT NULL AS answered,
           i.answered_at IS NOT NULL AND i.end_reason = 'transferred' AS transferred,
           i.answered_at IS NULL AND i.outcome = 'abandoned' AS abandoned,
           i.answered_at IS NULL AND i.outcome = 'abandoned' AND i.wait_seconds < :short AS short,
           i.answered_at IS NOT NULL AND i.wait_seconds <= i.sla_threshold_seconds AS met,
           (i.end_reason = 'callback' OR starts_with(i.end_reason, 'callback_unreached')) AS callback,
           i.outcome = 'answered' AND i.end_reason = 'callback' AS callback_completed,
           i.outcome = 'failed' AND starts_with(i.end_reason, 'callback_unreached') AS callback_failed,
           NOT (i.answered_at IS NOT NULL AND i.within_sla IS NULL) AS arrival,
           i.answered_at IS NULL AND i.outcome IS NULL AS still_waiting,
           i.answered_at IS NOT NULL AND (i.talk_seconds IS NULL OR i.wrapup_seconds IS NULL) AS still_handling
    FROM {source}
)"""

COUNTS = """
       count(*) FILTER (WHERE offered) AS offered,
       count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE met) AS answered_within_sla,
       count(*) FILTER (WHERE abandoned) AS abandoned,
       count(*) FILTER (WHERE short) AS short_abandoned,
       count(*) FILTER (WHERE NOT answered AND outcome = 'overflowed') AS overflowed,
       count(*) FILTER (WHERE NOT answered AND outcome = 'failed') AS failed,
       sum(wait) FILTER (WHERE answered) AS wait_answered,
       sum(wait) FILTER (WHERE offered) AS wait_offered,
       count(*) FILTER (WHERE offered AND wait IS NOT NULL) AS waited,
       count(*) FILTER (WHERE answered AND handle IS NOT NULL) AS handled,
       sum(handle) FILTER (WHERE answered AND handle IS NOT NULL) AS handle_total,
       count(*) FILTER (WHERE answered AND handle > max_handle_seconds) AS handle_breaches,
       max(wait) FILTER (WHERE offered) AS max_wait,
       count(*) FILTER (WHERE offered AND wait >= max_wait_seconds) AS wait_breaches,
       count(*) FILTER (WHERE moved) AS moved,
       count(*) FILTER (WHERE transferred) AS transferred,
       count(*) FILTER (WHERE callback) AS callbacks,
       count(*) FILTER (WHERE callback_completed) AS callbacks_completed,
       count(*) FILTER (WHERE callback_failed) AS callbacks_failed,
       count(*) FILTER (WHERE arrival) AS arrivals,
       count(*) FILTER (WHERE still_waiting) AS still_waiting,
       count(*) FILTER (WHERE still_handling) AS still_handling"""

# Conditions shared by the counts; "answered" wins over an outcome, as in acd.core.kpis.queue_kpis, and a
# stay that ended "moved" (the caller left for another queue) is not offered in its queue. A callback is
# told by its end reason (acd.core.kpis.is_callback): "callback" (waiting, or reached and over) or
# "callback_unreached_<status>". Calls still open (waiting, or answered with talk or wrap-up not over)
# are in none of the figures and counted apart (docs/kpis.md, "Calls still open in a report").
_QUEUE_SQL = text(
    "WITH"
    + CALLS_CTE.format(
        bucket="0",
        source="interactions i JOIN queues q ON q.name = i.queue WHERE i.arrived_at >= :start AND i.arrived_at < :end",
    )
    + "\nSELECT queue,"
    + COUNTS
    + "\nFROM calls GROUP BY queue ORDER BY queue"
)

# The same counts over a scope (acd.records.objectives): queues, or the calls the scope's agents answered.
_SCOPE_SOURCE = "interactions i JOIN queues q ON q.name = i.queue WHERE i.arrived_at >= :start AND i.arrived_at < :end"
SCOPE_SQL = {
    scope: text(
        "WITH"
        + CALLS_CTE.format(bucket="0", source=_SCOPE_SOURCE + f" AND i.{column} = ANY(:members)")
        + "\nSELECT"
        + COUNTS
        + "\nFROM calls"
    )
    for scope, column in (("queues", "queue"), ("agents", "agent_id"))
}
# The same counts per agent of :members, each over the calls they answered (a scorecard's objectives,
# acd.records.objectives.agent_checks): one read for every agent of a request.
PER_AGENT_SQL = text(
    "WITH"
    + CALLS_CTE.format(bucket="i.agent_id", source=_SCOPE_SOURCE + " AND i.agent_id = ANY(:members)")
    + "\nSELECT bucket AS agent,"
    + COUNTS
    + "\nFROM calls GROUP BY bucket"
)

# An agent row's filter: every agent when :agents is NULL, else those named (a scorecard's agents).
AGENTS_FILTER = "(CAST(:agents AS text[]) IS NULL OR agent_id = ANY(:agents))"

_AGENT_SQL = text(
    """
WITH clipped AS (
    SELECT agent_id, state,
           GREATEST(0, EXTRACT(EPOCH FROM LEAST(COALESCE(ended_at, :end), :end) - GREATEST(started_at, :start)))::float8
               AS seconds
    FROM agent_states
    WHERE started_at < :end AND (ended_at IS NULL OR ended_at > :start) AND {agents}
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
      AND {agents}
    GROUP BY agent_id
)
SELECT COALESCE(s.agent_id, c.agent_id) AS agent, COALESCE(c.answered, 0) AS answered,
       COALESCE(c.handled, 0) AS handled, c.handle_total, COALESCE(s.busy, 0) AS busy_seconds,
       COALESCE(s.available, 0) AS available_seconds, COALESCE(s.paused, 0) AS paused_seconds
FROM states s FULL JOIN calls c ON c.agent_id = s.agent_id
ORDER BY agent
""".replace("{agents}", AGENTS_FILTER)
)


# docs/kpis.md, "Dispositions": handled calls (answered, talk and wrap-up ended) per queue, per kind
# (the code up to its first "/") and per code, with their share of the queue's handled calls.
_DISPOSITION_SQL = text("""
WITH handled AS (
    SELECT queue, disposition AS code, split_part(disposition, '/', 1) AS kind
    FROM interactions
    WHERE arrived_at >= :start AND arrived_at < :end
      AND answered_at IS NOT NULL AND talk_seconds IS NOT NULL AND wrapup_seconds IS NOT NULL
), totals AS (
    SELECT queue, count(*) AS handled FROM handled GROUP BY queue
)
SELECT h.queue, h.kind, h.code, GROUPING(h.code) = 1 AS whole_kind, count(*) AS calls,
       count(*)::float8 / t.handled AS share
FROM handled h JOIN totals t ON t.queue = h.queue
GROUP BY GROUPING SETS ((h.queue, t.handled, h.kind), (h.queue, t.handled, h.kind, h.code))
ORDER BY h.queue COLLATE "C", h.kind COLLATE "C" NULLS LAST, whole_kind DESC, h.code COLLATE "C" NULLS LAST
""")


# docs/kpis.md, "OTF and FCR", as coded in acd.core.otf: each offered interaction of the range (short
# abandons and moved stays apart) gets its verdict as of :as_of, then counts per queue, per agent (answered
# ones) and per queue and disposition kind (handled ones). The queues' criteria come from the config
# (:criteria, a JSON array), not from the records: a report judges by the criteria in force now.
# {chosen}: which interactions (by arrival in [:start, :end), or by settling moment: _SETTLED_IN).
_OTF_TEMPLATE = """
WITH c AS (
    SELECT * FROM jsonb_to_recordset(CAST(:criteria AS jsonb)) AS c(
        queue text, answer boolean, handle boolean, resolving boolean, repeat_window float8,
        order_promise float8, max_handle float8, codes text[])
), calls AS (
    SELECT i.id, i.queue, i.agent_id, i.caller, i.customer_id, i.linkedid, i.arrived_at, i.ended_at,
           i.answered_at IS NOT NULL AS answered,
           i.answered_at IS NOT NULL AND i.talk_seconds IS NOT NULL AND i.wrapup_seconds IS NOT NULL AS handled,
           i.wait_seconds, i.sla_threshold_seconds, i.talk_seconds, i.wrapup_seconds, i.disposition,
           split_part(i.disposition, '/', 1) AS kind, c.answer, c.handle, c.resolving, c.repeat_window,
           c.order_promise, c.max_handle, c.codes
    FROM interactions i JOIN c ON c.queue = i.queue
    WHERE {chosen}
      AND (i.answered_at IS NOT NULL OR (i.outcome IS NOT NULL AND i.outcome <> 'moved'))
      AND NOT (i.answered_at IS NULL AND i.outcome = 'abandoned' AND i.wait_seconds < :short)
), judged AS (
    SELECT queue, agent_id, kind, answered, handled,
           NOT answered OR (handled AND i.ended_at + make_interval(secs => repeat_window) <= :as_of) AS settled,
           answered AND CASE
               WHEN kind = 'order' AND order_promise IS NOT NULL THEN
                   handled AND EXTRACT(EPOCH FROM i.ended_at - i.arrived_at) + wrapup_seconds <= order_promise
               ELSE (NOT answer OR wait_seconds <= sla_threshold_seconds)
                    AND (NOT handle OR (handled AND talk_seconds + wrapup_seconds <= max_handle))
           END AS on_time,
           answered AND (NOT resolving OR COALESCE(disposition = ANY(codes), false)) AND NOT (
               repeat_window > 0 AND i.ended_at IS NOT NULL AND EXISTS (
                   SELECT 1 FROM interactions r
                   WHERE r.queue = i.queue AND r.id <> i.id
                     AND r.arrived_at > i.ended_at
                     AND r.arrived_at <= i.ended_at + make_interval(secs => repeat_window)
                     AND r.arrived_at <= :as_of
                     AND (r.customer_id = i.customer_id OR (i.caller <> '' AND r.caller = i.caller))
                     AND NOT (i.linkedid <> '' AND r.linkedid = i.linkedid))
           ) AS full_
    FROM calls i
)
SELECT 'queue' AS level, queue, NULL AS agent, NULL AS kind, {counts} FROM judged GROUP BY queue
UNION ALL
SELECT 'agent', '', agent_id, NULL, {counts} FROM judged WHERE answered AND agent_id IS NOT NULL GROUP BY agent_id
UNION ALL
SELECT 'kind', queue, NULL, kind, {counts} FROM judged WHERE handled GROUP BY queue, kind
""".replace(
    "{counts}",
    "count(*) FILTER (WHERE settled) AS settled, count(*) FILTER (WHERE settled AND on_time) AS on_time, "
    "count(*) FILTER (WHERE settled AND full_) AS full_, "
    "count(*) FILTER (WHERE settled AND on_time AND full_) AS otf, "
    "count(*) FILTER (WHERE settled AND handled) AS handled, count(*) FILTER (WHERE NOT settled) AS pending, "
    "count(*) FILTER (WHERE NOT settled AND handled) AS pending_handled, "
    "count(*) FILTER (WHERE NOT settled AND handled AND on_time AND full_) AS pending_otf, "
    "count(*) FILTER (WHERE NOT settled AND handled AND full_) AS pending_full",
)
_OTF_SQL = text(_OTF_TEMPLATE.replace("{chosen}", "i.arrived_at >= :start AND i.arrived_at < :end"))
# The same for the calls :agents answered only (a scorecard's): their agent rows are those of _OTF_SQL, as
# the repeat contacts are still looked for among all the records; its queue and kind rows are partial.
_OTF_AGENTS_SQL = text(
    _OTF_TEMPLATE.replace("{chosen}", "i.arrived_at >= :start AND i.arrived_at < :end AND i.agent_id = ANY(:agents)")
)

# The longest stay counted from arrival to its end that the settling query looks back for (besides the
# repeat window): a call lasts less than a day (acd.core.bounds.MAX_AGE_SECONDS); a callback may wait for
# its agent longer, a week at most here. It bounds the scan by the indexed arrival time.
LONGEST_STAY_SECONDS = 7 * 86400.0

# docs/kpis.md, "OTF and FCR", the moment a verdict settles: an unanswered stay when it leaves the queue
# (ended_at), a handled one once its wrap-up is over and its repeat window has passed
# (ended_at + greatest(repeat_window, wrapup)); an answered one not handled yet has none. Those of
# [:start, :end] (:end, the moment of a start: the live ledger takes the later ones), judged as of :end;
# :reach (a lower bound on the indexed arrival time) is :start minus the longest repeat window and
# LONGEST_STAY_SECONDS.
_SETTLED_IN = """i.arrived_at >= :reach AND i.arrived_at < :end AND i.ended_at IS NOT NULL
      AND (i.answered_at IS NULL OR (i.talk_seconds IS NOT NULL AND i.wrapup_seconds IS NOT NULL))
      AND CASE WHEN i.answered_at IS NULL THEN i.ended_at
               ELSE i.ended_at + make_interval(secs => greatest(c.repeat_window, 0, i.wrapup_seconds)) END
          >= :start
      AND CASE WHEN i.answered_at IS NULL THEN i.ended_at
               ELSE i.ended_at + make_interval(secs => greatest(c.repeat_window, 0, i.wrapup_seconds)) END
          <= :end"""
_OTF_SETTLED_SQL = text(_OTF_TEMPLATE.replace("{chosen}", _SETTLED_IN))


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


def ratio(numerator: float | None, denominator: float) -> float | None:
    return (numerator or 0.0) / denominator if denominator > 0 else None


async def queue_report(
    engine: AsyncEngine, start: datetime, end: datetime, short_abandon_seconds: float = 5.0
) -> dict[str, QueueKpis]:
    params = {"start": start, "end": end, "short": short_abandon_seconds}
    async with engine.connect() as conn:
        rows = (await conn.execute(_QUEUE_SQL, params)).mappings().all()
    report: dict[str, QueueKpis] = {}
    for r in rows:
        report[r["queue"]] = queue_kpis_of(r)
    return report


def queue_kpis_of(r: Mapping[Any, Any]) -> QueueKpis:
    """One row of ``COUNTS`` as the KPIs of docs/kpis.md."""
    base = r["offered"] - r["short_abandoned"]
    return QueueKpis(
        offered=r["offered"],
        answered=r["answered"],
        answered_within_sla=r["answered_within_sla"],
        abandoned=r["abandoned"],
        short_abandoned=r["short_abandoned"],
        overflowed=r["overflowed"],
        failed=r["failed"],
        handled=r["handled"],
        handle_breaches=r["handle_breaches"],
        service_level=ratio(r["answered_within_sla"], base),
        asa=ratio(r["wait_answered"], r["answered"]),
        aht=ratio(r["handle_total"], r["handled"]),
        abandonment_rate=ratio(r["abandoned"] - r["short_abandoned"], base),
        max_wait=r["max_wait"],
        handle_breach_rate=ratio(r["handle_breaches"], r["handled"]),
        wait_breaches=r["wait_breaches"],
        moved=r["moved"],
        transferred=r["transferred"],
        transfer_rate=ratio(r["transferred"], r["answered"]),
        callbacks=r["callbacks"],
        callbacks_completed=r["callbacks_completed"],
        callbacks_failed=r["callbacks_failed"],
        callback_rate=ratio(r["callbacks_completed"] + r["callbacks_failed"], r["offered"]),
        arrivals=r["arrivals"],
    )


async def disposition_report(engine: AsyncEngine, start: datetime, end: datetime) -> list[DispositionCount]:
    """Handled calls per queue, disposition kind and code, with their share (docs/kpis.md, "Dispositions")."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_DISPOSITION_SQL, {"start": start, "end": end})).mappings().all()
    return [
        DispositionCount(
            queue=r["queue"],
            kind=r["kind"],
            code=None if r["whole_kind"] else r["code"],
            level="kind" if r["whole_kind"] else "code",
            calls=r["calls"],
            share=r["share"],
        )
        for r in rows
    ]


async def agent_report(
    engine: AsyncEngine, start: datetime, end: datetime, agents: Iterable[str] | None = None
) -> list[AgentKpis]:
    """Per agent with calls or states in [start, end) (``agents``: those only)."""
    params = {"start": start, "end": end, "agents": None if agents is None else sorted(agents)}
    async with engine.connect() as conn:
        rows = (await conn.execute(_AGENT_SQL, params)).mappings().all()
    return [
        AgentKpis(
            agent=r["agent"],
            answered=r["answered"],
            handled=r["handled"],
            aht=ratio(r["handle_total"], r["handled"]),
            occupancy=ratio(r["busy_seconds"], float(r["busy_seconds"] + r["available_seconds"])),
            busy_seconds=float(r["busy_seconds"]),
            available_seconds=float(r["available_seconds"]),
            paused_seconds=float(r["paused_seconds"]),
        )
        for r in rows
    ]


def otf_criteria(queues: Iterable[QueueConfig]) -> str:
    """The queues' OTF criteria as the JSON array ``_OTF_SQL`` reads."""
    return json.dumps(
        [
            {
                "queue": q.name,
                "answer": q.otf.answer,
                "handle": q.otf.handle,
                "resolving": q.otf.resolving,
                "repeat_window": q.otf.repeat_window_seconds,
                "order_promise": q.otf.order_promise_seconds,
                "max_handle": q.max_handle_seconds,
                "codes": list(q.resolving_dispositions),
            }
            for q in queues
        ]
    )


def _otf_order(row: OtfRow) -> tuple[int, str, str, bool, str]:
    level = {"queue": 0, "agent": 1, "kind": 2}[row.level]
    return (level, row.queue, row.agent or "", row.kind is None, row.kind or "")


async def otf_report(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    queues: Iterable[QueueConfig],
    *,
    as_of: datetime,
    short_abandon_seconds: float = 5.0,
) -> list[OtfRow]:
    """OTF and FCR per queue, per agent and per queue and disposition kind (docs/kpis.md, "OTF and FCR"),
    for the interactions that arrived in [start, end), as of ``as_of``: a verdict whose call is open or
    whose repeat-contact window is not over by then is counted as pending. Rows in ``acd.core.otf.otf_rows``'s
    order. Queues not in ``queues`` (removed from the config) are left out."""
    params = {
        "start": start,
        "end": end,
        "as_of": as_of,
        "short": short_abandon_seconds,
        "criteria": otf_criteria(queues),
    }
    async with engine.connect() as conn:
        rows = (await conn.execute(_OTF_SQL, params)).mappings().all()
    out = [
        OtfRow(r["level"], r["queue"], r["agent"], (r["kind"] or None) if r["level"] == "kind" else None, otf_count(r))
        for r in rows
    ]
    return sorted(out, key=_otf_order)


def otf_count(r: Mapping[Any, Any]) -> OtfCount:
    """One row of ``_OTF_SQL`` (``otf_report``, ``otf_settling_rows``) as its OTF and FCR counts."""
    return OtfCount(
        settled=r["settled"],
        on_time=r["on_time"],
        full=r["full_"],
        otf=r["otf"],
        handled=r["handled"],
        pending=r["pending"],
        otf_ratio=ratio(r["otf"], r["settled"]),
        fcr=ratio(r["full_"], r["handled"]),
    )


async def otf_settled_in(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    queues: Iterable[QueueConfig],
    *,
    short_abandon_seconds: float = 5.0,
) -> dict[str, tuple[int, int]]:
    """Per queue, the verdicts that settled in [start, end] and of them OTF, whenever their calls arrived
    (docs/kpis.md, "OTF and FCR": the day a verdict counts on live, ``acd.core.otf.OtfLedger``); the
    wallboard's OTF today seeded at a start. Queues not in ``queues`` are left out."""
    queues = tuple(queues)
    window = max((q.otf.repeat_window_seconds for q in queues), default=0.0)
    params = {
        "start": start,
        "end": end,
        "as_of": end,
        "reach": start - timedelta(seconds=max(window, 0.0) + LONGEST_STAY_SECONDS),
        "short": short_abandon_seconds,
        "criteria": otf_criteria(queues),
    }
    async with engine.connect() as conn:
        rows = (await conn.execute(_OTF_SETTLED_SQL, params)).mappings().all()
    return {r["queue"]: (int(r["settled"]), int(r["otf"])) for r in rows if r["level"] == "queue"}


async def otf_settling_rows(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    queues: Iterable[QueueConfig],
    *,
    as_of: datetime,
    short_abandon_seconds: float = 5.0,
    agents: Iterable[str] | None = None,
) -> list[Mapping[str, Any]]:
    """``otf_report``'s rows with the pending counts, for ``settling_of``: read once for every objective of
    the same period (each then takes its own queues or agents). ``agents``: the agent rows of those only
    (the calls they answered; a scorecard's), and no queue nor kind rows."""
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "as_of": as_of,
        "short": short_abandon_seconds,
        "criteria": otf_criteria(queues),
    }
    if agents is not None:
        params["agents"] = sorted(agents)
    async with engine.connect() as conn:
        rows = (await conn.execute(_OTF_SQL if agents is None else _OTF_AGENTS_SQL, params)).mappings().all()
    return [dict(r) for r in rows if agents is None or r["level"] == "agent"]


def settling_of(rows: Iterable[Mapping[str, Any]], level: str, members: Iterable[str]) -> Settling:
    """OTF and FCR of the rows of ``level`` ("queue" or "agent") for ``members`` together, with the handled
    interactions still pending as known so far (an objective's projection)."""
    chosen = set(members)
    mine = [r for r in rows if r["level"] == level and (r["queue"] if level == "queue" else r["agent"]) in chosen]

    def total(column: str) -> int:
        return sum(int(r[column]) for r in mine)

    return Settling(
        settled=total("settled"),
        otf=total("otf"),
        handled=total("handled"),
        full=total("full_"),
        pending=total("pending_handled"),
        pending_otf=total("pending_otf"),
        pending_full=total("pending_full"),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class OpenCalls:
    """Calls of a period still open when the report ran (docs/kpis.md, "Calls still open in a report")."""

    waiting: int  # in the queue (or ringing), no outcome yet: not offered, not in SL
    handling: int  # answered, talk or wrap-up not over: answered, but not in AHT nor dispositions

    @property
    def total(self) -> int:
        return self.waiting + self.handling


_OPEN_SQL = text("""
SELECT queue,
       count(*) FILTER (WHERE answered_at IS NULL AND outcome IS NULL) AS waiting,
       count(*) FILTER (WHERE answered_at IS NOT NULL AND (talk_seconds IS NULL OR wrapup_seconds IS NULL)) AS handling
FROM interactions
WHERE arrived_at >= :start AND arrived_at < :end
  AND ((answered_at IS NULL AND outcome IS NULL)
       OR (answered_at IS NOT NULL AND (talk_seconds IS NULL OR wrapup_seconds IS NULL)))
GROUP BY queue ORDER BY queue
""")


async def open_calls(engine: AsyncEngine, start: datetime, end: datetime) -> dict[str, OpenCalls]:
    """Per queue, the calls enqueued in [start, end) that are still open; queues with none are left out."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_OPEN_SQL, {"start": start, "end": end})).mappings().all()
    return {r["queue"]: OpenCalls(r["waiting"], r["handling"]) for r in rows}


def open_calls_note(found: dict[str, OpenCalls]) -> str | None:
    """The line a report prints when its period holds open calls; None when it holds none."""
    if not found:
        return None
    waiting = sum(o.waiting for o in found.values())
    handling = sum(o.handling for o in found.values())
    queues = ", ".join(f"{q} {o.total}" for q, o in sorted(found.items()))
    return (
        f"note: {waiting + handling} call(s) of this period are still open ({queues}): {waiting} waiting, "
        f"not yet offered; {handling} answered with talk or wrap-up not over, not yet in AHT"
    )
