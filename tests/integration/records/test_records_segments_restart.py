"""A call transferred before an ACD restart and again after it keeps every segment, in PostgreSQL.

The first run writes the call's first segment (agent a1's talk in billing, transferred to support)
and leaves the call open (a5 talking). The restarted ACD reads the call back with its segment count
(``calls_left_open``), takes it over, and a5 transfers it back to billing, where a1 answers and hangs
up. ``interaction_segments`` then holds three rows, one per talk, in order; nothing is refused as a
clash with an earlier id (docs/records.md, "Segments").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from record_samples import uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.ami.ended_unseen import with_records, with_segments
from acd.ami.resync import ResyncResult
from acd.ami.roster import Roster
from acd.core.acd import Acd
from acd.core.commands import RecordCommand, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallEnded,
    CallInProgress,
    CallTransferred,
    OfferAnswered,
    ResyncFinished,
    ResyncStarted,
)
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.open_calls import calls_left_open

pytestmark = pytest.mark.pg

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0, wrapup_seconds=1.0),
        QueueConfig("support", (SkillRequirement("support", 1),), sla_threshold_seconds=30.0, wrapup_seconds=1.0),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a5", "agent5", (("support", 3),))),
)
CALL = uid("sr-call")


async def _write(box: Outbox, commands: Sequence[object]) -> None:
    for command in commands:
        if isinstance(command, RecordCommand):
            box.append(command.record)
    assert await box.flush(timeout=10)


def _answer(acd: Acd, out: list[object], at: float) -> None:
    ring = [c for c in out if isinstance(c, RingAgent)][-1]
    out += acd.handle(OfferAnswered(ring.offer_id), at)


async def test_a_call_transferred_again_after_a_restart_keeps_every_segment(
    pg: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> None:
    t0 = round(time.time()) - 300.0
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    try:
        first = Acd(CONFIG)
        out: list[object] = []
        for agent in ("a1", "a5"):
            out += first.handle(AgentLoggedIn(agent), t0)
        out += first.handle(CallArrived(CALL, "billing", 5, caller="555", uniqueid=f"{t0:g}.1"), t0)
        _answer(first, out, t0 + 4)
        out += first.handle(CallTransferred(CALL, "a1", "support"), t0 + 10)
        _answer(first, out, t0 + 15)
        await _write(box, out)  # then the ACD is killed: a5 still talks

        left = await calls_left_open(engine)
        assert [r.interaction_id for r in left.records] == [CALL]
        assert left.segments == {CALL: 1}

        restarted = Acd(CONFIG)
        out = []
        for agent in ("a1", "a5"):
            out += restarted.handle(AgentLoggedIn(agent), t0 + 100)
        talking = CallInProgress(CallArrived(CALL, "support", 5, uniqueid=f"{t0:g}.1"), "a5", t0 + 15)
        found = with_segments(
            with_records([talking], list(left.records), ResyncResult(), Roster(CONFIG)), left.segments
        )
        for event in [ResyncStarted(), *found, ResyncFinished()]:
            out += restarted.handle(event, t0 + 100)
        out += restarted.handle(CallTransferred(CALL, "a5", "billing"), t0 + 110)
        _answer(restarted, out, t0 + 120)
        out += restarted.handle(CallEnded(CALL), t0 + 130)
        await _write(box, out)
    finally:
        await box.stop()

    async with engine.connect() as conn:
        segments = (
            await conn.execute(
                text(
                    "SELECT id, agent_id, queue, transfer_target, extract(epoch FROM started_at) AS started "
                    "FROM interaction_segments WHERE interaction_id = :call ORDER BY started_at"
                ),
                {"call": CALL},
            )
        ).all()
        stays = (
            await conn.execute(
                text("SELECT queue, agent_id, end_reason FROM interactions WHERE uniqueid = :u ORDER BY arrived_at"),
                {"u": f"{t0:g}.1"},
            )
        ).all()
    assert [(s.agent_id, s.queue, s.transfer_target, float(s.started) - t0) for s in segments] == [
        ("a1", "billing", "queue:support", 4.0),
        ("a5", "support", "queue:billing", 15.0),
        ("a1", "billing", "", 120.0),
    ]
    assert len({s.id for s in segments}) == 3
    assert [(s.queue, s.agent_id, s.end_reason) for s in stays] == [
        ("billing", "a1", "transferred"),
        ("support", "a5", "transferred"),
        ("billing", "a1", "hangup"),
    ]
    quarantine = tmp_path / "journal" / "quarantine.jsonl"
    assert not quarantine.exists() or quarantine.read_text() == ""
