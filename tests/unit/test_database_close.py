"""A stop never waits on PostgreSQL's goodbyes: a pool whose connections do not close in time (the server
gone silent) is dropped without them, the others close side by side (acd.database.Database.close)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from acd import database


class Pool:
    """What ``close`` uses of an engine: ``dispose``, which may hang on a silent server."""

    def __init__(self, hangs: bool) -> None:
        self.hangs = hangs
        self.disposed: list[bool] = []

    async def dispose(self, close: bool = True) -> None:
        self.disposed.append(close)
        if close and self.hangs:
            await asyncio.sleep(60)


async def test_a_pool_that_does_not_close_in_time_is_dropped_and_the_others_close(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(database, "CLOSE_SECONDS", 0.2)
    db = database.Database("postgresql+asyncpg://u:p@127.0.0.1:1/acd")
    silent, fine = Pool(hangs=True), Pool(hangs=False)
    engines: dict[str, Any] = {"outbox": silent, "api": fine}
    db._engines = engines
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="acd"):
        await db.close()
    assert time.monotonic() - began < 1.0
    assert silent.disposed == [True, False]  # tried, then dropped without its connections' goodbyes
    assert fine.disposed == [True]
    assert "the outbox pool's connections did not close" in caplog.text
    assert db._engines == {}
