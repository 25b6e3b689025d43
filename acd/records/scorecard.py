"""Agent scorecards: one agent's work over a period, from the records.

A supervisor coaches from it and the agent sees their own on the desk. The figures are those of
docs/kpis.md ("Agent scorecard"): the agent's answered and handled calls (by enqueue time, as the
queue report counts them), their handle time split into talk and wrap-up, the offers they missed or
rejected, their pause time per reason and occupancy (state intervals clipped to the period), and
their calls per disposition. Hold is not recorded apart (it is part of talk, docs/kpis.md "AHT"),
so a scorecard has no hold share. Its OTF is the OTF report's per agent (``acd.records.report``, the same
query), and it is held to the objectives of the agent's team and the agent's own, each with the agent's
figure counted as an objective of the agent would count it (``acd.records.objectives.agent_checks``).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.config import AgentConfig, RoutingConfig
from acd.records.objectives import AgentCheck, agent_checks
from acd.records.report import AGENTS_FILTER, agent_report, otf_count, otf_settling_rows, ratio

_CALLS_SQL = text(
    """
SELECT agent_id AS agent,
       count(*) AS answered,
       count(*) FILTER (WHERE talk_seconds IS NOT NULL AND wrapup_seconds IS NOT NULL) AS handled,
       COALESCE(sum(talk_seconds) FILTER (WHERE wrapup_seconds IS NOT NULL), 0) AS talk,
       COALESCE(sum(wrapup_seconds) FILTER (WHERE talk_seconds IS NOT NULL), 0) AS wrapup,
       count(*) FILTER (WHERE talk_seconds IS NULL OR wrapup_seconds IS NULL) AS still_handling
FROM interactions
WHERE arrived_at >= :start AND arrived_at < :end AND answered_at IS NOT NULL AND agent_id IS NOT NULL AND {agents}
GROUP BY agent_id
""".replace("{agents}", AGENTS_FILTER)
)

# a fenced offer (an old leader's ring the PBX refused, docs/standby.md) rang nobody: no offer to the agent
_OFFERS_SQL = text(
    """
SELECT agent_id AS agent, count(*) AS offers,
       count(*) FILTER (WHERE result = 'unanswered') AS missed,
       count(*) FILTER (WHERE result = 'rejected') AS rejected,
       count(*) FILTER (WHERE result = 'failed') AS failed
FROM offers
WHERE offered_at >= :start AND offered_at < :end AND result IS DISTINCT FROM 'fenced' AND {agents}
GROUP BY agent_id
""".replace("{agents}", AGENTS_FILTER)
)

_PAUSES_SQL = text(
    """
SELECT agent_id AS agent, reason,
       sum(GREATEST(0, EXTRACT(EPOCH FROM
           LEAST(COALESCE(ended_at, :end), :end) - GREATEST(started_at, :start))))::float8 AS seconds
FROM agent_states
WHERE state = 'paused' AND started_at < :end AND (ended_at IS NULL OR ended_at > :start) AND {agents}
GROUP BY agent_id, reason ORDER BY agent_id, reason COLLATE "C"
""".replace("{agents}", AGENTS_FILTER)
)

_DISPOSITIONS_SQL = text(
    """
SELECT agent_id AS agent, COALESCE(disposition, '') AS code, count(*) AS calls
FROM interactions
WHERE arrived_at >= :start AND arrived_at < :end AND answered_at IS NOT NULL AND agent_id IS NOT NULL
  AND talk_seconds IS NOT NULL AND wrapup_seconds IS NOT NULL AND {agents}
GROUP BY agent_id, COALESCE(disposition, '') ORDER BY agent_id, COALESCE(disposition, '') COLLATE "C"
""".replace("{agents}", AGENTS_FILTER)
)


@dataclasses.dataclass(frozen=True, slots=True)
class Scorecard:
    agent: str
    answered: int
    handled: int
    aht: float | None
    talk_share: float | None  # of handle time (talk + wrap-up) over handled calls
    wrapup_share: float | None
    offers: int
    missed: int  # rang out unanswered
    rejected: int
    occupancy: float | None
    busy_seconds: float
    available_seconds: float
    paused_seconds: float
    pause_by_reason: dict[str, float]  # "" for a pause without a reason
    dispositions: dict[str, int]  # "" for handled calls without a code
    still_handling: int  # answered calls whose talk or wrap-up is not over: not in AHT nor dispositions
    otf: float | None  # OTF of the calls the agent answered: settled on time and full / settled
    otf_settled: int
    otf_met: int  # settled on time and full
    otf_pending: int  # verdicts not settled yet (repeat window open, call open): counted in neither
    team: str | None  # None: the agent belongs to no team (or is no longer configured)
    objectives: list[AgentCheck]  # the team's objectives and the agent's own, held to the agent's figures


async def scorecards(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    config: RoutingConfig,
    agents: frozenset[str] | None = None,
    *,
    as_of: datetime | None = None,
    zone: ZoneInfo | None = None,
) -> list[Scorecard]:
    """One scorecard per agent with calls, offers or states in [start, end) (``agents``: those only, and
    only theirs are read). OTF is judged as of ``as_of`` (default now) by the OTF criteria of ``config``'s
    queues; the teams and objectives are ``config``'s, an objective's ``dates`` local days of ``zone``
    (the objectives' zone, default UTC)."""
    as_of = as_of if as_of is not None else datetime.now(UTC)
    chosen = None if agents is None else sorted(agents)
    params = {"start": start, "end": end, "agents": chosen}
    short = config.policy.short_abandon_seconds
    report_rows = await agent_report(engine, start, end, chosen)
    base = {a.agent: a for a in report_rows}
    settling = await otf_settling_rows(
        engine, start, end, config.queues, as_of=as_of, short_abandon_seconds=short, agents=chosen
    )
    otf = {r["agent"]: otf_count(r) for r in settling if r["level"] == "agent"}
    configured = {a.id: a for a in config.agents}
    async with engine.connect() as conn:
        calls = {r["agent"]: r for r in (await conn.execute(_CALLS_SQL, params)).mappings()}
        offers = {r["agent"]: r for r in (await conn.execute(_OFFERS_SQL, params)).mappings()}
        pauses: dict[str, dict[str, float]] = {}
        for r in (await conn.execute(_PAUSES_SQL, params)).mappings():
            pauses.setdefault(r["agent"], {})[r["reason"]] = float(r["seconds"])
        codes: dict[str, dict[str, int]] = {}
        for r in (await conn.execute(_DISPOSITIONS_SQL, params)).mappings():
            codes.setdefault(r["agent"], {})[r["code"]] = r["calls"]
    shown = sorted({*base, *calls, *offers, *otf} if agents is None else {*base, *calls, *offers, *otf} & agents)
    checks = await agent_checks(
        engine,
        config.objectives,
        [configured[a] for a in shown if a in configured],
        config.queues,
        start,
        end,
        as_of,
        short,
        zone if zone is not None else ZoneInfo("UTC"),
        report_rows,
        settling,
    )
    cards = []
    for agent in shown:
        b, c, o, v = base.get(agent), calls.get(agent), offers.get(agent), otf.get(agent)
        known: AgentConfig | None = configured.get(agent)
        talk, wrapup = (float(c["talk"]), float(c["wrapup"])) if c else (0.0, 0.0)
        cards.append(
            Scorecard(
                agent=agent,
                answered=c["answered"] if c else 0,
                handled=c["handled"] if c else 0,
                aht=b.aht if b else None,
                talk_share=ratio(talk, talk + wrapup),
                wrapup_share=ratio(wrapup, talk + wrapup),
                offers=o["offers"] if o else 0,
                missed=o["missed"] if o else 0,
                rejected=o["rejected"] if o else 0,
                occupancy=b.occupancy if b else None,
                busy_seconds=b.busy_seconds if b else 0.0,
                available_seconds=b.available_seconds if b else 0.0,
                paused_seconds=b.paused_seconds if b else 0.0,
                pause_by_reason=pauses.get(agent, {}),
                dispositions=codes.get(agent, {}),
                still_handling=c["still_handling"] if c else 0,
                otf=v.otf_ratio if v else None,
                otf_settled=v.settled if v else 0,
                otf_met=v.otf if v else 0,
                otf_pending=v.pending if v else 0,
                team=(known.team or None) if known else None,
                objectives=checks.get(agent, []),
            )
        )
    return cards
