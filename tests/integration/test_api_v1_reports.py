"""/api/v1/reports over real PostgreSQL rows: the interval report (JSON and the WFM CSV) and agent
scorecards, each role's scope, the open calls named, and a 400 naming every bad query value."""

from __future__ import annotations

import csv
import io

import pytest
from api_v1_harness import V1, add_interactions, api_pg, v1  # noqa: F401

from acd.http.v1 import PREFIX

pytestmark = pytest.mark.pg

DAY = {"from": "2026-11-27T09:00:00Z", "to": "2026-11-27T10:00:00Z"}


async def test_the_interval_report_per_queue_and_half_hour_in_a_zone(v1: V1) -> None:  # noqa: F811
    await add_interactions(v1.engine)
    status, body = await v1.get("/reports/intervals", "admin", interval="30m", zone="Europe/Berlin", **DAY)
    assert status == 200, body
    rows = {(r["queue"], r["interval_start"]): r for r in body["intervals"]}
    assert set(rows) == {
        (q, t) for q in ("billing", "sales") for t in ("2026-11-27T10:00:00+01:00", "2026-11-27T10:30:00+01:00")
    }
    first = rows[("billing", "2026-11-27T10:00:00+01:00")]
    assert (first["offered"], first["answered"], first["abandoned"]) == (3, 2, 1)
    assert first["still_handling"] == 2  # answered, no talk nor wrap-up recorded
    assert rows[("sales", "2026-11-27T10:30:00+01:00")]["answered"] == 1
    assert body["open_calls"]["handling"] == 3 and "still open" in body["open_calls"]["note"]

    status, body = await v1.get("/reports/intervals", "billing", zone="UTC", **DAY)  # a supervisor: their queues
    assert status == 200 and {r["queue"] for r in body["intervals"]} == {"billing"}
    assert len(body["intervals"]) == 4  # 15 minutes by default
    assert set(body["open_calls"]["queues"]) == {"billing"}
    status, _ = await v1.get("/reports/intervals", "billing", zone="UTC", queue="sales", **DAY)
    assert status == 403

    response = await v1.client.get(
        f"{PREFIX}/reports/intervals",
        params={"zone": "UTC", "interval": "60m", "format": "csv", "queue": "billing", **DAY},
        headers=v1.auth("admin"),
    )
    assert response.status == 200 and response.content_type == "text/csv"
    assert response.headers["X-ACD-Open-Calls"] == "2"
    [row] = list(csv.DictReader(io.StringIO(await response.text())))
    assert (row["Date"], row["Interval"], row["Queue"], row["Offered"], row["Answered"]) == (
        "2026-11-27",
        "09:00",
        "billing",
        "3",
        "2",
    )


async def test_bad_query_values_are_named_in_one_400(v1: V1) -> None:  # noqa: F811
    status, body = await v1.get("/reports/intervals", "admin", interval="20m", zone="Mars/Olympus", to="yesterday")
    assert status == 400 and body["error_id"] == "invalid-input"
    assert set(body["details"]["fields"]) == {"interval", "zone", "from", "to"}
    status, body = await v1.get(
        "/reports/intervals", "admin", zone="UTC", **{"from": "2026-11-27T10:00:00Z", "to": "2026-11-27T09:00:00Z"}
    )
    assert status == 400 and body["details"]["fields"] == {"to": "must be after from"}
    status, body = await v1.get(
        "/reports/intervals", "admin", zone="UTC", **{"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}
    )
    assert status == 400 and "31 days" in body["details"]["fields"]["to"]
    status, body = await v1.get("/reports/agents", "admin", **{"from": "2026-11-27T09:00:00"})
    assert status == 400 and set(body["details"]["fields"]) == {"from", "to"}


async def test_scorecards_an_agent_reads_their_own_a_supervisor_their_agents(v1: V1) -> None:  # noqa: F811
    await add_interactions(v1.engine)
    status, body = await v1.get("/reports/agents", "admin", **DAY)
    assert status == 200 and [c["agent"] for c in body["scorecards"]] == ["a1", "a2", "s1"]
    status, body = await v1.get("/reports/agents", "a1", **DAY)
    assert status == 200 and [(c["agent"], c["answered"]) for c in body["scorecards"]] == [("a1", 1)]
    status, _ = await v1.get("/reports/agents", "a1", agent="a2", **DAY)
    assert status == 403
    status, body = await v1.get("/reports/agents", "billing", **DAY)
    assert status == 200 and [c["agent"] for c in body["scorecards"]] == ["a1", "a2"]
    status, _ = await v1.get("/reports/agents", "billing", agent="s1", **DAY)
    assert status == 403
