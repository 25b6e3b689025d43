"""A closed queue's caller keys a time to be called back at (``AcdClosedCallbackAt``, docs/dialplan.md
"Callbacks at a time"): ``HHMM`` in the queue's zone, today's or tomorrow's when today's is over
(DST-correct), taken only when the queue is open then (its week and its holidays). A time refused is
told to the caller (``RefuseCallbackTime``), who may key another; the event is hostile input and the
translator believes it only in shape and from the closed caller's own channel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from acd.ami.callers import CallerLeg, Phase
from acd.ami.identity import closed_callback_id
from acd.ami.translate import Translator
from acd.core.acd import Acd
from acd.core.commands import KeepScheduledCallback, RefuseCallbackTime
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallArrived, ClosedCallbackAccepted
from acd.core.hours import OpeningHours, Zone, clock_time, openings, today_or_tomorrow_at
from acd.zones import load_zone

BERLIN = "Europe/Berlin"
_LOADED = load_zone(BERLIN)
assert _LOADED is not None
ZONE: Zone = _LOADED
EVERY_DAY = openings([(day, 8 * 3600, 18 * 3600) for day in range(7)])
SATURDAY = datetime(2026, 12, 5, 15, 0, tzinfo=ZoneInfo(BERLIN)).timestamp()


def _acd(holidays: tuple[str, ...] = ("2026-12-05",)) -> Acd:
    hours = OpeningHours(ZONE, BERLIN, EVERY_DAY, holidays, "callback", "im-sorry")
    return Acd(
        RoutingConfig(
            queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), hours=hours),),
            agents=(AgentConfig("b1", "billing1", (("billing", 3),)),),
        )
    )


def _ask(acd: Acd, at: str, now: float, number: str = "4930123") -> Sequence[object]:
    return acd.handle(ClosedCallbackAccepted("c1", closed_callback_id("c1"), number, at), now)


def _kept(out: Sequence[object]) -> list[KeepScheduledCallback]:
    return [c for c in out if isinstance(c, KeepScheduledCallback)]


def _refused(out: Sequence[object]) -> list[RefuseCallbackTime]:
    return [c for c in out if isinstance(c, RefuseCallbackTime)]


def test_a_time_on_a_holiday_is_refused_and_one_keyed_again_for_tomorrow_is_kept() -> None:
    acd = _acd()
    acd.handle(CallArrived("c1", "billing", 5, caller="4930123"), SATURDAY)  # a holiday: closed
    out = _ask(acd, "1600", SATURDAY + 20)  # later today, but today is a holiday
    assert _refused(out) == [RefuseCallbackTime("c1", "closed")] and not _kept(out)
    out = _ask(acd, "1900", SATURDAY + 30)  # today's is to come but closed, tomorrow is not asked for
    assert _refused(out) == [RefuseCallbackTime("c1", "closed")]
    out = _ask(acd, "0930", SATURDAY + 40)  # today's 09:30 is over: tomorrow's, Sunday, open
    (kept,) = _kept(out)
    assert kept.at == datetime(2026, 12, 6, 9, 30, tzinfo=ZoneInfo(BERLIN)).timestamp()
    assert (kept.callback_id, kept.queue, kept.number, kept.zone, kept.own) == (
        closed_callback_id("c1"),
        "billing",
        "4930123",
        BERLIN,
        True,
    )
    assert not _refused(out)


def test_a_time_out_of_the_weeks_hours_and_a_malformed_one_are_refused() -> None:
    acd = _acd(holidays=())
    acd.handle(CallArrived("c1", "billing", 5, caller="4930123"), SATURDAY + 4 * 3600)  # 19:00: closed
    assert _refused(_ask(acd, "2000", SATURDAY + 4 * 3600 + 5)) == [RefuseCallbackTime("c1", "closed")]
    assert _refused(_ask(acd, "0700", SATURDAY + 4 * 3600 + 6)) == [RefuseCallbackTime("c1", "closed")]
    assert _refused(_ask(acd, "2460", SATURDAY + 4 * 3600 + 7)) == [RefuseCallbackTime("c1", "malformed")]
    # a number keyed in that no pattern allows (none configured)
    assert _refused(_ask(acd, "0900", SATURDAY + 4 * 3600 + 8, "555")) == [RefuseCallbackTime("c1", "number")]
    (kept,) = _kept(_ask(acd, "0800", SATURDAY + 4 * 3600 + 9))
    assert kept.at == datetime(2026, 12, 6, 8, 0, tzinfo=ZoneInfo(BERLIN)).timestamp()


def test_tomorrows_time_across_the_autumn_change_is_the_local_time_asked() -> None:
    """Berlin leaves summer time on 25 October 2026: 09:00 that morning is 08:00 UTC, not 07:00."""
    evening = datetime(2026, 10, 24, 20, 0, tzinfo=ZoneInfo(BERLIN)).timestamp()
    acd = _acd(holidays=())
    acd.handle(CallArrived("c1", "billing", 5, caller="4930123"), evening)
    (kept,) = _kept(_ask(acd, "0900", evening + 5))
    assert kept.at == datetime(2026, 10, 25, 9, 0, tzinfo=ZoneInfo(BERLIN)).timestamp()
    assert datetime.fromtimestamp(kept.at, ZoneInfo("UTC")).hour == 8


@pytest.mark.parametrize(
    ("now", "hhmm", "expected"),
    [
        (datetime(2026, 3, 28, 23, 0, tzinfo=ZoneInfo(BERLIN)), "0300", datetime(2026, 3, 29, 3, 0)),  # spring
        (datetime(2026, 3, 29, 1, 0, tzinfo=ZoneInfo(BERLIN)), "0230", None),  # skipped that night
        (datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo(BERLIN)), "1000", None),  # just now: meant now, not tomorrow
        (datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo(BERLIN)), "0946", None),  # 14 min ago: still just past
        (datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo(BERLIN)), "0944", datetime(2026, 12, 6, 9, 44)),  # over
        # the autumn night: at 02:45 summer time, 02:30 winter time is still to come today (45 min)
        (datetime(2026, 10, 25, 2, 45, tzinfo=ZoneInfo(BERLIN)), "0230", datetime(2026, 10, 25, 2, 30, fold=1)),
        (datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo(BERLIN)), "1001", datetime(2026, 12, 5, 10, 1)),
        (datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo(BERLIN)), "0015", datetime(2027, 1, 1, 0, 15)),
    ],
)
def test_today_or_tomorrow(now: datetime, hhmm: str, expected: datetime | None) -> None:
    second = clock_time(hhmm)
    assert second is not None
    at = today_or_tomorrow_at(ZONE, now.timestamp(), second)
    assert at == (None if expected is None else expected.replace(tzinfo=ZoneInfo(BERLIN)).timestamp())


def _translator(phase: Phase = Phase.LEFT) -> tuple[Translator, list[str]]:
    translator = Translator(_acd().config, clock=lambda: SATURDAY)
    translator.book.add(CallerLeg("c1", "1764943200.7", "PJSIP/trunk-00000007", "billing", 5, phase=phase))
    refused: list[str] = []
    translator._on_refused = refused.append
    return translator, refused


def _event(**fields: str) -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "UserEvent": "AcdClosedCallbackAt",
        "Channel": "PJSIP/trunk-00000007",
        "Uniqueid": "1764943200.7",
        "AcdTime": "0930",
        "AcdNumber": "4930123",
        **fields,
    }


def test_the_translator_takes_a_well_formed_time_from_the_closed_callers_own_channel() -> None:
    translator, refused = _translator()
    assert translator.translate(_event()) == [ClosedCallbackAccepted("c1", closed_callback_id("c1"), "4930123", "0930")]
    assert refused == []


@pytest.mark.parametrize(
    "garbage",
    [
        {"AcdTime": ""},
        {"AcdTime": "930"},
        {"AcdTime": "09300"},
        {"AcdTime": "09:3"},
        {"AcdTime": "0930\r\nAction: Originate"},
        {"AcdTime": "\uff10\uff19\uff13\uff10"},  # digits, not ASCII
        {"AcdTime": "-930"},
        {"AcdTime": "9e30"},
        {"AcdNumber": ""},
        {"AcdNumber": "49 30"},
        {"AcdNumber": "4" * 33},
        {"AcdNumber": "\uff14\uff19\uff13\uff10"},
        {"AcdNumber": "4930;123"},
        {"Channel": "PJSIP/trunk-00000009"},  # someone else's channel
        {"Uniqueid": "1764943200.9"},  # no such caller
    ],
)
def test_the_translator_refuses_garbage(garbage: dict[str, str]) -> None:
    translator, refused = _translator()
    assert translator.translate(_event(**garbage)) == []
    assert len(refused) == 1


def test_a_caller_still_holding_may_not_use_the_closed_queues_event() -> None:
    translator, refused = _translator(Phase.WAITING)
    assert translator.translate(_event()) == []
    assert len(refused) == 1
