"""Config revisions made through /api/v1: concurrent changes all land, PostgreSQL down changes nothing
(503), and the latest revision is what the next start runs, the file's sections only seeding the first."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from api_v1_harness import CONFIG, V1, api_pg, service_settings, v1, wait_up  # noqa: F401
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.ami.fake_server import FakeAmiServer
from acd.config_changes import ConfigEditor, routing_in_force
from acd.http.v1 import PREFIX, build_api_v1
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.stores import config_revisions, tokens
from acd.records.stores.audit import AuditLog
from acd.records.stores.config_revisions import Author
from acd.routing_document import document_of
from acd.service import Service
from acd.settings import AmiSettings, DatabaseSettings, HttpSettings, Settings, SettingsError
from phonefarm.ports import free_port

pytestmark = pytest.mark.pg

FILE = Settings(AmiSettings(), HttpSettings(), DatabaseSettings(), CONFIG, "acd.toml")


async def test_concurrent_creates_all_land(v1: V1) -> None:  # noqa: F811
    bodies = [{"id": f"n{i}", "endpoint": f"new{i}", "skills": {"billing": 3}} for i in range(6)]
    replies = await asyncio.gather(*(v1.post("/agents", "admin", body) for body in bodies))
    assert sorted(status for status, _ in replies) == [201] * 6
    assert sorted(reply["revision"] for _, reply in replies) == [1, 2, 3, 4, 5, 6]
    assert {f"n{i}" for i in range(6)} <= {a.id for a in v1.runtime.core.config.agents}
    stored = await config_revisions.latest(v1.engine)
    assert stored is not None and stored.revision == 6
    assert {f"n{i}" for i in range(6)} <= set(stored.document["agents"])


async def test_with_postgresql_down_a_change_is_503_and_the_core_unchanged(v1: V1) -> None:  # noqa: F811
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = create_async_engine(f"postgresql+asyncpg://acd@127.0.0.1:{port}/acd", connect_args={"timeout": 2})
    editor = ConfigEditor.running(v1.runtime, down)  # tokens still verify: only the revision cannot be written
    app = web.Application()
    app.add_subapp(PREFIX, build_api_v1(v1.runtime, v1.engine, AuditLog(v1.engine), editor))
    before = v1.runtime.core.config
    try:
        async with TestClient(TestServer(app)) as client:
            for method, path, body in [
                ("POST", "/queues", {"name": "night", "skills": {"billing": 1}}),
                ("DELETE", "/agents/a1", None),
                ("PUT", "/skills/sales", {"name": "x"}),
            ]:
                response = await client.request(method, PREFIX + path, json=body, headers=v1.auth("admin"))
                assert (response.status, (await response.json())["error_id"]) == (503, "database-unavailable")
    finally:
        await down.dispose()
    assert v1.runtime.core.config is before and editor.revision == 0
    assert editor.document == document_of(before)


async def test_the_next_start_runs_the_latest_revision_not_the_file(v1: V1) -> None:  # noqa: F811
    assert (await routing_in_force(v1.engine, FILE)).revision is None  # never changed: the file's
    await v1.post("/queues", "admin", {"name": "night", "skills": {"billing": 1}})
    await v1.client.delete(f"{PREFIX}/agents/s1", headers=v1.auth("admin"))
    in_force = await routing_in_force(v1.engine, FILE)
    assert in_force.revision is not None and in_force.revision.revision == 2
    assert in_force.routing == v1.runtime.core.config
    assert in_force.routing.queue("night") is not None and "s1" not in {a.id for a in in_force.routing.agents}
    assert in_force.routing.policy == FILE.routing.policy  # [routing] stays the file's


async def test_a_stored_revision_that_no_longer_passes_the_checks_stops_the_start(v1: V1) -> None:  # noqa: F811
    await config_revisions.save(
        v1.engine, {"skills": ["billing"], "queues": {}, "agents": {}}, Author("t", "admin", "queue.delete", "billing")
    )
    with pytest.raises(SettingsError, match="config revision 1: queues"):
        await routing_in_force(v1.engine, FILE)


async def _clear(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM config_revisions"))


async def test_the_service_restarts_with_the_revision(api_pg: EmbeddedPostgres, tmp_path: Path) -> None:  # noqa: F811
    """Through ``Service.run`` twice: a queue added through the API is still there after a restart."""
    engine = create_async_engine(api_pg.url)
    await _clear(engine)
    pbx = FakeAmiServer()
    ami_port = await pbx.start()
    try:
        for run in (1, 2):
            http_port = free_port()
            settings = service_settings(api_pg, ami_port, http_port, tmp_path / "journal")
            service = Service(settings)
            running = asyncio.create_task(service.run())
            base = f"http://127.0.0.1:{http_port}{PREFIX}"
            try:
                await wait_up(f"{base}/openapi.json")
                _, bearer = await tokens.issue(engine, "admin")
                parts = service.parts
                assert parts is not None
                async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {bearer}"}) as session:
                    if run == 1:
                        assert parts.core.config.queue("night") is None
                        async with session.post(
                            f"{base}/queues", json={"name": "night", "skills": {"sales": 2}}
                        ) as response:
                            assert response.status == 201
                        assert parts.translator.roster.has_queue("night")  # the AMI side knows it
                    else:
                        assert parts.revision == 1
                        assert parts.core.config.queue("night") is not None
                        async with session.get(f"{base}/queues/night") as response:
                            assert response.status == 200 and (await response.json())["revision"] == 1
            finally:
                service._stopping.set()
                await asyncio.wait_for(running, 30)
    finally:
        await _clear(engine)  # the next tests start from the file's config
        await engine.dispose()
        await pbx.stop()
