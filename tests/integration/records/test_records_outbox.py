"""The outbox against a real Postgres: records arrive, newer snapshots win, bad ones are quarantined."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from record_samples import CONFIG, T0, answered, interaction, offer, state, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.pipeline import codec
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(text(sql), params)]


def quarantine_entries(outbox: Outbox) -> list[dict[str, Any]]:
    if not outbox.quarantine_path.exists():
        return []
    return [json.loads(line) for line in outbox.quarantine_path.read_text().splitlines()]


@pytest.fixture
async def outbox(engine: AsyncEngine, tmp_path: Path) -> Any:
    await sync_config(engine, CONFIG)
    box = Outbox(tmp_path / "journal", engine, retry_initial=0.05, retry_max=0.2)
    await box.start()
    yield box
    await box.stop()


async def test_records_of_every_type_arrive(engine: AsyncEngine, outbox: Outbox) -> None:
    outbox.append(interaction("c1"))
    outbox.append(offer("o1", "c1", result="answered", ended_at=T0 + 12, ring_seconds=10.0, seq=2))
    outbox.append(answered("c1"))
    outbox.append(state("s1", state="on_call", started_at=T0 + 12, ended_at=T0 + 200, seq=2))
    assert outbox.backlog == 4
    assert await outbox.flush(10)
    assert outbox.backlog == 0

    [call] = await rows(engine, "SELECT * FROM interactions")
    assert call["id"] == uuid.UUID(uid("c1"))
    assert (call["seq"], call["outcome"], call["agent_id"], call["within_sla"]) == (3, "answered", "a1", True)
    assert call["arrived_at"] == datetime.fromtimestamp(T0, UTC)
    assert call["answered_at"] == datetime.fromtimestamp(T0 + 12, UTC)
    assert (call["wait_seconds"], call["talk_seconds"], call["wrapup_seconds"]) == (12.0, 188.0, 10.0)
    assert (call["queue"], call["caller"], call["disposition"], call["notes"]) == (
        "billing",
        "+15550001",
        "resolved",
        "ok",
    )
    [ring] = await rows(engine, "SELECT * FROM offers")
    assert (ring["interaction_id"], ring["result"], ring["ring_seconds"]) == (uuid.UUID(uid("c1")), "answered", 10.0)
    [interval] = await rows(engine, "SELECT * FROM agent_states")
    assert (interval["agent_id"], interval["state"], interval["seq"]) == ("a1", "on_call", 2)
    assert outbox.quarantined == 0


async def test_an_older_snapshot_never_overwrites_a_newer_one(engine: AsyncEngine, outbox: Outbox) -> None:
    outbox.append(answered("c1", seq=3))
    assert await outbox.flush(10)
    outbox.append(interaction("c1", seq=1))  # replayed after the newer one, in a later batch
    outbox.append(answered("c2", seq=3))
    outbox.append(interaction("c2", seq=2))  # and in the same batch
    outbox.append(interaction("c3", seq=1))
    outbox.append(answered("c3", seq=2))  # a newer one in the same batch wins
    assert await outbox.flush(10)
    got = {r["id"]: (r["seq"], r["outcome"]) for r in await rows(engine, "SELECT id, seq, outcome FROM interactions")}
    assert got == {
        uuid.UUID(uid("c1")): (3, "answered"),
        uuid.UUID(uid("c2")): (3, "answered"),
        uuid.UUID(uid("c3")): (2, "answered"),
    }


async def test_replaying_the_same_snapshot_changes_nothing(engine: AsyncEngine, outbox: Outbox) -> None:
    outbox.append(answered("c1"))
    assert await outbox.flush(10)
    [before] = await rows(engine, "SELECT xmin::text AS x FROM interactions")
    outbox.append(answered("c1"))
    assert await outbox.flush(10)
    [after] = await rows(engine, "SELECT xmin::text AS x FROM interactions")
    assert before == after  # the row was not even rewritten


async def test_malformed_journal_lines_are_quarantined_and_the_rest_delivered(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await sync_config(engine, CONFIG)
    journal = tmp_path / "journal"
    journal.mkdir()
    good = [codec.encode(interaction(f"c{i}")) for i in range(3)]
    bad_lines = [
        b"this is not json",
        b'{"type": "fax", "data": {}}',
        b'{"type": "interaction", "data": {"interaction_id": "' + uid("x").encode() + b'", "seq": 1}}',
        codec.encode(interaction("c9")).replace(uid("c9").encode(), b"not-a-uuid").rstrip(b"\n"),
        codec.encode(interaction("c8")).replace(b'"seq":1', b'"seq":"one"').rstrip(b"\n"),
    ]
    body = good[0] + b"\n".join(bad_lines) + b"\n" + good[1] + good[2] + b'{"type": "interac'  # torn tail
    (journal / "segment-00000000000000000000.jsonl").write_bytes(body)

    box = Outbox(journal, engine)
    await box.start()
    try:
        assert await box.flush(10)
        assert box.backlog == 0
        delivered = {r["id"] for r in await rows(engine, "SELECT id FROM interactions")}
        assert delivered == {uuid.UUID(uid(f"c{i}")) for i in range(3)}
        entries = quarantine_entries(box)
        reasons = [e["reason"] for e in entries]
        assert len(entries) == 6 and box.quarantined == 6
        assert any(r.startswith("not JSON") for r in reasons)
        assert "unknown record type 'fax'" in reasons
        assert any("missing fields" in r for r in reasons)
        assert any("is not a UUID" in r for r in reasons)
        assert any("interaction.seq" in r for r in reasons)
        assert any(r.startswith("torn write") for r in reasons)
        assert {e["line"] for e in entries} >= {"this is not json", '{"type": "interac'}
    finally:
        await box.stop()
    # appends after the torn tail was cut land on a clean line
    box = Outbox(journal, engine)
    await box.start()
    box.append(interaction("c4"))
    assert await box.flush(10)
    await box.stop()
    assert len(await rows(engine, "SELECT id FROM interactions")) == 4


async def test_unknown_agent_and_queue_are_created_unconfigured(engine: AsyncEngine, outbox: Outbox) -> None:
    outbox.append(answered("c1", agent="ghost", queue="closed-queue"))
    outbox.append(state("s1", agent="ghost"))
    outbox.append(offer("o1", "c1", agent="ghost"))
    assert await outbox.flush(10)
    assert outbox.quarantined == 0
    assert await rows(engine, "SELECT agent_id, queue FROM interactions") == [
        {"agent_id": "ghost", "queue": "closed-queue"}
    ]
    assert await rows(engine, "SELECT id, configured, endpoint FROM agents WHERE id = 'ghost'") == [
        {"id": "ghost", "configured": False, "endpoint": None}
    ]
    assert await rows(engine, "SELECT configured FROM queues WHERE name = 'closed-queue'") == [{"configured": False}]


async def test_an_offer_id_claimed_by_another_interaction_is_quarantined(engine: AsyncEngine, outbox: Outbox) -> None:
    outbox.append(interaction("c1"))
    outbox.append(interaction("c2", caller="+15550002"))
    outbox.append(offer("o1", "c1"))
    assert await outbox.flush(10)
    outbox.append(offer("o1", "c2", seq=5, result="unanswered", ended_at=T0 + 17))  # across batches
    outbox.append(offer("o2", "c1"))
    outbox.append(offer("o2", "c2", seq=2))  # within one batch
    outbox.append(interaction("c1", seq=2, caller="+19999999"))  # same id, another caller
    assert await outbox.flush(10)
    got = {r["id"]: (r["interaction_id"], r["seq"]) for r in await rows(engine, "SELECT * FROM offers")}
    assert got == {uuid.UUID(uid("o1")): (uuid.UUID(uid("c1")), 1), uuid.UUID(uid("o2")): (uuid.UUID(uid("c1")), 1)}
    assert (await rows(engine, "SELECT caller FROM interactions WHERE id = :i", i=uid("c1")))[0][
        "caller"
    ] == "+15550001"
    reasons = [e["reason"] for e in quarantine_entries(outbox)]
    assert len(reasons) == 3 and all(r.startswith("id clash") for r in reasons)


async def test_records_refused_by_a_constraint_are_quarantined_alone(engine: AsyncEngine, outbox: Outbox) -> None:
    outbox.append(interaction("c1"))
    outbox.append(interaction("c2", outcome="abandoned", ended_at=T0 + 3, wait_seconds=-3.0))
    outbox.append(offer("o1", "never-seen"))
    outbox.append(interaction("c3", customer_id=uid("no-such-customer")))
    outbox.append(interaction("c4"))
    assert await outbox.flush(10)
    assert {r["id"] for r in await rows(engine, "SELECT id FROM interactions")} == {
        uuid.UUID(uid("c1")),
        uuid.UUID(uid("c4")),
    }
    reasons = [e["reason"] for e in quarantine_entries(outbox)]
    assert len(reasons) == 3
    assert any("ck_interactions_wait_seconds_non_negative" in r for r in reasons)
    assert any("fk_offers_interaction_id_interactions" in r for r in reasons)
    assert any("fk_interactions_customer_id_customers" in r for r in reasons)


async def test_fully_committed_segments_are_deleted(engine: AsyncEngine, tmp_path: Path) -> None:
    await sync_config(engine, CONFIG)
    journal = tmp_path / "journal"
    box = Outbox(journal, engine, segment_bytes=4096, batch_size=50)
    await box.start()
    for i in range(300):
        box.append(interaction(f"c{i}"))
    assert await box.flush(20)
    box.append(interaction("last"))  # rotation happens on append; compaction on commit
    assert await box.flush(20)
    await box.stop()
    segments = sorted(journal.glob("segment-*.jsonl"))
    assert len(segments) <= 2
    assert len(await rows(engine, "SELECT id FROM interactions")) == 301
