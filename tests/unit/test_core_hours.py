"""Opening hours, holidays, the join rule and overflow into another queue (acd.core.hours).

The core reads no zone files: the tests hand it the shell's ``IanaZone`` (acd.zones), and check
the week across the 2026 daylight-saving changes of Europe/Berlin and America/New_York.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from acd.core.acd import Acd
from acd.core.commands import (
    KeepScheduledCallback,
    MetricUpdate,
    OverflowCall,
    RecordCommand,
    RingAgent,
    StartTimer,
    TagCall,
)
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.errors import InvalidValue, UnknownCall
from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    CallArrived,
    CallbackAccepted,
    CallbackCallerGone,
    CallMoved,
    CallTransferred,
    ClosedCallbackAccepted,
    ConfigChanged,
    OfferAnswered,
    ResyncFinished,
    ResyncStarted,
    TimerFired,
)
from acd.core.hours import UTC, OpeningHours, clock_time, openings, today_at
from acd.core.metric_updates import CALLS_MOVED, CALLS_OFFERED
from acd.core.record_types import InteractionRecord
from acd.core.states import CallState
from acd.core.timers import call_timer, scheduled_timer
from acd.zones import load_zone

H = 3600


def _hours(zone: str, *, holidays: tuple[str, ...] = (), closed: str = "voicemail") -> OpeningHours:
    z = load_zone(zone)
    assert z is not None
    # Monday to Friday 08:00-18:00, Saturday 09:00-12:00, Sunday closed
    week = [(d, 8 * H, 18 * H) for d in range(5)] + [(5, 9 * H, 12 * H)]
    return OpeningHours(z, zone, openings(week), holidays, closed, "im-sorry")


def _at(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp()


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # Europe/Berlin: summer time starts Sunday 2026-03-29, ends Sunday 2026-10-25
        ("Europe/Berlin", (2026, 3, 27), (2026, 3, 30)),
        ("Europe/Berlin", (2026, 10, 23), (2026, 10, 26)),
        # America/New_York: DST starts Sunday 2026-03-08, ends Sunday 2026-11-01
        ("America/New_York", (2026, 3, 6), (2026, 3, 9)),
        ("America/New_York", (2026, 10, 30), (2026, 11, 2)),
    ],
)
def test_opening_follows_the_wall_clock_across_a_dst_change(
    zone: str, before: tuple[int, int, int], after: tuple[int, int, int]
) -> None:
    hours = _hours(zone)
    for day in (before, after):  # a Friday and the Monday after the change
        assert not hours.is_open(_at(zone, *day, 7, 59))
        assert hours.is_open(_at(zone, *day, 8, 0))
        assert hours.is_open(_at(zone, *day, 17, 59))
        assert not hours.is_open(_at(zone, *day, 18, 0))
    # the UTC opening moves by an hour across the change, the local one does not
    assert (_at(zone, *after, 8, 0) - _at(zone, *before, 8, 0)) % 86400 in (H, 86400 - H)


def test_weekend_and_holidays_are_closed() -> None:
    zone = "Europe/Berlin"
    hours = _hours(zone, holidays=("2026-12-24",))
    assert hours.is_open(_at(zone, 2026, 12, 23, 10, 0))
    assert not hours.is_open(_at(zone, 2026, 12, 24, 10, 0))  # Thursday, a holiday
    assert hours.is_open(_at(zone, 2026, 12, 5, 11, 0))  # Saturday morning
    assert not hours.is_open(_at(zone, 2026, 12, 5, 12, 0))
    assert not hours.is_open(_at(zone, 2026, 12, 6, 10, 0))  # Sunday
    # the holiday is the local date: 23:30 UTC on the 23rd is already the 24th in Berlin
    late = OpeningHours(hours.zone, zone, openings([(d, 0, 24 * H) for d in range(7)]), ("2026-12-24",))
    assert not late.is_open(_at("UTC", 2026, 12, 23, 23, 30))
    assert late.is_open(_at("UTC", 2026, 12, 23, 22, 30))


def _records(commands: Sequence[object]) -> list[InteractionRecord]:
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)]


def _counted(commands: Sequence[object], name: str) -> list[str]:
    return [dict(c.labels)["queue"] for c in commands if isinstance(c, MetricUpdate) and c.name == name]


AGENTS = (AgentConfig("b1", "billing1", (("billing", 3),)), AgentConfig("s1", "sales1", (("sales", 3),)))


def _config(billing: QueueConfig) -> RoutingConfig:
    return RoutingConfig((billing, QueueConfig("sales", (SkillRequirement("sales", 1),))), AGENTS)


def test_a_caller_arriving_while_closed_gets_the_closed_treatment_with_its_announcement() -> None:
    zone = "America/New_York"
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), hours=_hours(zone, closed="fallback"))
    acd = Acd(_config(billing))
    acd.handle(AgentLoggedIn("b1"), 0.0)
    sunday = _at(zone, 2026, 12, 6, 10, 0)
    commands = acd.handle(CallArrived("c1", "billing", 5), sunday)
    assert [c for c in commands if isinstance(c, OverflowCall)] == [
        OverflowCall("c1", "fallback", "closed", "im-sorry")
    ]
    assert not [c for c in commands if isinstance(c, RingAgent)]
    last = _records(commands)[-1]
    assert (last.outcome, last.end_reason, last.within_sla) == ("overflowed", "closed", False)
    # open: rung as usual
    monday = _at(zone, 2026, 12, 7, 10, 0)
    assert [c for c in acd.handle(CallArrived("c2", "billing", 5), monday) if isinstance(c, RingAgent)]


def test_join_rule_overflows_at_once_when_nobody_who_can_serve_is_logged_in() -> None:
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), empty_overflow_seconds=0.0)
    acd = Acd(_config(billing))
    acd.handle(AgentLoggedIn("s1"), 0.0)  # a sales agent cannot serve billing
    commands = acd.handle(CallArrived("c1", "billing", 5), 10.0)
    assert [c for c in commands if isinstance(c, OverflowCall)] == [OverflowCall("c1", "voicemail", "no_agents")]
    # a billing agent logged in but paused counts as nobody
    acd.handle(AgentLoggedIn("b1"), 11.0)
    acd.handle(AgentPaused("b1", "lunch"), 12.0)
    commands = acd.handle(CallArrived("c2", "billing", 5), 13.0)
    assert [c.reason for c in commands if isinstance(c, OverflowCall)] == ["no_agents"]


def test_join_rule_after_n_seconds_overflows_only_if_still_nobody() -> None:
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), empty_overflow_seconds=30.0)
    acd = Acd(_config(billing))
    commands = acd.handle(CallArrived("c1", "billing", 5), 0.0)
    assert not [c for c in commands if isinstance(c, OverflowCall)]
    fired = acd.handle(TimerFired(call_timer("c1")), 30.0)
    assert [c for c in fired if isinstance(c, OverflowCall)] == [OverflowCall("c1", "voicemail", "no_agents")]
    acd.handle(CallArrived("c2", "billing", 5), 100.0)
    acd.handle(AgentLoggedIn("b1"), 110.0)  # answered by ringing before the deadline
    commands = acd.handle(TimerFired(call_timer("c2")), 130.0)
    assert not [c for c in commands if isinstance(c, OverflowCall)]


def test_leave_rule_the_last_agent_stepping_away_starts_the_waiting_callers_clock() -> None:
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), empty_overflow_seconds=20.0)
    acd = Acd(_config(billing))
    acd.handle(AgentLoggedIn("b1"), 0.0)
    acd.handle(CallArrived("c1", "billing", 5), 1.0)  # rung at once
    acd.handle(CallArrived("c2", "billing", 5), 2.0)  # waits behind c1
    commands = acd.handle(AgentLoggedOut("b1"), 3.0)  # c1's offer withdrawn; nobody left for billing
    assert not [c for c in commands if isinstance(c, OverflowCall)]
    fired = acd.handle(TimerFired(call_timer("c1")), 23.0)
    assert [c for c in fired if isinstance(c, OverflowCall)] == [OverflowCall("c1", "voicemail", "no_agents")]
    fired = acd.handle(TimerFired(call_timer("c2")), 23.0)
    assert [c for c in fired if isinstance(c, OverflowCall)] == [OverflowCall("c2", "voicemail", "no_agents")]
    # at once (0): a paused last agent sends the waiting caller on immediately
    at_once = QueueConfig("billing", (SkillRequirement("billing", 1),), empty_overflow_seconds=0.0)
    acd = Acd(_config(at_once))
    acd.handle(AgentLoggedIn("b1"), 0.0)
    acd.handle(CallArrived("c1", "billing", 5), 1.0)
    acd.handle(CallArrived("c2", "billing", 5), 2.0)
    commands = acd.handle(AgentPaused("b1", "lunch"), 3.0)
    assert sorted(c.call_id for c in commands if isinstance(c, OverflowCall)) == ["c1", "c2"]


def test_without_the_rule_a_caller_waits_when_nobody_is_logged_in() -> None:
    acd = Acd(_config(QueueConfig("billing", (SkillRequirement("billing", 1),))))
    commands = acd.handle(CallArrived("c1", "billing", 5), 0.0)
    assert not [c for c in commands if isinstance(c, OverflowCall)]


def test_overflow_into_another_queue_is_overflowed_here_and_a_new_arrival_there() -> None:
    billing = QueueConfig(
        "billing",
        (SkillRequirement("billing", 1),),
        empty_overflow_seconds=0.0,
        overflow_target="queue:sales",
    )
    acd = Acd(_config(billing))
    acd.handle(AgentLoggedIn("s1"), 0.0)
    commands = acd.handle(CallArrived("c1", "billing", 5, caller="555"), 10.0)
    assert not [c for c in commands if isinstance(c, OverflowCall)]
    left, joined = [r for r in _records(commands) if r.outcome is not None or r.queue == "sales"][-2:]
    assert (left.queue, left.outcome, left.end_reason, left.within_sla) == ("billing", "overflowed", "no_agents", False)
    assert (joined.queue, joined.arrived_at, joined.caller, joined.interaction_id) == ("sales", 10.0, "555", "c1")
    assert _counted(commands, CALLS_OFFERED) == ["billing"]
    assert _counted(commands, CALLS_MOVED) == []
    assert [c for c in commands if isinstance(c, TagCall)] == [TagCall("c1", "sales", 5, 10.0, new_stay=True)]
    ring = [c for c in commands if isinstance(c, RingAgent)]
    assert [r.agent_id for r in ring] == ["s1"]


def test_a_closed_queue_overflowing_into_an_open_one() -> None:
    zone = "Europe/Berlin"
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), hours=_hours(zone, closed="queue:sales"))
    acd = Acd(_config(billing))
    acd.handle(AgentLoggedIn("s1"), 0.0)
    commands = acd.handle(CallArrived("c1", "billing", 5), _at(zone, 2026, 12, 6, 10, 0))
    assert [c.agent_id for c in commands if isinstance(c, RingAgent)] == ["s1"]
    assert [r.end_reason for r in _records(commands) if r.outcome == "overflowed"] == ["closed"]


def test_a_removed_queue_that_overflows_into_a_queue_sends_its_callers_to_the_dialplan() -> None:
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), overflow_target="queue:sales")
    acd = Acd(_config(billing))
    acd.handle(CallArrived("c1", "billing", 5), 0.0)
    only_sales = RoutingConfig((QueueConfig("sales", (SkillRequirement("sales", 1),)),), AGENTS)
    commands = acd.handle(ConfigChanged(only_sales), 5.0)
    assert [c for c in commands if isinstance(c, OverflowCall)] == [OverflowCall("c1", "voicemail", "queue_removed")]


def test_during_a_resync_the_join_rule_waits_for_the_agents() -> None:
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), empty_overflow_seconds=0.0)
    acd = Acd(_config(billing))
    acd.handle(ResyncStarted(), 0.0)
    commands = acd.handle(CallArrived("c1", "billing", 5, enqueued_at=-30.0), 0.0)  # found holding
    commands += acd.handle(CallArrived("c2", "billing", 5, enqueued_at=-20.0), 0.0)
    commands += acd.handle(AgentLoggedIn("b1"), 0.0)  # restored presence
    assert not [c for c in commands if isinstance(c, OverflowCall)]
    commands = acd.handle(ResyncFinished(), 0.0)
    assert not [c for c in commands if isinstance(c, OverflowCall)]
    assert [c.call_id for c in commands if isinstance(c, RingAgent)] == ["c1"]
    # nobody after all: the rule applies when the resync ends
    acd = Acd(_config(billing))
    acd.handle(ResyncStarted(), 0.0)
    acd.handle(CallArrived("c1", "billing", 5, enqueued_at=-30.0), 0.0)
    commands = acd.handle(ResyncFinished(), 0.0)
    assert [c for c in commands if isinstance(c, OverflowCall)] == [OverflowCall("c1", "voicemail", "no_agents")]


def _talking_in_sales(acd: Acd, now: float) -> None:
    acd.handle(AgentLoggedIn("s1"), now)
    ring = next(c for c in acd.handle(CallArrived("c1", "sales", 5), now) if isinstance(c, RingAgent))
    acd.handle(OfferAnswered(ring.offer_id), now + 1)


def test_a_caller_transferred_into_a_closed_queue_gets_its_closed_treatment() -> None:
    """A transfer is an arrival in the target queue: its hours apply at once, not its max wait later."""
    zone = "America/New_York"
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), hours=_hours(zone, closed="fallback"))
    acd = Acd(_config(billing))
    acd.handle(AgentLoggedIn("b1"), 0.0)
    sunday = _at(zone, 2026, 12, 6, 10, 0)
    _talking_in_sales(acd, sunday)
    commands = acd.handle(CallTransferred("c1", "s1", "billing"), sunday + 30)
    assert [c for c in commands if isinstance(c, OverflowCall)] == [
        OverflowCall("c1", "fallback", "closed", "im-sorry")
    ]
    assert not [c for c in commands if isinstance(c, RingAgent)]
    assert [(r.queue, r.outcome, r.end_reason) for r in _records(commands) if r.outcome == "overflowed"] == [
        ("billing", "overflowed", "closed")
    ]


def test_a_caller_transferred_or_moved_into_a_queue_nobody_can_serve_meets_its_join_rule() -> None:
    billing = QueueConfig("billing", (SkillRequirement("billing", 1),), empty_overflow_seconds=0.0)
    acd = Acd(_config(billing))
    _talking_in_sales(acd, 10.0)
    commands = acd.handle(CallTransferred("c1", "s1", "billing"), 40.0)
    assert [c for c in commands if isinstance(c, OverflowCall)] == [OverflowCall("c1", "voicemail", "no_agents")]
    acd.handle(CallArrived("c2", "sales", 5), 50.0)  # s1 is in wrap-up: c2 waits in sales
    commands = acd.handle(CallMoved("c2", "billing"), 51.0)
    assert [c for c in commands if isinstance(c, OverflowCall)] == [OverflowCall("c2", "voicemail", "no_agents")]


def test_a_pending_callback_is_never_overflowed_by_the_join_rule() -> None:
    """A callback has no channel to overflow: when the last agent who could serve the queue pauses, the
    holding callers come under the join rule, the callback keeps its place for the next agent."""
    billing = QueueConfig(
        "billing", (SkillRequirement("billing", 1),), empty_overflow_seconds=0.0, callback_after_seconds=5.0
    )
    acd = Acd(_config(billing))
    acd.handle(AgentLoggedIn("b1"), 0.0)
    acd.handle(CallArrived("c0", "billing", 5, caller="5550"), 1.0)  # rung at once: b1 is busy with it
    acd.handle(CallArrived("c1", "billing", 5, caller="5551"), 2.0)
    acd.handle(CallArrived("c2", "billing", 5, caller="5552"), 3.0)
    acd.handle(CallbackAccepted("c1", "5551"), 9.0)
    acd.handle(CallbackCallerGone("c1"), 9.0)
    commands = acd.handle(AgentLoggedOut("b1"), 10.0)  # nobody left for billing
    assert sorted(c.call_id for c in commands if isinstance(c, OverflowCall)) == ["c0", "c2"]
    assert acd.call_state("c1") is CallState.WAITING
    acd.handle(AgentLoggedIn("b1"), 20.0)
    assert acd.call_state("c1") is CallState.RINGING


# -- the closed treatment "callback": a callback at the next opening ------------------------------
@pytest.mark.parametrize(
    ("zone", "closed_at", "opens_at"),
    [
        # Friday evening: Saturday 09:00
        ("Europe/Berlin", (2026, 12, 4, 18, 30), (2026, 12, 5, 9, 0)),
        # Saturday afternoon: over the Sunday, Monday 08:00
        ("Europe/Berlin", (2026, 12, 5, 12, 0), (2026, 12, 7, 8, 0)),
        # before opening on a weekday: the same day
        ("Europe/Berlin", (2026, 12, 7, 6, 0), (2026, 12, 7, 8, 0)),
        # Wednesday evening before two holidays (24th, 25th): Saturday the 26th, 09:00
        ("Europe/Berlin", (2026, 12, 23, 19, 0), (2026, 12, 26, 9, 0)),
        # across the change to summer time (Sunday 2026-03-29): Monday 08:00 CEST, not 09:00
        ("Europe/Berlin", (2026, 3, 28, 13, 0), (2026, 3, 30, 8, 0)),
        # across the change back (Sunday 2026-11-01 in New York)
        ("America/New_York", (2026, 10, 31, 12, 30), (2026, 11, 2, 8, 0)),
    ],
)
def test_next_opening_is_the_local_opening_time_after_weekends_holidays_and_dst(
    zone: str, closed_at: tuple[int, int, int, int, int], opens_at: tuple[int, int, int, int, int]
) -> None:
    hours = _hours(zone, holidays=("2026-12-24", "2026-12-25"))
    at = _at(zone, *closed_at)
    assert not hours.is_open(at)
    assert hours.next_opening(at) == _at(zone, *opens_at)
    assert hours.next_opening(_at(zone, *opens_at)) == _at(zone, *opens_at)  # open: now


def test_next_opening_of_a_queue_that_never_opens_is_none() -> None:
    z = load_zone("UTC")
    assert z is not None
    assert OpeningHours(z, "UTC", ()).next_opening(0.0) is None


def _callback_config(allowed: tuple[str, ...] = ()) -> RoutingConfig:
    billing = QueueConfig(
        "billing",
        (SkillRequirement("billing", 1),),
        hours=_hours("Europe/Berlin", closed="callback"),
        scheduled_callback_priority=7,
    )
    config = _config(billing)
    return dataclasses.replace(config, policy=dataclasses.replace(config.policy, callback_numbers=allowed))


def test_a_closed_queue_with_callback_sends_the_caller_to_the_offer_and_schedules_the_next_opening() -> None:
    zone = "Europe/Berlin"
    acd = Acd(_callback_config())
    acd.handle(AgentLoggedIn("b1"), 0.0)
    saturday = _at(zone, 2026, 12, 5, 15, 0)
    commands = acd.handle(CallArrived("c1", "billing", 5, caller="4930123"), saturday)
    # the arrival counts as today's closed arrivals: offered, overflowed with reason "closed"
    assert [c for c in commands if isinstance(c, OverflowCall)] == [
        OverflowCall("c1", "callback", "closed", "im-sorry")
    ]
    last = _records(commands)[-1]
    assert (last.outcome, last.end_reason) == ("overflowed", "closed")
    # the caller confirmed the number they called from: scheduled for Monday 08:00, kept in the records
    monday = _at(zone, 2026, 12, 7, 8, 0)
    commands = acd.handle(ClosedCallbackAccepted("c1", "cb1", "4930123"), saturday + 20)
    assert [c for c in commands if isinstance(c, KeepScheduledCallback)] == [
        KeepScheduledCallback("cb1", "billing", "4930123", monday, call_id="c1", zone="Europe/Berlin", own=True)
    ]
    assert StartTimer(scheduled_timer("cb1"), monday) in commands
    # at the opening it enters the queue with the scheduled callbacks' priority, its wait counted from then
    entered = acd.handle(TimerFired(scheduled_timer("cb1")), monday + 1)
    assert [c for c in entered if isinstance(c, RingAgent)]
    record = _records(entered)[0]
    assert (record.interaction_id, record.queue, record.priority, record.arrived_at) == ("cb1", "billing", 7, monday)


def test_a_closed_callback_to_a_keyed_number_needs_the_patterns_and_a_closed_caller() -> None:
    zone = "Europe/Berlin"
    acd = Acd(_callback_config(allowed=("_49301XXX",)))
    sunday = _at(zone, 2026, 12, 6, 10, 0)
    acd.handle(CallArrived("c1", "billing", 5, caller="4930123"), sunday)
    with pytest.raises(InvalidValue):
        acd.handle(ClosedCallbackAccepted("c1", "cb1", "4940999"), sunday)  # not allowed, not theirs
    assert [
        c
        for c in acd.handle(ClosedCallbackAccepted("c1", "cb2", "49301555"), sunday)
        if isinstance(c, KeepScheduledCallback)
    ]
    with pytest.raises(UnknownCall):
        acd.handle(ClosedCallbackAccepted("nobody", "cb3", "4930123"), sunday)
    # a caller who met the queue open is no closed caller
    monday = _at(zone, 2026, 12, 7, 10, 0)
    acd.handle(AgentLoggedIn("b1"), monday)
    acd.handle(CallArrived("c2", "billing", 5, caller="4930123"), monday)
    with pytest.raises((InvalidValue, UnknownCall)):
        acd.handle(ClosedCallbackAccepted("c2", "cb4", "4930123"), monday)


def test_a_keyed_time_is_today_in_the_zone_dst_included_and_malformed_ones_are_none() -> None:
    """HHMM keyed by a caller (acd.core.scheduled_callbacks.time_asked): the local time today, asked of
    the zone, so the day clocks go forward still puts 14:30 at 14:30; a time the clocks skip is None."""
    zone = load_zone("Europe/Berlin")
    assert zone is not None
    spring = _at("Europe/Berlin", 2026, 3, 29, 1, 0)  # 02:00 becomes 03:00 that night
    assert today_at(zone, spring, 14 * 3600 + 1800) == _at("Europe/Berlin", 2026, 3, 29, 14, 30)
    assert today_at(zone, spring, 2 * 3600 + 1800) is None
    assert today_at(UTC, 86400 * 3 + 5.5, 60) == 86400 * 3 + 60
    assert UTC.local(86400 * 4).weekday == 0  # 1970-01-05 was a Monday
    assert [clock_time(t) for t in ("0000", "2359", "0930")] == [0, 86340, 34200]
    assert [clock_time(t) for t in ("2400", "1260", "930", "09:3", "\uff11\uff12\uff13\uff14", "")] == [None] * 6
