"""/api/v1 supervisor actions: change a queued caller's priority, move a caller to another queue; scope, bad
input, 401, 403, 404 and 409."""

from __future__ import annotations

import pytest
from api_v1_harness import V1, api_pg, v1  # noqa: F401

from acd.core.events import CallArrived, OfferAnswered
from acd.core.kpis import latest
from acd.core.record_types import InteractionRecord
from acd.http.v1 import PREFIX
from acd.records.stores import tokens

pytestmark = pytest.mark.pg


async def _queue(v1: V1) -> None:  # noqa: F811
    now = v1.runtime.now()
    v1.runtime.submit(CallArrived("old-low", "billing", 1, channel="PJSIP/t-1", enqueued_at=now - 20))
    v1.runtime.submit(CallArrived("new-high", "billing", 5, channel="PJSIP/t-2", enqueued_at=now - 5))
    v1.runtime.submit(CallArrived("sales-1", "sales", 1, channel="PJSIP/t-3"))
    await v1.settle()


async def _in_conversation(v1: V1) -> None:  # noqa: F811
    """c1 in billing, answered by a1."""
    await v1.post("/agents/a1/login", "a1")
    v1.runtime.submit(CallArrived("c1", "billing", 1, channel="PJSIP/t-1"))
    await v1.settle()
    v1.runtime.submit(OfferAnswered(v1.rings[0].offer_id))
    await v1.settle()


async def test_a_supervisor_raises_a_caller_who_is_then_offered_first(v1: V1) -> None:  # noqa: F811
    await _queue(v1)
    status, body = await v1.post("/calls/old-low/priority", "billing", {"priority": 9})
    assert (status, body["call"]["priority"], body["call"]["position"]) == (200, 9, 1)
    await v1.post("/agents/a1/login", "a1")
    await v1.settle()
    assert [ring.call_id for ring in v1.rings] == ["old-low"]
    assert next((a, t, s) for _, a, t, s in await v1.audit()) == ("call.priority", "old-low", 200)
    _, status_body = await v1.get("/status", "admin")
    billing = next(q for q in status_body["queues"] if q["name"] == "billing")
    assert {c["id"]: c["priority"] for c in billing["calls"]}["old-low"] == 9


async def test_priority_change_errors(v1: V1) -> None:  # noqa: F811
    await _queue(v1)
    for body in (
        {},
        {"priority": "high"},
        {"priority": -1},
        {"priority": 1001},
        {"priority": True},
        {"priority": 3, "queue": "x"},
    ):
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
    await _in_conversation(v1)
    status, reply = await v1.post("/calls/c1/priority", "admin", {"priority": 3})
    assert (status, reply["error_id"], reply["details"]["state"]) == (409, "invalid-transition", "connected")


async def test_a_moved_caller_is_rung_at_once_by_a_free_agent_of_the_new_queue(v1: V1) -> None:  # noqa: F811
    _, both = await tokens.issue(v1.engine, "supervisor", queues=("billing", "sales"))
    v1.bearer["both"] = both
    await v1.post("/agents/s1/login", "s1")
    v1.runtime.submit(CallArrived("c1", "billing", 1, channel="PJSIP/t-1"))
    await v1.settle()
    assert v1.rings == []  # nobody serves billing
    status, body = await v1.post("/calls/c1/queue", "both", {"queue": "sales"})
    assert (status, body["call"]["queue"], body["call"]["from"], body["call"]["state"], body["call"]["agent_id"]) == (
        200,
        "sales",
        "billing",
        "ringing",
        "s1",
    )
    await v1.settle()
    assert [ring.call_id for ring in v1.rings] == ["c1"]
    assert next((a, t, s) for _, a, t, s in await v1.audit() if a == "call.queue") == ("call.queue", "c1", 200)
    stays = [(r.queue, r.outcome) for r in latest(r for r in v1.sink.records if isinstance(r, InteractionRecord))]
    assert sorted(stays, key=str) == [("billing", "moved"), ("sales", None)]


async def test_a_ringing_caller_is_withdrawn_and_the_agent_is_ready_again(v1: V1) -> None:  # noqa: F811
    await v1.post("/agents/a1/login", "a1")
    v1.runtime.submit(CallArrived("c1", "billing", 1, channel="PJSIP/t-1"))
    await v1.settle()
    assert len(v1.rings) == 1
    status, body = await v1.post("/calls/c1/queue", "admin", {"queue": "sales"})
    assert (status, body["call"]["state"], body["call"]["position"]) == (200, "waiting", 1)
    _, agent = await v1.get("/agents/a1", "admin")
    assert agent["agent"]["state"] == "ready"


async def test_move_errors(v1: V1) -> None:  # noqa: F811
    await _queue(v1)
    for body in ({}, {"queue": 3}, {"queue": ""}, {"queue": "x" * 201}, {"queue": "sales", "priority": 1}):
        status, reply = await v1.post("/calls/old-low/queue", "admin", body)
        assert (status, reply["error_id"]) == (400, "invalid-input"), body
    for who, call, queue, expected in (
        ("admin", "nope", "sales", (404, "no-such-call")),
        ("admin", "old-low", "nowhere", (404, "no-such-queue")),
        ("admin", "old-low", "billing", (409, "already-in-queue")),
        ("billing", "sales-1", "billing", (404, "no-such-call")),  # a caller outside their queues
        ("billing", "old-low", "nowhere", (404, "no-such-queue")),
        ("billing", "old-low", "sales", (403, "forbidden")),  # a queue that is not theirs
        ("a1", "old-low", "sales", (403, "forbidden")),
    ):
        status, reply = await v1.post(f"/calls/{call}/queue", who, {"queue": queue})
        assert (status, reply["error_id"]) == expected, (who, call, queue)
    for headers in ({}, v1.auth("revoked")):
        response = await v1.client.post(f"{PREFIX}/calls/old-low/queue", json={"queue": "sales"}, headers=headers)
        assert (response.status, (await response.json())["error_id"]) == (401, "unauthorized")
    _, status_body = await v1.get("/status", "admin")
    assert {q["name"]: [c["id"] for c in q["calls"]] for q in status_body["queues"]} == {
        "billing": ["new-high", "old-low"],
        "sales": ["sales-1"],
    }  # nothing moved


async def test_a_caller_in_conversation_cannot_be_moved(v1: V1) -> None:  # noqa: F811
    await _in_conversation(v1)
    status, reply = await v1.post("/calls/c1/queue", "admin", {"queue": "sales"})
    assert (status, reply["error_id"], reply["details"]["state"]) == (409, "invalid-transition", "connected")
    assert [(a, t, s) for _, a, t, s in await v1.audit() if a == "call.queue"] == [("call.queue", "c1", 409)]


async def test_monitoring_a_call_in_conversation(v1: V1) -> None:  # noqa: F811
    """POST /calls/{id}/monitor: 202 for the call's queue (token and phone), refusals audited; the
    agent and the call go on as they were."""
    await _in_conversation(v1)
    _, sales = await tokens.issue(v1.engine, "supervisor", queues=("sales",))
    v1.bearer["sales"] = sales
    listen = {"mode": "listen", "supervisor_endpoint": "sup-billing"}
    status, body = await v1.post("/calls/c1/monitor", "billing", listen)
    assert (status, body["monitor"]) == (202, {"call": "c1", "mode": "listen", "supervisor_endpoint": "sup-billing"})
    status, body = await v1.post("/calls/c1/monitor", "admin", {"mode": "barge", "supervisor_endpoint": "sup-all"})
    assert status == 202, body
    status, body = await v1.post("/calls/c1/monitor", "sales", {"mode": "listen", "supervisor_endpoint": "sup-all"})
    assert (status, body["error_id"], body["details"]["queue"]) == (403, "forbidden", "billing")
    status, body = await v1.post("/calls/nope/monitor", "admin", listen)
    assert (status, body["error_id"]) == (404, "no-such-call")
    for bad in (
        {"mode": "spy", "supervisor_endpoint": "sup-all"},
        {"mode": "listen", "supervisor_endpoint": "agent1"},
        {"mode": "listen"},
        {"mode": "listen", "supervisor_endpoint": "sup-all", "x": 1},
    ):
        status, body = await v1.post("/calls/c1/monitor", "admin", bad)
        assert (status, body["error_id"]) == (400, "invalid-input"), bad
    status, body = await v1.post("/calls/c1/monitor", "a1", listen)
    assert (status, body["error_id"]) == (403, "forbidden")
    _, agent = await v1.get("/agents/a1", "admin")
    assert (agent["agent"]["state"], agent["agent"]["call_id"]) == ("on_call", "c1")
    assert [(a, t, s) for _, a, t, s in await v1.audit() if a == "call.monitor"] == [
        ("call.monitor", "c1", 202),
        ("call.monitor", "c1", 202),
        ("call.monitor", "c1", 403),
        ("call.monitor", "nope", 404),
    ]


async def test_a_waiting_caller_cannot_be_monitored(v1: V1) -> None:  # noqa: F811
    await _queue(v1)
    status, body = await v1.post(
        "/calls/old-low/monitor", "admin", {"mode": "whisper", "supervisor_endpoint": "sup-all"}
    )
    assert (status, body["error_id"], body["details"]["state"]) == (409, "invalid-transition", "waiting")
