"""The wallboard's Server-Sent Events over a real runtime and HTTP app: one board per tick for every
client, disconnects forgotten, slow clients dropped with their memory bounded, streams ended on stop.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from doubles import MockControl, NullSink, keep_rings
from live_acd import LiveAcd
from wiring import running, settings_for

from acd.bootstrap import build
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, OfferAnswered
from acd.http.bearer import Bearers
from acd.http.keys import PUBLISHER, READY
from acd.http.wallboard import add_wallboard_routes, require_tokens
from acd.readiness import Readiness
from acd.records.stores.tokens import Token
from acd.runtime import Runtime
from acd.wallboard.board import Board
from acd.wallboard.publisher import Publisher

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0, sla_target_ratio=0.8),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),), name="Ada"), AgentConfig("a2", "agent2", (("billing", 1),))),
)


TOKENS = {
    "admin": Token("t1", "admin", None, (), "", datetime.now(UTC), None),
    "billing": Token("t2", "supervisor", None, ("billing",), "", datetime.now(UTC), None),
    "sales": Token("t3", "supervisor", None, ("sales",), "", datetime.now(UTC), None),
    "agent": Token("t4", "agent", "a1", (), "", datetime.now(UTC), None),
}
ADMIN = {"Authorization": "Bearer admin"}


async def check(bearer: str) -> Token | None:
    """Stands in for the api_tokens table (checked against PostgreSQL in test_api_v1_*)."""
    return TOKENS.get(bearer)


async def ready() -> Readiness:
    return Readiness(True, True)


class Events:
    """Reads ``event: board`` messages off one SSE response."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, within: float = 3.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            event, data = "message", ""
            while True:
                line = (await self.response.content.readline()).decode()
                if line == "":
                    raise EOFError("the stream ended")
                line = line.rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data += line[6:]
                elif line == "" and data:
                    if event == "board":
                        payload: dict[str, Any] = json.loads(data)
                        return payload
                    event, data = "message", ""


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached in time")


@pytest.fixture
async def board() -> AsyncIterator[tuple[TestClient, Runtime, list[RingAgent]]]:  # type: ignore[type-arg]
    rings: list[RingAgent] = []
    parts = await build(settings_for(CONFIG), control=MockControl(keep_rings(rings)), records=NullSink())
    parts.site[READY] = ready
    require_tokens(parts.site, Bearers(check, streams_per_token=20))  # 20 screens on one token, below
    async with running(parts), TestClient(TestServer(parts.site)) as client:
        yield client, parts.runtime, rings


async def test_the_page_and_its_static_files_are_served(board: tuple[TestClient, Runtime, list[RingAgent]]) -> None:  # type: ignore[type-arg]
    client, _, _ = board
    page = await client.get("/wallboard")
    assert page.status == 200
    html = await page.text()
    assert "/wallboard/static/wallboard.js" in html and "cdn" not in html.lower()
    script = await client.get("/wallboard/static/wallboard.js")
    assert script.status == 200
    source = await script.text()
    assert "fetch(" in source and "Authorization" in source and "localStorage" in source
    assert (await client.get("/wallboard/static/wallboard.css")).status == 200


async def test_the_stream_pushes_the_board_as_calls_arrive_and_are_answered(
    board: tuple[TestClient, Runtime, list[RingAgent]],  # type: ignore[type-arg]
) -> None:
    client, runtime, rings = board
    response = await client.get("/wallboard/events", headers=ADMIN)
    assert response.headers["Content-Type"] == "text/event-stream"
    events = Events(response)
    first = await events.next()
    assert first["queues"][0]["waiting"] == 0
    assert first["queues"][0]["status"] == "none"
    assert [a["id"] for a in first["agents"]] == ["a1", "a2"]
    assert first["agents"][0]["name"] == "Ada"
    runtime.submit(AgentLoggedIn("a1"))
    runtime.submit(AgentLoggedIn("a2"))
    runtime.submit(CallArrived("c1", "billing", 5, channel="PJSIP/t-1", enqueued_at=time.time() - 3))
    runtime.submit(CallArrived("c2", "billing", 5, channel="PJSIP/t-2", enqueued_at=time.time() - 30))
    # a change is published at once (well within the 1 s tick), not on the next tick
    began = time.monotonic()
    seen = await events.next()
    while seen["queues"][0]["waiting"] != 2:
        seen = await events.next()
    assert time.monotonic() - began < 0.9
    queue = seen["queues"][0]
    assert queue["oldest_wait"] >= 30
    assert queue["agents_available"] == 0  # both ringing
    assert {a["state"] for a in seen["agents"]} == {"reserved"}
    for offer in [ring.offer_id for ring in rings]:
        runtime.submit(OfferAnswered(offer))
    runtime.submit(CallEnded("c1"))
    runtime.submit(CallEnded("c2"))
    while (seen := await events.next())["queues"][0]["answered"] != 2:
        pass
    queue = seen["queues"][0]
    assert queue["waiting"] == 0
    # the 3 s caller within T = 20 s, the 30 s caller not: 50 %, under the 80 % target
    assert queue["service_level"] == 0.5
    assert queue["status"] == "breached"
    response.close()


async def test_the_stream_needs_a_supervisor_or_admin_token(board: tuple[TestClient, Runtime, list[RingAgent]]) -> None:  # type: ignore[type-arg]
    client, _, _ = board
    for headers, expected in (
        ({}, (401, "unauthorized")),
        ({"Authorization": "Bearer nope"}, (401, "unauthorized")),
        ({"Authorization": "Basic admin"}, (401, "unauthorized")),
        ({"Authorization": "Bearer agent"}, (403, "forbidden")),
    ):
        response = await client.get("/wallboard/events", headers=headers)
        assert (response.status, (await response.json())["error_id"]) == expected, headers
    assert client.app[PUBLISHER].subscribers == 0


async def test_a_supervisor_sees_their_queues_and_the_agents_who_serve_them(
    board: tuple[TestClient, Runtime, list[RingAgent]],  # type: ignore[type-arg]
) -> None:
    client, _, _ = board
    publisher = client.app[PUBLISHER]
    streams = {
        who: Events(await client.get("/wallboard/events", headers={"Authorization": f"Bearer {who}"}))
        for who in ("admin", "billing", "sales")
    }
    boards = {who: await stream.next() for who, stream in streams.items()}
    assert [q["name"] for q in boards["billing"]["queues"]] == ["billing"]
    assert [a["id"] for a in boards["billing"]["agents"]] == ["a1", "a2"]
    assert (boards["sales"]["queues"], boards["sales"]["agents"]) == ([], [])  # no such queue here
    assert sum(boards["sales"]["agents_by_state"].values()) == 0
    built = publisher.built
    publisher.publish()
    assert {who: len((await stream.next())["queues"]) for who, stream in streams.items()} == {
        "admin": 1,
        "billing": 1,
        "sales": 0,
    }
    assert publisher.built == built + 1  # one board, cut once per view
    for stream in streams.values():
        stream.response.close()


async def test_without_a_token_store_the_stream_is_unavailable() -> None:
    app = web.Application()
    add_wallboard_routes(app, (await build(settings_for(CONFIG), control=MockControl(), records=NullSink())).runtime)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/wallboard/events", headers=ADMIN)
        assert (response.status, (await response.json())["error_id"]) == (503, "tokens-unavailable")


async def test_one_board_per_tick_for_every_client(board: tuple[TestClient, Runtime, list[RingAgent]]) -> None:  # type: ignore[type-arg]
    client, _, _ = board
    publisher = client.app[PUBLISHER]
    responses = [await client.get("/wallboard/events", headers=ADMIN) for _ in range(20)]
    streams = [Events(r) for r in responses]
    for stream in streams:
        await stream.next()
    assert publisher.subscribers == 20
    built = publisher.built
    publisher.publish()
    boards = [await stream.next() for stream in streams]
    assert publisher.built == built + 1
    assert len({json.dumps(b) for b in boards}) == 1  # the same board, built once
    for response in responses:
        response.close()


async def test_a_client_that_goes_away_is_forgotten(board: tuple[TestClient, Runtime, list[RingAgent]]) -> None:  # type: ignore[type-arg]
    client, _, _ = board
    publisher = client.app[PUBLISHER]
    staying = await client.get("/wallboard/events", headers=ADMIN)
    leaving = await client.get("/wallboard/events", headers=ADMIN)
    await Events(staying).next()
    await Events(leaving).next()
    assert publisher.subscribers == 2
    leaving.close()
    async with asyncio.timeout(5):
        while publisher.subscribers != 1:
            publisher.publish()  # the next write finds the socket closed
            await asyncio.sleep(0.05)
    assert publisher.dropped == 0  # gone, not dropped for being slow
    publisher.publish()
    await Events(staying).next()
    staying.close()


async def test_a_slow_client_is_dropped_and_never_grows_memory() -> None:
    big = {"filler": "x" * 256 * 1024}  # a large board fills the socket buffers quickly
    publisher = Publisher(lambda: big, queue_limit=4, interval=3600.0)
    app = web.Application()
    runtime = (await build(settings_for(CONFIG), control=MockControl(), records=NullSink())).runtime
    add_wallboard_routes(app, runtime, publisher, check)
    async with TestClient(TestServer(app)) as client:
        fast = await client.get("/wallboard/events", headers=ADMIN)
        fast_events = Events(fast)
        await fast_events.next()
        # a screen that connects and never reads, with a small receive buffer
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(stalled, (client.host, client.port))
        await loop.sock_sendall(
            stalled, b"GET /wallboard/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin\r\n\r\n"
        )
        await until(lambda: publisher.subscribers == 2)
        published = 0
        async with asyncio.timeout(20):
            while publisher.dropped == 0:
                publisher.publish()
                published += 1
                await fast_events.next()  # the fast screen keeps up, board after board
                for subscriber in publisher._subscribers:
                    assert subscriber.frames.qsize() <= 4  # bounded, whatever the lag
        assert publisher.subscribers == 1
        assert published < 200  # dropped once its socket and its 4 boards were full, not later
        publisher.publish()
        await fast_events.next()  # the fast screen is unaffected
        stalled.close()
        fast.close()


async def test_stopping_the_service_ends_open_streams_at_once(
    board: tuple[TestClient, Runtime, list[RingAgent]],  # type: ignore[type-arg]
) -> None:
    client, _, _ = board
    response = await client.get("/wallboard/events", headers=ADMIN)
    events = Events(response)
    await events.next()
    began = time.monotonic()
    await client.server.close()  # aiohttp would otherwise wait up to 60 s for the handler
    assert time.monotonic() - began < 5
    with pytest.raises((EOFError, aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)):
        while True:
            await events.next()


async def test_service_level_today_equals_the_live_counters(live_acd: LiveAcd) -> None:
    """Within one day since the start, the board's figure is the live SL of docs/kpis.md exactly."""
    await asyncio.sleep(2.5)  # about five billing calls answered, sales callers abandoned and overflowed
    runtime, sample = live_acd.runtime, live_acd.metrics.registry.get_sample_value
    now = runtime.now()
    board = Board().payload(runtime.core.snapshot(now), runtime.core.config, runtime.today)
    for queue in board["queues"]:
        labels = {"queue": queue["name"]}
        within = sample("acd_calls_answered_within_sla_total", labels)
        offered = sample("acd_calls_offered_total", labels)
        short = sample("acd_calls_short_abandoned_total", labels)
        assert within is not None and offered is not None and short is not None
        assert offered - short > 0, queue["name"]
        assert queue["service_level"] == within / (offered - short)
        assert (queue["offered"], queue["within_sla"]) == (offered, within)
    sales = next(q for q in board["queues"] if q["name"] == "sales")
    assert (sales["service_level"], sales["status"]) == (0.0, "breached")  # no agent serves sales
