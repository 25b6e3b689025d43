"""The agent desk's stream, GET /api/v1/agents/{agent}/events, over a live runtime, the real outbox and
PostgreSQL: an agent sees their own state change and a call offered to them with the caller's customer
record and history; refusals are the API's JSON errors before any stream starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from live_desk import LiveDesk, api_pg, live_desk  # noqa: F401

from acd.core.events import AgentLoggedIn, AgentPaused, AgentResumed, ConsultEnded, ConsultStarted
from acd.desk.publisher import DeskPublisher
from acd.http.v1 import PREFIX
from acd.live_view import LiveView

pytestmark = pytest.mark.pg


class Desks:
    """The ``desk`` events of one open stream, in order."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.seen: list[dict[str, Any]] = []

    async def next(self, seconds: float = 5.0) -> dict[str, Any]:
        event, data = "", ""
        async with asyncio.timeout(seconds):
            while True:
                line = (await self.response.content.readline()).decode()
                if not line:
                    raise AssertionError("the stream ended")
                line = line.rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and event == "desk" and data:
                    desk: dict[str, Any] = json.loads(data)
                    self.seen.append(desk)
                    return desk
                elif not line:
                    event, data = "", ""

    async def until(self, check: Callable[[dict[str, Any]], bool], seconds: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            while not check(desk := await self.next(seconds)):
                pass
        return desk


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_an_agent_sees_their_state_and_an_offer_with_the_customer_record(
    live_desk: LiveDesk,  # noqa: F811
    http: aiohttp.ClientSession,
) -> None:
    ada = await live_desk.customer("+1 555-0100", "Grace Hopper", "vip", earlier=2)
    url = f"{live_desk.base_url}{PREFIX}/agents/a1/events"
    async with http.get(url, headers=live_desk.auth("a1")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        desks = Desks(response)
        first = await desks.next()
        assert first["agent"]["id"] == "a1" and first["agent"]["name"] == "Ada Agent"
        assert first["agent"]["state"] == "logged_out" and first["call"] is None
        assert first["queues"] == ["billing"]

        async with http.post(f"{live_desk.base_url}{PREFIX}/agents/a1/login", headers=live_desk.auth("a1")) as r:
            assert r.status == 200
        ready = await desks.next()
        assert ready["agent"]["state"] == "ready" and ready["agent"]["since"] is not None

        call_id = live_desk.call("15550100", ada, priority=5, waited=7.0)
        ringing = await desks.until(lambda d: d["call"] is not None and d["call"]["customer"] is not None)
        assert ringing["agent"]["state"] == "reserved"
        call = ringing["call"]
        assert (call["id"], call["ringing"], call["queue"], call["caller"]) == (call_id, True, "billing", "15550100")
        assert call["priority"] >= 5  # a VIP caller's priority carries the queue's boost
        assert 7.0 <= call["wait_seconds"] < 9.0
        assert call["customer"] == {
            **call["customer"],
            "id": ada.id,
            "name": "Grace Hopper",
            "tier": "vip",
            "phone_number": "15550100",
        }
        assert [h["disposition"] for h in call["history"]] == ["earlier-2", "earlier-1"]  # newest first
        assert call["lookup"] == "found"

        live_desk.answer(call_id)
        talking = await desks.until(lambda d: d["agent"]["state"] == "on_call")
        assert talking["call"]["id"] == call_id and talking["call"]["ringing"] is False
        assert talking["call"]["customer"]["name"] == "Grace Hopper"
        live_desk.hang_up(call_id)
        wrapping = await desks.until(lambda d: d["agent"]["state"] == "wrap_up")
        assert wrapping["call"]["id"] == call_id

        body = {"code": "support/resolved", "notes": "refund sent", "done": True}
        async with http.post(
            f"{live_desk.base_url}{PREFIX}/agents/a1/wrapup", headers=live_desk.auth("a1"), json=body
        ) as r:
            assert r.status == 200, await r.text()
        done = await desks.until(lambda d: d["agent"]["state"] == "ready")
        assert done["call"] is None
    row = await live_desk.interaction(call_id)
    assert (row["disposition"], row["notes"], row["agent_id"]) == ("support/resolved", "refund sent", "a1")


async def test_an_unknown_caller_is_shown_without_a_customer(
    live_desk: LiveDesk,  # noqa: F811
    http: aiohttp.ClientSession,
) -> None:
    live_desk.runtime.handle_now(AgentLoggedIn("a1"))
    async with http.get(f"{live_desk.base_url}{PREFIX}/agents/a1/events", headers=live_desk.auth("a1")) as response:
        desks = Desks(response)
        await desks.next()
        call_id = live_desk.call("15559999", None)
        found = await desks.until(lambda d: d["call"] is not None and d["call"]["lookup"] != "pending")
        assert found["call"]["id"] == call_id and found["call"]["caller"] == "15559999"
        assert found["call"]["customer"] is None and found["call"]["history"] == []


async def test_a_supervisor_watches_their_queues_agents_and_an_admin_everyone(
    live_desk: LiveDesk,  # noqa: F811
    http: aiohttp.ClientSession,
) -> None:
    for who, agent in (("billing", "a2"), ("admin", "s1")):
        async with http.get(f"{live_desk.base_url}{PREFIX}/agents/{agent}/events", headers=live_desk.auth(who)) as r:
            assert r.status == 200
            assert (await Desks(r).next())["agent"]["id"] == agent
    async with http.get(f"{live_desk.base_url}{PREFIX}/agents/s1/events", headers=live_desk.auth("billing")) as r:
        assert r.status == 403  # checked before the body: a stream's never ends
        assert (await r.json())["error_id"] == "forbidden"


@pytest.mark.parametrize(
    ("who", "agent", "status", "error_id"),
    [
        (None, "a1", 401, "unauthorized"),
        ("a1", "a2", 403, "forbidden"),
        ("admin", "nobody", 404, "no-such-agent"),
    ],
)
async def test_refusals_come_before_the_stream(
    live_desk: LiveDesk,  # noqa: F811
    http: aiohttp.ClientSession,
    who: str | None,
    agent: str,
    status: int,
    error_id: str,
) -> None:
    headers = live_desk.auth(who) if who else {}
    async with http.get(f"{live_desk.base_url}{PREFIX}/agents/{agent}/events", headers=headers) as response:
        assert response.status == status  # checked before the body: a stream's never ends
        assert response.headers["Content-Type"].startswith("application/json")
        async with asyncio.timeout(5):
            body = await response.json()
        assert body["error_id"] == error_id and body["message"]


async def test_the_streams_end_when_the_service_stops(
    live_desk: LiveDesk,  # noqa: F811
    http: aiohttp.ClientSession,
) -> None:
    async with http.get(f"{live_desk.base_url}{PREFIX}/agents/a1/events", headers=live_desk.auth("a1")) as response:
        await Desks(response).next()
        closing = asyncio.create_task(live_desk.server.close())
        async with asyncio.timeout(5):
            assert await response.content.read() is not None  # the response ends, not hangs
        await closing


async def test_a_desk_goes_out_on_change_only_and_a_stalled_client_is_cut_off(
    live_desk: LiveDesk,  # noqa: F811
) -> None:
    publisher = DeskPublisher(LiveView(live_desk.runtime), live_desk.engine, queue_limit=3)
    cut: list[str] = []
    stalled = publisher.subscribe("a1", on_drop=lambda: cut.append("a1"))
    other = publisher.subscribe("a2")
    assert stalled.frames.qsize() == 1  # the desk at once
    publisher.publish()
    publisher.publish()
    assert stalled.frames.qsize() == 1  # nothing happened: nothing sent
    for event in (AgentLoggedIn("a1"), AgentPaused("a1", "lunch")):
        live_desk.runtime.handle_now(event)
        publisher.publish()
    assert stalled.frames.qsize() == 3 and not stalled.dropped
    live_desk.runtime.handle_now(AgentResumed("a1"))
    publisher.publish()  # a fourth desk for a client that read none: cut off, its queue stays bounded
    assert stalled.dropped and cut == ["a1"] and publisher.dropped == 1
    assert stalled.frames.qsize() == 3
    assert publisher.subscribers == 1 and other.frames.qsize() == 1  # a2's desk never changed
    await publisher.close()
    assert await other.frames.get() is not None and await other.frames.get() is None  # the end of a2's stream


async def test_the_agents_consult_is_on_their_own_streams_only(
    live_desk: LiveDesk,  # noqa: F811
    http: aiohttp.ClientSession,
) -> None:
    """a1 consults a2 (the PBX's word): every stream a1 opened with their own token carries it, with
    the target and since when; the supervisor's and the admin's streams of a1 show the call without
    it; the consult's end takes it off."""
    live_desk.runtime.handle_now(AgentLoggedIn("a1"))
    live_desk.runtime.handle_now(AgentLoggedIn("a2"))
    call_id = await live_desk.call_from("15550907")
    live_desk.answer(call_id)
    url = f"{live_desk.base_url}{PREFIX}/agents/a1/events"
    async with (
        http.get(url, headers=live_desk.auth("a1")) as own1,
        http.get(url, headers=live_desk.auth("a1")) as own2,
        http.get(url, headers=live_desk.auth("billing")) as supervisor,
        http.get(url, headers=live_desk.auth("admin")) as admin,
    ):
        streams = {"own1": Desks(own1), "own2": Desks(own2), "supervisor": Desks(supervisor), "admin": Desks(admin)}
        for desks in streams.values():
            await desks.until(lambda d: d["agent"]["state"] == "on_call" and d["call"] is not None)
        live_desk.runtime.handle_now(ConsultStarted(call_id, "a1", "a2"))
        for name in ("own1", "own2"):
            desk = await streams[name].until(lambda d: d["call"] is not None and d["call"]["consult"] is not None)
            consult = desk["call"]["consult"]
            assert (consult["target"], consult["target_name"], consult["answered"]) == ("a2", "a2", None)
            assert consult["since"] is not None
        live_desk.runtime.handle_now(ConsultEnded(call_id, "a1", "a2"))
        for name in ("own1", "own2"):
            await streams[name].until(lambda d: d["call"] is not None and d["call"]["consult"] is None)
        for name in ("supervisor", "admin"):  # whatever they were sent meanwhile, never the consult
            with contextlib.suppress(TimeoutError):
                while True:
                    await streams[name].next(1.0)
            assert all(d["call"] is None or d["call"]["consult"] is None for d in streams[name].seen)
