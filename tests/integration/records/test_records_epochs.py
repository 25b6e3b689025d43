"""Records reconciled by epoch: two leaders' journals over one PostgreSQL (docs/standby.md, "Records
reconciled by epoch").

The real lease (``acd.leadership``) makes the terms: ``a`` leads with epoch 1, stops renewing (cut off
from PostgreSQL, or frozen), and ``b`` takes the lease with epoch 2. Each writes through its own real
outbox and journal; ``a``'s journals while it is cut off (its outbox cannot reach the database) and
drains when it comes back (a new outbox on the same journal, as its restart as a standby does), in the
orders each case needs. Every case here failed with the guard by ``seq`` alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from record_samples import CONFIG, interaction, offer, state, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.interaction import first_seq
from acd.core.lease import LeaseTimes
from acd.core.record_types import InteractionRecord, Record
from acd.leadership import Leadership
from acd.records.cli import quarantine
from acd.records.errors import DatabaseUnavailable
from acd.records.pipeline import codec
from acd.records.pipeline.epochs import Version, ended_unseen, replaces
from acd.records.pipeline.outbox import Outbox
from acd.records.pipeline.store import PostgresRecordStore, Rejection
from acd.records.scorecard import scorecards
from acd.records.startup.last_presence import take_over
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg

FAST = LeaseTimes(lease=0.6, renew=0.1, margin=0.2)


class CutOff:
    """The old leader's side of a cut link: nothing reaches PostgreSQL, everything stays journaled."""

    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        raise DatabaseUnavailable("cut off")


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(text(sql), params)]


async def call(engine: AsyncEngine, name: str) -> dict[str, Any]:
    [row] = await rows(engine, "SELECT * FROM interactions WHERE id = :id", id=uid(name))
    return row


class Pair:
    """Two members, their terms, their outboxes."""

    def __init__(self, engine: AsyncEngine, journals: Path) -> None:
        self.engine = engine
        self.journals = journals
        self.a = Leadership(engine, "a", FAST)
        self.b = Leadership(engine, "b", FAST)
        self.began: dict[int, float] = {}  # epoch -> its start (lease_terms, the database's clock)

    async def a_leads(self) -> Outbox:
        assert await self.a.try_acquire() and self.a.epoch == 1
        return await self.outbox("a", self.engine, 1)

    async def b_takes_over(self) -> Outbox:
        """``a`` renews no more; ``b`` takes the lapsed lease with epoch 2."""
        standby = asyncio.create_task(self.b.run())
        try:
            await asyncio.wait_for(self.b.leading_now.wait(), timeout=5)
        finally:
            standby.cancel()
        assert self.b.epoch == 2
        for term in await rows(self.engine, "SELECT epoch, holder, began_at FROM lease_terms ORDER BY epoch"):
            self.began[term["epoch"]] = term["began_at"].timestamp()
        assert sorted(self.began) == [1, 2]
        return await self.outbox("b", self.engine, 2)

    async def outbox(self, member: str, database: Any, epoch: int) -> Outbox:
        box = Outbox(self.journals / member, database, retry_initial=30.0)
        await box.start()
        box.epoch = epoch
        return box

    async def a_comes_back(self, cut: Outbox) -> None:
        """``a``'s journal, written while cut off, drains into PostgreSQL (its restart as a standby)."""
        await cut.stop(flush_timeout=0)
        back = Outbox(self.journals / "a", self.engine)
        await back.start()
        try:
            assert await back.flush(10)
        finally:
            await back.stop()
        assert back.quarantined == 0


@pytest.fixture
async def pair(engine: AsyncEngine, tmp_path: Path) -> Pair:
    await sync_config(engine, CONFIG)
    return Pair(engine, tmp_path)


def talking(name: str, at: float, seq: int) -> InteractionRecord:
    """A call answered at ``at`` by a1, still talking."""
    return interaction(
        name, seq, arrived_at=at - 10, answered_at=at, agent_id="a1", outcome="answered", wait_seconds=10.0
    )


def closed(record: InteractionRecord, at: float, seq: int, **kw: Any) -> InteractionRecord:
    assert record.answered_at is not None
    return dataclasses.replace(
        record, seq=seq, ended_at=at, talk_seconds=at - record.answered_at, end_reason="hangup", **kw
    )


async def test_the_lease_keeps_every_term_and_when_it_began(pair: Pair) -> None:
    first = await pair.a_leads()
    await first.stop()
    await (await pair.b_takes_over()).stop()
    [lease] = await rows(pair.engine, "SELECT epoch, acquired_at FROM leases")
    assert lease["epoch"] == 2 and lease["acquired_at"].timestamp() == pair.began[2]
    assert pair.began[1] < pair.began[2]
    assert await pair.b.renew()  # a renewal is not a term: the epoch did not change
    assert len(await rows(pair.engine, "SELECT * FROM lease_terms")) == 2


async def test_an_old_leaders_stale_snapshot_never_overwrites_what_the_new_leader_wrote(pair: Pair) -> None:
    """Case 1: ``a``'s clock runs ahead of ``b``'s, so its ``seq`` are higher; its journal drains last."""
    a = await pair.a_leads()
    started = pair.a.lease.term
    assert started is not None
    now = datetime.now().timestamp()
    ahead = 5.0  # a's clock, seconds ahead of b's
    talk = talking("c1", now, first_seq(now + ahead))
    a.append(talk)
    assert await a.flush(10)
    await a.stop()
    cut = await pair.outbox("a", CutOff(), 1)  # a is cut off from PostgreSQL from here on

    b = await pair.b_takes_over()
    # b resynced, took the call over (a higher seq by b's clock) and saw it end
    later = datetime.now().timestamp()
    resumed = dataclasses.replace(talk, seq=max(talk.seq, first_seq(later)))  # as Call.resume
    b_close = closed(resumed, later + 0.1, resumed.seq + 1)
    b.append(b_close)
    assert await b.flush(10)
    await b.stop()

    # a, cut off, journaled the call as still talking (by its clock, a later seq than b's)
    cut.append(dataclasses.replace(talk, seq=first_seq(later + ahead), disposition="stale"))
    assert first_seq(later + ahead) > b_close.seq  # the seq alone would let a's snapshot win
    await pair.a_comes_back(cut)

    row = await call(pair.engine, "c1")
    assert (row["epoch"], row["seq"]) == (2, b_close.seq)
    assert row["ended_at"] is not None and row["disposition"] is None


@pytest.mark.parametrize("order", ["truth drains last", "truth drains first"])
@pytest.mark.parametrize("guess", ["not traced", "traced"])
async def test_the_old_leaders_close_it_saw_wins_over_the_new_leaders_close_of_a_call_it_never_saw(
    pair: Pair, order: str, guess: str
) -> None:
    """Case 2: the call ended while ``a`` was cut off; ``b`` closed it at its start from the records
    (ended unseen); ``a`` saw the end, the wrap-up and the disposition."""
    a = await pair.a_leads()
    now = datetime.now().timestamp()
    talk = talking("c2", now - 1, first_seq(now - 1))
    a.append(talk)
    assert await a.flush(10)
    await a.stop()
    cut = await pair.outbox("a", CutOff(), 1)
    ended = datetime.now().timestamp()
    truth = closed(talk, ended, talk.seq + 1, wrapup_seconds=1.5, disposition="resolved", notes="sold")
    cut.append(truth)

    b = await pair.b_takes_over()
    start = datetime.now().timestamp()
    assert pair.began[2] > ended  # the call ended before b's term began
    resumed = dataclasses.replace(talk, seq=first_seq(start))
    if guess == "not traced":  # closed at the moment b learned of it
        b_close = closed(resumed, start, resumed.seq + 1, wrapup_seconds=0.0)
        b_close = dataclasses.replace(b_close, end_reason="end_not_traced")
    else:  # closed at the end the PBX kept (before b's term began)
        b_close = closed(resumed, ended, resumed.seq + 1, wrapup_seconds=0.0)
    if order == "truth drains first":
        await pair.a_comes_back(cut)
    b.append(b_close)
    b.append(dataclasses.replace(b_close, seq=b_close.seq + 1, disposition=None))  # b's later snapshot
    assert await b.flush(10)
    await b.stop()
    if order == "truth drains last":
        await pair.a_comes_back(cut)

    row = await call(pair.engine, "c2")
    assert (row["epoch"], row["seq"]) == (1, truth.seq)
    assert (row["disposition"], row["notes"], row["wrapup_seconds"], row["end_reason"]) == (
        "resolved",
        "sold",
        1.5,
        "hangup",
    )
    assert row["ended_at"].timestamp() == pytest.approx(ended, abs=1e-3)


async def test_a_close_the_new_leader_saw_wins_over_the_old_leaders_close(pair: Pair) -> None:
    """The exception is for a close the new leader guessed: one it saw end (after its term began) wins."""
    a = await pair.a_leads()
    await a.stop()
    cut = await pair.outbox("a", CutOff(), 1)
    b = await pair.b_takes_over()
    now = datetime.now().timestamp()
    talk = talking("c3", now - 1, first_seq(now - 1))
    cut.append(closed(talk, now, first_seq(now + 5), disposition="a's"))  # a's clock ahead: a higher seq
    b_close = closed(dataclasses.replace(talk, seq=first_seq(now)), now + 0.2, first_seq(now) + 1)
    b.append(b_close)
    assert await b.flush(10)
    await b.stop()
    await pair.a_comes_back(cut)
    row = await call(pair.engine, "c3")
    assert (row["epoch"], row["seq"], row["disposition"]) == (2, b_close.seq, None)


async def test_an_old_leaders_misses_after_the_new_term_began_are_fenced(pair: Pair) -> None:
    """Case 3: ``a``'s callback rings after ``b``'s term began were refused by the PBX (``FENCED``), which
    ``a`` never heard: its journal says unanswered; they are nobody's miss. Its miss before is one."""
    a = await pair.a_leads()
    now = datetime.now().timestamp()
    a.append(interaction("c4", first_seq(now), arrived_at=now - 5, end_reason="callback"))
    a.append(state("a-ready", started_at=now - 5))  # a1 ready, by a
    assert await a.flush(10)
    await a.stop()
    cut = await pair.outbox("a", CutOff(), 1)
    before = datetime.now().timestamp()
    cut.append(offer("o-before", "c4", seq=2, offered_at=before, ended_at=before + 0.1, result="unanswered"))
    b = await pair.b_takes_over()
    after = datetime.now().timestamp()
    assert before < pair.began[2] <= after
    b.append(state("b-ready", started_at=after))  # b holds the agents from its start: a1 ready
    assert await b.flush(10)
    await b.stop()
    for n, result in enumerate(("unanswered", "rejected", "failed")):
        at = after + n
        cut.append(offer(f"o-after-{result}", "c4", seq=2, offered_at=at, ended_at=at + 0.1, result=result))
    cut.append(offer("o-answered", "c4", seq=2, offered_at=after + 5, ended_at=after + 5.1, result="answered"))
    # a's view of a1 meanwhile: reserved for its fenced ring, then auto-paused for the "miss"
    cut.append(state("a-ready", started_at=now - 5, ended_at=after + 1, seq=2))
    cut.append(state("a-reserved", state="reserved", started_at=after + 1, ended_at=after + 1.1, seq=2))
    cut.append(state("a-paused", state="paused", reason="missed", started_at=after + 1.1))
    await pair.a_comes_back(cut)

    found = {
        str(r["id"]): (r["result"], r["epoch"])
        for r in await rows(pair.engine, "SELECT id, result, epoch FROM offers ORDER BY offered_at")
    }
    assert found == {
        uid("o-before"): ("unanswered", 1),
        uid("o-after-unanswered"): ("fenced", 1),
        uid("o-after-rejected"): ("fenced", 1),
        uid("o-after-failed"): ("fenced", 1),
        uid("o-answered"): ("answered", 1),
    }
    [missed] = await rows(pair.engine, "SELECT count(*) AS n FROM offers WHERE result = 'unanswered'")
    assert missed["n"] == 1

    # a's agent states end where b's term began: a1 was never paused, and a start reads b's view of a1
    began = datetime.fromtimestamp(pair.began[2], UTC)
    kept = {
        str(r["id"]): (r["started_at"], r["ended_at"], r["epoch"])
        for r in await rows(pair.engine, "SELECT id, started_at, ended_at, epoch FROM agent_states")
    }
    assert kept[uid("a-ready")][1:] == (began, 1)
    for name in ("a-reserved", "a-paused"):
        started, ended, _ = kept[uid(name)]
        assert started == ended  # no time at all: b held the agent
    [paused] = await rows(
        pair.engine, "SELECT sum(ended_at - started_at) AS t FROM agent_states WHERE state = 'paused'"
    )
    assert paused["t"].total_seconds() == 0
    assert [(p.agent_id, p.state) for p in await take_over(pair.engine, after + 10)] == [("a1", "ready")]
    # the agent's scorecard: one offer (the real miss before b's term), no pause
    day = datetime.fromtimestamp(now - 3600, UTC), datetime.fromtimestamp(after + 3600, UTC)
    [card] = await scorecards(pair.engine, *day, CONFIG, frozenset({"a1"}))
    assert (card.offers, card.missed, card.rejected, card.paused_seconds) == (2, 1, 0, 0.0)


async def test_a_replay_of_the_same_term_is_still_a_no_op_and_a_lower_seq_still_loses(pair: Pair) -> None:
    """Within one term nothing changed: the highest ``seq`` wins, a replay changes nothing."""
    a = await pair.a_leads()
    now = datetime.now().timestamp()
    talk = talking("c5", now, 1000)
    a.append(closed(talk, now + 1, 1002, disposition="last"))
    a.append(closed(talk, now + 1, 1001, disposition="older"))
    a.append(closed(talk, now + 1, 1002, disposition="replayed"))
    assert await a.flush(10)
    await a.stop()
    row = await call(pair.engine, "c5")
    assert (row["epoch"], row["seq"], row["disposition"]) == (1, 1002, "last")


KINDS = ("open", "seen", "not traced", "ended before its term")


def version(name: str, epoch: int, seq: int, kind: str, began: dict[int, float], mark: str) -> InteractionRecord:
    """One version of the call ``name`` as the term ``epoch`` would write it (its start: ``began``)."""
    talk = dataclasses.replace(talking(name, began[1] - 50, seq), disposition=mark)
    if kind == "open":
        return talk
    if kind == "seen":
        return closed(talk, began[epoch] + 10, seq)
    if kind == "not traced":
        return dataclasses.replace(closed(talk, began[epoch] + 10, seq), end_reason="end_not_traced")
    return closed(talk, began[epoch] - 10, seq)


async def test_the_upserts_guard_is_the_rule(engine: AsyncEngine) -> None:
    """Every pair of versions (two terms, two seq, open or closed seen or guessed two ways), the stored
    one written first: PostgreSQL keeps the one ``acd.records.pipeline.epochs.replaces`` says."""
    await sync_config(engine, CONFIG)
    began = {1: datetime.now().timestamp() - 1000, 2: datetime.now().timestamp() - 500}
    async with engine.begin() as conn:
        for epoch, at in began.items():
            await conn.execute(
                text("INSERT INTO lease_terms VALUES ('routing', :e, 'x', to_timestamp(:at))"), {"e": epoch, "at": at}
            )
    versions = [(e, s, k) for e in (1, 2) for s in (10, 20) for k in KINDS]
    pairs = [(a, b) for a in versions for b in versions]
    store = PostgresRecordStore(engine)
    stored = [version(f"p{i}", *a, began, "stored") for i, (a, _) in enumerate(pairs)]
    incoming = [version(f"p{i}", *b, began, "incoming") for i, (_, b) in enumerate(pairs)]
    assert await store.write(stored, [a[0] for a, _ in pairs]) == []
    assert await store.write(incoming, [b[0] for _, b in pairs]) == []

    kept = {str(r["id"]): r["disposition"] for r in await rows(engine, "SELECT id, disposition FROM interactions")}
    began_at = {e: datetime.fromtimestamp(at, UTC) for e, at in began.items()}

    def rule(epoch: int, seq: int, kind: str, record: InteractionRecord) -> Version:
        ended = None if record.ended_at is None else datetime.fromtimestamp(record.ended_at, UTC)
        return Version(epoch, seq, kind != "open", ended_unseen(ended, record.end_reason, began_at[epoch]))

    wrong = []
    for i, (a, b) in enumerate(pairs):
        expected = "incoming" if replaces(rule(*a, stored[i]), rule(*b, incoming[i])) else "stored"
        if kept[uid(f"p{i}")] != expected:
            wrong.append((a, b, kept[uid(f"p{i}")]))
    assert wrong == []
    assert sum(1 for v in kept.values() if v == "incoming") > 0


async def test_a_quarantined_record_keeps_its_term_for_its_replay(engine: AsyncEngine, tmp_path: Path) -> None:
    """A record that cannot be journaled (a NaN) is quarantined with its term: fixed and replayed, it is
    reconciled as its line would have been, not as a version of no term (which every term outranks)."""
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    box.epoch = 3
    try:
        box.append(interaction("q1", 5, wait_seconds=float("nan")))
    finally:
        await box.stop()
    [entry] = box.quarantine_path.read_text().splitlines()
    line = json.loads(entry)["line"]
    record, epoch = codec.decode_stamped(line.replace("NaN", "1.0").encode())
    assert (epoch, record.seq) == (3, 5)


async def test_a_replay_of_two_terms_versions_of_one_call_keeps_the_close_the_old_leader_saw(pair: Pair) -> None:
    """Case 2 through ``acd quarantine replay``: both closes in one file, the newer term's guess (not traced)
    and the old term's truth. Written term by term, the guard keeps the truth (in one batch, the batch's own
    choice of the highest (epoch, seq) had kept the guess)."""
    a = await pair.a_leads()
    now = datetime.now().timestamp()
    talk = talking("c9", now - 1, first_seq(now - 1))
    a.append(talk)
    assert await a.flush(10)
    await a.stop()
    ended = datetime.now().timestamp()
    truth = closed(talk, ended, talk.seq + 1, wrapup_seconds=1.5, disposition="resolved")
    await (await pair.b_takes_over()).stop()
    start = datetime.now().timestamp()
    resumed = dataclasses.replace(talk, seq=first_seq(start))
    guess = dataclasses.replace(
        closed(resumed, start, resumed.seq + 1, wrapup_seconds=0.0), end_reason="end_not_traced"
    )
    entries = [
        quarantine.Entry(n, "record", "test", codec.encode(record, epoch).decode(), "")
        for n, (record, epoch) in enumerate(((guess, 2), (truth, 1)), start=1)
    ]
    assert await quarantine._replay(pair.engine, entries) == 0
    row = await call(pair.engine, "c9")
    assert (row["epoch"], row["seq"], row["disposition"], row["end_reason"]) == (1, truth.seq, "resolved", "hangup")
