"""The service as ``acd run`` builds it (``Service.run``: migrations, outbox, runtime, HTTP) serves
/api/v1 beside the unversioned /api, and a change made through it reaches the audit log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from api_v1_harness import api_pg, service_settings, wait_up  # noqa: F401
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from acd.ami.fake_server import FakeAmiServer
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.stores import tokens
from acd.service import Service
from phonefarm.ports import free_port

pytestmark = pytest.mark.pg


async def test_the_service_serves_api_v1_and_audits_its_changes(
    api_pg: EmbeddedPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    pbx = FakeAmiServer()
    ami_port = await pbx.start()
    http_port = free_port()
    settings = service_settings(api_pg, ami_port, http_port, tmp_path / "journal")
    engine = create_async_engine(api_pg.url)
    await upgrade(engine)  # the file's config in force, whatever revisions other tests' changes left
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM config_revisions"))
    service = Service(settings)
    running = asyncio.create_task(service.run())
    base = f"http://127.0.0.1:{http_port}"
    try:
        await wait_up(f"{base}/api/v1/openapi.json")
        token, bearer = await tokens.issue(engine, "agent", agent_id="a1")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {bearer}"}) as session:
            async with session.post(f"{base}/api/v1/agents/a1/login") as response:
                assert response.status == 200
                assert (await response.json())["agent"]["state"] == "ready"
            async with session.post(f"{base}/api/v1/agents/a2/login") as response:
                assert response.status == 403
            async with session.get(f"{base}/api/v1/status") as response:
                assert {a["id"]: a["state"] for a in (await response.json())["agents"]}["a1"] == "ready"
            async with session.get(f"{base}/api/status") as response:  # the unversioned API is gone
                assert response.status == 404
            # the service's site is behind the boundary: a foreign Host name reads nothing
            async with session.get(f"{base}/api/v1/status", headers={"Host": "attacker.example"}) as response:
                assert response.status == 421
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT action, target, status FROM audit_log WHERE token_id = :t"), {"t": token.id}
                )
            ).all()
        assert [tuple(r) for r in rows] == [("agent.login", "a1", 200)]
    finally:
        service._stopping.set()
        await asyncio.wait_for(running, 30)
        await engine.dispose()
        await pbx.stop()
