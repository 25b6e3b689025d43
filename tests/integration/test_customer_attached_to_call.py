"""A customer record an agent makes or changes with a call in hand is attached to that call's
interaction (docs/api.md, "Customer records"): during the call, or after it in wrap-up (the agent's
last call), through the records pipeline, so the interaction's search and the customer's history
name the customer and the desk shows the record on the call. A record of another number, or one
made by a supervisor, is attached to nothing.

Over a live ACD (real core, runtime, outbox, PostgreSQL and /api/v1; no PBX: the test plays it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from live_desk import LiveDesk, api_pg, live_desk  # noqa: F401
from sqlalchemy import text

from acd.http.v1 import PREFIX

pytestmark = pytest.mark.pg


async def call_api(desk: LiveDesk, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, desk.base_url + PREFIX + path, headers=desk.auth(who), json=body) as response,
    ):
        return response.status, await response.json()


async def next_desk(stream: aiohttp.ClientResponse, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The next desk pushed on the agent's stream that is ``wanted`` (within 10 s)."""
    async with asyncio.timeout(10):
        async for line in stream.content:
            if line.startswith(b"data: "):
                shown: dict[str, Any] = json.loads(line[len(b"data: ") :])
                if wanted(shown):
                    return shown
    raise AssertionError("the desk stream ended")


async def audit_details(desk: LiveDesk) -> list[tuple[str, dict[str, Any]]]:
    async with desk.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT action, details FROM audit_log ORDER BY id"))).all()
    return [(r[0], r[1]) for r in rows if r[0].startswith("customer.")]


async def test_a_record_made_during_the_call_and_one_made_in_wrap_up_name_the_customer_on_the_call(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    desk = live_desk
    status, body = await call_api(desk, "POST", "/agents/a1/login", "a1", {})
    assert status == 200, body

    # during the call, with the agent's desk open
    first = await desk.call_from("+1 555-0900")
    desk.answer(first)
    assert (await desk.interaction(first))["customer_id"] is None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{desk.base_url}{PREFIX}/agents/a1/events", headers=desk.auth("a1")) as stream,
    ):
        await next_desk(stream, lambda d: d["call"] is not None and d["call"]["lookup"] == "found")
        status, body = await call_api(desk, "POST", "/customers", "a1", {"phone_number": "+1 555-0900", "name": "Dot"})
        assert status == 201, body
        dot = body["customer"]["id"]
        # the desk shows the record on the call it was made on
        shown = await next_desk(stream, lambda d: d["call"] is not None and d["call"]["customer"] is not None)
        assert (shown["call"]["id"], shown["call"]["customer"]["id"]) == (first, dot)
    assert str((await desk.interaction(first))["customer_id"]) == dot
    desk.hang_up(first)  # the records written after the attach keep the customer
    row = await desk.interaction(first)
    assert (str(row["customer_id"]), row["outcome"]) == (dot, "answered")

    # after the call, in wrap-up: the agent's last call; a PATCH that adds the caller's number attaches it
    status, body = await call_api(desk, "POST", "/agents/a1/wrapup", "a1", {"code": "order/new", "done": True})
    assert status == 200, body
    second = await desk.call_from("15550901")
    desk.answer(second)
    desk.hang_up(second)
    status, body = await call_api(desk, "GET", "/agents/a1", "a1")
    assert body["agent"]["state"] == "wrap_up" and body["agent"]["call_id"] == second
    status, body = await call_api(desk, "PATCH", f"/customers/{dot}", "a1", {"numbers": ["15550901"]})
    assert status == 200, body
    row = await desk.interaction(second)
    assert (str(row["customer_id"]), row["outcome"], row["agent_id"]) == (dot, "answered", "a1")

    # reports and the interaction view: the customer's interactions are both calls
    status, body = await call_api(desk, "GET", f"/customers/{dot}/interactions", "admin")
    assert status == 200, body
    assert {i["id"] for i in body["interactions"]} == {first, second}
    status, body = await call_api(desk, "GET", f"/interactions?customer={dot}", "billing")
    assert {i["id"] for i in body["interactions"]} == {first, second}

    # the audit names the call each record was attached to
    assert await audit_details(desk) == [
        ("customer.create", {"phone_number": "+1 555-0900", "name": "Dot", "id": dot, "call_id": first}),
        ("customer.update", {"numbers": ["15550901"], "call_id": second}),
    ]


async def test_a_record_of_another_number_or_by_a_supervisor_is_attached_to_nothing(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    desk = live_desk
    status, body = await call_api(desk, "POST", "/agents/a1/login", "a1", {})
    assert status == 200, body
    call = await desk.call_from("+1 555-0910")
    desk.answer(call)
    status, body = await call_api(desk, "POST", "/customers", "a1", {"phone_number": "+1 555-0911"})
    assert status == 201, body
    status, body = await call_api(desk, "POST", "/customers", "billing", {"phone_number": "+1 555-0910"})
    assert status == 201, body
    assert (await desk.interaction(call))["customer_id"] is None
    assert [d.get("call_id") for _, d in await audit_details(desk)] == [None, None]
