"""The outbox's local, append-only journal: segmented JSON-lines files plus a committed cursor.

Positions are global byte offsets across segments; a segment file is named after the offset of its
first byte (``segment-00000000000000004096.jsonl``). The cursor file holds the offset up to which
every line is in Postgres (or quarantined). It is replaced atomically (write, fsync, rename, fsync dir).

Durability (group commit): ``append()`` is one ``write(2)`` into the page cache, with no fsync, so the
routing loop never waits on the disk. ``sync()`` fsyncs everything appended so far; the outbox calls it
every ``fsync_interval`` and before each cursor advance. Hence:
- a killed process (kill -9, crash, OOM) loses nothing that ``append()`` returned for: the kernel has it;
- a power cut or kernel crash can lose at most the last ``fsync_interval`` of appends;
- the cursor is never ahead of the durable journal, so a restart replays from the cursor and the
  idempotent upserts make the replay harmless.

Retention: a line has no use once committed. Segments wholly before the cursor are deleted at each
commit; the segment being appended to is rotated out (and so deleted) once everything in it is
committed and it is older than ``segment_max_age``, so that caller numbers do not linger on disk in a
quiet system's one open segment. Segments, cursor and folder are readable by the owner only.

Thread use: ``append()`` and ``rotate`` run on the event loop thread; ``sync()``, ``read()`` and
``commit()`` run in worker threads (they block on the disk). A lock guards the segment list and fds.
A segment retired by rotation is closed only after its final fsync.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from acd.records.errors import JournalError, JournalFull

log = logging.getLogger(__name__)

SEGMENT_GLOB = "segment-*.jsonl"
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
FILE_MODE = 0o600


@dataclass(frozen=True, slots=True)
class Entry:
    end: int  # offset just past this line's newline: the cursor value once it is committed
    line: bytes  # without the newline


def _segment_name(base: int) -> str:
    return f"segment-{base:020d}.jsonl"


class Journal:
    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = 64 << 20,
        segment_max_age: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.segment_max_age = segment_max_age
        self._clock = clock
        self._segment_started = 0.0  # when the current segment got its first line (at worst, later)
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._bases: list[int] = []
        self._fd = -1
        self._retired: list[int] = []
        self._size = 0  # bytes in the current (last) segment
        self._end = 0
        self._synced_end = 0
        self._committed = 0
        self._dir_dirty = False

    @property
    def end(self) -> int:
        return self._end

    @property
    def committed(self) -> int:
        return self._committed

    @property
    def dirty(self) -> bool:
        return self._synced_end < self._end or bool(self._retired)

    def open(self) -> bytes:
        """Recover: read the cursor, cut a torn last line (returned, for quarantine), open for append."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            segments = list(self.directory.glob(SEGMENT_GLOB))
            for segment in segments:  # an older version made them group-readable
                segment.chmod(FILE_MODE)
            self._bases = sorted(int(p.name[8:28]) for p in segments)
            cursor = self._read_cursor()
            if not self._bases:
                self._bases = [cursor]
                self._dir_dirty = True
            last = self.directory / _segment_name(self._bases[-1])
            torn = _cut_torn_tail(last)
            self._fd = os.open(last, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            status = os.fstat(self._fd)
            self._size = status.st_size
            # the last write is no older than the first line: the age is underestimated, never over
            self._segment_started = min(status.st_mtime, self._clock()) if self._size else self._clock()
        except OSError as exc:
            raise JournalError(f"cannot open the journal in {self.directory}: {exc}") from exc
        self._end = self._synced_end = self._bases[-1] + self._size
        if not self._bases[0] <= cursor <= self._end:
            log.warning(
                "journal cursor %d outside [%d, %d]: replaying from the oldest segment",
                cursor,
                self._bases[0],
                self._end,
            )
            cursor = self._bases[0]  # replay is harmless: upserts are idempotent
        self._committed = cursor
        self._retire_delivered()  # a quiet system restarted: nothing may commit for a long while
        self._compact(cursor)
        return torn

    def append(self, line: bytes) -> int:
        """Write one newline-terminated line; return its end offset. Raises JournalFull, JournalError."""
        with self._lock:
            if self._size >= self.segment_bytes:
                self._rotate()
            if self._size == 0:
                self._segment_started = self._clock()
            try:
                written = os.write(self._fd, line)
            except OSError as exc:
                self._undo()
                if exc.errno in _FULL_ERRNOS:
                    raise JournalFull(f"journal full in {self.directory}: {exc.strerror}") from exc
                raise JournalError(f"journal write failed in {self.directory}: {exc}") from exc
            if written != len(line):  # a short write on a regular file: the disk or a size limit is full
                self._undo()
                raise JournalFull(f"journal full in {self.directory}: short write")
            self._size += written
            self._end += written
            return self._end

    def sync(self) -> None:
        """fsync everything appended so far (blocking: call it from a worker thread)."""
        with self._sync_lock:
            with self._lock:
                fd, end, retired, dir_dirty = self._fd, self._end, self._retired, self._dir_dirty
                self._retired, self._dir_dirty = [], False
            try:
                for old in retired:
                    try:
                        os.fsync(old)
                    finally:
                        os.close(old)
                os.fsync(fd)
                if dir_dirty:
                    _fsync_dir(self.directory)
            except OSError as exc:
                raise JournalError(f"journal fsync failed in {self.directory}: {exc}") from exc
            self._synced_end = max(self._synced_end, end)

    def read(self, start: int, stop: int, max_lines: int, max_bytes: int = 4 << 20) -> list[Entry]:
        """Complete lines in [start, stop), at most ``max_lines`` (blocking: call from a worker thread)."""
        with self._lock:
            bases = list(self._bases)
        entries: list[Entry] = []
        pos = start
        try:
            for i, base in enumerate(bases):
                seg_end = min(bases[i + 1] if i + 1 < len(bases) else stop, stop)
                if seg_end <= pos:
                    continue
                with open(self.directory / _segment_name(base), "rb") as f:
                    f.seek(pos - base)
                    chunk = f.read(min(seg_end - pos, max_bytes))
                    if b"\n" not in chunk and len(chunk) < seg_end - pos:
                        chunk += f.read(seg_end - pos - len(chunk))  # one line longer than the budget
                for raw in chunk.split(b"\n")[:-1]:  # the last piece is empty or incomplete
                    pos += len(raw) + 1
                    entries.append(Entry(pos, raw))
                    if len(entries) >= max_lines:
                        return entries
                if pos < seg_end:
                    return entries  # read budget spent; the caller comes back for the rest
        except OSError as exc:
            raise JournalError(f"journal read failed in {self.directory}: {exc}") from exc
        return entries

    def count_lines(self, start: int, stop: int) -> int:
        """Lines in [start, stop): the backlog after a restart (blocking)."""
        count, pos = 0, start
        while pos < stop:
            entries = self.read(pos, stop, max_lines=1 << 30, max_bytes=8 << 20)
            if not entries:
                break
            count += len(entries)
            pos = entries[-1].end
        return count

    def commit(self, offset: int) -> None:
        """Durably move the cursor to ``offset``, then delete segments wholly before it (blocking)."""
        tmp = self.directory / "cursor.tmp"
        try:
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), "w") as f:
                f.write(f"{offset}\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.directory / "cursor")
            _fsync_dir(self.directory)
        except OSError as exc:
            raise JournalError(f"cannot save the journal cursor in {self.directory}: {exc}") from exc
        self._committed = offset
        self._retire_delivered()
        self._compact(offset)

    def close(self) -> None:
        """Final fsync, then close. The fds are closed even if the fsync fails (JournalError)."""
        try:
            self.sync()
        finally:
            with self._lock:
                for fd in [*self._retired, self._fd]:
                    if fd >= 0:
                        os.close(fd)
                self._retired, self._fd = [], -1

    # -- inside -----------------------------------------------------------------------------------

    def _rotate(self) -> None:
        """Start a new segment at the current end (lock held)."""
        path = self.directory / _segment_name(self._end)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise JournalFull(f"journal full in {self.directory}: {exc.strerror}") from exc
            raise JournalError(f"cannot start a journal segment {path}: {exc}") from exc
        self._retired.append(self._fd)
        self._fd, self._size, self._dir_dirty = fd, 0, True
        self._bases.append(self._end)

    def _retire_delivered(self) -> None:
        """Rotate out the current segment once all of it is delivered and it is old enough."""
        with self._lock:
            if (
                self._committed == self._end
                and self._size > 0
                and self._clock() - self._segment_started >= self.segment_max_age
            ):
                try:
                    self._rotate()  # everything in it is delivered: let _compact delete it
                except JournalError as exc:  # the segment stays until the next commit; no line is lost
                    log.warning("could not rotate a delivered journal segment: %s", exc)

    def _compact(self, committed: int) -> None:
        with self._lock:
            doomed = [b for b, nxt in zip(self._bases, self._bases[1:], strict=False) if nxt <= committed]
            self._bases = self._bases[len(doomed) :]
        for base in doomed:
            try:
                (self.directory / _segment_name(base)).unlink()
            except OSError as exc:
                log.warning("could not delete committed journal segment %d: %s", base, exc)

    def _undo(self) -> None:
        """Cut a partial line back off, so a failed append leaves no torn line behind (lock held)."""
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:
            log.error("could not cut a failed append off the journal: %s", exc)

    def _read_cursor(self) -> int:
        path = self.directory / "cursor"
        if not path.exists():
            return self._bases[0] if self._bases else 0
        try:
            return int(path.read_text().strip())
        except ValueError:
            log.warning("journal cursor file unreadable: replaying from the oldest segment")
            return self._bases[0] if self._bases else 0


def _cut_torn_tail(path: Path) -> bytes:
    """Remove and return bytes after the last newline: a line whose write never completed."""
    if not path.exists():
        return b""
    size = path.stat().st_size
    if size == 0:
        return b""
    with open(path, "r+b") as f:
        keep = size
        block = 64 << 10
        while keep > 0:
            start = max(0, keep - block)
            f.seek(start)
            chunk = f.read(keep - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            keep = start
        if keep == size:
            return b""
        f.seek(keep)
        torn = f.read()
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return torn


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
