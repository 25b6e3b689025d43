"""Postgres goes down while routing appends records: appends stay fast, and every record arrives once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from record_samples import CONFIG, answered, interaction, state
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg


async def test_postgres_outage_delays_records_but_loses_and_duplicates_none(
    pg: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> None:
    await sync_config(engine, CONFIG)
    box = Outbox(tmp_path / "journal", engine, retry_initial=0.05, retry_max=0.3, write_timeout=5)
    await box.start()
    try:
        for i in range(100):
            box.append(interaction(f"before{i}"))
        assert await box.flush(10)

        await asyncio.to_thread(pg.stop)
        slowest = 0.0
        for i in range(500):
            began = time.perf_counter()
            box.append(interaction(f"during{i}"))
            box.append(answered(f"during{i}"))
            box.append(state(f"s{i}", seq=i))
            slowest = max(slowest, time.perf_counter() - began)
            if i % 50 == 0:
                await asyncio.sleep(0.02)  # let the drainer try, and fail
        assert box.backlog == 1500
        assert box.last_error is not None
        assert slowest < 0.05, f"append() took {slowest * 1000:.1f} ms while Postgres was down"
        assert not await box.flush(0.3)

        await asyncio.to_thread(pg.start)
        assert await box.flush(30)
        assert box.backlog == 0 and box.quarantined == 0
    finally:
        await box.stop()

    async with engine.connect() as conn:
        counts = (
            await conn.execute(
                text("SELECT count(*) FILTER (WHERE outcome = 'answered' AND seq = 3), count(*) FROM interactions")
            )
        ).one()
        states = (await conn.execute(text("SELECT count(*) FROM agent_states"))).scalar_one()
    assert tuple(counts) == (500, 600)
    assert states == 500
