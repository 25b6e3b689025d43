"""Objectives (KPOs) and teams on a real PostgreSQL: configured through /api/v1 (roles, scopes, revisions,
audit), and the API, ``acd report --objectives`` and the ``acd_objective_*`` series give the attainment
the reports' SQL gives for the same records (docs/kpis.md, "Objectives")."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_v1_harness import V1, api_pg, v1  # noqa: F401
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.http.v1 import PREFIX
from acd.jobs import publish_objectives
from acd.records.report import agent_report, otf_report, queue_report
from acd.records.startup.embedded import EmbeddedPostgres

pytestmark = pytest.mark.pg

DAY = datetime(2026, 11, 27, tzinfo=UTC)
DATES = {"period": "dates", "from": "2026-11-27", "to": "2026-11-27"}
# (queue, agent or None, outcome, wait, talk, wrap-up) on 2026-11-27 from 09:00 UTC, a minute apart;
# billing's threshold is 15 s, its max handle 600 s (the defaults), short abandon 5 s
CALLS = [
    ("billing", "a1", "answered", 4, 100, 20),
    ("billing", "a1", "answered", 30, 700, 10),  # answered late, handle breach
    ("billing", "a2", "answered", 10, 200, 30),
    ("billing", None, "abandoned", 40, None, None),
    ("billing", None, "abandoned", 2, None, None),  # short
    ("sales", "s1", "answered", 3, 60, 0),
]


async def call(v1: V1, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:  # noqa: F811
    response = await v1.client.request(method, PREFIX + path, headers=v1.auth(who), json=body)
    return response.status, await response.json()


async def add_calls(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for index, (queue, agent, outcome, wait, talk, wrapup) in enumerate(CALLS):
            arrived = DAY + timedelta(hours=9, minutes=index)
            answered = arrived + timedelta(seconds=wait) if outcome == "answered" else None
            await conn.execute(
                text("""
                INSERT INTO interactions (id, seq, caller, queue, priority, arrived_at, answered_at, ended_at,
                  outcome, agent_id, wait_seconds, talk_seconds, wrapup_seconds, sla_threshold_seconds)
                VALUES (:id, 1, :caller, :queue, 5, :arrived, :answered, :ended, :outcome, :agent, :wait,
                  :talk, :wrapup, 15)"""),
                {
                    "id": uuid.uuid4(),
                    "caller": f"555{index}",
                    "queue": queue,
                    "arrived": arrived,
                    "answered": answered,
                    "ended": arrived + timedelta(minutes=20),
                    "outcome": outcome,
                    "agent": agent,
                    "wait": wait,
                    "talk": talk,
                    "wrapup": wrapup,
                },
            )
        for agent, state, start, minutes in (("a1", "ready", 8, 30), ("a1", "on_call", 9, 30), ("a2", "ready", 9, 60)):
            begun = DAY + timedelta(hours=start)
            await conn.execute(
                text(
                    "INSERT INTO agent_states (id, seq, agent_id, state, started_at, ended_at) VALUES (:id, 1, :a, :s, :b, :e)"
                ),
                {"id": uuid.uuid4(), "a": agent, "s": state, "b": begun, "e": begun + timedelta(minutes=minutes)},
            )


OBJECTIVES = {
    "billing-sl": {"metric": "service_level", "comparison": ">=", "target": 0.8, "queue": "billing", **DATES},
    "front-asa": {"metric": "asa", "comparison": "<=", "target": 20, "queues": ["billing", "sales"], **DATES},
    "billing-breaches": {"metric": "handle_breaches", "comparison": "<=", "target": 2, "queue": "billing", **DATES},
    "north-aht": {"metric": "aht", "comparison": "<=", "target": 300, "team": "north", **DATES},
    "north-occupancy": {"metric": "occupancy", "comparison": ">=", "target": 0.3, "team": "north", **DATES},
}


async def test_objectives_through_the_api_agree_with_the_reports(
    v1: V1,  # noqa: F811
    api_pg: EmbeddedPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    await add_calls(v1.engine)
    # teams: a1 and a2 join "north" through the agents' API (an admin, and a billing supervisor for a2)
    assert (await call(v1, "PATCH", "/agents/a1", "admin", {"team": "north"}))[0] == 200
    status, body = await call(v1, "PATCH", "/agents/a2", "billing", {"team": "north"})
    assert (status, body["agent"]["team"]) == (200, "north")
    assert (await call(v1, "PATCH", "/agents/a2", "admin", {"team": "no rth"}))[0] == 400

    for name, fields in OBJECTIVES.items():
        status, body = await call(v1, "POST", "/objectives", "admin", {"name": name, **fields, "owner": "Grace"})
        assert status == 201, body
    # the file's checks: an unknown team, a metric not defined for the scope
    status, body = await call(
        v1, "POST", "/objectives", "admin", {"name": "x", **OBJECTIVES["north-aht"], "team": "south"}
    )
    assert status == 400 and "objectives.x.team" in body["details"]["fields"], body
    bad = {"name": "x", "metric": "occupancy", "comparison": ">=", "target": 0.5, "queue": "billing"}
    assert (await call(v1, "POST", "/objectives", "admin", bad))[0] == 400
    # a supervisor: their queues only; agents: not at all
    sales = {"name": "sales-sl", "metric": "service_level", "comparison": ">=", "target": 0.8, "queue": "sales"}
    assert (await call(v1, "POST", "/objectives", "billing", sales))[0] == 403
    assert (await call(v1, "GET", "/objectives", "a1"))[0] == 403
    status, body = await call(v1, "PATCH", "/objectives/billing-sl", "billing", {"target": 0.75})
    assert (status, body["objective"]["target"]) == (200, 0.75)
    assert (await call(v1, "PATCH", "/objectives/billing-sl", "billing", {"queue": "sales"}))[0] == 403
    assert (await call(v1, "DELETE", "/objectives/front-asa", "billing"))[0] == 403  # sales is not theirs

    status, body = await call(v1, "GET", "/objectives", "admin")
    assert status == 200
    api = {o["name"]: o["standing"] for o in body["objectives"]}
    assert set(api) == set(OBJECTIVES)
    status, body = await call(v1, "GET", "/objectives", "billing")
    seen = {o["name"] for o in body["objectives"]}
    assert seen == {"billing-sl", "billing-breaches", "north-aht", "north-occupancy"}  # not front-asa (sales)

    # the reports' figures for the same day, and by hand
    end = DAY + timedelta(days=1)
    queues = await queue_report(v1.engine, DAY, end, 5.0)
    billing = queues["billing"]
    assert billing.service_level == pytest.approx(2 / 4)  # 4 s and 10 s within 15 s; 5 offered less 1 short
    assert api["billing-sl"]["attainment"] == pytest.approx(billing.service_level)
    assert api["billing-sl"]["status"] == "missed"  # 0.5 < 0.75, the period is over
    assert api["billing-breaches"]["attainment"] == billing.handle_breaches == 1
    assert api["billing-breaches"]["status"] == "met"
    assert api["front-asa"]["attainment"] == pytest.approx((4 + 30 + 10 + 3) / 4)
    assert api["north-aht"]["attainment"] == pytest.approx((120 + 710 + 230) / 3)
    assert api["north-aht"]["status"] == "missed"
    agents = {a.agent: a for a in await agent_report(v1.engine, DAY, end)}
    busy = agents["a1"].busy_seconds + agents["a2"].busy_seconds
    occupancy = busy / (busy + agents["a1"].available_seconds + agents["a2"].available_seconds)
    assert occupancy == pytest.approx(1800 / (1800 + 1800 + 3600))
    assert api["north-occupancy"]["attainment"] == pytest.approx(occupancy)
    assert api["north-occupancy"]["start"] == DAY.isoformat()

    # acd report --objectives: the revision in force, the same figures
    config = tmp_path / "acd.toml"
    config.write_text(
        'skills = ["billing"]\n[queues.billing]\nskills = { billing = 1 }\n[agents.z]\nskills = { billing = 1 }\n'
    )
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "acd",
        "report",
        "--objectives",
        "-c",
        str(config),
        "--format",
        "json",
        "--database-url",
        api_pg.url,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await done.communicate()
    assert done.returncode == 0
    cli = {row["objective"]: row for row in json.loads(out)}
    for name, standing in api.items():
        assert (cli[name]["attainment"], cli[name]["status"]) == (standing["attainment"], standing["status"]), name

    # the live series: the same attainment, target and status
    assert v1.parts is not None
    await publish_objectives(v1.parts, v1.engine, ZoneInfo("UTC"))
    figures = v1.parts.metrics.objectives.figures
    assert figures["billing-sl"].attainment == pytest.approx(billing.service_level)
    assert figures["billing-sl"].target == 0.75
    assert {n: f.status for n, f in figures.items()} == {n: s["status"] for n, s in api.items()}
    response = await v1.client.get("/metrics", headers={"Authorization": "Bearer harness-scrape-token-0123456789"})
    scraped = await response.text()
    assert 'acd_objective_status{objective="billing-sl",status="missed"} 1.0' in scraped
    assert (
        f'acd_objective_attainment{{metric="service_level",objective="billing-sl"}} {billing.service_level}' in scraped
    )

    # deleting, audited and revised like the routing config
    assert (await call(v1, "DELETE", "/objectives/billing-sl", "billing"))[0] == 200
    assert (await call(v1, "GET", "/objectives/billing-sl", "admin"))[0] == 404
    async with v1.engine.connect() as conn:
        actions = [r[0] for r in await conn.execute(text("SELECT action FROM config_revisions ORDER BY revision"))]
        audited = {r[0] for r in await conn.execute(text("SELECT action FROM audit_log"))}
    assert actions.count("objective.create") == len(OBJECTIVES)
    assert actions[-1] == "objective.delete"
    assert {"objective.create", "objective.update", "objective.delete"} <= audited


# (minutes after 09:00 of DAY, or seconds before now in TODAY_CALLS; agent, outcome, wait, talk, wrap-up,
# disposition, caller), all in billing: T 15 s, max handle 600 s, repeat window 24 h, the default catalogue
OtfCall = tuple[int, str | None, str, int, int | None, int | None, str | None, str]
OTF_CALLS: list[OtfCall] = [
    (0, "a1", "answered", 4, 100, 20, "inquiry/account", "100"),  # on time and full
    (1, "a1", "answered", 30, 100, 10, "inquiry/account", "101"),  # late: full, not on time
    (2, "a2", "answered", 10, 200, 30, "complaint/billing", "102"),  # on time, not resolving
    (3, "a2", "answered", 5, 60, 10, "inquiry/status", "103"),  # on time, resolving, then called again:
    (30, None, "abandoned", 40, None, None, None, "103"),  # the repeat (and offered work not delivered)
    (31, None, "abandoned", 2, None, None, None, "104"),  # short: not counted
]
TODAY_CALLS: list[OtfCall] = [  # every answered one still in its repeat window: pending
    (180, "a1", "answered", 3, 60, 10, "inquiry/account", "200"),
    (170, "a1", "answered", 40, 60, 10, "inquiry/account", "201"),
    (160, None, "abandoned", 30, None, None, None, "202"),  # settled at once
]


async def add_otf_calls(engine: AsyncEngine, now: datetime) -> None:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = [(DAY + timedelta(hours=9, minutes=c[0]), c) for c in OTF_CALLS]
    rows += [(max(now - timedelta(seconds=c[0]), midnight + timedelta(seconds=200 - c[0])), c) for c in TODAY_CALLS]
    async with engine.begin() as conn:
        for arrived, (_, agent, outcome, wait, talk, wrapup, disposition, caller) in rows:
            answered = arrived + timedelta(seconds=wait) if outcome == "answered" else None
            ended = (
                answered + timedelta(seconds=talk or 0) if answered is not None else arrived + timedelta(seconds=wait)
            )
            await conn.execute(
                text("""
                INSERT INTO interactions (id, seq, caller, queue, priority, arrived_at, answered_at, ended_at,
                  outcome, agent_id, wait_seconds, talk_seconds, wrapup_seconds, sla_threshold_seconds, disposition)
                VALUES (:id, 1, :caller, 'billing', 5, :arrived, :answered, :ended, :outcome, :agent, :wait,
                  :talk, :wrapup, 15, :disposition)"""),
                {
                    "id": uuid.uuid4(),
                    "caller": caller,
                    "arrived": arrived,
                    "answered": answered,
                    "ended": ended,
                    "outcome": outcome,
                    "agent": agent,
                    "wait": wait,
                    "talk": talk,
                    "wrapup": wrapup,
                    "disposition": disposition,
                },
            )


OTF_OBJECTIVES = {
    "billing-otf": {"metric": "otf", "comparison": ">=", "target": 0.2, "queue": "billing", **DATES},
    "billing-fcr": {"metric": "fcr", "comparison": ">=", "target": 0.6, "queue": "billing", **DATES},
    "north-otf": {"metric": "otf", "comparison": ">=", "target": 0.5, "team": "north", **DATES},
    "a2-fcr": {"metric": "fcr", "comparison": ">=", "target": 0.5, "agent": "a2", **DATES},
    "billing-otf-today": {"metric": "otf", "comparison": ">=", "target": 0.8, "queue": "billing", "period": "day"},
    "billing-fcr-today": {"metric": "fcr", "comparison": ">=", "target": 0.7, "queue": "billing", "period": "day"},
}


async def test_otf_and_fcr_objectives_agree_with_the_otf_report(
    v1: V1,  # noqa: F811
    api_pg: EmbeddedPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    await add_otf_calls(v1.engine, now)
    for agent in ("a1", "a2"):
        assert (await call(v1, "PATCH", f"/agents/{agent}", "admin", {"team": "north"}))[0] == 200
    for name, fields in OTF_OBJECTIVES.items():
        status, body = await call(v1, "POST", "/objectives", "admin", {"name": name, **fields})
        assert status == 201, body
    status, body = await call(v1, "GET", "/objectives", "admin")
    assert status == 200
    api = {o["name"]: o["standing"] for o in body["objectives"]}

    # the OTF report's rows for the same day, judged now (every window long over), and by hand
    assert v1.parts is not None
    queues = v1.parts.core.config.queues
    rows = await otf_report(v1.engine, DAY, DAY + timedelta(days=1), queues, as_of=now)
    billing = next(r.counts for r in rows if r.level == "queue" and r.queue == "billing")
    assert (billing.settled, billing.otf, billing.handled, billing.full) == (5, 1, 4, 2)
    assert api["billing-otf"]["attainment"] == pytest.approx(billing.otf_ratio) == pytest.approx(1 / 5)
    assert api["billing-fcr"]["attainment"] == pytest.approx(billing.fcr) == pytest.approx(2 / 4)
    agents = {r.agent: r.counts for r in rows if r.level == "agent"}
    north = (agents["a1"].otf + agents["a2"].otf) / (agents["a1"].settled + agents["a2"].settled)
    assert api["north-otf"]["attainment"] == pytest.approx(north) == pytest.approx(1 / 4)
    assert api["a2-fcr"]["attainment"] == pytest.approx(agents["a2"].fcr) == pytest.approx(0 / 2)
    assert {n: api[n]["status"] for n in ("billing-otf", "billing-fcr", "north-otf", "a2-fcr")} == {
        "billing-otf": "met",
        "billing-fcr": "missed",
        "north-otf": "missed",
        "a2-fcr": "missed",
    }
    # today: the answered calls are pending (their 24 h window is open), only the abandon is settled;
    # the attainment is the settled figure, the projection adds the pending ones as known so far
    today = next(
        r.counts
        for r in await otf_report(v1.engine, DAY + timedelta(days=2), now + timedelta(seconds=1), queues, as_of=now)
        if r.level == "queue"
    )
    assert (today.settled, today.otf, today.pending) == (1, 0, 2)
    assert api["billing-otf-today"]["attainment"] == 0.0
    assert api["billing-otf-today"]["projection"] == pytest.approx(1 / 3)
    assert api["billing-otf-today"]["status"] == "at_risk"
    assert api["billing-fcr-today"]["attainment"] is None  # no handled call settled yet
    assert api["billing-fcr-today"]["projection"] == pytest.approx(1.0)
    assert api["billing-fcr-today"]["status"] == "on_track"

    # acd report --objectives and the live series: the same figures
    config = tmp_path / "acd.toml"
    config.write_text(
        'skills = ["billing"]\n[queues.billing]\nskills = { billing = 1 }\n[agents.z]\nskills = { billing = 1 }\n'
    )
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "acd",
        "report",
        "--objectives",
        "-c",
        str(config),
        "--format",
        "json",
        "--database-url",
        api_pg.url,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await done.communicate()
    assert done.returncode == 0
    cli = {row["objective"]: row for row in json.loads(out)}
    otf_reads: list[str] = []

    def read(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "jsonb_to_recordset" in statement:
            otf_reads.append(statement)

    event.listen(v1.engine.sync_engine, "before_cursor_execute", read)
    try:
        await publish_objectives(v1.parts, v1.engine, ZoneInfo("UTC"))
    finally:
        event.remove(v1.engine.sync_engine, "before_cursor_execute", read)
    # six OTF and FCR objectives over two periods: the settling counts read once per period, not per objective
    assert len(otf_reads) == 2
    figures = v1.parts.metrics.objectives.figures
    for name, standing in api.items():
        assert (cli[name]["attainment"], cli[name]["status"]) == (standing["attainment"], standing["status"]), name
        assert (figures[name].attainment, figures[name].status) == (standing["attainment"], standing["status"]), name
    response = await v1.client.get("/metrics", headers={"Authorization": "Bearer harness-scrape-token-0123456789"})
    scraped = await response.text()
    assert 'acd_objective_status{objective="billing-otf-today",status="at_risk"} 1.0' in scraped
    assert 'acd_objective_attainment{metric="otf",objective="billing-otf"} 0.2' in scraped


SCORECARD_OBJECTIVES = {
    "north-otf": {"metric": "otf", "comparison": ">=", "target": 0.5, "team": "north", **DATES},
    "north-aht": {"metric": "aht", "comparison": "<=", "target": 100, "team": "north", "period": "week"},
    "north-occupancy": {"metric": "occupancy", "comparison": ">=", "target": 0.3, "team": "north", **DATES},
    "a1-fcr": {"metric": "fcr", "comparison": ">=", "target": 0.9, "agent": "a1", **DATES},
    "south-aht": {"metric": "aht", "comparison": "<=", "target": 300, "team": "south", **DATES},  # not a1's
    "billing-otf": {"metric": "otf", "comparison": ">=", "target": 0.2, "queue": "billing", **DATES},  # a queue's
}


async def test_the_agent_scorecard_has_otf_and_the_team_objectives(
    v1: V1,  # noqa: F811
    api_pg: EmbeddedPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    """docs/kpis.md, "Agent scorecard": the agent's OTF (the OTF report's per agent) and each objective of
    the agent's team and the agent's own, held to the agent's figure over the scorecard's period."""
    now = datetime.now(UTC)
    await add_otf_calls(v1.engine, now)
    # a1 is in "north", a2 in no team, s1 in "south"
    assert (await call(v1, "PATCH", "/agents/a1", "admin", {"team": "north"}))[0] == 200
    assert (await call(v1, "PATCH", "/agents/s1", "admin", {"team": "south"}))[0] == 200
    for name, fields in SCORECARD_OBJECTIVES.items():
        status, body = await call(v1, "POST", "/objectives", "admin", {"name": name, **fields})
        assert status == 201, body
    day = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}
    otf_reads: list[str] = []

    def read(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "jsonb_to_recordset" in statement:
            otf_reads.append(statement)

    event.listen(v1.engine.sync_engine, "before_cursor_execute", read)
    try:
        status, body = await v1.get("/reports/agents", "admin", **day)
    finally:
        event.remove(v1.engine.sync_engine, "before_cursor_execute", read)
    assert status == 200, body
    assert len(otf_reads) == 1  # the scorecards' OTF and the OTF and FCR objectives: one read of the verdicts
    cards = {c["agent"]: c for c in body["scorecards"]}
    assert set(cards) == {"a1", "a2"}

    # OTF by hand (OTF_CALLS): a1's two calls are full, one on time; a2's two are on time, neither full
    # (a complaint; a resolved inquiry called again); and the OTF report's per-agent rows say the same
    assert v1.parts is not None
    rows = await otf_report(v1.engine, DAY, DAY + timedelta(days=1), v1.parts.core.config.queues, as_of=now)
    by_agent = {r.agent: r.counts for r in rows if r.level == "agent"}
    a1, a2 = cards["a1"], cards["a2"]
    assert (a1["otf"], a1["otf_settled"], a1["otf_met"], a1["otf_pending"]) == (0.5, 2, 1, 0)
    assert (a2["otf"], a2["otf_settled"], a2["otf_met"], a2["otf_pending"]) == (0.0, 2, 0, 0)
    assert a1["otf"] == by_agent["a1"].otf_ratio and a2["otf"] == by_agent["a2"].otf_ratio

    # a1 against north's objectives and their own, by name; not south's, not a queue's
    assert a1["team"] == "north"
    checks = {c["objective"]: c for c in a1["objectives"]}
    assert list(checks) == ["a1-fcr", "north-aht", "north-occupancy", "north-otf"]
    assert checks["north-otf"] == {
        "objective": "north-otf",
        "metric": "otf",
        "kind": "ratio",
        "scope": "team",
        "comparison": ">=",
        "target": 0.5,
        "period": "dates",
        "value": 0.5,
        "met": True,
    }
    assert (checks["north-aht"]["value"], checks["north-aht"]["met"]) == (pytest.approx((120 + 110) / 2), False)
    assert checks["north-aht"]["period"] == "week"  # the agent's figure is over the scorecard's period
    assert (checks["north-occupancy"]["value"], checks["north-occupancy"]["met"]) == (None, None)  # no agent time
    assert (checks["a1-fcr"]["scope"], checks["a1-fcr"]["value"], checks["a1-fcr"]["met"]) == ("agent", 1.0, True)
    # a2 is in no team and has no objective of their own: none, and the team says so
    assert (a2["team"], a2["objectives"]) == (None, [])

    # today: a1's two answered calls are in their repeat window, so OTF is undefined with 2 pending
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)  # TODAY_CALLS: at least 20 s after it
    today = {"from": midnight.isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    status, body = await v1.get("/reports/agents", "a1", **today)
    assert status == 200, body
    [mine] = body["scorecards"]
    assert (mine["agent"], mine["otf"], mine["otf_settled"], mine["otf_pending"]) == ("a1", None, 0, 2)
    # the objectives of DAY's dates miss today: none held to today's figures; the week's is
    assert [c["objective"] for c in mine["objectives"]] == ["north-aht"]

    # roles: an agent reads their own only; a supervisor the agents of their queues; s1 (sales) not a1.
    # The desk's read (an agent's own) judges the calls the agent answered only, with the same verdicts
    otf_reads.clear()
    event.listen(v1.engine.sync_engine, "before_cursor_execute", read)
    try:
        status, body = await v1.get("/reports/agents", "a1", **day)
    finally:
        event.remove(v1.engine.sync_engine, "before_cursor_execute", read)
    assert status == 200 and [c["agent"] for c in body["scorecards"]] == ["a1"]
    assert len(otf_reads) == 1 and "i.agent_id = ANY(" in otf_reads[0]
    assert {k: body["scorecards"][0][k] for k in a1 if k.startswith("otf")} == {
        k: a1[k] for k in a1 if k.startswith("otf")
    }
    assert [c["objective"] for c in body["scorecards"][0]["objectives"]] == list(checks)
    assert (await v1.get("/reports/agents", "a1", agent="a2", **day))[0] == 403
    status, body = await v1.get("/reports/agents", "billing", **day)
    assert status == 200 and [c["agent"] for c in body["scorecards"]] == ["a1", "a2"]
    assert body["scorecards"][0]["objectives"] == a1["objectives"]
    assert (await v1.get("/reports/agents", "s1", agent="a1", **day))[0] == 403

    # acd report --by agent: the same figures, from the config revision in force (its teams, objectives and
    # OTF criteria), not the file's (whose billing does not hold OTF to the answer): --by otf alike
    config = tmp_path / "acd.toml"
    config.write_text(
        'skills = ["billing"]\n[queues.billing]\nskills = { billing = 1 }\n[queues.billing.otf]\nanswer = false\n'
        "[agents.z]\nskills = { billing = 1 }\n"
    )

    async def report(*extra: str, by: str = "agent") -> tuple[int, str, str]:
        done = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "acd", "report", "--by", by, "-c", str(config)),
            *("--from", day["from"], "--to", day["to"], "--database-url", api_pg.url, *extra),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await done.communicate()
        return done.returncode or 0, out.decode(), err.decode()

    code, out, err = await report("--format", "json")
    assert code == 0, err
    cli = {c["agent"]: c for c in json.loads(out)}
    for agent in ("a1", "a2"):
        for key in ("otf", "otf_settled", "otf_met", "otf_pending", "team", "objectives"):
            assert cli[agent][key] == cards[agent][key], (agent, key)
    code, out, err = await report("--format", "json", by="otf")  # the same query as --by otf's agent rows
    assert code == 0, err
    otf_rows = {r["agent"]: r for r in json.loads(out) if r["level"] == "agent"}
    for agent in ("a1", "a2"):
        got = otf_rows[agent]
        assert (got["otf_ratio"], got["settled"], got["otf"], got["pending"]) == tuple(
            cli[agent][k] for k in ("otf", "otf_settled", "otf_met", "otf_pending")
        ), agent
    code, out, err = await report("--format", "csv")
    assert code == 0, err
    by_csv = {r["agent"]: r for r in csv.DictReader(io.StringIO(out))}
    assert by_csv["a1"]["otf"] == "0.5" and by_csv["a2"]["objectives"] == ""
    assert by_csv["a1"]["objectives"] == (
        "a1-fcr: 1.000 >= 0.900 met;north-aht: 115.000 <= 100.000 not met;"
        "north-occupancy: - >= 0.300 -;north-otf: 0.500 >= 0.500 met"
    )
    code, out, err = await report()  # a table, the objectives in a section under it
    assert code == 0, err
    scores, section = out.split("\nobjectives (")
    assert "otf_pending" in scores.splitlines()[0] and "objectives" not in scores.splitlines()[0]
    lines = section.splitlines()
    assert any(line.split()[:3] == ["a1", "north", "north-aht"] and line.endswith("not met") for line in lines)
    assert any(line.split()[:3] == ["a1", "north", "north-occupancy"] and line.endswith("-") for line in lines)
    assert any(line.split()[:2] == ["a2", "-"] and "(no team: no team objectives)" in line for line in lines)


TEAM_OBJECTIVES = {
    "north-aht": {"metric": "aht", "comparison": "<=", "target": 300, "team": "north", **DATES},
    "north-breaches": {"metric": "handle_breaches", "comparison": "<=", "target": 0, "team": "north", **DATES},
    "north-otf": {"metric": "otf", "comparison": ">=", "target": 0.5, "team": "north", **DATES},
    "north-occupancy": {"metric": "occupancy", "comparison": ">=", "target": 0.3, "team": "north", **DATES},
    "a1-aht": {"metric": "aht", "comparison": "<=", "target": 200, "agent": "a1", **DATES},
    # a range the scorecard's day is not in: no verdict on it
    "north-aht-before": {
        "metric": "aht",
        "comparison": "<=",
        "target": 300,
        "team": "north",
        "period": "dates",
        "from": "2026-11-20",
        "to": "2026-11-26",
    },
}


async def test_scorecards_read_each_figure_once_and_show_a_supervisor_what_objectives_shows(
    v1: V1,  # noqa: F811
) -> None:
    """docs/kpis.md, "Agent scorecard": the agents' figures of a metric come from one read for all of them
    (as many statements for three agents of a team as for one); a supervisor's scorecards hold the
    objectives GET /objectives shows them only; a count is undefined for an agent who handled no call; an
    objective of dates that miss the scorecard's period gets no verdict."""
    now = datetime.now(UTC)
    await add_otf_calls(v1.engine, now)
    async with v1.engine.begin() as conn:  # s1 was ready for an hour that day, answered a call still in talk
        await conn.execute(
            text(
                "INSERT INTO agent_states (id, seq, agent_id, state, started_at, ended_at) "
                "VALUES (:id, 1, 's1', 'ready', :b, :e)"
            ),
            {"id": uuid.uuid4(), "b": DAY + timedelta(hours=9), "e": DAY + timedelta(hours=10)},
        )
        await conn.execute(
            text("""
            INSERT INTO interactions (id, seq, caller, queue, priority, arrived_at, answered_at, outcome, agent_id,
              wait_seconds, sla_threshold_seconds)
            VALUES (:id, 1, '300', 'sales', 5, :arrived, :answered, 'answered', 's1', 2, 20)"""),
            {
                "id": uuid.uuid4(),
                "arrived": DAY + timedelta(hours=11),
                "answered": DAY + timedelta(hours=11, seconds=2),
            },
        )
    assert (await call(v1, "PATCH", "/agents/a1", "admin", {"team": "north"}))[0] == 200
    for name, fields in TEAM_OBJECTIVES.items():
        status, body = await call(v1, "POST", "/objectives", "admin", {"name": name, **fields})
        assert status == 201, body
    day = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}

    async def statements() -> tuple[int, dict[str, Any]]:
        seen: list[str] = []

        def read(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            seen.append(statement)

        event.listen(v1.engine.sync_engine, "before_cursor_execute", read)
        try:
            status, body = await v1.get("/reports/agents", "admin", **day)
        finally:
            event.remove(v1.engine.sync_engine, "before_cursor_execute", read)
        assert status == 200, body
        return len(seen), {c["agent"]: c for c in body["scorecards"]}

    await statements()  # warm: whatever a first request reads once
    alone, cards = await statements()
    assert set(cards) == {"a1", "a2", "s1"}
    assert [c["objective"] for c in cards["s1"]["objectives"]] == []
    for agent in ("a2", "s1"):
        assert (await call(v1, "PATCH", f"/agents/{agent}", "admin", {"team": "north"}))[0] == 200
    together, cards = await statements()
    assert together == alone, (alone, together)  # one read per figure, not one per agent

    checks = {a: {c["objective"]: c for c in card["objectives"]} for a, card in cards.items()}
    assert list(checks["a1"]) == ["a1-aht", "north-aht", "north-breaches", "north-occupancy", "north-otf"]
    assert list(checks["s1"]) == ["north-aht", "north-breaches", "north-occupancy", "north-otf"]
    # a1: 120 s and 110 s of handle time, no breach (max handle 600 s); a2: 230 s and 70 s
    assert (checks["a1"]["north-aht"]["value"], checks["a1"]["north-aht"]["met"]) == (115.0, True)
    assert (checks["a2"]["north-aht"]["value"], checks["a2"]["north-aht"]["met"]) == (150.0, True)
    assert (checks["a1"]["north-breaches"]["value"], checks["a1"]["north-breaches"]["met"]) == (0, True)
    # s1 handled no call (one still in talk): the count is undefined, not 0 and met; s1's occupancy is 0
    # (ready, never busy)
    assert (checks["s1"]["north-breaches"]["value"], checks["s1"]["north-breaches"]["met"]) == (None, None)
    assert (checks["s1"]["north-aht"]["value"], checks["s1"]["north-occupancy"]["value"]) == (None, 0.0)

    # north is a1 and a2 (billing) and s1 (sales): the billing supervisor does not read north's objectives
    # through GET /objectives, nor on a scorecard; a1's own they do; the admin and a1 read all of them
    status, body = await call(v1, "GET", "/objectives", "billing")
    assert status == 200 and [o["name"] for o in body["objectives"]] == ["a1-aht"]
    status, body = await v1.get("/reports/agents", "billing", **day)
    assert status == 200 and [c["agent"] for c in body["scorecards"]] == ["a1", "a2"]
    assert [[o["objective"] for o in c["objectives"]] for c in body["scorecards"]] == [["a1-aht"], []]
    status, body = await v1.get("/reports/agents", "a1", **day)
    assert status == 200 and [o["objective"] for o in body["scorecards"][0]["objectives"]] == list(checks["a1"])

    # the answer's schema names every field it describes as required (otf_met too)
    schema = (await call(v1, "GET", "/openapi.json", "admin"))[1]["components"]["schemas"]
    for name, sample in (("Scorecard", cards["a1"]), ("ScorecardObjective", checks["a1"]["a1-aht"])):
        assert set(schema[name]["required"]) == set(schema[name]["properties"]), name
        assert set(schema[name]["required"]) <= set(sample), name
