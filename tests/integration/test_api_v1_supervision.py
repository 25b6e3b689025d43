"""/api/v1 supervisor actions: change a queued caller's priority; scope, bad input, 401 and 403."""

from __future__ import annotations

import pytest
from api_v1_harness import V1, api_pg, v1  # noqa: F401

from acd.core.events import CallArrived, OfferAnswered
from acd.http.v1 import PREFIX

pytestmark = pytest.mark.pg


async def _queue(v1: V1) -> None:  # noqa: F811
    now = v1.runtime.now()
    v1.runtime.submit(CallArrived("old-low", "billing", 1, channel="PJSIP/t-1", enqueued_at=now - 20))
    v1.runtime.submit(CallArrived("new-high", "billing", 5, channel="PJSIP/t-2", enqueued_at=now - 5))
    v1.runtime.submit(CallArrived("sales-1", "sales", 1, channel="PJSIP/t-3"))
    await v1.settle()


async def test_a_supervisor_raises_a_caller_who_is_then_offered_first(v1: V1) -> None:  # noqa: F811
    await _queue(v1)
    status, body = await v1.post("/calls/old-low/priority", "billing", {"priority": 9})
    assert (status, body["call"]["priority"], body["call"]["position"]) == (200, 9, 1)
    await v1.post("/agents/a1/login", "a1")
    await v1.settle()
    assert [ch for ch, _, _ in v1.control.rings] == ["PJSIP/t-1"]
    assert next((a, t, s) for _, a, t, s in await v1.audit()) == ("call.priority", "old-low", 200)
    _, status_body = await v1.get("/status", "admin")
    billing = next(q for q in status_body["queues"] if q["name"] == "billing")
    assert {c["id"]: c["priority"] for c in billing["calls"]}["old-low"] == 9


async def test_priority_change_errors(v1: V1) -> None:  # noqa: F811
    await _queue(v1)
    for body in ({}, {"priority": "high"}, {"priority": -1}, {"priority": 1001}, {"priority": True},
                 {"priority": 3, "queue": "x"}):
        status, reply = await v1.post("/calls/old-low/priority", "admin", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), body
    status, reply = await v1.post("/calls/nope/priority", "admin", {"priority": 3})
    assert (status, reply["error_id"]) == (404, "no-such-call")
    status, reply = await v1.post("/calls/sales-1/priority", "billing", {"priority": 3})  # not their queue
    assert (status, reply["error_id"]) == (404, "no-such-call")
    status, reply = await v1.post("/calls/old-low/priority", "a1", {"priority": 3})
    assert (status, reply["error_id"]) == (403, "forbidden")
    for headers in ({}, v1.auth("revoked")):
        response = await v1.client.post(f"{PREFIX}/calls/old-low/priority", json={"priority": 3}, headers=headers)
        assert (response.status, (await response.json())["error_id"]) == (401, "unauthorized")


async def test_a_caller_in_conversation_cannot_change_band(v1: V1) -> None:  # noqa: F811
    await v1.post("/agents/a1/login", "a1")
    v1.runtime.submit(CallArrived("c1", "billing", 1, channel="PJSIP/t-1"))
    await v1.settle()
    v1.runtime.submit(OfferAnswered(v1.control.rings[0][1]))
    await v1.settle()
    status, reply = await v1.post("/calls/c1/priority", "admin", {"priority": 3})
    assert (status, reply["error_id"], reply["details"]["state"]) == (409, "invalid-transition", "connected")
