"""A restarted ACD reads back the interactions its predecessor left open, as the records hold them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from record_samples import answered, interaction, uid
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.open_calls import left_open

pytestmark = pytest.mark.pg


async def test_the_open_interactions_of_the_last_day_come_back_whole(
    pg: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> None:
    now = round(time.time())
    talking = interaction(
        "oc-talking",
        seq=7,
        arrived_at=now - 60.0,
        uniqueid=f"{now}.11",
        linkedid=f"{now}.11",
        priority=9,
        answered_at=now - 50.0,
        agent_id="a1",
        wait_seconds=10.0,
        within_sla=True,
        disposition="7",
        notes="called back",
    )
    waiting = interaction("oc-waiting", arrived_at=now - 30.0, uniqueid=f"{now}.12")
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    for record in (
        talking,
        waiting,
        answered("oc-closed", arrived_at=now - 300.0, uniqueid=f"{now}.13"),
        interaction("oc-old", arrived_at=now - 2 * 86400.0, uniqueid=f"{now - 2 * 86400}.1"),  # older than a day
        interaction("oc-no-channel", arrived_at=now - 20.0, uniqueid=""),
    ):
        box.append(record)
    assert await box.flush(timeout=10)
    await box.stop()

    found = await left_open(engine)
    assert [r.interaction_id for r in found] == [uid("oc-talking"), uid("oc-waiting")]
    assert found == [talking, waiting]
