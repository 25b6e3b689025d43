"""The durable outbox: routing hands records here and never waits on Postgres.

``append(record)`` writes one line to the local journal (``acd.records.pipeline.journal``) and returns: a few
microseconds, no await, no fsync. A background task drains the journal to Postgres in batches with
idempotent upserts (``acd.records.pipeline.store``) and moves the committed cursor only after the database
commit. So:

- Postgres down: appends go on; the drainer retries with exponential backoff; the backlog grows
  (``backlog``, exported as ``acd_outbox_backlog``) and drains when Postgres is back.
- Process killed between journal write and upsert: the next ``start()`` replays from the cursor. A
  batch committed to Postgres whose cursor move was lost is written again; ``(epoch, seq)`` and
  ``ON CONFLICT ... WHERE (epoch, seq) < (excluded.epoch, excluded.seq)`` make that a no-op, so nothing
  arrives twice (``acd.records.pipeline.epochs``: each line carries its process's term).
- A record that cannot be encoded (NaN or infinity in a float field), a line that cannot be decoded,
  or a record that Postgres refuses for its content goes to the quarantine file with a reason
  (``acd.records.pipeline.quarantine``), counted by kind; everything else goes on. ``append`` never raises
  for a record's content, so a bad record cannot reach the routing loop as an exception.
- Disk full on append: ``JournalFull`` is raised to the caller. The record is not journaled.

Durability of an appended record: see ``acd.records.pipeline.journal`` (group commit every ``fsync_interval``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.record_types import Record
from acd.records.errors import DatabaseUnavailable, JournalError, OutboxClosed
from acd.records.pipeline import codec
from acd.records.pipeline.journal import Entry, Journal
from acd.records.pipeline.quarantine import Quarantine, Quarantined, QuarantineKind
from acd.records.pipeline.store import PostgresRecordStore, RecordStore

log = logging.getLogger(__name__)


# how long a stop waits for the outbox's cancelled tasks before it closes the journal anyway
STOP_TASKS_SECONDS = 2.0


class Outbox:
    def __init__(
        self,
        journal_dir: Path | str,
        database: AsyncEngine | RecordStore,
        *,
        batch_size: int = 1000,
        fsync_interval: float = 0.05,
        segment_bytes: int = 64 << 20,
        retry_initial: float = 0.1,
        retry_max: float = 5.0,
        write_timeout: float = 30.0,
        segment_max_age: float = 3600.0,
        on_quarantined: Callable[[QuarantineKind, int], None] | None = None,
    ) -> None:
        self._journal = Journal(Path(journal_dir), segment_bytes=segment_bytes, segment_max_age=segment_max_age)
        self._on_quarantined = on_quarantined
        self._quarantine = Quarantine(Path(journal_dir) / "quarantine.jsonl")
        self._store: RecordStore = PostgresRecordStore(database) if isinstance(database, AsyncEngine) else database
        self._batch_size = batch_size
        self._fsync_interval = fsync_interval
        self._retry = (retry_initial, retry_max)
        self._write_timeout = write_timeout
        self._backlog = 0
        self._running = False
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self.last_error: str | None = None  # the drainer's latest failure, for /healthz
        # the leadership term every record appended from now on is journaled under (set when this process
        # leads, kept after it steps down: what it still writes is its term's; docs/standby.md, "Records
        # reconciled by epoch"); 0 until it leads
        self.epoch = 0

    @property
    def backlog(self) -> int:
        """Records journaled but not yet committed to Postgres (or quarantined)."""
        return self._backlog

    @property
    def quarantined(self) -> int:
        """Entries in the quarantine file (including those from earlier runs)."""
        return self._quarantine.count

    @property
    def quarantine_path(self) -> Path:
        return self._quarantine.path

    async def start(self) -> None:
        """Recover the journal and start draining. Does not need Postgres to be up."""
        torn = await asyncio.to_thread(self._journal.open)
        self._quarantine.open()
        if torn:
            entry = Quarantined(
                self._journal.end, "torn write: a line without its newline at the journal end", torn, "torn"
            )
            await asyncio.to_thread(self._quarantine.put, [entry])
            self._counted([entry])
        self._backlog = await asyncio.to_thread(self._journal.count_lines, self._journal.committed, self._journal.end)
        if self._backlog:
            log.info("outbox: replaying %d journaled records from offset %d", self._backlog, self._journal.committed)
        self._running = True
        self._tasks = [
            asyncio.create_task(self._drain(), name="outbox-drain"),
            asyncio.create_task(self._sync_periodically(), name="outbox-fsync"),
        ]

    def append(self, record: Record) -> None:
        """Journal one record (no await, no fsync). Raises JournalFull, JournalError, OutboxClosed.

        A record that cannot be encoded goes to the quarantine file instead (written now, fsynced
        with the next group commit, like a journal line): counted, logged, never raised.
        """
        if not self._running:
            raise OutboxClosed("the outbox is not running")
        try:
            line = codec.encode(record, self.epoch)
        except (ValueError, TypeError, OverflowError, KeyError) as exc:
            self._quarantine_unencodable(record, exc)
            return
        self._journal.append(line)
        self._backlog += 1
        self._wake.set()

    def _quarantine_unencodable(self, record: Record, exc: Exception) -> None:
        reason = f"cannot journal {type(record).__name__}: {exc}"
        entry = Quarantined(None, reason, _rendering(record, self.epoch), "unencodable")
        try:
            self._quarantine.put([entry], sync=False)
        except OSError as error:  # the last word on it is the log, in full
            self.last_error = f"cannot write the quarantine file: {error}"
            log.error("outbox: lost %r (%s): %s", record, entry.reason, self.last_error)
        self._counted([entry])

    def _counted(self, entries: list[Quarantined]) -> None:
        if self._on_quarantined is None:
            return
        for entry in entries:
            self._on_quarantined(entry.kind, 1)

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 (a bool suits shutdown)
        """Wait until everything appended so far is committed. False if ``timeout`` passed first."""
        target = self._journal.end
        if not self._running:
            return self._journal.committed >= target
        try:
            async with asyncio.timeout(timeout), self._progress:
                await self._progress.wait_for(lambda: self._journal.committed >= target)
        except TimeoutError:
            return False
        return True

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Try to drain for ``flush_timeout``, then stop. What is left stays journaled for next start."""
        if not self._running:
            return
        await self.flush(flush_timeout)
        self._running = False
        for task in self._tasks:
            task.cancel()
        # bounded: a drain cancelled on a silent socket can linger, and the journal's close (its last fsync)
        # must run all the same
        if self._tasks:
            done, lingering = await asyncio.wait(self._tasks, timeout=STOP_TASKS_SECONDS)
            for task in done:
                if not task.cancelled() and (failure := task.exception()) is not None:
                    log.error("outbox: %s failed: %r", task.get_name(), failure)
            for task in lingering:
                log.warning(
                    "outbox: %s still ending %g s after its cancel; the journal closes all the same",
                    task.get_name(),
                    STOP_TASKS_SECONDS,
                )
        try:
            await asyncio.to_thread(self._journal.close)
        except JournalError as exc:  # shutting down: say so loudly, but let the rest stop too
            self.last_error = str(exc)
            log.error("outbox: %s", exc)

    # -- background -----------------------------------------------------------------------------

    async def _sync_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._fsync_interval)
            if self._journal.dirty:
                try:
                    await asyncio.to_thread(self._journal.sync)
                except JournalError as exc:
                    self.last_error = str(exc)
                    log.error("outbox: %s", exc)
            if self._quarantine.dirty:
                try:
                    await asyncio.to_thread(self._quarantine.sync)
                except OSError as exc:
                    self.last_error = f"cannot fsync the quarantine file: {exc}"
                    log.error("outbox: %s", self.last_error)

    async def _drain(self) -> None:
        """Deliver batch after batch; read and decode the next batch while the current one is written."""
        delay = self._retry[0]
        batch: _Batch | None = None
        ahead: asyncio.Task[_Batch] | None = None
        try:
            while True:
                try:
                    if batch is None:
                        if ahead is not None:
                            batch, ahead = await ahead, None
                        elif self._journal.committed < self._journal.end:
                            batch = await asyncio.to_thread(
                                self._read_batch, self._journal.committed, self._journal.end
                            )
                        else:
                            self._wake.clear()
                            await self._wake.wait()
                            continue
                    if not batch.entries:
                        batch = None
                        continue
                    if ahead is None and batch.after < self._journal.end:
                        ahead = asyncio.create_task(asyncio.to_thread(self._read_batch, batch.after, self._journal.end))
                    await self._deliver(batch)
                except (DatabaseUnavailable, JournalError, OSError, TimeoutError) as exc:
                    ahead = None if ahead is not None and ahead.done() and ahead.exception() else ahead
                    self.last_error = str(exc)
                    log.warning("outbox: %s; %d records wait, retry in %.1fs", exc, self._backlog, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._retry[1])
                    continue
                batch = None
                self.last_error = None
                delay = self._retry[0]
        finally:
            if ahead is not None:
                ahead.cancel()

    async def _deliver(self, batch: _Batch) -> None:
        await asyncio.to_thread(self._journal.sync)  # the cursor must never pass the durable journal
        refused: list[Quarantined] = []
        if batch.records:
            async with asyncio.timeout(self._write_timeout):
                rejections = await self._store.write(batch.records, batch.epochs)
            refused = [
                Quarantined(
                    batch.entries[batch.positions[r.index]].end,
                    r.reason,
                    batch.entries[batch.positions[r.index]].line,
                    r.kind,
                )
                for r in rejections
            ]
        quarantined = sorted(batch.bad + refused, key=lambda q: q.offset or 0)
        await asyncio.to_thread(self._quarantine.put, quarantined)
        self._counted(quarantined)
        await asyncio.to_thread(self._journal.commit, batch.after)
        self._backlog -= len(batch.entries)
        async with self._progress:
            self._progress.notify_all()

    def _read_batch(self, start: int, stop: int) -> _Batch:
        """Read and decode in a worker thread, off the routing loop."""
        entries = self._journal.read(start, stop, self._batch_size)
        records: list[Record] = []
        epochs: list[int] = []
        positions: list[int] = []
        bad: list[Quarantined] = []
        for i, entry in enumerate(entries):
            try:
                record, epoch = codec.decode_stamped(entry.line)
            except codec.BadLine as exc:
                bad.append(Quarantined(entry.end, exc.reason, entry.line))
                continue
            records.append(record)
            epochs.append(epoch)
            positions.append(i)
        return _Batch(entries, records, positions, bad, epochs)


def _rendering(record: Record, epoch: int = 0) -> bytes:
    """What an operator can read, fix and append again: the journal line with NaN/Infinity kept (and its
    term, so that a replay is reconciled as the line would have been)."""
    try:
        data = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
        tag = codec.TYPE_TAGS.get(type(record), type(record).__name__)
        line: dict[str, object] = (
            {"type": tag, "data": data} if epoch == 0 else {"type": tag, "epoch": epoch, "data": data}
        )
        return json.dumps(line, separators=(",", ":"), default=repr).encode()
    except (ValueError, TypeError, OverflowError):
        return repr(record).encode("utf-8", errors="backslashreplace")


@dataclass(frozen=True, slots=True)
class _Batch:
    entries: list[Entry]  # journal lines in order
    records: list[Record]  # the decodable ones, in order
    positions: list[int]  # records[i] came from entries[positions[i]]
    bad: list[Quarantined]  # the undecodable ones
    epochs: list[int]  # the term each record was journaled under

    @property
    def after(self) -> int:
        return self.entries[-1].end
