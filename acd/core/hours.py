"""When a queue takes calls, and what a caller gets when it does not: opening hours, holidays, overflow.

A queue may keep weekly opening hours in a time zone, with holiday dates on which it stays closed;
a caller who arrives while it is closed goes at once to its closed treatment (an announcement, then
an overflow target of the dialplan or another ACD queue). A queue may also refuse to keep callers
waiting when nobody can serve it (``empty_overflow_seconds``, like app_queue's joinempty and
leavewhenempty, docs/kpis.md "Overflow into another queue").

The core reads no clock and no time-zone files: the event's time comes in as ``now``, and the zone
is a ``Zone`` the shell loaded (``acd.zones``) that turns an epoch time into the local day and time.
Everything here is arithmetic on what it is handed, so the simulator plays it like the live ACD.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUEUE_TARGET = "queue:"  # an overflow target naming an ACD queue: "queue:<name>"
# the closed treatment that offers a callback at the next opening (acd.core.scheduled_callbacks)
CALLBACK_TARGET = "callback"
LOOK_AHEAD_DAYS = 7 + 366  # a week, and a year of holidays at most


@dataclass(frozen=True, slots=True)
class LocalTime:
    """A moment as the clock on the wall of the queue's zone shows it."""

    date: str  # ISO date, YYYY-MM-DD
    weekday: int  # 0 = Monday
    second: float  # seconds since local midnight


class Zone(Protocol):
    """A time zone loaded by the shell: the local date and time of an epoch time (DST included)."""

    @property
    def name(self) -> str: ...

    def local(self, at: float) -> LocalTime: ...


@dataclass(frozen=True, slots=True)
class Opening:
    """Open on ``weekday`` (0 = Monday) from ``start`` to ``end``, seconds since local midnight."""

    weekday: int
    start: int
    end: int  # > start; 86400 means until midnight


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A queue's week, its holidays, and the treatment of callers who arrive while it is closed.

    ``closed_target`` is an extension of the dialplan's acd-overflow (listed in overflow_targets) or
    ``queue:<name>``; ``announcement`` is the sound(s) played first (``a&b``), empty for none.
    """

    zone: Zone = field(compare=False, repr=False)
    zone_name: str
    weekly: tuple[Opening, ...]
    holidays: tuple[str, ...] = ()
    closed_target: str = "voicemail"
    announcement: str = "im-sorry"

    def is_open(self, at: float) -> bool:
        local = self.zone.local(at)
        if local.date in self.holidays:
            return False
        return any(o.weekday == local.weekday and o.start <= local.second < o.end for o in self.weekly)

    def next_opening(self, at: float) -> float | None:
        """The first moment at or after ``at`` when the queue is open (``at`` itself when open), or
        None when it never opens within a year. DST-correct: the local opening time is found by
        asking the zone, so a change of offset between ``at`` and the opening is counted; an
        opening at a local time the clocks skip starts when the clocks reach the span."""
        local = self.zone.local(at)
        if self.is_open(at):
            return at
        today = _day_number(local.date)
        for k in range(LOOK_AHEAD_DAYS):
            day = today + k
            if _iso_date(day) in self.holidays:
                continue
            weekday = (local.weekday + k) % 7
            for o in sorted((o for o in self.weekly if o.weekday == weekday), key=lambda o: o.start):
                if k == 0 and o.start <= local.second:
                    continue  # already passed today (and closed now, so over)
                found = self._epoch(day, o.start, at + k * 86400 + o.start - local.second)
                if found > at and self.is_open(found):
                    return found
        return None

    def _epoch(self, day: int, second: int, guess: float) -> float:
        """The epoch time the zone shows as ``day`` (a day number) at ``second`` since midnight, from ``guess``
        (which assumed the offset of now): corrected by what the zone shows there."""
        for _ in range(4):
            seen = self.zone.local(guess)
            diff = (day - _day_number(seen.date)) * 86400 + second - seen.second
            if diff == 0:
                return guess
            guess += diff
        # a local time the clocks skip (spring forward): the span opens when the clocks reach it
        for step in (3600.0, 1800.0):
            if not self.is_open(guess) and self.is_open(guess + step):
                return guess + step
        return guess


class UtcZone:
    """UTC, for a queue without opening hours (and so without a zone of its own)."""

    @property
    def name(self) -> str:
        return "UTC"

    def local(self, at: float) -> LocalTime:
        days = math.floor(at / 86400)
        return LocalTime(_iso_date(days), (days + 3) % 7, at - days * 86400)


UTC = UtcZone()


def clock_time(hhmm: str) -> int | None:
    """Seconds since midnight of a time keyed as ``HHMM`` (24 h: 0000 to 2359), None for anything else."""
    if len(hhmm) != 4 or not hhmm.isascii() or not hhmm.isdigit():
        return None
    hours, minutes = int(hhmm[:2]), int(hhmm[2:])
    if hours > 23 or minutes > 59:
        return None
    return hours * 3600 + minutes * 60


def today_at(zone: Zone, now: float, second: int) -> float | None:
    """The epoch time ``zone``'s clocks show as ``second`` since midnight on the local date of ``now``
    (DST-correct: asked of the zone); None for a time the clocks skip that day."""
    local = zone.local(now)
    day = _day_number(local.date)
    guess = float(round(now + second - local.second))  # to the second: a keyed time is whole minutes
    for _ in range(4):
        seen = zone.local(guess)
        diff = (day - _day_number(seen.date)) * 86400 + second - seen.second
        if diff == 0:
            return guess
        guess += diff
    return None


JUST_PASSED_SECONDS = 900
"""A keyed time this recently past today is no time for tomorrow: the caller meant now-ish, and the
prompts after the keys (the number read back, its confirmation) took the minute it was. Refused, so they
key again; one further back is tomorrow's."""


def today_or_tomorrow_at(zone: Zone, now: float, second: int) -> float | None:
    """The next epoch time ``zone``'s clocks show as ``second`` since midnight: today's when it is still
    to come, else tomorrow's (DST-correct, as ``today_at``); None for a time the clocks skip that day, and
    for one past today by less than ``JUST_PASSED_SECONDS``. On the night the clocks go back, a time of
    the repeated hour still to come (its second showing) is today's."""
    at = today_at(zone, now, second)
    if at is not None and at > now:
        return at
    if at is not None:
        for other in (at + 3600, at - 3600):  # the repeated hour's other showing
            shown = zone.local(other)
            if other > now and shown.second == second and shown.date == zone.local(at).date:
                return other
        if now - at < JUST_PASSED_SECONDS:
            return None
    local = zone.local(now)
    if at is None and second > local.second:
        return None  # still to come today, but the clocks skip it: not tomorrow's instead
    # noon tomorrow, local: its date is tomorrow's whatever the offset does overnight
    return today_at(zone, now - local.second + 86400 + 43200, second)


def _day_number(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date (the proleptic Gregorian calendar; no datetime in the core)."""
    y, m, d = int(iso[0:4]), int(iso[5:7]), int(iso[8:10])
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _iso_date(days: int) -> str:
    """The ISO date of a day number (the inverse of ``_day_number``)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return f"{yoe + era * 400 + (m <= 2):04d}-{m:02d}-{d:02d}"


def queue_target(target: str) -> str | None:
    """The queue an overflow target names (``queue:<name>``), or None for a dialplan extension."""
    return target[len(QUEUE_TARGET) :] if target.startswith(QUEUE_TARGET) else None


def openings(spans: Iterable[tuple[int, int, int]]) -> tuple[Opening, ...]:
    """The ``Opening`` values of (weekday, start, end) triples, in week order."""
    return tuple(Opening(d, s, e) for d, s, e in sorted(spans))
