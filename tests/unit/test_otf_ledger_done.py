"""What the live OTF ledger remembers of the calls it settled (``acd.core.otf.OtfLedger``), and how long.

A settled call's id is kept so that a late snapshot of it (a disposition, a customer named: the core takes
them for as long as it remembers the call) is not judged again. A handled call's for a minute only
(``LATE_SNAPSHOT_SECONDS``): a handled snapshot first seen that long after its wrap-up is known late by its
own times; an unanswered call's for a day (one the PBX saw leave while no ACD ran counts when first seen,
however late). So a day of traffic leaves the unanswered calls' ids, not every call's (docs/kpis.md, "OTF
and FCR").
"""

from __future__ import annotations

import dataclasses

from acd.core.config import OtfCriteria, QueueConfig, SkillRequirement
from acd.core.otf import DONE_KEPT_SECONDS, LATE_SNAPSHOT_SECONDS, OtfLedger
from acd.core.record_types import InteractionRecord

DAY = 86400.0
QUEUES = {
    name: QueueConfig(name, (SkillRequirement("s"),), otf=OtfCriteria(repeat_window_seconds=window))
    for name, window in (("day", DAY), ("none", 0.0))
}


def arrived(i: int, at: float, queue: str = "day") -> InteractionRecord:
    return InteractionRecord(f"i{i}", 1, queue, 5, f"55{i}", at, customer_id=None)


def handled(i: int, at: float, queue: str = "day", **kw: object) -> InteractionRecord:
    return dataclasses.replace(
        arrived(i, at, queue),
        seq=5,
        answered_at=at + 10.0,
        ended_at=at + 100.0,
        outcome="answered",
        agent_id="a-1",
        wait_seconds=10.0,
        talk_seconds=90.0,
        wrapup_seconds=5.0,
        **kw,  # type: ignore[arg-type]
    )


def abandoned(i: int, at: float, queue: str = "day") -> InteractionRecord:
    return dataclasses.replace(arrived(i, at, queue), seq=2, ended_at=at + 30.0, outcome="abandoned", wait_seconds=30.0)


def test_two_days_of_traffic_leave_the_last_day_of_unanswered_ids() -> None:
    """A call a minute for two days, one in four abandoned; the clock fed every minute."""
    ledger = OtfLedger(QUEUES, 5.0)
    settled = 0
    for i in range(2 * 1440):
        at = 1000.0 + 60.0 * i
        settled += len(ledger.observe(arrived(i, at), at))
        if i % 4 == 0:
            settled += len(ledger.observe(abandoned(i, at), at + 30.0))
        else:
            ledger.observe(handled(i, at), at + 105.0)
        settled += len(ledger.settle(at + 59.0))
        held = len(ledger._open)
        assert held <= 1441  # a day of handled calls, their windows open
        # the abandons of the last day; the handled calls settled in the last minute or so
        assert len(ledger._done) <= 1441 // 4 + 1 + 2, i
    assert 2 * 1440 - held - 2 <= settled <= 2 * 1440 - held


def test_a_late_snapshot_of_a_handled_call_is_not_judged_again() -> None:
    ledger = OtfLedger(QUEUES, 5.0)
    ledger.observe(arrived(1, 1000.0, "none"), 1000.0)
    assert len(ledger.observe(handled(1, 1000.0, "none"), 1105.0)) == 1  # no window: settled at once
    late = dataclasses.replace(handled(1, 1000.0, "none"), seq=6, disposition="support/resolved")
    assert ledger.observe(late, 1110.0) == []  # its id kept
    assert ledger.settle(1105.0 + 3 * LATE_SNAPSHOT_SECONDS) == []
    assert "i1" not in ledger._done  # forgotten minutes after (by its talk + handle: past its wrap-up)
    assert ledger.observe(late, 1105.0 + DONE_KEPT_SECONDS) == []  # known late by its times
    assert ledger.pending() == {}
    ledger.observe(arrived(2, 1000.0, "day"), 1000.0)
    ledger.observe(handled(2, 1000.0, "day"), 1105.0)
    assert len(ledger.settle(1100.0 + DAY)) == 1
    assert ledger.observe(dataclasses.replace(handled(2, 1000.0, "day"), seq=6), 1100.0 + DAY + 3600.0) == []
    assert ledger.pending() == {}


def test_a_call_in_progress_at_the_start_counts_when_it_ends() -> None:
    """First seen at its end (the ACD started while it was talking): new, not late."""
    ledger = OtfLedger(QUEUES, 5.0)
    assert len(ledger.observe(handled(1, 1000.0, "none"), 1105.0)) == 1
    ledger.observe(handled(2, 1000.0, "day"), 1105.0 + LATE_SNAPSHOT_SECONDS - 1.0)
    assert ledger.pending() == {"day": 1}


def test_an_unanswered_call_seen_long_after_it_left_counts_and_its_id_is_kept_a_day() -> None:
    """The PBX saw it leave while no ACD ran (``CallLeftUnseen``): its verdict counts when first seen."""
    ledger = OtfLedger(QUEUES, 5.0)
    assert len(ledger.observe(abandoned(1, 1000.0), 1000.0 + 6 * 3600.0)) == 1
    ledger.settle(1000.0 + 6 * 3600.0 + DAY - 1.0)
    assert ledger.observe(abandoned(1, 1000.0), 1000.0 + 6 * 3600.0 + DAY - 1.0) == []
    ledger.settle(1000.0 + 6 * 3600.0 + DAY + 1.0)
    assert ledger._done == {}


def test_a_call_that_ended_while_no_acd_ran_counts_when_the_resync_closes_it() -> None:
    """Answered, then the ACD stopped; the records held it open, so ``seed`` skipped it. The resync closes it
    at the end the PBX kept, long before now: the ledger sees it for the first time, and it counts (only a
    call closed while this ledger ran can be a late copy of one judged already)."""
    ledger = OtfLedger(QUEUES, 5.0)
    ledger.seed([arrived(1, 1000.0)], 1200.0)  # open in the records: not taken
    closed = handled(1, 1000.0, queue="none")  # talk ended 1100, wrap-up 1105: before this ledger began
    verdicts = ledger.observe(closed, 1300.0)
    verdicts += ledger.settle(1301.0)
    assert [(v.queue, v.agent, v.settled, v.handled) for v in verdicts] == [("none", "a-1", True, True)]
