"""One PostgreSQL, several connection pools, each sized for its one job and declared in one table.

Routing must never wait behind a slow report, and /readyz must answer while the REST API is busy,
so each user of PostgreSQL draws from its own pool: the outbox's writer, the REST API (tokens,
audit, record searches), the readiness probe, the caller directory, the daily retention run,
the reads made once at start-up and a records command. ``POOLS`` says how large each is and how long it waits; a pool is
made on first use, and ``close`` disposes them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger("acd")
# how long closing one pool may wait for its connections' goodbyes at a stop
CLOSE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class PoolSpec:
    size: int = 5  # connections kept open
    overflow: int = 10  # connections opened beyond them at a busy moment, closed after
    pre_ping: bool = False  # test a pooled connection before use (a restarted server leaves dead ones)
    connect_timeout: float | None = None  # seconds to connect before giving up (asyncpg's default: 60)
    command_timeout: float | None = None  # seconds a statement may run

    def engine(self, url: str) -> AsyncEngine:
        connect: dict[str, Any] = {}
        if self.connect_timeout is not None:
            connect["timeout"] = self.connect_timeout
        if self.command_timeout is not None:
            connect["command_timeout"] = self.command_timeout
        return create_async_engine(
            url, pool_size=self.size, max_overflow=self.overflow, pool_pre_ping=self.pre_ping, connect_args=connect
        )


POOLS: Mapping[str, PoolSpec] = {
    # the durable outbox's writer: records reach PostgreSQL through it alone
    "outbox": PoolSpec(size=2, pre_ping=True, connect_timeout=10),
    # the REST API: tokens, audit and record searches never take routing's connections
    "api": PoolSpec(size=4, overflow=4, pre_ping=True, connect_timeout=5.0, command_timeout=10.0),
    # /readyz's SELECT 1 (and the wallboard's seed at start): one connection, a quick "no"
    "probe": PoolSpec(size=1, overflow=0, pre_ping=True, connect_timeout=2),
    # a caller's customer, looked up on the call path: a black-holed host gives up in seconds
    "customers": PoolSpec(size=4, overflow=4, pre_ping=True, connect_timeout=5.0, command_timeout=5.0),
    # acd_objective_*: each objective's attainment, by the reports' SQL, every 30 s (acd.jobs.objectives)
    "objectives": PoolSpec(size=1, overflow=0, pre_ping=True, connect_timeout=5.0, command_timeout=20.0),
    # the offers a stopped process left open, closed by the leader (acd.jobs.orphan_offers): one UPDATE now and then
    "orphan-offers": PoolSpec(size=1, overflow=0, pre_ping=True, connect_timeout=5.0, command_timeout=20.0),
    # the daily masking of old caller numbers (acd.records.retention)
    "retention": PoolSpec(size=1, connect_timeout=10),
    # the leadership lease (acd.leadership): one statement every renew period, never behind anything else,
    # and one connection held for the life of the process by the lease's LISTEN (releases, handovers)
    "lease": PoolSpec(size=2, overflow=1, pre_ping=True, connect_timeout=2.0, command_timeout=2.0),
    # read once at start: the config revision in force, agents' last state, calls left open, OTF verdicts
    # left pending
    "startup": PoolSpec(size=1, connect_timeout=10),
    # one run of a records command (acd report, tokens, customers, quarantine, mask-callers)
    "command": PoolSpec(),
}


class Database:
    """The PostgreSQL at ``url`` and its named pools (``POOLS``)."""

    def __init__(self, url: str, pools: Mapping[str, PoolSpec] = POOLS) -> None:
        self.url = url
        self._specs = pools
        self._engines: dict[str, AsyncEngine] = {}

    def pool(self, name: str) -> AsyncEngine:
        """The pool for one job; ``KeyError`` for a name ``POOLS`` does not declare."""
        engine = self._engines.get(name)
        if engine is None:
            engine = self._engines[name] = self._specs[name].engine(self.url)
        return engine

    async def release(self, name: str) -> None:
        """Close the pool's idle connections (it stays usable): for a job that runs once, or once a day."""
        engine = self._engines.get(name)
        if engine is not None:
            await engine.dispose()

    async def close(self) -> None:
        """Dispose every pool made so far, side by side. A pool whose connections do not close within
        ``CLOSE_SECONDS`` (PostgreSQL gone silent: each close waits for an answer) is dropped without
        them, and the process's exit closes their sockets."""
        engines, self._engines = dict(self._engines), {}
        results = await asyncio.gather(*(_dispose(name, e) for name, e in engines.items()), return_exceptions=True)
        for name, result in zip(engines, results, strict=True):
            if isinstance(result, Exception):
                log.warning("database: the %s pool could not be closed: %r", name, result)


async def _dispose(name: str, engine: AsyncEngine) -> None:
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await engine.dispose()
    except TimeoutError:
        log.warning("database: the %s pool's connections did not close within %g s; dropped", name, CLOSE_SECONDS)
        await engine.dispose(close=False)
