"""Offers a stopped process left open, closed by the leader from their interaction (docs/records.md,
"Offers a stopped process left open").

The old process (term 1) wrote each offer as its agent was rung, and died before its result reached the
journal; the new leader (term 2) took the calls over and wrote their interactions. Without the close,
every such offer stays open for ever.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from record_samples import T0, answered, interaction, offer, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.record_types import Record
from acd.records.orphan_offers import MARGIN_SECONDS, close_orphan_offers
from acd.records.pipeline.store import PostgresRecordStore

pytestmark = pytest.mark.pg

RING = 15.0  # the longest ring timeout configured


async def write(engine: AsyncEngine, epoch: int, *records: Record) -> None:
    assert await PostgresRecordStore(engine).write(records, [epoch] * len(records)) == []


async def offers(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(text("SELECT * FROM offers"))
        return {str(r.id): dict(r._mapping) for r in found}


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def test_the_leader_closes_the_offers_a_stopped_process_left_open_from_their_interaction(
    engine: AsyncEngine,
) -> None:
    now = time.time()
    # term 1 rang them, died before their results reached its journal
    await write(
        engine,
        1,
        interaction("mine"),
        interaction("other"),
        interaction("gone"),
        interaction("waiting"),
        interaction("fresh", arrived_at=now - 5),
        offer("o-mine", "mine", seq=7),
        offer("o-other", "other"),
        offer("o-gone", "gone"),
        offer("o-waiting", "waiting"),
        offer("o-fresh", "fresh", offered_at=now - 1),  # still ringing, maybe
    )
    # term 2 took the calls over from the PBX
    await write(
        engine,
        2,
        answered("mine", seq=10**9),  # by a1 at T0 + 12, rung at T0 + 2
        answered("other", seq=10**9, agent="a2"),
        dataclasses.replace(interaction("gone", seq=10**9), outcome="abandoned", ended_at=T0 + 30, wait_seconds=30.0),
        interaction("fresh", seq=10**9, arrived_at=now - 5),
        # term 2's own ring, open: its own to close
        interaction("own", seq=10**9, arrived_at=now - 100),
        offer("o-own", "own", seq=10**9, offered_at=T0),
    )

    closed = await close_orphan_offers(engine, 2, RING)

    assert closed == {"answered": 1, "cancelled": 3}
    found = await offers(engine)
    mine = found[uid("o-mine")]
    assert (mine["result"], mine["ended_at"], mine["ring_seconds"]) == ("answered", at(T0 + 12), 10.0)
    assert (mine["epoch"], mine["seq"]) == (1, 7)  # the old term's version: its own close would still win
    other = found[uid("o-other")]  # the ring cut by another agent's answer: nobody's miss
    assert (other["result"], other["ended_at"], other["ring_seconds"]) == ("cancelled", at(T0 + 12), 10.0)
    gone = found[uid("o-gone")]
    assert (gone["result"], gone["ended_at"]) == ("cancelled", at(T0 + 30))
    waiting = found[uid("o-waiting")]  # no answer, no end: closed once no ring can last
    assert (waiting["result"], waiting["ended_at"]) == ("cancelled", at(T0 + 2 + RING + MARGIN_SECONDS))
    for untouched in ("o-fresh", "o-own"):
        assert (found[uid(untouched)]["result"], found[uid(untouched)]["ended_at"]) == (None, None), untouched

    # idempotent: a second run finds nothing
    assert await close_orphan_offers(engine, 2, RING) == {}
    assert await offers(engine) == found

    # a replay of the ring's opening changes nothing; the old term's journal drains its close after all
    # (seq one up, as the core writes it), with the truth: it wins over the guess
    await write(engine, 1, offer("o-other", "other"))
    assert (await offers(engine))[uid("o-other")]["result"] == "cancelled"
    await write(engine, 1, offer("o-other", "other", seq=2, ended_at=T0 + 9, result="rejected", ring_seconds=7.0))
    other = (await offers(engine))[uid("o-other")]
    assert (other["result"], other["ring_seconds"]) == ("rejected", 7.0)


async def test_a_run_closes_at_most_its_limit(engine: AsyncEngine) -> None:
    await write(engine, 1, interaction("c"), *(offer(f"o{n}", "c", offered_at=T0 + n) for n in range(5)))
    assert await close_orphan_offers(engine, 2, RING, limit=3) == {"cancelled": 3}
    assert await close_orphan_offers(engine, 2, RING, limit=3) == {"cancelled": 2}
    assert all(o["result"] == "cancelled" for o in (await offers(engine)).values())


async def test_an_old_ring_is_not_the_answer_when_the_next_leader_rang_the_same_agent_again(
    engine: AsyncEngine,
) -> None:
    """Term 1 rang a1 (T0 + 2) and died; term 2 took the call over and rang a1 again (T0 + 8), and a1
    answered that ring (T0 + 12): the old ring was cut by the takeover, the answer is the new ring's."""
    await write(engine, 1, interaction("again"), offer("o-old", "again"))
    await write(
        engine,
        2,
        answered("again", seq=10**9),
        offer("o-new", "again", seq=10**9, offered_at=T0 + 8, ended_at=T0 + 12, result="answered", ring_seconds=4.0),
    )
    assert await close_orphan_offers(engine, 2, RING) == {"cancelled": 1}
    found = await offers(engine)
    assert found[uid("o-old")]["result"] == "cancelled"
    assert found[uid("o-new")]["result"] == "answered"  # one answer, one answered offer


async def test_an_answer_later_than_any_ring_could_last_is_not_the_old_rings(engine: AsyncEngine) -> None:
    await write(engine, 1, interaction("late"), offer("o-late", "late", offered_at=T0 - 100))
    await write(engine, 2, answered("late", seq=10**9))  # answered at T0 + 12: 112 s after the ring began
    assert await close_orphan_offers(engine, 2, RING) == {"cancelled": 1}
