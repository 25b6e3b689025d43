"""The OTF verdict on one interaction (docs/kpis.md, "OTF and FCR"), criterion by criterion."""

from __future__ import annotations

import dataclasses

from acd.core.config import OtfCriteria, QueueConfig, SkillRequirement
from acd.core.otf import OtfLedger, count, otf_rows, repeat_contacts, verdict, verdicts
from acd.core.record_types import InteractionRecord

Q = QueueConfig("q", (SkillRequirement("s"),), sla_threshold_seconds=20.0, max_handle_seconds=300.0)
QUEUES = {"q": Q}
DAY = 86400.0
LATER = 10 * DAY  # every window is over


def handled(
    iid: str = "a",
    *,
    wait: float = 10.0,
    talk: float = 100.0,
    wrapup: float = 10.0,
    disposition: str | None = "support/resolved",
    caller: str = "5551",
    arrived: float = 1000.0,
    **kw: object,
) -> InteractionRecord:
    answered = arrived + wait
    return InteractionRecord(
        interaction_id=iid,
        seq=5,
        queue="q",
        priority=5,
        caller=caller,
        arrived_at=arrived,
        answered_at=answered,
        ended_at=answered + talk,
        outcome="answered",
        agent_id="a-1",
        wait_seconds=wait,
        talk_seconds=talk,
        wrapup_seconds=wrapup,
        within_sla=wait <= 20.0,
        disposition=disposition,
        **kw,  # type: ignore[arg-type]
    )


def lost(outcome: str, wait: float, iid: str = "b") -> InteractionRecord:
    return InteractionRecord(
        interaction_id=iid,
        seq=2,
        queue="q",
        priority=5,
        caller="5552",
        arrived_at=1000.0,
        ended_at=1000.0 + wait,
        outcome=outcome,  # type: ignore[arg-type]
        wait_seconds=wait,
        within_sla=False,
    )


def judge(record: InteractionRecord, queue: QueueConfig = Q, *, repeat_at: float | None = None, now: float = LATER):
    return verdict(record, queue, short_abandon_seconds=5.0, repeat_at=repeat_at, now=now)


def test_answered_in_time_handled_in_time_and_resolved_is_otf() -> None:
    v = judge(handled())
    assert v is not None and v.settled and v.handled and v.on_time and v.full and v.otf


def test_answered_after_the_threshold_is_late() -> None:
    v = judge(handled(wait=20.5))
    assert v is not None and not v.on_time and v.full and not v.otf
    edge = judge(handled(wait=20.0))  # T inclusive, as SL
    assert edge is not None and edge.on_time


def test_handled_over_the_maximum_is_late() -> None:
    v = judge(handled(talk=291.0, wrapup=10.0))
    assert v is not None and not v.on_time and not v.otf
    edge = judge(handled(talk=290.0, wrapup=10.0))  # equal is no breach
    assert edge is not None and edge.on_time


def test_a_code_not_marked_resolving_or_none_is_not_full() -> None:
    for code in ("complaint/billing", "support/escalated", None):
        v = judge(handled(disposition=code))
        assert v is not None and v.on_time and not v.full and not v.otf, code


def test_abandoned_overflowed_and_failed_are_settled_at_once_and_not_otf() -> None:
    for outcome in ("abandoned", "overflowed", "failed"):
        v = judge(lost(outcome, 30.0), now=1031.0)
        assert v is not None and v.settled and not v.handled and not v.on_time and not v.full, outcome


def test_short_abandons_and_moved_stays_count_nowhere() -> None:
    assert judge(lost("abandoned", 4.9)) is None
    assert judge(lost("moved", 30.0)) is None


def test_a_repeat_contact_within_the_window_makes_it_not_full() -> None:
    first = handled("a")
    again = dataclasses.replace(handled("b", arrived=first.ended_at + DAY - 1), seq=1)  # type: ignore[operator]
    repeats = repeat_contacts([first, again], QUEUES, LATER)
    assert repeats == {"a": again.arrived_at}
    v = judge(first, repeat_at=repeats["a"])
    assert v is not None and v.on_time and not v.full


def test_a_contact_after_the_window_another_customer_or_the_same_call_is_no_repeat() -> None:
    first = handled("a", linkedid="call-1")
    assert first.ended_at is not None
    late = handled("b", arrived=first.ended_at + DAY + 1)
    other = handled("c", arrived=first.ended_at + 60, caller="5559")
    same_call = handled("d", arrived=first.ended_at + 60, linkedid="call-1")  # an agent's transfer
    assert "a" not in repeat_contacts([first, late, other, same_call], QUEUES, LATER)
    known = handled("e", arrived=first.ended_at + 60, caller="5559", customer_id="cust")
    assert repeat_contacts([dataclasses.replace(first, customer_id="cust"), known], QUEUES, LATER) == {
        "a": known.arrived_at
    }


def test_the_verdict_is_pending_until_the_window_is_over() -> None:
    record = handled()
    assert record.ended_at is not None
    v = judge(record, now=record.ended_at + DAY - 1)
    assert v is not None and not v.settled
    assert count([v]).pending == 1 and count([v]).settled == 0
    open_call = dataclasses.replace(record, talk_seconds=None, wrapup_seconds=None, ended_at=None, outcome=None)
    v = judge(open_call)
    assert v is not None and not v.settled


def test_each_criterion_can_be_turned_off() -> None:
    lenient = dataclasses.replace(
        Q, otf=OtfCriteria(answer=False, handle=False, resolving=False, repeat_window_seconds=0)
    )
    v = judge(handled(wait=999.0, talk=999.0, disposition=None), lenient, repeat_at=2000.0, now=3000.0)
    assert v is not None and v.settled and v.otf  # no window: settled when closed


def test_an_order_is_on_time_by_its_promise() -> None:
    promised = dataclasses.replace(Q, otf=OtfCriteria(order_promise_seconds=600.0))
    slow_but_kept = handled(wait=100.0, talk=400.0, wrapup=50.0, disposition="order/new")  # closed at 550 s
    v = judge(slow_but_kept, promised)
    assert v is not None and v.on_time and v.otf
    broken = handled(wait=100.0, talk=450.0, wrapup=51.0, disposition="order/new")  # closed at 601 s
    v = judge(broken, promised)
    assert v is not None and not v.on_time
    v = judge(slow_but_kept)  # no promise: judged as any call
    assert v is not None and not v.on_time


def test_rows_per_queue_agent_and_kind() -> None:
    records = [handled("a"), handled("b", caller="2", disposition="complaint/billing"), lost("overflowed", 300.0)]
    rows = otf_rows(verdicts(records, QUEUES, short_abandon_seconds=5.0, now=LATER))
    by = {(r.level, r.queue, r.agent, r.kind): r.counts for r in rows}
    assert by["queue", "q", None, None].settled == 3 and by["queue", "q", None, None].otf == 1
    assert by["queue", "q", None, None].fcr == 0.5
    assert by["agent", "", "a-1", None].settled == 2
    assert by["kind", "q", None, "complaint"].otf == 0 and by["kind", "q", None, "support"].otf == 1


def test_a_seeded_ledger_settles_what_a_previous_run_left_pending_and_nothing_else() -> None:
    """``OtfLedger.seed`` (a restart): the handled calls whose window is open are taken back, with a repeat
    the records already hold; settled ones are not (counted before), nor a call taken twice."""
    now = 1000.0 + DAY / 2  # half a day after the calls: their 24 h windows are open
    pending = handled("p", caller="5551")
    repeated = handled("r", caller="5553")
    repeat = dataclasses.replace(lost("abandoned", 30.0, iid="again"), caller="5553", arrived_at=5000.0)
    repeat = dataclasses.replace(repeat, ended_at=5030.0)
    old = handled("o", caller="5554", arrived=now - 2 * DAY)  # its window closed a day ago
    ledger = OtfLedger(QUEUES, 5.0)
    assert ledger.seed([pending, repeated, repeat, old, lost("abandoned", 30.0)], now) == 2
    assert ledger.seed([pending], now) == 0
    assert ledger.pending() == {"q": 2}
    assert ledger.settle(now) == []
    settled = {v.otf for v in ledger.settle(1000.0 + 2 * DAY)}
    assert settled == {True, False}  # "p" on time and full, "r" not full (its repeat)
    assert ledger.pending() == {}
