"""/api/v1 live status and routing explanations: what each role sees, and 401/403/404."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from api_v1_harness import V1, api_pg, v1  # noqa: F401
from sqlalchemy.ext.asyncio import create_async_engine

from acd.core.events import CallArrived
from acd.http.v1 import PREFIX, build_api_v1
from acd.records.stores.audit import AuditLog

pytestmark = pytest.mark.pg


async def _two_queues_busy(v1: V1) -> None:  # noqa: F811
    """a1 rings with c-vip; c-low waits in billing; c-sales waits in sales (s1 is logged out)."""
    await v1.post("/agents/a1/login", "admin")
    now = v1.runtime.now()
    v1.runtime.submit(CallArrived("c-vip", "billing", 9, channel="PJSIP/t-1", enqueued_at=now - 12))
    v1.runtime.submit(CallArrived("c-low", "billing", 1, channel="PJSIP/t-2", enqueued_at=now - 30))
    v1.runtime.submit(CallArrived("c-sales", "sales", 5, channel="PJSIP/t-3", enqueued_at=now - 3))
    await v1.settle()


async def test_status_lists_each_queues_callers_with_wait_priority_and_place(v1: V1) -> None:  # noqa: F811
    await _two_queues_busy(v1)
    status, body = await v1.get("/status", "admin")
    assert status == 200
    queues = {q["name"]: q for q in body["queues"]}
    billing = queues["billing"]
    assert (billing["waiting"], billing["ringing"]) == (2, 1)
    calls = {c["id"]: c for c in billing["calls"]}
    assert [c["id"] for c in billing["calls"]] == ["c-vip", "c-low"]  # routing order: priority first
    assert (calls["c-vip"]["state"], calls["c-vip"]["agent_id"], calls["c-vip"]["position"]) == ("ringing", "a1", None)
    assert (calls["c-low"]["priority"], calls["c-low"]["position"]) == (1, 1)
    assert 29.0 <= calls["c-low"]["wait_seconds"] < 40.0
    assert billing["oldest_wait_seconds"] >= 29.0
    assert [c["id"] for c in queues["sales"]["calls"]] == ["c-sales"]
    agents = {a["id"]: a for a in body["agents"]}
    assert agents["a1"]["state"] == "reserved" and agents["a1"]["call_id"] == "c-vip"
    assert agents["a1"]["seconds_in_state"] >= 0
    assert agents["s1"]["state"] == "logged_out" and agents["s1"]["seconds_in_state"] is None


async def test_status_shows_a_supervisor_their_queues_and_an_agent_theirs(v1: V1) -> None:  # noqa: F811
    await _two_queues_busy(v1)
    _, supervisor = await v1.get("/status", "billing")
    assert [q["name"] for q in supervisor["queues"]] == ["billing"]
    assert [a["id"] for a in supervisor["agents"]] == ["a1", "a2"]
    _, agent = await v1.get("/status", "s1")
    assert [q["name"] for q in agent["queues"]] == ["sales"]
    assert [a["id"] for a in agent["agents"]] == ["s1"]


async def test_status_needs_a_token(v1: V1) -> None:  # noqa: F811
    for headers in ({}, v1.auth("revoked")):
        response = await v1.client.get(f"{PREFIX}/status", headers=headers)
        assert (response.status, (await response.json())["error_id"]) == (401, "unauthorized")


async def test_explanation_names_the_winner_and_the_excluded(v1: V1) -> None:  # noqa: F811
    await _two_queues_busy(v1)
    for who in ("admin", "billing"):
        status, body = await v1.get("/calls/c-vip/explanation", who)
        assert (status, body["winner"], body["queue"]) == (200, "a1", "billing")
        assert {e["agent_id"]: e["reason"] for e in body["excluded"]}["a2"] == "logged_out"


async def test_explanation_errors(v1: V1) -> None:  # noqa: F811
    await _two_queues_busy(v1)
    status, body = await v1.get("/calls/c-vip/explanation", "a1")
    assert (status, body["error_id"]) == (403, "forbidden")
    status, body = await v1.get("/calls/nope/explanation", "admin")
    assert (status, body["error_id"]) == (404, "no-such-call")
    # a supervisor of billing does not see a sales call (the sales call had a decision: nobody won)
    status, body = await v1.get("/calls/c-sales/explanation", "admin")
    assert status == 200
    status, body = await v1.get("/calls/c-sales/explanation", "billing")
    assert (status, body["error_id"]) == (404, "no-such-call")
    response = await v1.client.get(f"{PREFIX}/calls/c-vip/explanation")
    assert response.status == 401


async def test_openapi_document_is_public_and_lists_every_route(v1: V1) -> None:  # noqa: F811
    response = await v1.client.get(f"{PREFIX}/openapi.json")
    document = await response.json()
    assert response.status == 200 and document["openapi"].startswith("3.")
    api = build_api_v1(v1.runtime, v1.engine, AuditLog(v1.engine))
    routes = {resource.canonical for resource in api.router.resources()}
    assert routes == set(document["paths"]) | {"/openapi.json"}


async def test_unknown_paths_and_methods_answer_json_errors(v1: V1) -> None:  # noqa: F811
    for method, path, status, error_id in (
        ("DELETE", "/status", 405, "method-not-allowed"),
        ("GET", "/agents/a1/login", 405, "method-not-allowed"),
        ("GET", "/nothing", 404, "not-found"),
    ):
        response = await v1.client.request(method, PREFIX + path, headers=v1.auth("admin"))
        assert (response.status, (await response.json())["error_id"]) == (status, error_id)


async def test_without_postgresql_the_api_answers_503_and_the_document_still_200(v1: V1) -> None:  # noqa: F811
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = create_async_engine(f"postgresql+asyncpg://acd@127.0.0.1:{port}/acd", connect_args={"timeout": 2})
    app = web.Application()
    app.add_subapp(PREFIX, build_api_v1(v1.runtime, down, AuditLog(down)))
    try:
        async with TestClient(TestServer(app)) as client:
            response = await client.get(f"{PREFIX}/status", headers=v1.auth("admin"))
            assert (response.status, (await response.json())["error_id"]) == (503, "database-unavailable")
            assert (await client.get(f"{PREFIX}/openapi.json")).status == 200
    finally:
        await down.dispose()
