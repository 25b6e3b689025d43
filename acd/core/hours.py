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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUEUE_TARGET = "queue:"  # an overflow target naming an ACD queue: "queue:<name>"


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


def queue_target(target: str) -> str | None:
    """The queue an overflow target names (``queue:<name>``), or None for a dialplan extension."""
    return target[len(QUEUE_TARGET) :] if target.startswith(QUEUE_TARGET) else None


def openings(spans: Iterable[tuple[int, int, int]]) -> tuple[Opening, ...]:
    """The ``Opening`` values of (weekday, start, end) triples, in week order."""
    return tuple(Opening(d, s, e) for d, s, e in sorted(spans))
