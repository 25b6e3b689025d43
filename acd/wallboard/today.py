"""Service level *today*, per queue: the counts the wallboard needs and Prometheus cannot give it.

Prometheus's counters run from the start of the process and its recorded ``_1d`` ratio is a rolling
24 hours; a wallboard shows the calendar day. This tally follows the same ``MetricUpdate`` stream as
the counters (docs/kpis.md, "Live metrics"), so its service level is the live definition, counted at
queue exit: answered within T / (offered - short abandons). It resets at local midnight. At start-up
it is seeded with the day so far from the interaction records (``acd.wallboard.seed``), so a restart
does not start the day over; without PostgreSQL it starts empty (``since`` says from when it counts).
No clock is read: every method takes ``now``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as clock_time

from acd.core.commands import MetricUpdate
from acd.core.metric_updates import (
    CALLS_ABANDONED,
    CALLS_ANSWERED,
    CALLS_ANSWERED_WITHIN_SLA,
    CALLS_OFFERED,
    CALLS_SHORT_ABANDONED,
)
from acd.core.otf import Verdict

_FIELDS = {
    CALLS_OFFERED: "offered",
    CALLS_ANSWERED: "answered",
    CALLS_ANSWERED_WITHIN_SLA: "within_sla",
    CALLS_ABANDONED: "abandoned",
    CALLS_SHORT_ABANDONED: "short_abandoned",
}


@dataclass(slots=True)
class DayCounts:
    """One queue's calls that left the queue today (short abandons included in ``abandoned``)."""

    offered: int = 0
    answered: int = 0
    within_sla: int = 0
    abandoned: int = 0
    short_abandoned: int = 0

    @property
    def counted(self) -> int:
        """The service level's denominator: offered calls except short abandons."""
        return self.offered - self.short_abandoned

    @property
    def service_level(self) -> float | None:
        """Answered within T / (offered - short abandons); None before the first call that counts."""
        return self.within_sla / self.counted if self.counted > 0 else None


def day_of(now: float, tz: tzinfo | None = None) -> tuple[date, float, float]:
    """The calendar day holding ``now``, with its start and end (the next midnight) as epoch seconds.

    ``tz`` None is the host's local time zone; days around a DST change are 23 or 25 hours long.
    """
    if tz is None:
        t = time.localtime(now)
        start = time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))
        end = time.mktime((t.tm_year, t.tm_mon, t.tm_mday + 1, 0, 0, 0, 0, 0, -1))
        return date(t.tm_year, t.tm_mon, t.tm_mday), start, end
    day = datetime.fromtimestamp(now, tz).date()
    start_at = datetime.combine(day, clock_time(), tz)
    end_at = datetime.combine(day + timedelta(days=1), clock_time(), tz)
    return day, start_at.timestamp(), end_at.timestamp()


class ServiceLevelToday:
    def __init__(self, started: float, tz: tzinfo | None = None) -> None:
        self._tz = tz
        self._started = started
        self.day, self._day_start, self._day_end = day_of(started, tz)
        self._queues: dict[str, DayCounts] = {}
        self._seeded = False  # holds the whole day: counted since midnight
        # OTF today (docs/kpis.md, "Wallboard"): verdicts settled today since the start, [settled, OTF]
        self._otf: dict[str, list[int]] = {}
        self._otf_pending: dict[str, int] = {}
        self._otf_seeded = False  # OTF holds the whole day: counted since midnight

    @property
    def since(self) -> float:
        """Counting since: midnight, or the ACD's start when it started today and was not seeded."""
        return self._day_start if self._seeded else max(self._day_start, self._started)

    @property
    def day_bounds(self) -> tuple[float, float]:
        """The day counted now: its start and end (the next midnight), as epoch seconds."""
        return self._day_start, self._day_end

    def seed(self, earlier: Mapping[str, DayCounts], now: float) -> None:
        """Add the day's calls counted before this process started (from the records).

        Added to whatever the tally already holds, so calls counted since the start stay counted.
        """
        self._roll(now)
        for queue, counts in earlier.items():
            held = self._queues.setdefault(queue, DayCounts())
            for name in ("offered", "answered", "within_sla", "abandoned", "short_abandoned"):
                setattr(held, name, getattr(held, name) + getattr(counts, name))
        self._seeded = True

    def _roll(self, now: float) -> None:
        if now >= self._day_end or now < self._day_start:
            self.day, self._day_start, self._day_end = day_of(now, self._tz)
            self._queues.clear()
            self._otf.clear()
            self._seeded = True  # a new day: counted from its midnight
            self._otf_seeded = True

    def observe(self, update: MetricUpdate, now: float) -> None:
        field = _FIELDS.get(update.name)
        if field is None or update.kind != "inc":
            return
        self._roll(now)
        queue = dict(update.labels).get("queue")
        if queue is None:
            return
        counts = self._queues.get(queue)
        if counts is None:
            counts = self._queues[queue] = DayCounts()
        setattr(counts, field, getattr(counts, field) + int(update.value))

    def counts(self, queue: str, now: float) -> DayCounts:
        """Today's counts for a queue (a copy; zero for a queue without calls today)."""
        self._roll(now)
        held = self._queues.get(queue, DayCounts())
        return DayCounts(held.offered, held.answered, held.within_sla, held.abandoned, held.short_abandoned)

    def count_otf(self, verdicts: Iterable[Verdict], now: float) -> None:
        """OTF verdicts settled now (acd.core.otf.OtfLedger), counted for the day."""
        self._roll(now)
        for v in verdicts:
            held = self._otf.setdefault(v.queue, [0, 0])
            held[0] += 1
            held[1] += v.otf

    def seed_otf(self, earlier: Mapping[str, tuple[int, int]], now: float) -> None:
        """Add the day's OTF verdicts settled before this process started (from the records): per queue,
        verdicts settled and of them OTF. Added to what the tally holds, as ``seed``."""
        self._roll(now)
        for queue, (settled, met) in earlier.items():
            held = self._otf.setdefault(queue, [0, 0])
            held[0] += settled
            held[1] += met
        self._otf_seeded = True

    def set_otf_pending(self, pending: Mapping[str, int]) -> None:
        """The verdicts each queue still waits for (their repeat-contact windows open)."""
        self._otf_pending = dict(pending)

    def otf(self, queue: str, now: float) -> tuple[int, int, int]:
        """A queue's OTF today: verdicts settled, of them OTF, and pending now."""
        self._roll(now)
        settled, met = self._otf.get(queue, (0, 0))
        return settled, met, self._otf_pending.get(queue, 0)

    @property
    def otf_since(self) -> float:
        """OTF today counts from midnight, or from the ACD's start when it started today and was not seeded."""
        return self._day_start if self._otf_seeded else max(self._day_start, self._started)
