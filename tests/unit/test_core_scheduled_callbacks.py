"""Scheduled callbacks (``acd.core.scheduled_callbacks``): kept aside until their time (a timer), then
in the queue as a callback with the queue's ``scheduled_callback_priority`` and the scheduled time as
their enqueue time; only numbers the admin's patterns allow; cancelled only before they enter."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from acd.core.acd import Acd
from acd.core.commands import (
    CancelTimer,
    CloseScheduledCallback,
    KeepScheduledCallback,
    MetricUpdate,
    RecordCommand,
    RefuseCallbackTime,
    RingAgent,
    StartTimer,
)
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.core.errors import InvalidTransition, InvalidValue, UnknownCall, UnknownEntity, UnknownQueue
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallbackScheduled,
    CallbackTimeAsked,
    CallbackTimeKept,
    CallbackTimeNotKept,
    CallerHungUp,
    ConfigChanged,
    OfferAnswered,
    ScheduledCallbackCancelled,
    TimerFired,
)
from acd.core.hours import OpeningHours, openings
from acd.core.metric_updates import CALLBACKS_ACCEPTED, SCHEDULED_CLOSED
from acd.core.record_types import InteractionRecord
from acd.core.states import CallState
from acd.core.timers import scheduled_timer
from acd.zones import load_zone

QUEUE = QueueConfig("billing", (SkillRequirement("billing", 1),), max_wait_seconds=60.0, scheduled_callback_priority=9)
CONFIG = RoutingConfig(
    queues=(QUEUE,),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
    policy=RoutingPolicy(callback_numbers=("_65XXXXXXXX",)),
)
CB = "7c1c5a8e-1b0e-4a51-9f43-2b4d1f0e9a01"


def _rings(commands: Sequence[object]) -> list[RingAgent]:
    return [c for c in commands if isinstance(c, RingAgent)]


def _records(commands: Sequence[object]) -> list[InteractionRecord]:
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)]


def test_it_enters_the_queue_at_its_time_before_callers_of_lower_priority() -> None:
    acd = Acd(CONFIG)
    out = acd.handle(CallbackScheduled(CB, "billing", "6512345678", at=100.0), 10.0)
    assert StartTimer(scheduled_timer(CB), 100.0) in out
    assert acd.call_state(CB) is None and not _records(out)  # no call before its time
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=50.0), 50.0)
    out = acd.handle(TimerFired(scheduled_timer(CB)), 100.0)
    assert acd.call_state(CB) is CallState.WAITING
    record = _records(out)[-1]
    assert (record.arrived_at, record.priority, record.end_reason, record.caller) == (
        100.0,
        9,
        "callback",
        "6512345678",
    )
    ring = _rings(acd.handle(AgentLoggedIn("a1"), 110.0))[0]
    assert (ring.call_id, ring.callback) == (CB, "6512345678")  # priority 9 before the caller's 5
    out = acd.handle(OfferAnswered(ring.offer_id), 111.0)
    assert _records(out)[-1].wait_seconds == pytest.approx(11.0)  # the SLA clock started at its time


def test_a_time_already_past_enters_at_once_counted_from_its_time() -> None:
    acd = Acd(CONFIG)
    out = acd.handle(CallbackScheduled(CB, "billing", "6512345678", at=100.0), 500.0)
    assert StartTimer(scheduled_timer(CB), 500.0) in out
    out = acd.handle(TimerFired(scheduled_timer(CB)), 500.0)
    assert _records(out)[-1].arrived_at == 100.0


def test_only_allowed_numbers_known_queues_and_no_second_time() -> None:
    acd = Acd(CONFIG)
    for bad in ("1900123456", "65123", "6512345678x", ""):
        with pytest.raises(InvalidValue):
            acd.handle(CallbackScheduled(CB, "billing", bad, at=100.0), 10.0)
    with pytest.raises(UnknownQueue):
        acd.handle(CallbackScheduled(CB, "nowhere", "6512345678", at=100.0), 10.0)
    acd.handle(CallbackScheduled(CB, "billing", "6512345678", at=100.0), 10.0)
    with pytest.raises(InvalidTransition):
        acd.handle(CallbackScheduled(CB, "billing", "6512345678", at=100.0), 10.0)


def test_cancelled_before_its_time_it_never_enters_after_it_cannot_be() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallbackScheduled(CB, "billing", "6512345678", at=100.0), 10.0)
    acd.handle(ScheduledCallbackCancelled(CB), 20.0)
    assert not _records(acd.handle(TimerFired(scheduled_timer(CB)), 100.0))
    assert acd.call_state(CB) is None
    with pytest.raises(UnknownEntity):
        acd.handle(ScheduledCallbackCancelled(CB), 30.0)
    other = "0a1c5a8e-1b0e-4a51-9f43-2b4d1f0e9a02"
    acd.handle(CallbackScheduled(other, "billing", "6512345678", at=100.0), 10.0)
    acd.handle(TimerFired(scheduled_timer(other)), 100.0)
    with pytest.raises(InvalidTransition):
        acd.handle(ScheduledCallbackCancelled(other), 101.0)


# -- restarts, removed queues and the counter (docs/kpis.md, "Scheduled callbacks") ------------------


def _closed(commands: Sequence[object]) -> list[CloseScheduledCallback]:
    return [c for c in commands if isinstance(c, CloseScheduledCallback)]


def _accepted(commands: Sequence[object]) -> list[MetricUpdate]:
    return [c for c in commands if isinstance(c, MetricUpdate) and c.name == CALLBACKS_ACCEPTED]


def test_a_restored_callback_whose_queue_was_removed_is_closed_not_refused_and_counted() -> None:
    acd = Acd(CONFIG)
    out = acd.handle(CallbackScheduled(CB, "gone", "6512345678", at=100.0, restored=True), 10.0)
    assert _closed(out) == [CloseScheduledCallback(CB, "gone", "queue_removed")]
    assert MetricUpdate(SCHEDULED_CLOSED, "inc", 1.0, (("queue", "gone"), ("reason", "queue_removed"))) in out
    assert acd.call_state(CB) is None and not any(isinstance(c, StartTimer) for c in out)
    out = acd.handle(CallbackScheduled(CB, "billing", "1900123456", at=100.0, restored=True), 10.0)
    assert _closed(out) == [CloseScheduledCallback(CB, "billing", "number_not_allowed")]
    with pytest.raises(UnknownQueue):  # one asked for now (the API) is still refused
        acd.handle(CallbackScheduled(CB, "gone", "6512345678", at=100.0), 10.0)


def test_a_queue_removed_by_a_config_change_closes_its_scheduled_callbacks() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallbackScheduled(CB, "billing", "6512345678", at=100.0), 10.0)
    without = RoutingConfig(queues=(), agents=CONFIG.agents, policy=CONFIG.policy)
    out = acd.handle(ConfigChanged(without), 20.0)
    assert _closed(out) == [CloseScheduledCallback(CB, "billing", "queue_removed")]
    assert CancelTimer(scheduled_timer(CB)) in out
    assert not _closed(acd.handle(TimerFired(scheduled_timer(CB)), 100.0))  # closed once
    with pytest.raises(UnknownEntity):
        acd.handle(ScheduledCallbackCancelled(CB), 30.0)


def test_it_counts_as_a_callback_taken_when_it_enters_and_not_again_when_restored() -> None:
    acd = Acd(CONFIG)
    out = acd.handle(CallbackScheduled(CB, "billing", "6512345678", at=100.0), 10.0)
    assert not _accepted(out)  # no call before its time
    out = acd.handle(TimerFired(scheduled_timer(CB)), 100.0)
    assert _accepted(out) == [MetricUpdate(CALLBACKS_ACCEPTED, "inc", 1.0, (("queue", "billing"),))]
    # a restart reads it back as the callback waiting in its place: already counted by the run it entered in
    again = Acd(CONFIG)
    out = again.handle(
        CallArrived(CB, "billing", 9, caller="6512345678", enqueued_at=100.0, callback="6512345678"), 200.0
    )
    assert again.call_state(CB) is CallState.WAITING and not _accepted(out)


def test_a_pending_callback_days_old_is_taken_back_a_caller_a_day_old_is_not() -> None:
    acd = Acd(CONFIG)
    now = 10 * 86400.0
    old = CallArrived(
        CB, "billing", 9, caller="6512345678", enqueued_at=now - 3 * 86400, callback="6512345678",
        arrived_at=now - 3 * 86400 - 600,
    )  # fmt: skip
    acd.handle(old, now)
    assert acd.call_state(CB) is CallState.WAITING
    with pytest.raises(InvalidValue):  # a caller on the line cannot have waited so long
        acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=now - 2 * 86400), now)


# -- a holding caller's time (docs/dialplan.md, "Callbacks at a time") -------------------------------
def _berlin_queue() -> RoutingConfig:
    zone = load_zone("Europe/Berlin")
    assert zone is not None
    week = [(d, 8 * 3600, 18 * 3600) for d in range(5)]  # Monday to Friday 08:00-18:00
    hours = OpeningHours(zone, "Europe/Berlin", openings(week), ("2026-12-24",), "voicemail", "im-sorry")
    billing = dataclasses.replace(QUEUE, hours=hours)
    return dataclasses.replace(CONFIG, queues=(billing,))


def _berlin(day: int, hour: int, minute: int) -> float:
    return datetime(2026, 7, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


def test_a_holding_caller_keys_a_time_today_in_the_queues_zone_and_leaves_with_it_kept() -> None:
    """Monday 2026-07-06, 10:00 in Berlin (08:00 UTC, summer time): 1430 is 14:30 Berlin, today. The
    callback is kept aside until then (its row: KeepScheduledCallback, with the zone it is said in);
    the caller holds on until the dialplan says they were told, then their stay ends overflowed (end
    reason scheduled_callback: not an abandon), and the callback enters at its time."""
    acd = Acd(_berlin_queue())
    now = _berlin(6, 10, 0) + 0.123456  # a clock's time: the callback's is to the second all the same
    acd.handle(CallArrived("c1", "billing", 5, caller="+49301234", enqueued_at=now - 30), now - 30)
    out = acd.handle(CallbackTimeAsked("c1", CB, "49301234", "1430"), now)
    at = _berlin(6, 14, 30)
    assert KeepScheduledCallback(CB, "billing", "49301234", at, call_id="c1", zone="Europe/Berlin", own=True) in out
    assert StartTimer(scheduled_timer(CB), at) in out
    assert not _records(out)
    assert acd.call_state("c1") is CallState.WAITING  # not yet told: still holding in their place
    out = acd.handle(CallbackTimeKept("c1", CB), now + 1)
    stay = _records(out)[-1]
    assert (stay.outcome, stay.end_reason) == ("overflowed", "scheduled_callback")
    assert acd.call_state("c1") is None
    assert not [c for c in out if isinstance(c, RefuseCallbackTime)]
    out = acd.handle(TimerFired(scheduled_timer(CB)), at)
    assert (acd.call_state(CB), _records(out)[-1].priority) == (CallState.WAITING, 9)


def test_a_time_past_closed_malformed_or_for_a_number_not_allowed_is_refused_and_the_caller_holds_on() -> None:
    acd = Acd(_berlin_queue())
    now = _berlin(6, 10, 0)
    acd.handle(CallArrived("c1", "billing", 5, caller="+49301234", enqueued_at=now), now)
    for time, number, reason in (
        ("0730", "49301234", "closed"),  # today's 07:30 is over: tomorrow's, before opening
        ("1830", "49301234", "closed"),  # after closing
        ("2400", "49301234", "malformed"),
        ("1260", "49301234", "malformed"),
        ("12:3", "49301234", "malformed"),
        ("1430", "1900123456", "number"),  # neither their own nor one the patterns allow
    ):
        out = acd.handle(CallbackTimeAsked("c1", CB, number, time), now)
        assert out == [RefuseCallbackTime("c1", reason)], time
        assert acd.call_state("c1") is CallState.WAITING
    out = acd.handle(CallbackTimeAsked("c1", CB, "6512345678", "1745"), now)  # a number keyed in, allowed
    assert any(isinstance(c, KeepScheduledCallback) for c in out)
    with pytest.raises(InvalidTransition):  # being told that one is kept
        acd.handle(CallbackTimeAsked("c1", CB, "49301234", "1500"), now)
    acd.handle(CallbackTimeKept("c1", CB), now)
    with pytest.raises(UnknownCall):  # no longer holding
        acd.handle(CallbackTimeAsked("c1", CB, "49301234", "1500"), now)


def test_a_time_already_over_today_is_tomorrows_and_refused_when_tomorrow_is_a_holiday() -> None:
    acd = Acd(_berlin_queue())
    now = _berlin(6, 10, 0)  # Monday 6 July 2026, 10:00
    acd.handle(CallArrived("c1", "billing", 5, caller="+49301234", enqueued_at=now), now)
    out = acd.handle(CallbackTimeAsked("c1", CB, "49301234", "1000"), now)  # just now: meant now, not tomorrow
    assert out == [RefuseCallbackTime("c1", "past")]
    out = acd.handle(CallbackTimeAsked("c1", CB, "49301234", "0930"), now)  # half an hour ago: tomorrow's
    kept = [c for c in out if isinstance(c, KeepScheduledCallback)]
    assert [k.at for k in kept] == [_berlin(7, 9, 30)]
    christmas_eve = datetime(2026, 12, 23, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()  # a Wednesday
    acd = Acd(_berlin_queue())
    acd.handle(CallArrived("c2", "billing", 5, caller="+49301234", enqueued_at=christmas_eve), christmas_eve)
    out = acd.handle(CallbackTimeAsked("c2", CB, "49301234", "0930"), christmas_eve)  # the 24th: a holiday
    assert out == [RefuseCallbackTime("c2", "closed")]


def test_a_queue_without_opening_hours_takes_the_time_in_utc() -> None:
    acd = Acd(CONFIG)
    now = datetime(2026, 7, 6, 10, 0, tzinfo=UTC).timestamp()
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=now), now)
    out = acd.handle(CallbackTimeAsked("c1", CB, "555", "2359"), now)
    kept = [c for c in out if isinstance(c, KeepScheduledCallback)]
    assert [(k.at, k.zone) for k in kept] == [(datetime(2026, 7, 6, 23, 59, tzinfo=UTC).timestamp(), "UTC")]


def _told(acd: Acd, now: float, call_id: str = "c1") -> None:
    """Caller ``call_id`` (priority 5, 30 s in line) keyed 14:30 Berlin and the ACD took it."""
    acd.handle(CallArrived(call_id, "billing", 5, caller="+49301234", enqueued_at=now - 30), now - 30)
    out = acd.handle(CallbackTimeAsked(call_id, CB, "49301234", "1430"), now)
    assert any(isinstance(c, KeepScheduledCallback) for c in out)


def _not_kept(commands: Sequence[object]) -> list[CloseScheduledCallback]:
    return [c for c in commands if isinstance(c, CloseScheduledCallback) and c.reason == "not_kept"]


def test_the_dialplan_giving_up_leaves_the_caller_in_their_place_and_closes_the_callback() -> None:
    """No ACD_CB_KEPT within the dialplan's 5 s (the row late, or failed): the caller is back in the
    music, still holding in their place (same enqueue time and priority, offered first to the next
    agent), and the callback is closed not_kept: never both holding and called back. A later or
    repeated answer (kept or not) changes nothing; the callback's time never enters it."""
    acd = Acd(_berlin_queue())
    now = _berlin(6, 10, 0)
    _told(acd, now)
    acd.handle(CallArrived("c2", "billing", 5, caller="555", enqueued_at=now - 10), now - 10 + 0.5)
    out = acd.handle(CallbackTimeNotKept("c1", CB), now + 5.2)
    assert [(c.callback_id, c.queue) for c in _not_kept(out)] == [(CB, "billing")]
    assert CancelTimer(scheduled_timer(CB)) in out
    assert not _records(out)  # their stay goes on
    assert acd.call_state("c1") is CallState.WAITING
    assert acd.handle(CallbackTimeNotKept("c1", CB), now + 6) == []
    assert acd.handle(CallbackTimeKept("c1", CB), now + 6) == []  # the dialplan's give-up won
    assert acd.call_state("c1") is CallState.WAITING
    out = acd.handle(AgentLoggedIn("a1"), now + 7)
    assert [c.call_id for c in out if isinstance(c, RingAgent)] == ["c1"]  # still ahead of c2
    assert acd.handle(TimerFired(scheduled_timer(CB)), _berlin(6, 14, 30)) == []


def test_a_caller_who_leaves_holding_before_being_told_gets_no_callback() -> None:
    """While the dialplan waits for ACD_CB_KEPT the caller still holds: offered to an agent, overflowed
    at max wait or hung up meanwhile, they were never told, and the callback is closed not_kept."""
    now = _berlin(6, 10, 0)
    rung = Acd(_berlin_queue())
    _told(rung, now)
    out = rung.handle(AgentLoggedIn("a1"), now + 1)
    assert [c.call_id for c in out if isinstance(c, RingAgent)] == ["c1"]
    assert [c.callback_id for c in _not_kept(out)] == [CB]
    assert rung.handle(CallbackTimeKept("c1", CB), now + 2) == []  # a late kept: the ring won
    assert rung.call_state("c1") is CallState.RINGING
    gone = Acd(_berlin_queue())
    _told(gone, now)
    out = gone.handle(CallerHungUp("c1"), now + 2)
    assert [c.callback_id for c in _not_kept(out)] == [CB]
    assert (_records(out)[-1].outcome) == "abandoned"
    assert gone.handle(TimerFired(scheduled_timer(CB)), _berlin(6, 14, 30)) == []


def test_a_callback_called_off_while_telling_leaves_the_caller_holding() -> None:
    """Its row could not be written (the shell calls it off): the caller is never told, holds on in
    their place, and the dialplan's give-up then changes nothing."""
    acd = Acd(_berlin_queue())
    now = _berlin(6, 10, 0)
    _told(acd, now)
    acd.handle(ScheduledCallbackCancelled(CB), now + 1)
    assert acd.call_state("c1") is CallState.WAITING
    assert acd.handle(CallbackTimeNotKept("c1", CB), now + 5.2) == []
    assert acd.call_state("c1") is CallState.WAITING


def test_a_kept_answer_for_another_callback_or_caller_changes_nothing() -> None:
    acd = Acd(_berlin_queue())
    now = _berlin(6, 10, 0)
    _told(acd, now)
    assert acd.handle(CallbackTimeKept("c1", "another"), now + 1) == []
    assert acd.handle(CallbackTimeKept("c9", CB), now + 1) == []
    assert acd.handle(CallbackTimeNotKept("c9", CB), now + 1) == []
    assert acd.call_state("c1") is CallState.WAITING
    out = acd.handle(CallbackTimeKept("c1", CB), now + 2)
    assert acd.call_state("c1") is None
    assert not _not_kept(out)


def test_a_time_that_comes_while_the_caller_is_being_told_waits_for_the_answer() -> None:
    """A time a few seconds ahead: it does not enter while its caller still holds (never both)."""
    acd = Acd(_berlin_queue())
    now = _berlin(6, 14, 29) + 58.0
    _told(acd, now)
    out = acd.handle(TimerFired(scheduled_timer(CB)), _berlin(6, 14, 30))
    assert acd.call_state(CB) is None
    assert StartTimer(scheduled_timer(CB), _berlin(6, 14, 30) + 1.0) in out
    acd.handle(CallbackTimeKept("c1", CB), _berlin(6, 14, 30) + 0.5)
    acd.handle(TimerFired(scheduled_timer(CB)), _berlin(6, 14, 30) + 1.0)
    assert acd.call_state(CB) is CallState.WAITING


def test_a_time_read_back_after_a_takeover_is_closed_when_its_caller_was_not_told() -> None:
    """The ACD that took the time stopped while the caller was being told; the one that took over read
    the row back (scheduled) and found the caller holding: the dialplan's give-up closes that callback,
    so the caller is not both holding and called back. Only when that caller is holding."""
    acd = Acd(_berlin_queue())
    now = _berlin(6, 10, 0)
    acd.handle(CallbackScheduled(CB, "billing", "49301234", _berlin(6, 14, 30), own=True, restored=True), now)
    acd.handle(CallArrived("c1", "billing", 5, caller="+49301234", enqueued_at=now - 30), now)
    assert acd.handle(CallbackTimeNotKept("c9", CB), now + 1) == []  # not a caller it has
    out = acd.handle(CallbackTimeNotKept("c1", CB), now + 2)
    assert [c.callback_id for c in _not_kept(out)] == [CB]
    assert acd.call_state("c1") is CallState.WAITING
