"""The ACD's footprint over the run: resident memory and open file descriptors, read from /proc.

A leak shows as growth once the process has warmed up (its caches, pools and rings filled): the
soak compares the footprint right after the warm-up with the footprint at the end of the traffic,
each the median of the samples over a short window, so one busy moment does not decide.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic seconds
    rss_kib: int
    fds: int


def read_sample(pid: int) -> Sample:
    rss = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
    return Sample(time.monotonic(), rss, len(os.listdir(f"/proc/{pid}/fd")))


@dataclass(frozen=True)
class Growth:
    what: str
    unit: str
    start: float  # the first sample
    base: float  # median right after the warm-up
    end: float  # median at the end of the traffic
    peak: float
    per_hour: float  # least-squares slope over the samples after the warm-up, per hour

    @property
    def ratio(self) -> float:
        return (self.end - self.base) / self.base if self.base else 0.0


@dataclass
class Footprint:
    pid: int
    samples: list[Sample] = field(default_factory=list)

    async def watch(self, every: float, stop: asyncio.Event) -> None:
        """Sample every ``every`` s until ``stop`` is set (or the process is gone)."""
        while not stop.is_set():
            try:
                self.samples.append(read_sample(self.pid))
            except OSError:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    def growth(self, began: float, warmup: float, ended: float, window: float) -> list[Growth]:
        """RSS and descriptors: the median over [began + warmup, + window] against the one over
        [ended - window, ended] (monotonic seconds)."""
        base = [s for s in self.samples if began + warmup <= s.at <= began + warmup + window]
        end = [s for s in self.samples if ended - window <= s.at <= ended]
        if not base or not end:
            raise ValueError(f"too few footprint samples ({len(self.samples)}) for the windows")
        after = [s for s in self.samples if began + warmup <= s.at <= ended]
        out = []
        for what, unit, value in (
            ("RSS", "MiB", lambda s: s.rss_kib / 1024),
            ("open file descriptors", "", lambda s: float(s.fds)),
        ):
            out.append(
                Growth(
                    what,
                    unit,
                    value(self.samples[0]),
                    statistics.median(value(s) for s in base),
                    statistics.median(value(s) for s in end),
                    max(value(s) for s in self.samples),
                    slope([s.at for s in after], [value(s) for s in after]) * 3600,
                )
            )
        return out


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs; 0 for fewer than two points or constant ys."""
    if len(xs) < 2 or len(set(ys)) < 2:
        return 0.0
    return statistics.linear_regression(xs, ys).slope
