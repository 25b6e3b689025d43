"""``acd quarantine``: an operator lists the quarantine, fixes an entry, replays it; what is still bad stays out."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from record_samples import CONFIG, answered, interaction, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.cli.quarantine import main
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg


async def test_a_fixed_entry_replays_and_a_bad_one_is_still_refused(
    pg: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await sync_config(engine, CONFIG)
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    box.append(replace(answered("notes"), notes="call back \x00 tomorrow"))
    box.append(interaction("priority", priority=2**40))
    assert await box.flush(10)
    await box.stop()
    assert box.quarantined == 2

    assert main(["list", "--file", str(box.quarantine_path)]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("2 entries, 2 invalid_value") and "out of int32 range" in listed

    fixed = tmp_path / "fixed.jsonl"
    entries = [json.loads(line) for line in box.quarantine_path.read_text().splitlines()]
    entries[0]["line"] = entries[0]["line"].replace("\\u0000", "")  # the operator fixes the notes only
    fixed.write_text("".join(json.dumps(e) + "\n" for e in entries))
    assert await asyncio.to_thread(main, ["replay", "--file", str(fixed), "--database-url", pg.url]) == 1
    out = capsys.readouterr().out
    assert "replayed 1 records; 1 entries still refused" in out
    assert "2: still refused (invalid_value)" in out
    async with engine.connect() as conn:
        stored: dict[uuid.UUID, str] = dict((await conn.execute(text("SELECT id, notes FROM interactions"))).all())
    assert stored == {uuid.UUID(uid("notes")): "call back  tomorrow"}
    again = ["replay", "--file", str(fixed), "--database-url", pg.url]
    assert await asyncio.to_thread(main, again) == 1  # again: harmless
    assert "replayed 1 records" in capsys.readouterr().out
