"""Agent presence survives an ACD restart: the last state interval of each agent is read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from record_samples import T0, state, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.events import AgentLoggedIn, AgentPaused
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.last_presence import take_over

pytestmark = pytest.mark.pg


async def test_last_interval_of_each_agent_decides_login_and_pause(
    pg: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> None:
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    for record in (
        state("a1-ready", "a1", state="ready", started_at=T0, ended_at=T0 + 10),
        state("a1-paused", "a1", state="paused", reason="lunch", started_at=T0 + 10),
        state("a2-ready", "a2", state="ready", started_at=T0, ended_at=T0 + 5),
        state("a2-on-call", "a2", state="on_call", started_at=T0 + 5),
        state("a3-ready", "a3", state="ready", started_at=T0, ended_at=T0 + 3),
        state("a3-out", "a3", state="logged_out", started_at=T0 + 3),
    ):
        box.append(record)
    assert await box.flush(timeout=10)
    await box.stop()

    presence = {p.agent_id: p for p in await take_over(engine, T0 + 60)}
    assert presence["a1"].events() == [AgentLoggedIn("a1"), AgentPaused("a1", "lunch")]
    assert presence["a2"].events() == [AgentLoggedIn("a2")]
    assert presence["a3"].events() == []

    async with engine.connect() as conn:
        open_rows = (await conn.execute(text("SELECT count(*) FROM agent_states WHERE ended_at IS NULL"))).scalar()
        closed_at = (
            await conn.execute(
                text("SELECT extract(epoch FROM ended_at) FROM agent_states WHERE id = :id"), {"id": uid("a1-paused")}
            )
        ).scalar_one()
    assert open_rows == 0
    assert float(closed_at) == T0 + 60
