"""The audit log never holds a request up for long: with PostgreSQL unreachable, a write gives up
within its timeout, the entry goes to the log in full, and the API still answers the change."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from api_v1_harness import V1, api_pg, v1  # noqa: F401
from sqlalchemy.ext.asyncio import create_async_engine

from acd.http.v1 import PREFIX, build_api_v1
from acd.records.stores.audit import AuditLog, Change

pytestmark = pytest.mark.pg


def _silent_port() -> tuple[socket.socket, int]:
    """A port that accepts TCP connections and never answers: a hung database."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener, listener.getsockname()[1]


async def test_a_hung_database_costs_a_write_its_timeout_and_the_entry_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener, port = _silent_port()
    engine = create_async_engine(f"postgresql+asyncpg://acd@127.0.0.1:{port}/acd", connect_args={"timeout": 2})
    audit = AuditLog(engine, timeout=0.2)
    change = Change(datetime.now(UTC), "tok1", "admin", None, "agent.pause", "a1", 200, {"reason": "lunch"})
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, "acd.records.stores.audit"):
            assert await audit.write(change) is False
        assert time.monotonic() - started < 1.0
        assert audit.failures == 1
        assert '"action": "agent.pause"' in caplog.text and '"token_id": "tok1"' in caplog.text
    finally:
        await engine.dispose()
        listener.close()


async def test_the_api_answers_a_change_even_when_its_audit_entry_is_lost(v1: V1) -> None:  # noqa: F811
    listener, port = _silent_port()
    dead = create_async_engine(f"postgresql+asyncpg://acd@127.0.0.1:{port}/acd", connect_args={"timeout": 2})
    app = web.Application()
    app.add_subapp(PREFIX, build_api_v1(v1.runtime, v1.engine, AuditLog(dead, timeout=0.2)))
    try:
        async with TestClient(TestServer(app)) as client:
            started = time.monotonic()
            response = await client.post(f"{PREFIX}/agents/a1/login", headers=v1.auth("a1"))
            assert (response.status, (await response.json())["agent"]["state"]) == (200, "ready")
            assert time.monotonic() - started < 1.0
        assert await v1.audit() == []
    finally:
        await dead.dispose()
        listener.close()
