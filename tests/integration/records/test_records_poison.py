"""A record PostgreSQL refuses for its content, or the journal cannot hold, never stops the records after it.

Poison goes in through the records path (``Outbox.append``, the journal, the store) with a real
PostgreSQL: the refused record lands in quarantine with its kind, ``acd_records_quarantined_total``
counts it, and every good record (before it, beside it in the batch, after it, after a restart) arrives.
"""

from __future__ import annotations

import asyncio
import json
import math
import stat
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from record_samples import CONFIG, T0, answered, interaction, state, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.record_types import Record
from acd.metrics import Metrics
from acd.records.pipeline.outbox import Outbox
from acd.records.pipeline.store import PostgresRecordStore, Rejection
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg

# Each poison with the quarantine kind it must get.
POISON: list[tuple[Record, str]] = [
    (state("bad-pause", state="paused", reason="lunch\x00break"), "invalid_value"),
    (replace(answered("bad-disposition"), disposition="sold\x00"), "invalid_value"),
    (replace(answered("bad-notes"), notes="call back \x00 tomorrow"), "invalid_value"),
    (interaction("bad-priority", priority=2**40), "invalid_value"),
    (interaction("bad-seq", seq=2**70), "invalid_value"),
    (interaction("bad-caller", caller="\ud800"), "invalid_value"),  # not UTF-8
    (interaction("bad-queue", queue="billing\x00"), "invalid_value"),  # not in the config: created with it
    (interaction("bad-time", arrived_at=1e20), "invalid_value"),  # no timestamp that far out
    (interaction("bad-check", outcome="abandoned", ended_at=T0 + 3, wait_seconds=-3.0), "constraint"),
    (interaction("bad-wait", wait_seconds=math.nan), "unencodable"),
    (interaction("bad-end", outcome="abandoned", ended_at=math.inf), "unencodable"),
]


def metrics() -> Metrics:
    return Metrics(CONFIG.queues, CONFIG.agents)


def counted(m: Metrics) -> dict[str, float]:
    return {
        s.labels["reason"]: s.value
        for f in m.registry.collect()
        if f.name == "acd_records_quarantined"
        for s in f.samples
        if s.name == "acd_records_quarantined_total" and s.value
    }


async def interaction_ids(engine: AsyncEngine) -> set[uuid.UUID]:
    async with engine.connect() as conn:
        return {row[0] for row in await conn.execute(text("SELECT id FROM interactions"))}


def quarantine(box: Outbox) -> list[dict[str, Any]]:
    return [json.loads(line) for line in box.quarantine_path.read_text().splitlines()]


def expected_kinds() -> dict[str, float]:
    kinds: dict[str, float] = {}
    for _, kind in POISON:
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


async def test_poisoned_records_go_to_quarantine_and_the_rest_arrive(engine: AsyncEngine, tmp_path: Path) -> None:
    await sync_config(engine, CONFIG)
    m = metrics()
    box = Outbox(
        tmp_path / "journal",
        engine,
        retry_initial=0.05,
        retry_max=0.2,
        on_quarantined=lambda kind, n: m.records_quarantined.labels(kind).inc(n),
    )
    await box.start()
    try:
        box.append(interaction("before"))
        for i, (record, _) in enumerate(POISON):
            box.append(record)  # never raises, whatever the record holds
            box.append(interaction(f"beside-{i}"))
        assert await box.flush(20), f"the outbox is stuck: {box.last_error}"
        box.append(interaction("after"))
        assert await box.flush(20), f"the outbox is stuck: {box.last_error}"
        assert box.backlog == 0

        stored = await interaction_ids(engine)
        good = {uuid.UUID(uid("before")), uuid.UUID(uid("after"))}
        assert good <= stored
        assert len(stored) == 2 + len(POISON)  # before, after, and one good record beside each poison
        poisoned = {uuid.UUID(r.interaction_id) for r, _ in POISON if hasattr(r, "interaction_id")}
        assert not poisoned & stored

        entries = quarantine(box)
        assert sorted(e["kind"] for e in entries) == sorted(kind for _, kind in POISON)
        assert box.quarantined == len(POISON)
        assert counted(m) == expected_kinds()
        unencodable = [e for e in entries if e["kind"] == "unencodable"]
        assert all(e["offset"] is None for e in unencodable)
        assert any('"wait_seconds":NaN' in e["line"] for e in unencodable)  # kept, for a fix and a replay
        assert any("out of int32 range" in e["reason"] for e in entries)
        assert any("0x00" in e["reason"] for e in entries)
        assert all(len(e["reason"]) <= 400 for e in entries)  # not a whole column of caller numbers
        assert stat.S_IMODE(box.quarantine_path.stat().st_mode) == 0o600
    finally:
        await box.stop()


class NeverAnswers:
    """PostgreSQL that takes the batch and never answers: everything stays journaled."""

    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        await asyncio.Event().wait()
        return []


async def test_a_restart_replays_a_poisoned_journal_without_blocking(engine: AsyncEngine, tmp_path: Path) -> None:
    await sync_config(engine, CONFIG)
    journal = tmp_path / "journal"
    first = Outbox(journal, NeverAnswers())
    await first.start()
    first.append(interaction("r-before"))
    for i, (record, kind) in enumerate(POISON):
        if kind != "unencodable":
            first.append(record)
            first.append(interaction(f"r-good-{i}"))
    first.append(interaction("r-after"))
    await first.stop(flush_timeout=0.1)
    assert first.backlog > 0  # all of it waits in the journal

    m = metrics()
    second = Outbox(journal, engine, on_quarantined=lambda kind, n: m.records_quarantined.labels(kind).inc(n))
    await second.start()
    try:
        assert await second.flush(20), f"the replay is stuck: {second.last_error}"
        second.append(interaction("r-later"))
        assert await second.flush(20), f"the outbox is stuck: {second.last_error}"
        stored = await interaction_ids(engine)
        names = ["r-before", "r-after", "r-later"] + [
            f"r-good-{i}" for i, (_, k) in enumerate(POISON) if k != "unencodable"
        ]
        assert {uuid.UUID(uid(n)) for n in names} <= stored
        refused = [k for _, k in POISON if k != "unencodable"]
        assert sorted(e["kind"] for e in quarantine(second)) == sorted(refused)
        assert sum(counted(m).values()) == len(refused)
    finally:
        await second.stop()


async def test_a_database_that_is_down_is_still_not_a_refusal(engine: AsyncEngine, tmp_path: Path) -> None:
    """The other side of the line: a connection that fails is retried, not quarantined."""
    dead = PostgresRecordStore(_unreachable(engine))
    box = Outbox(tmp_path / "journal", dead, retry_initial=0.05, retry_max=0.1)
    await box.start()
    try:
        box.append(interaction("waits"))
        assert not await box.flush(1.0)
        assert box.backlog == 1 and box.quarantined == 0
        assert box.last_error is not None and "could not write" in box.last_error
    finally:
        await box.stop(flush_timeout=0.1)


def _unreachable(engine: AsyncEngine) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine

    url = engine.url.set(host="127.0.0.1", port=1)  # nothing listens on port 1
    return create_async_engine(url, connect_args={"timeout": 2})


async def test_a_journal_line_carrying_nan_is_quarantined_not_stored(engine: AsyncEngine, tmp_path: Path) -> None:
    """A line written by hand (a replay) or by an older version may still carry NaN: it never reaches a row."""
    await sync_config(engine, CONFIG)
    journal = tmp_path / "journal"
    journal.mkdir()
    good = json.dumps(
        {
            "type": "interaction",
            "data": {
                "interaction_id": uid("n-good"),
                "seq": 1,
                "queue": "billing",
                "priority": 5,
                "caller": "+1555",
                "arrived_at": T0,
            },
        }
    )
    nan = good.replace(uid("n-good"), uid("n-nan")).replace('"arrived_at": ' + str(T0), '"arrived_at": NaN')
    huge = good.replace(uid("n-good"), uid("n-huge")).replace('"priority": 5', '"priority": 5, "wait_seconds": 1e999')
    (journal / "segment-00000000000000000000.jsonl").write_text("\n".join([nan, huge, good]) + "\n")
    box = Outbox(journal, engine)
    await box.start()
    try:
        assert await box.flush(20)
        assert await interaction_ids(engine) == {uuid.UUID(uid("n-good"))}
        assert [e["kind"] for e in quarantine(box)] == ["undecodable", "undecodable"]
    finally:
        await box.stop()
