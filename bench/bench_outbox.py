"""Benchmark the records outbox: rows/s into Postgres, and what ``append()`` costs the routing loop.

    .venv/bin/python -m bench.bench_outbox [--rows 50000] [--batch 1000]     (from the repo root)

Uses DATABASE_URL if set, else an embedded PostgreSQL in a temporary folder. Targets: >= 5,000
interaction rows/s drained, and an append() far below a millisecond (it runs on the routing loop).
Also the worst case of content refusals: one record PostgreSQL refuses (a NUL) in every batch, which
sends every batch through the halving retry to quarantine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.record_types import InteractionRecord
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.startup.sync_config import sync_config
from bench.percentiles import percentile

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "PJSIP/a1", (("billing", 3),)),),
)
T0 = 1_780_000_000.0


def closed_call(i: int) -> InteractionRecord:
    return InteractionRecord(
        interaction_id=str(uuid.UUID(int=i + 1)),
        seq=3,
        queue="billing",
        priority=5,
        caller=f"+1555{i:07d}",
        arrived_at=T0 + i,
        uniqueid=f"{T0 + i}",
        linkedid=f"{T0 + i}",
        answered_at=T0 + i + 9,
        ended_at=T0 + i + 190,
        outcome="answered",
        agent_id="a1",
        wait_seconds=9.0,
        talk_seconds=181.0,
        wrapup_seconds=15.0,
        within_sla=True,
        disposition="resolved",
    )


async def run(engine: AsyncEngine, rows: int, batch: int, journal: Path) -> None:
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE interactions, offers, agent_states CASCADE"))
    await sync_config(engine, CONFIG)
    records = [closed_call(i) for i in range(rows)]

    # 1. Throughput: everything appended first, then time the drain (pure database path).
    box = Outbox(journal / "throughput", engine, batch_size=batch)
    await box.start()
    for r in records:
        box.append(r)
    began = time.perf_counter()
    assert await box.flush(600), "the outbox did not drain"
    drained = time.perf_counter() - began
    await box.stop()
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM interactions"))).scalar_one()
    assert stored == rows, (stored, rows)
    print(f"drain:  {rows} interaction rows in {drained:.2f}s = {rows / drained:,.0f} rows/s (batch {batch})")

    # 2. append() cost while the drainer works (replays: the same ids with a higher seq).
    box = Outbox(journal / "latency", engine, batch_size=batch)
    await box.start()
    costs: list[int] = []
    began = time.perf_counter()
    for i, r in enumerate(records):
        t = time.perf_counter_ns()
        box.append(InteractionRecord(**{**{f: getattr(r, f) for f in r.__slots__}, "seq": 4}))
        costs.append(time.perf_counter_ns() - t)
        if i % 200 == 0:
            await asyncio.sleep(0)  # the routing loop yields; the drainer and fsync run meanwhile
    assert await box.flush(600)
    total = time.perf_counter() - began
    await box.stop()
    costs.sort()
    print(
        f"append: p50 {percentile(costs, 50) / 1000:.1f} µs, p99 {percentile(costs, 99) / 1000:.1f} µs, "
        f"max {costs[-1] / 1000:.0f} µs, mean {statistics.fmean(costs) / 1000:.1f} µs "
        f"({rows} appends; appended and drained in {total:.2f}s = {rows / total:,.0f} rows/s end to end)"
    )

    # 3. One poisoned record per batch: each batch is retried in halves; the rest must still flow.
    box = Outbox(journal / "poisoned", engine, batch_size=batch)
    await box.start()
    for i, r in enumerate(records):
        poisoned = "resolved\x00" if i % batch == batch // 2 else r.disposition
        box.append(InteractionRecord(**{**{f: getattr(r, f) for f in r.__slots__}, "seq": 5, "disposition": poisoned}))
    began = time.perf_counter()
    assert await box.flush(600), "the outbox did not drain"
    drained = time.perf_counter() - began
    await box.stop()
    print(
        f"poison: {rows} rows, one refused per batch: drained in {drained:.2f}s = {rows / drained:,.0f} rows/s, "
        f"{box.quarantined} quarantined"
    )


async def main_async(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="acd-bench-"))
    server: EmbeddedPostgres | None = None
    try:
        url = os.environ.get("DATABASE_URL")
        if not url:
            server = EmbeddedPostgres(workdir / "pg")
            url = await asyncio.to_thread(server.start)
            print(f"embedded PostgreSQL started in {server.last_start_seconds:.2f}s")
        engine = create_async_engine(url)
        try:
            await run(engine, args.rows, args.batch, workdir / "journal")
        finally:
            await engine.dispose()
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
