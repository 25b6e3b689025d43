"""The caller's wait so far across stays, and the estimated-wait diversion at entry (docs/kpis.md).

A transfer or an overflow into a queue starts a new stay (its own SLA clock), but the caller keeps
their first arrival (records) and their wait so far (``ACD_WAITED``, what holding counts a callback
offer from). A queue with ``ewt_limit_seconds`` judges each new caller by the estimate holding would
announce (acd.core.wait_estimate): above it, a callback is offered at once or the caller overflows.
"""

from __future__ import annotations

from core_builders import Driver, agent, config, queue

from acd.core.commands import OfferCallback, OverflowCall, TagCall
from acd.core.events import CallArrived, CallTransferred, Event, ResyncFinished, ResyncStarted
from acd.core.timers import call_timer

A_AND_B = config(
    [
        queue("a", {"s": 1}, max_wait_seconds=40.0, overflow_target="queue:b"),
        queue("b", {"s": 1}, callback_after_seconds=60.0, sla_threshold_seconds=20.0),
    ],
    [agent("x1")],
)


def test_an_overflow_into_a_queue_keeps_the_first_arrival_and_the_wait_so_far() -> None:
    d = Driver.of(A_AND_B)
    d.arrive("c1", 100.0, queue="a")  # nobody logged in: waits out a's 40 s
    out = d.fire(call_timer("c1"))
    record = d.interactions()["c1"]
    assert (record.queue, record.arrived_at, record.first_arrived_at) == ("b", 140.0, 100.0)  # SL clock from 140
    assert [c for c in out if isinstance(c, TagCall)] == [TagCall("c1", "b", 5, 140.0, 40.0, new_stay=True)]
    # b's callback offer, counted by holding over the whole wait (40 s already waited)
    assert [c for c in out if isinstance(c, OfferCallback)] == [OfferCallback("c1", 60.0)]
    d.login("x1", now=150.0)
    d.answer("c1", 151.0)
    answered = d.interactions()["c1"]
    assert (answered.wait_seconds, answered.first_arrived_at) == (11.0, 100.0)  # b's SL: 11 s, within 20


def test_a_transfer_carries_the_queue_time_not_the_talk() -> None:
    d = Driver.of(A_AND_B)
    d.login("x1")
    d.arrive("c1", 100.0, queue="a")
    d.answer("c1", 130.0)  # waited 30 s in a, then talks 70 s
    out = d.send(CallTransferred("c1", "x1", "b"), 200.0)
    record = d.interactions()["c1"]
    assert (record.queue, record.arrived_at, record.first_arrived_at) == ("b", 200.0, 100.0)
    assert d.acd._floor.calls["c1"].waited_in_all(210.0) == 40.0  # 30 s in a + 10 s in b
    assert [c for c in out if isinstance(c, OfferCallback)] == [OfferCallback("c1", 60.0)]


def test_a_later_stay_in_a_queue_without_callbacks_takes_the_offer_away() -> None:
    cfg = config(
        [queue("a", {"s": 1}, callback_after_seconds=10.0), queue("b", {"s": 1})],
        [agent("x1")],
    )
    d = Driver.of(cfg)
    d.login("x1")
    assert [c for c in d.arrive("c1", 100.0, queue="a") if isinstance(c, OfferCallback)] == [OfferCallback("c1", 10.0)]
    d.answer("c1", 101.0)
    out = d.send(CallTransferred("c1", "x1", "b"), 120.0)
    assert [c for c in out if isinstance(c, OfferCallback)] == [OfferCallback("c1", None)]


def _busy_queue(**kw: object) -> Driver:
    """Queue q with ewt_limit 30: one agent, who handled one call in 100 s and is now on another."""
    settings: dict[str, object] = {"ewt_limit_seconds": 30.0, **kw}
    d = Driver.of(config([queue("q", {"s": 1}, **settings)], [agent("x1")]))
    d.login("x1")
    d.arrive("c0", 0.0)
    d.answer("c0", 1.0)
    d.end("c0", 101.0)  # AHT 100 s (no wrap-up)
    d.arrive("c1", 110.0)
    d.answer("c1", 111.0)  # x1 busy: the next caller waits, estimate 1 x 100 / 1 = 100 s
    return d


def test_a_caller_whose_estimate_is_above_the_limit_overflows_at_entry() -> None:
    d = _busy_queue()
    out = d.arrive("c2", 120.0)
    assert [c for c in out if isinstance(c, OverflowCall)] == [OverflowCall("c2", "voicemail", "ewt_limit")]
    record = d.interactions()["c2"]
    assert (record.outcome, record.end_reason, record.wait_seconds, record.within_sla) == (
        "overflowed",
        "ewt_limit",
        0.0,
        False,
    )
    assert d.metric_total("acd_calls_overflowed_total") == 1
    assert d.metric_total("acd_calls_abandoned_total") == 0


def test_a_caller_whose_estimate_is_above_the_limit_is_offered_a_callback_at_once() -> None:
    d = _busy_queue(ewt_action="callback")
    out = d.arrive("c2", 120.0)
    assert [c for c in out if isinstance(c, OfferCallback)] == [OfferCallback("c2", 0.0)]
    assert d.acd.wait_estimates(120.0) == {"c2": ("q", 1, 100)}  # still holding, hearing that estimate
    assert d.interactions()["c2"].outcome is None


def test_no_diversion_within_the_limit_without_an_estimate_or_with_a_free_agent() -> None:
    d = _busy_queue(ewt_action="callback")
    d.end("c1", 150.0)  # x1 free again: the next caller is offered at once
    assert not [c for c in d.arrive("c2", 160.0) if isinstance(c, OfferCallback | OverflowCall)]
    fresh = Driver.of(config([queue("q", {"s": 1}, ewt_limit_seconds=30.0)], [agent("x1")]))
    fresh.login("x1")
    fresh.arrive("c0", 0.0)  # x1 rings for c0; no call handled yet: no estimate
    assert not [c for c in fresh.arrive("c1", 1.0) if isinstance(c, OverflowCall)]
    at_limit = _busy_queue(ewt_limit_seconds=100.0)  # the estimate (100 s) is not above the limit
    assert not [c for c in at_limit.arrive("c2", 120.0) if isinstance(c, OverflowCall)]


def _found_after_resync(d: Driver, *arrivals: CallArrived, now: float) -> list[object]:
    out: list[object] = []
    events: list[Event] = [ResyncStarted(), *arrivals, ResyncFinished()]
    for event in events:
        out += d.send(event, now)
    return out


def test_a_caller_found_by_a_resync_whom_no_run_judged_is_judged_when_it_ends() -> None:
    # c2 entered while the ACD's link to the PBX was down: the resync finds it waiting since 115 s;
    # nobody judged it at entry, so the limit applies once the resync is over (agents known)
    d = _busy_queue()
    out = _found_after_resync(d, CallArrived("c2", "q", 5, enqueued_at=115.0), now=130.0)
    assert [c for c in out if isinstance(c, OverflowCall)] == [OverflowCall("c2", "voicemail", "ewt_limit")]
    assert (d.interactions()["c2"].outcome, d.interactions()["c2"].end_reason) == ("overflowed", "ewt_limit")


def test_a_caller_found_by_a_resync_is_offered_the_callback_in_routing_order() -> None:
    d = _busy_queue(ewt_action="callback", ewt_limit_seconds=150.0)
    found = (CallArrived("c3", "q", 5, enqueued_at=118.0), CallArrived("c2", "q", 5, enqueued_at=115.0))
    out = _found_after_resync(d, *found, now=130.0)
    # c2 (first in line: 100 s) is within the limit; c3 (second: 200 s) is above it
    assert [c for c in out if isinstance(c, OfferCallback)] == [OfferCallback("c3", 0.0)]


def test_a_caller_the_previous_run_judged_is_not_judged_again() -> None:
    d = _busy_queue()
    out = _found_after_resync(d, CallArrived("c2", "q", 5, enqueued_at=115.0, judged=True), now=130.0)
    assert not [c for c in out if isinstance(c, OverflowCall | OfferCallback)]
    assert d.interactions()["c2"].outcome is None
