"""/readyz against a real PostgreSQL and a (fake) AMI server: ready only with both, and it says which is down.

The service's own parts (``acd.bootstrap.build``) answer the HTTP site, as in production; PostgreSQL
is stopped and started under it, and the AMI link is closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from record_samples import CONFIG
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.ami.fake_server import FakeAmiServer
from acd.ami.link import AmiLink
from acd.bootstrap import Parts, build
from acd.database import Database
from acd.readiness import DatabaseProbe
from acd.records.startup.embedded import EmbeddedPostgres
from acd.settings import AmiSettings, DatabaseSettings, HttpSettings, Settings

pytestmark = pytest.mark.pg


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_probe_follows_postgres_down_and_up_and_reuses_a_fresh_answer(
    pg: EmbeddedPostgres, engine: AsyncEngine
) -> None:
    clock = Clock()
    probe = DatabaseProbe(engine, timeout=2.0, max_age=2.0, clock=clock)
    assert await probe.reachable()
    try:
        await asyncio.to_thread(pg.stop)
        assert await probe.reachable(), "an answer younger than max_age is reused"
        clock.now = 2.5
        began = time.monotonic()
        assert not await probe.reachable()
        assert time.monotonic() - began < 3.0  # bounded by the probe's timeout
        assert probe.last_error
    finally:
        await asyncio.to_thread(pg.start)
    clock.now = 5.0
    assert await probe.reachable()
    assert probe.last_error is None


async def test_an_unreachable_address_is_not_ready_within_the_timeout() -> None:
    dead = create_async_engine("postgresql+asyncpg://acd@127.0.0.1:9/acd", connect_args={"timeout": 5})
    try:
        probe = DatabaseProbe(dead, timeout=1.0)
        began = time.monotonic()
        assert not await probe.reachable()
        assert time.monotonic() - began < 2.0
    finally:
        await dead.dispose()


@dataclass
class Wired:
    client: TestClient  # type: ignore[type-arg]
    parts: Parts
    pbx: FakeAmiServer


@pytest.fixture
async def wired(pg: EmbeddedPostgres, engine: AsyncEngine) -> AsyncIterator[Wired]:
    """The parts as the service builds them over the schema at head (``engine``), records aside."""
    pbx = FakeAmiServer()
    port = await pbx.start()
    settings = Settings(
        AmiSettings(port=port, secret="secret"), HttpSettings(), DatabaseSettings(url=pg.url), CONFIG, "test"
    )
    database = Database(pg.url)
    parts = await build(settings, records=NullSink(), database=database)
    assert parts.status.probe is not None
    parts.status.probe = DatabaseProbe(database.pool("probe"), max_age=0.0)  # every request probes
    try:
        async with TestClient(TestServer(parts.site)) as client:
            yield Wired(client, parts, pbx)
    finally:
        assert parts.link is not None
        await parts.link.close()
        assert parts.audit is not None
        await parts.audit.close()
        await database.close()
        await pbx.stop()
        pg.start()


class NullSink:
    def append(self, record: object) -> None: ...


async def ready(client: TestClient) -> tuple[int, dict[str, Any]]:  # type: ignore[type-arg]
    response = await client.get("/readyz")
    return response.status, await response.json()


async def test_readyz_needs_the_ami_link_and_the_database(wired: Wired, pg: EmbeddedPostgres) -> None:
    status, body = await ready(wired.client)
    assert status == 503  # the AMI link has not been started
    assert body["details"] == {"ami_connected": False, "database_reachable": True, "role": "leader"}

    assert wired.parts.link is not None
    link: AmiLink = wired.parts.link
    link.start()
    await link.wait_connected(timeout=5.0)
    assert await ready(wired.client) == (
        200,
        {"ready": True, "ami_connected": True, "database_reachable": True, "role": "leader"},
    )

    await asyncio.to_thread(pg.stop)
    status, body = await ready(wired.client)
    assert status == 503
    assert body["error_id"] == "not-ready"
    assert body["message"] == "not ready: PostgreSQL is unreachable"
    assert body["details"]["ami_connected"] is True and body["details"]["database_reachable"] is False
    assert set(body["details"]) == {"ami_connected", "database_reachable", "role"}  # the why goes to the log only

    await asyncio.to_thread(pg.start)
    await link.close()
    status, body = await ready(wired.client)
    assert status == 503
    assert body["message"] == "not ready: the AMI link to Asterisk is down"
    assert body["details"] == {"ami_connected": False, "database_reachable": True, "role": "leader"}


async def test_readyz_of_a_standby_is_503_with_its_role(wired: Wired) -> None:
    """A standby keeps its read side up, but a load balancer must send changes to the leader alone."""
    assert wired.parts.link is not None
    wired.parts.link.start()
    await wired.parts.link.wait_connected(timeout=5.0)
    leading = [False]
    wired.parts.status.leading = lambda: leading[0]
    status, body = await ready(wired.client)
    assert status == 503
    assert body["message"] == "not ready: this ACD is a standby: another instance leads"
    assert body["details"] == {"ami_connected": True, "database_reachable": True, "role": "standby"}
    leading[0] = True
    assert (await ready(wired.client))[0] == 200
    await wired.parts.link.close()
