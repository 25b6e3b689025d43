"""/api/v1/callbacks: scheduled callbacks (docs/api.md, "Scheduled callbacks"). Who may ask (admins,
supervisors of the queue, agents of the queues they serve), bad input and numbers the admin's
patterns do not allow (nothing kept), the row in PostgreSQL, entering the queue at its time with the
queue's priority and the agent rung for it, calling one off, and the audit of each change."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_v1_harness import V1, api_pg, v1  # noqa: F401
from sqlalchemy import text

from acd.core.states import CallState
from acd.http.v1 import PREFIX
from acd.records.stores import scheduled_callbacks

pytestmark = pytest.mark.pg


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def _rows(v1: V1) -> list[Any]:  # noqa: F811
    async with v1.engine.connect() as conn:
        return list(await conn.execute(text("SELECT * FROM scheduled_callbacks ORDER BY created_at")))


async def _delete(v1: V1, callback_id: str, who: str) -> tuple[int, Any]:  # noqa: F811
    response = await v1.client.delete(f"{PREFIX}/callbacks/{callback_id}", headers=v1.auth(who))
    return response.status, await response.json()


async def test_an_agent_schedules_a_callback_and_it_enters_at_its_time_and_rings_them(v1: V1) -> None:  # noqa: F811
    body = {"queue": "billing", "number": "6512345678", "at": _in(0.5), "customer": "Ada", "note": "after 3"}
    status, reply = await v1.post("/callbacks", "a1", body)
    assert status == 201, reply
    callback = reply["callback"]
    assert (callback["queue"], callback["number"], callback["status"], callback["customer"]) == (
        "billing",
        "6512345678",
        "pending",
        "Ada",
    )
    [row] = await _rows(v1)
    assert str(row.id) == callback["id"] and row.created_by and row.cancelled_at is None
    assert v1.runtime.core.call_state(callback["id"]) is None  # not before its time
    await v1.post("/agents/a1/login", "a1")
    for _ in range(100):
        if v1.rings:
            break
        await asyncio.sleep(0.05)
    assert [(r.call_id, r.callback) for r in v1.rings] == [(callback["id"], "6512345678")]
    assert v1.runtime.core.call_state(callback["id"]) is CallState.RINGING
    assert ("callback.schedule", callback["id"], 201) in [a[1:] for a in await v1.audit()]


async def test_who_may_schedule_where_and_what_is_refused_keeps_nothing(v1: V1) -> None:  # noqa: F811
    good = {"queue": "billing", "number": "6512345678", "at": _in(3600)}
    assert (await v1.post("/callbacks", "s1", good))[0] == 403  # an agent of sales only
    assert (await v1.post("/callbacks", "billing", {**good, "queue": "sales"}))[0] == 403
    status, reply = await v1.post("/callbacks", "admin", {**good, "number": "1900123456"})
    assert status == 400 and "number" in reply["details"]["fields"], reply  # not in [callbacks] allowed_numbers
    assert (await v1.post("/callbacks", "admin", {**good, "queue": "nowhere"}))[0] == 404
    for bad in ({**good, "number": "65-1234"}, {**good, "at": "tomorrow"}, {**good, "at": "2026-12-01T10:00:00"}):
        assert (await v1.post("/callbacks", "admin", bad))[0] == 400
    assert (await v1.post("/callbacks", "admin", {**good, "at": _in(400 * 86400)}))[0] == 400
    assert (await v1.post("/callbacks", "admin", {**good, "extra": 1}))[0] == 400
    assert await _rows(v1) == []  # nothing refused is kept
    assert (await v1.post("/callbacks", "billing", good))[0] == 201


async def test_listing_by_queue_and_calling_one_off(v1: V1) -> None:  # noqa: F811
    billing = (await v1.post("/callbacks", "a1", {"queue": "billing", "number": "6512345678", "at": _in(3600)}))[1]
    sales = (await v1.post("/callbacks", "s1", {"queue": "sales", "number": "6587654321", "at": _in(3600)}))[1]
    status, listed = await v1.get("/callbacks", "billing")
    assert status == 200 and [c["id"] for c in listed["callbacks"]] == [billing["callback"]["id"]]
    assert len((await v1.get("/callbacks", "admin"))[1]["callbacks"]) == 2
    assert (await v1.get("/callbacks", "a1", queue="sales"))[0] == 403
    sales_id = sales["callback"]["id"]
    assert (await _delete(v1, sales_id, "billing"))[0] == 404  # another queue's: not even shown
    assert (await _delete(v1, str(uuid.uuid4()), "admin"))[0] == 404
    status, reply = await _delete(v1, sales_id, "s1")
    assert status == 200 and reply["callback"]["status"] == "cancelled", reply
    assert (await _delete(v1, sales_id, "admin"))[0] == 409
    assert [c.callback_id for c in await scheduled_callbacks.pending(v1.engine)] == [billing["callback"]["id"]]
    assert ("callback.cancel", sales_id, 200) in [a[1:] for a in await v1.audit()]
