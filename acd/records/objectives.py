"""Objectives' attainment from the records: the period in the configured time zone, the metric's tally
by the reports' own SQL (``acd.records.report``), the projection and the status of ``acd.core.objectives``.

Read by ``acd report --objectives``, ``GET /api/v1/objectives`` and the ``acd_objective_*`` series, so the
three give the same attainment for the same records; an agent's scorecard holds the agent's own figure,
counted the same way, to their team's objectives (``agent_checks``). Rules: docs/kpis.md ("Objectives").
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.config import AgentConfig, QueueConfig
from acd.core.objectives import METRICS, Objective, Status, Tally, meets, project, settling_tallies, status
from acd.records.report import PER_AGENT_SQL, SCOPE_SQL, AgentKpis, agent_report, otf_settling_rows, settling_of


@dataclasses.dataclass(frozen=True, slots=True)
class Standing:
    """An objective as it stands at ``at``: the period so far, its attainment, projection and status."""

    objective: str
    metric: str
    comparison: str
    target: float
    scope: str
    members: tuple[str, ...]
    period: str
    start: datetime
    end: datetime
    attainment: float | None
    projection: float | None
    status: Status
    owner: str
    note: str

    def json(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)
        fields["members"] = list(self.members)
        fields["start"], fields["end"] = self.start.isoformat(), self.end.isoformat()
        return fields


def period_days(objective: Objective, today: date) -> tuple[date, date]:
    """The local days of the period containing ``today``: its first day and the day after its last.

    A week starts on Monday (ISO 8601); ``dates`` is the configured range whatever ``today`` is.
    """
    if objective.period == "day":
        return today, today + timedelta(days=1)
    if objective.period == "week":
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=7)
    if objective.period == "month":
        first = today.replace(day=1)
        return first, first + timedelta(days=calendar.monthrange(today.year, today.month)[1])
    return date.fromisoformat(objective.first), date.fromisoformat(objective.last) + timedelta(days=1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of ``day`` (a DST change never falls on midnight in the tz database's zones but
    one; ``fold=0`` takes the first of an ambiguous hour and zoneinfo shifts a missing one forward)."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)  # UTC: differences in real seconds


def period_bounds(objective: Objective, at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The period containing ``at`` (aware) as instants: from its first local midnight to the one after
    its last day, so a day around a DST change is 23 or 25 hours long."""
    first, after = period_days(objective, at.astimezone(zone).date())
    return _midnight(first, zone), _midnight(after, zone)


def members(objective: Objective, agents: Iterable[AgentConfig]) -> tuple[str, ...]:
    """The queues or agents the objective counts: a team stands for its agents."""
    if objective.scope == "team":
        team = objective.members[0]
        return tuple(sorted(a.id for a in agents if a.team == team))
    return objective.members


async def tally(
    engine: AsyncEngine,
    objective: Objective,
    agents: Iterable[AgentConfig],
    start: datetime,
    end: datetime,
    short_abandon_seconds: float,
    agent_rows: Iterable[AgentKpis] | None = None,
) -> Tally:
    """The metric's numerator and denominator over [start, end) for the objective's scope.
    ``agent_rows``: ``agent_report``'s rows of the same period, when the caller has read them already."""
    who = list(members(objective, agents))
    metric = objective.metric
    if METRICS[metric].settles:
        raise ValueError(f"{metric!r} settles: use settling_tally")
    if metric == "occupancy":
        read = await agent_report(engine, start, end) if agent_rows is None else agent_rows
        rows = [a for a in read if a.agent in who]
        busy = sum(a.busy_seconds for a in rows)
        return Tally(busy, busy + sum(a.available_seconds for a in rows))
    sql = SCOPE_SQL["queues" if objective.scope in ("queue", "queues") else "agents"]
    params = {"start": start, "end": end, "short": short_abandon_seconds, "members": who}
    async with engine.connect() as conn:
        r = (await conn.execute(sql, params)).mappings().one()
    return tally_of(metric, r)


def tally_of(metric: str, r: Mapping[Any, Any]) -> Tally:
    """The metric's tally from one row of ``acd.records.report.COUNTS`` (``SCOPE_SQL``, ``PER_AGENT_SQL``)."""
    base = float(r["offered"] - r["short_abandoned"])
    if metric == "service_level":
        return Tally(float(r["answered_within_sla"]), base)
    if metric == "abandonment":
        return Tally(float(r["abandoned"] - r["short_abandoned"]), base)
    if metric == "asa":
        return Tally(float(r["wait_answered"] or 0.0), float(r["answered"]))
    if metric == "aht":
        return Tally(float(r["handle_total"] or 0.0), float(r["handled"]))
    if metric == "wait_breaches":
        return Tally(float(r["wait_breaches"]))
    if metric == "handle_breaches":
        return Tally(float(r["handle_breaches"]))
    raise ValueError(f"no tally for metric {metric!r}")


# The OTF report's rows of one period, judged at one moment: read once per refresh for every OTF or FCR
# objective of that period (``standings``), not once per objective.
SettlingRows = dict[tuple[datetime, datetime], list[Mapping[str, Any]]]


async def settling_tally(
    engine: AsyncEngine,
    objective: Objective,
    agents: Iterable[AgentConfig],
    queues: Iterable[QueueConfig],
    start: datetime,
    until: datetime,
    at: datetime,
    short_abandon_seconds: float,
    read: SettlingRows | None = None,
) -> tuple[Tally, Tally]:
    """OTF or FCR of the interactions that arrived in [start, until), judged as of ``at`` by the OTF
    report's SQL: the attainment's tally (settled verdicts) and the projection's (pending ones added as
    known so far); ``acd.core.objectives.settling_tallies``. ``read``: the rows already read this refresh."""
    by_queue = objective.scope in ("queue", "queues")
    read = {} if read is None else read
    rows = read.get((start, until))
    if rows is None:
        rows = read[(start, until)] = await otf_settling_rows(
            engine, start, until, queues, as_of=at, short_abandon_seconds=short_abandon_seconds
        )
    counts = settling_of(rows, "queue" if by_queue else "agent", members(objective, agents))
    return settling_tallies(objective.metric, counts)


def settle_seconds(objective: Objective, queues: Iterable[QueueConfig]) -> float:
    """How long after its period an OTF or FCR objective's last verdicts settle: the longest
    repeat-contact window of its queues (of every queue for an agent or a team, who answer in any)."""
    if not METRICS[objective.metric].settles:
        return 0.0
    mine = [q for q in queues if objective.scope not in ("queue", "queues") or q.name in objective.members]
    return max((q.otf.repeat_window_seconds for q in mine), default=0.0)


async def standings(
    engine: AsyncEngine,
    objectives: Iterable[Objective],
    agents: Iterable[AgentConfig],
    zone: ZoneInfo,
    at: datetime,
    short_abandon_seconds: float = 5.0,
    forecasts: Mapping[str, float] | None = None,
    queues: Iterable[QueueConfig] = (),
) -> list[Standing]:
    """Every objective at ``at``. ``forecasts``: per queue, the Erlang C figure of a forecast metric
    (``service_level`` or ``asa``, keyed ``"<metric>:<queue>"``) for the queue as staffed now; only the live
    service has them, and only a one-queue objective uses them, for the rest of today."""
    agents = tuple(agents)
    queues = tuple(queues)
    read: SettlingRows = {}
    out = []
    for objective in objectives:
        start, end = period_bounds(objective, at, zone)
        until = min(max(at, start), end)
        kind = METRICS[objective.metric].kind
        if METRICS[objective.metric].settles:
            counted, ahead = await settling_tally(
                engine, objective, agents, queues, start, until, at, short_abandon_seconds, read
            )
        else:
            counted = ahead = await tally(engine, objective, agents, start, until, short_abandon_seconds)
        attainment = counted.value(kind)
        if kind == "count" and counted.numerator == 0 and until <= start:
            attainment = None
        forecast = None
        if forecasts and objective.scope == "queue":
            forecast = forecasts.get(f"{objective.metric}:{objective.members[0]}")
        today_end = _midnight(until.astimezone(zone).date() + timedelta(days=1), zone)
        projection = project(
            kind,
            ahead,
            (until - start).total_seconds(),
            (end - until).total_seconds(),
            forecast,
            (min(today_end, end) - until).total_seconds(),
        )
        out.append(
            Standing(
                objective=objective.name,
                metric=objective.metric,
                comparison=objective.comparison,
                target=objective.target,
                scope=objective.scope,
                members=objective.members,
                period=objective.period,
                start=start,
                end=end,
                attainment=attainment,
                projection=projection,
                status=status(
                    objective,
                    attainment,
                    projection,
                    over=at >= end + timedelta(seconds=settle_seconds(objective, queues)),
                ),
                owner=objective.owner,
                note=objective.note,
            )
        )
    return out


def concerns(objective: Objective, agent: AgentConfig) -> bool:
    """Whether the objective is the agent's team's (scope ``team``, the agent's team) or the agent's own
    (scope ``agent`` naming them): those an agent's scorecard is held to. An agent with no team has no
    team objectives."""
    if objective.scope == "team":
        return bool(agent.team) and objective.members[0] == agent.team
    return objective.scope == "agent" and agent.id in objective.members


@dataclasses.dataclass(frozen=True, slots=True)
class AgentCheck:
    """One objective held to one agent's own figure over a period (docs/kpis.md, "Agent scorecard")."""

    objective: str
    metric: str
    kind: str  # the metric's: "ratio", "seconds" or "count" (how the value and the target read)
    scope: str  # "team" or "agent"
    comparison: str
    target: float
    period: str  # the objective's own period (its attainment, the team's, is ``standings``'s)
    value: float | None  # the agent's figure of the metric; None: undefined (no call, no verdict settled)
    met: bool | None  # the value held to the target; None while the value is undefined


def in_period(objective: Objective, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
    """Whether a scorecard of [start, end) holds the agent to the objective: always, but an objective of
    ``dates`` whose range (local days in ``zone``) misses the period (docs/kpis.md, "Agent scorecard")."""
    if objective.period != "dates":
        return True
    first, after = period_bounds(objective, start, zone)
    return first < end and after > start


async def agent_checks(
    engine: AsyncEngine,
    objectives: Iterable[Objective],
    agents: Iterable[AgentConfig],
    queues: Iterable[QueueConfig],
    start: datetime,
    end: datetime,
    at: datetime,
    short_abandon_seconds: float,
    zone: ZoneInfo,
    agent_rows: Iterable[AgentKpis] | None = None,
    settling_rows: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, list[AgentCheck]]:
    """Per agent, the objectives that concern them (``concerns``, ``in_period``), each with the agent's own
    figure over [start, end) as an objective of scope ``agent`` would count it (``tally``, ``settling_tally``:
    OTF and FCR as of ``at``, settled verdicts only), compared with the target. One read per kind of
    figure for every agent together, not one per agent. ``agent_rows`` and ``settling_rows``: rows of the
    same period already read (``agent_report``'s, ``otf_settling_rows``'s, with these agents' rows)."""
    agents = tuple(agents)
    objectives = [o for o in objectives if in_period(o, start, end, zone)]
    mine = {a.id: [o for o in objectives if concerns(o, a)] for a in agents}
    wanted = {o.metric for found in mine.values() for o in found}
    who = sorted(a for a, found in mine.items() if found)
    occupancy: dict[str, Tally] = {}
    if "occupancy" in wanted:
        rows = await agent_report(engine, start, end, who) if agent_rows is None else agent_rows
        occupancy = {r.agent: Tally(r.busy_seconds, r.busy_seconds + r.available_seconds) for r in rows}
    settling: list[Mapping[str, Any]] = []
    if wanted & {m for m, metric in METRICS.items() if metric.settles}:
        settling = list(
            await otf_settling_rows(
                engine, start, end, queues, as_of=at, short_abandon_seconds=short_abandon_seconds, agents=who
            )
            if settling_rows is None
            else settling_rows
        )
    counts: dict[str, Mapping[Any, Any]] = {}
    if wanted - {"occupancy", "otf", "fcr"}:
        params = {"start": start, "end": end, "short": short_abandon_seconds, "members": who}
        async with engine.connect() as conn:
            counts = {r["agent"]: r for r in (await conn.execute(PER_AGENT_SQL, params)).mappings()}

    def figure(agent: str, name: str) -> float | None:
        metric = METRICS[name]
        if metric.settles:
            counted = settling_tallies(name, settling_of(settling, "agent", (agent,)))[0]
        elif name == "occupancy":
            counted = occupancy.get(agent, Tally(0.0))
        else:
            row = counts.get(agent)
            if row is None or (metric.kind == "count" and not row["handled"]):
                return None  # a count is undefined while the agent handled no call
            counted = tally_of(name, row)
        return counted.value(metric.kind)

    out: dict[str, list[AgentCheck]] = {}
    for agent, found in mine.items():
        figures: dict[str, float | None] = {}  # per metric: two objectives of one metric count the same calls
        checks = out[agent] = []
        for objective in found:
            if objective.metric not in figures:
                figures[objective.metric] = figure(agent, objective.metric)
            value = figures[objective.metric]
            checks.append(
                AgentCheck(
                    objective=objective.name,
                    metric=objective.metric,
                    kind=METRICS[objective.metric].kind,
                    scope=objective.scope,
                    comparison=objective.comparison,
                    target=objective.target,
                    period=objective.period,
                    value=value,
                    met=None if value is None else meets(objective.comparison, value, objective.target),
                )
            )
    return out
