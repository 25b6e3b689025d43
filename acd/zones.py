"""Time zones for opening hours: the IANA zone a queue names, loaded once, read by the core.

The core (``acd.core.hours``) reads no clock and no zone files; the config loader hands it an
``IanaZone`` that turns an event's epoch time into the zone's local date and time, daylight saving
time included (``zoneinfo``, the system's tz database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from acd.core.hours import LocalTime


@dataclass(frozen=True, slots=True)
class IanaZone:
    name: str
    info: ZoneInfo = field(compare=False, repr=False)

    def local(self, at: float) -> LocalTime:
        moment = datetime.fromtimestamp(at, self.info)
        second = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
        return LocalTime(moment.date().isoformat(), moment.weekday(), second)


def load_zone(name: str) -> IanaZone | None:
    """The zone called ``name`` (e.g. ``Europe/Berlin``), or None when the tz database has none."""
    if not name or name.startswith(("/", ".")) or ".." in name or len(name) > 64:
        return None
    try:
        return IanaZone(name, ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@dataclass(frozen=True, slots=True)
class ShiftedZone:
    """``zone`` seen from a clock that starts at 0 at epoch time ``start`` (the simulator's)."""

    zone: IanaZone
    start: float

    @property
    def name(self) -> str:
        return self.zone.name

    def local(self, at: float) -> LocalTime:
        return self.zone.local(self.start + at)
