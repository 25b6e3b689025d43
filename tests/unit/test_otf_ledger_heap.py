"""The live OTF ledger's clock side (``acd.core.otf.OtfLedger.settle``), at a day's size.

``settle`` runs every second while a day of handled calls may be held: it takes the calls whose moment
has come off a heap per queue and reads no other, each call at its moment (``ended_at`` + the queue's
repeat window, docs/kpis.md, "OTF and FCR") whatever the order the calls ended or were replaced in; a
new config that removes a queue forgets the calls held in it.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest

from acd.core import otf
from acd.core.config import OtfCriteria, QueueConfig, SkillRequirement
from acd.core.otf import OtfLedger
from acd.core.record_types import InteractionRecord

WINDOW = 600.0
QUEUES = {
    name: QueueConfig(name, (SkillRequirement("s"),), otf=OtfCriteria(repeat_window_seconds=WINDOW))
    for name in ("q1", "q2")
}


def handled(i: int, ended: float, *, queue: str = "q1", seq: int = 5, disposition: str = "x/1") -> InteractionRecord:
    return InteractionRecord(
        interaction_id=f"i{i}",
        seq=seq,
        queue=queue,
        priority=5,
        caller=f"55{i}",
        arrived_at=ended - 100.0,
        answered_at=ended - 90.0,
        ended_at=ended,
        outcome="answered",
        agent_id="a-1",
        wait_seconds=10.0,
        talk_seconds=90.0,
        wrapup_seconds=5.0,
        disposition=disposition,
    )


@pytest.fixture(params=["kept", "rebuilt"])
def compaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """``rebuilt``: the heaps rebuilt whenever an entry is left behind (``_COMPACT_AT`` and ``_COMPACT_SHARE`` 0)."""
    kept = otf._COMPACT_AT, otf._COMPACT_SHARE
    if request.param == "rebuilt":
        otf._COMPACT_AT, otf._COMPACT_SHARE = 0, 0.0
    yield
    otf._COMPACT_AT, otf._COMPACT_SHARE = kept


@pytest.mark.usefixtures("compaction")
def test_each_call_settles_at_its_moment_whatever_the_order() -> None:
    rng = random.Random(19)
    ledger = OtfLedger(QUEUES, 5.0)
    ends = {i: 1000.0 + rng.uniform(0.0, 3000.0) for i in range(400)}
    for i, ended in ends.items():  # handled in the order of their ids, not of their ends
        ledger.observe(handled(i, ended, queue=("q1", "q2")[i % 2]), ended + 5.0)
    for i in rng.sample(sorted(ends), 150):  # a later snapshot replaces some of them (a late disposition)
        ledger.observe(handled(i, ends[i], queue=("q1", "q2")[i % 2], seq=6, disposition="x/2"), ends[i] + 6.0)
    assert sum(ledger.pending().values()) == 400
    settled: dict[str, float] = {}
    now = 1000.0
    while now < 5000.0:
        now += rng.uniform(1.0, 40.0)
        for v in ledger.settle(now):
            assert v.settled
            settled[f"{v.queue}/{v.kind}/{len(settled)}"] = now
        due = sum(1 for e in ends.values() if e + WINDOW <= now)
        assert len(settled) == due, now  # every call due settled, none early
        assert sum(ledger.pending().values()) == 400 - due
    assert ledger.pending() == {}


def test_settle_reads_only_the_calls_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tick with nothing due judges nothing (a scan judged every held call, every second)."""
    ledger = OtfLedger(QUEUES, 5.0)
    for i in range(2000):
        ledger.observe(handled(i, 1000.0 + i), 1000.0 + i + 5.0)
    judged: list[str] = []
    judge = otf._answered_verdict

    def counted(call: otf._Answered, queue: QueueConfig, repeat_at: float | None, now: float) -> otf.Verdict:
        judged.append(call.queue)
        return judge(call, queue, repeat_at, now)

    monkeypatch.setattr(otf, "_answered_verdict", counted)
    assert ledger.settle(1000.0 + WINDOW - 1.0) == []
    assert judged == []
    assert len(ledger.settle(1000.0 + WINDOW + 9.5)) == 10  # i = 0..9 due
    assert len(judged) == 10


def test_a_new_config_forgets_the_calls_held_in_a_removed_queue() -> None:
    ledger = OtfLedger(QUEUES, 5.0)
    talking = dataclasses.replace(handled(1, 2000.0, queue="q2"), ended_at=None, outcome=None, talk_seconds=None)
    ledger.observe(talking, 1950.0)
    ledger.observe(handled(2, 2000.0, queue="q2"), 2005.0)
    ledger.observe(handled(3, 2000.0), 2005.0)
    assert ledger.pending() == {"q1": 1, "q2": 2}
    ledger.queues = {"q1": QUEUES["q1"]}
    assert ledger.settle(2010.0) == []  # counted nowhere live: no criteria to judge them by
    assert ledger.pending() == {"q1": 1}
    assert [v.queue for v in ledger.settle(2000.0 + WINDOW)] == ["q1"]
