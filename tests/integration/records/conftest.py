"""A real PostgreSQL 18 (embedded) for the records tests: one server per session, clean tables per test.

If the server cannot start, every test that needs it errors: a records test must never be skipped
for want of a database.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.records.models import Base
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    data_dir = Path(tempfile.mkdtemp(prefix="acd-pg-test-"))
    server = EmbeddedPostgres(data_dir)
    server.start()
    print(f"embedded PostgreSQL started in {server.last_start_seconds:.2f}s")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.pgdata.resolve().parent, ignore_errors=True)  # as root, the server's own folder
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def engine(pg: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    """The schema at head, every table empty."""
    pg.start()  # no-op when running; restarts a server a previous test left stopped
    eng = create_async_engine(pg.url, pool_pre_ping=True)
    await upgrade(eng)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with eng.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    try:
        yield eng
    finally:
        await eng.dispose()
