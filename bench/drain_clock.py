"""When each record the outbox took in was durably in PostgreSQL, for ``bench.bench_journal_drain``.

The outbox (``acd.records.pipeline.outbox``) drains its journal in order, batch after batch, and a
batch is durable in PostgreSQL once the record store's ``write`` returned (its transaction committed;
the cursor moves after). So the k-th record appended is in PostgreSQL at the first commit that brings
the number of records written past k. ``TimedStore`` wraps the service's own store and notes each
commit's time and the running count; ``drain_latencies`` turns that and the append times into one
latency per record, and ``in_flight`` into the number of records that were appended but not yet in
PostgreSQL at a given moment: what a host that died then, and never came back, would have lost.

``PausedPostgres`` freezes a local PostgreSQL server (SIGSTOP to the postmaster and each of its
processes) and thaws it (SIGCONT): a database that stops answering without closing a connection, as
a long stall of its host or its disk does.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from acd.core.record_types import Record
from acd.records.pipeline.store import RecordStore, Rejection


@dataclass(frozen=True, slots=True)
class Commit:
    at: float  # when the store's write returned (the batch's transaction had committed)
    written: int  # records written so far, this batch included


@dataclass
class TimedStore:
    """A ``RecordStore`` that notes when each batch was committed; it writes through ``inner``."""

    inner: RecordStore
    clock: Callable[[], float] = time.perf_counter
    commits: list[Commit] = field(default_factory=list)
    written: int = 0

    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        rejections = await self.inner.write(records, epochs)  # raises when nothing of the batch was committed
        self.written += len(records)
        self.commits.append(Commit(self.clock(), self.written))
        return rejections


def drain_latencies(appended_at: Sequence[float], commits: Sequence[Commit]) -> list[float]:
    """Seconds from each record's append to the commit that carried it, in append order.

    ``appended_at[k]`` is when the k-th record was appended; ``commits`` as ``TimedStore`` notes them.
    Raises ``ValueError`` if a record was never committed.
    """
    latencies: list[float] = []
    c = 0
    for k, at in enumerate(appended_at):
        while c < len(commits) and commits[c].written <= k:
            c += 1
        if c == len(commits):
            raise ValueError(f"record {k} of {len(appended_at)} never reached PostgreSQL")
        latencies.append(commits[c].at - at)
    return latencies


def in_flight(at: float, appended_at: Sequence[float], commits: Sequence[Commit]) -> int:
    """Records appended by ``at`` and not yet committed then: lost if the host died at ``at`` for good.

    ``appended_at`` and the commits' times must be in increasing order (as they are noted)."""
    appended = bisect.bisect_right(appended_at, at)
    done = bisect.bisect_right([c.at for c in commits], at)
    written = commits[done - 1].written if done else 0
    return max(0, appended - written)


def in_flight_at_appends(appended_at: Sequence[float], commits: Sequence[Commit]) -> list[int]:
    """``in_flight`` just after each append (that record included), in one pass."""
    counts: list[int] = []
    c = written = 0
    for k, at in enumerate(appended_at):
        while c < len(commits) and commits[c].at <= at:
            written = commits[c].written
            c += 1
        counts.append(max(0, k + 1 - written))
    return counts


class PausedPostgres:
    """SIGSTOP and SIGCONT to every process of the local PostgreSQL whose data folder is ``pgdata``."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._stopped: list[int] = []

    @property
    def stopped(self) -> tuple[int, ...]:
        """The processes ``pause`` stopped and ``resume`` has not yet let go on."""
        return tuple(self._stopped)

    def postmaster(self) -> int:
        return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])

    @staticmethod
    def children(parent: int) -> list[int]:
        """The processes whose parent is ``parent`` (from /proc)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:  # the name may hold spaces and parentheses
                found.append(int(entry.name))
        return sorted(found)

    def pause(self) -> int:
        """Freeze the server; returns how many processes were stopped. The postmaster first, so that it
        forks no child after its children were listed."""
        postmaster = self.postmaster()
        os.kill(postmaster, signal.SIGSTOP)
        self._stopped.append(postmaster)
        for pid in self.children(postmaster):
            os.kill(pid, signal.SIGSTOP)
            self._stopped.append(pid)
        deadline = time.monotonic() + 2.0  # a signal is delivered when the process is next scheduled
        while not all(_stopped(pid) for pid in self._stopped) and time.monotonic() < deadline:
            time.sleep(0.001)
        return len(self._stopped)

    def resume(self) -> None:
        """Thaw every process ``pause`` stopped (children first, the postmaster last)."""
        stopped, self._stopped = self._stopped, []
        for pid in reversed(stopped):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def _stopped(pid: int) -> bool:
    """Whether the process is stopped (or gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"T", "t"}
