"""kill -9 of a writer between journal write and upsert: the restart delivers every record, none twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from record_samples import CONFIG, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
COUNT = 600


def run_and_kill(journal: Path, url: str, mode: str, wait_for: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    child = subprocess.Popen(
        [sys.executable, str(HERE / "outbox_writer.py"), str(journal), url, mode, str(COUNT)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 60
        for line in child.stdout:
            if line.startswith(wait_for):
                break
            assert time.monotonic() < deadline
        else:
            pytest.fail(f"the writer ended before printing {wait_for!r}")
        if mode == "racing":
            time.sleep(random.Random(7).uniform(0.0, 0.05))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL


async def interactions(engine: AsyncEngine) -> dict[str, tuple[int, str | None, str]]:
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT id::text, seq, outcome, xmin::text FROM interactions"))
        return {r[0]: (r[1], r[2], r[3]) for r in result}


@pytest.mark.parametrize(
    ("mode", "wait_for"),
    [
        ("before-upsert", "appended"),
        ("after-upsert", "upserted"),
        ("racing", "appended"),
    ],
)
async def test_restart_after_kill_delivers_every_record_once(
    pg: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path, mode: str, wait_for: str
) -> None:
    await sync_config(engine, CONFIG)
    journal = tmp_path / "journal"
    run_and_kill(journal, pg.url, mode, wait_for)
    before = await interactions(engine)
    if mode == "before-upsert":
        assert before == {}
    if mode == "after-upsert":
        assert 0 < len(before) < COUNT

    box = Outbox(journal, engine)
    await box.start()
    try:
        assert box.backlog > 0
        assert await box.flush(30)
        assert box.backlog == 0 and box.quarantined == 0
    finally:
        await box.stop()

    after = await interactions(engine)
    expected = {uid(f"k{i}"): (3, "answered") if i % 2 == 0 else (1, None) for i in range(COUNT)}
    assert {k: v[:2] for k, v in after.items()} == expected
    # rows that were already committed were not rewritten by the replay (same seq: no update)
    assert all(after[k][2] == v[2] for k, v in before.items() if v[:2] == expected[k])
