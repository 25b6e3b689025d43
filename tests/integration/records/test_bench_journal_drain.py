"""The journal-drain benchmark on the real PostgreSQL, in short (bench/bench_journal_drain.py): freezing
the server stops every process of it and thawing lets them go on; a replay with the server frozen
mid-run leaves a backlog that drains once it answers, every record lands, and each record's latency
is measured."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.startup.embedded import EmbeddedPostgres
from bench.bench_journal_drain import replay, simulate
from bench.drain_clock import PausedPostgres

pytestmark = pytest.mark.pg


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


async def test_a_frozen_postgres_answers_nothing_until_thawed(pg: EmbeddedPostgres, engine: AsyncEngine) -> None:
    pauser = PausedPostgres(pg.pgdata)
    async with engine.connect() as conn:  # a connection open before the freeze, as the outbox's are
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        stopped = pauser.pause()
        try:
            assert stopped >= 3  # the postmaster, its background writers and at least this backend
            assert {state(pid) for pid in pauser.stopped} == {"T"}
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await conn.execute(text("SELECT 2"))
        finally:
            pauser.resume()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT 3"))).scalar_one() == 3


async def test_a_replay_with_postgres_frozen_mid_run_drains_every_record(
    pg: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> None:
    feed = simulate(120.0, 4.0, seed=1)
    assert len(feed.records) > 100 and len(feed.calls) > 5
    run = await replay("short", feed, engine, tmp_path / "journal", (1.0, 1.5, PausedPostgres(pg.pgdata)))
    assert len(run.latencies) == len(feed.records)
    assert run.paused is not None and run.paused[1] - run.paused[0] >= 1.5
    assert run.backlog_at_thaw is not None and run.backlog_at_thaw > 10
    assert max(run.latencies) >= 1.4  # the first record appended after the freeze waited for the thaw
    assert run.drained_after_thaw is not None and 0 <= run.drained_after_thaw < 5
    assert max(run.in_flight) >= run.backlog_at_thaw
