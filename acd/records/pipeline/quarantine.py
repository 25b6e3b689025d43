"""The quarantine file: records the outbox could not deliver, each with a reason.

Nothing the outbox takes in disappears: a record is either in Postgres or here. One JSON object per
line (``quarantine.jsonl`` beside the journal, created 0600: it holds caller numbers and notes)::

    {"at": "2026-…Z", "offset": 1234, "kind": "invalid_value", "reason": "refused by Postgres: …",
     "line": "<the journal line as text>"}

``kind`` is one of ``KINDS`` (the label of ``acd_records_quarantined_total``):

- ``unencodable``: ``Outbox.append`` could not write the record as a journal line (NaN or infinity in
  a float field, a value JSON cannot carry). ``offset`` is null, the record never reached the journal;
  ``line`` is its best rendering (JSON with ``NaN``/``Infinity`` tokens, else the record's repr).
- ``undecodable``: a journal line that is not a valid record; ``torn``: a line cut by a crash mid-write.
- ``invalid_value``: Postgres or asyncpg refused a value (SQLSTATE class 22: a NUL in a string, an
  integer beyond its column, a string that is not UTF-8), or a time that is no timestamp.
- ``constraint``: Postgres refused the row (SQLSTATE class 23: a CHECK, an unknown interaction).
- ``id_clash``: the record claims an id that another thing already holds.

An operator can fix a line and append it back through ``Outbox.append`` (or the journal) to replay it
(docs/records.md). Entries are fsynced before the journal cursor moves past them. A crash between the
two can write an entry twice; that is the safe side.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

log = logging.getLogger(__name__)

QuarantineKind = Literal["unencodable", "undecodable", "torn", "invalid_value", "constraint", "id_clash"]
KINDS: tuple[QuarantineKind, ...] = get_args(QuarantineKind)
FILE_MODE = 0o600
LOG_PER_MINUTE = 20


@dataclass(frozen=True, slots=True)
class Quarantined:
    offset: int | None  # journal offset just past the line; None: it never reached the journal
    reason: str
    line: bytes
    kind: QuarantineKind = "undecodable"


class Quarantine:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0  # entries in the file, earlier runs included
        self.added: Counter[QuarantineKind] = Counter()  # entries this run added, by kind
        self._dirty = False
        self._lock = threading.Lock()  # put() runs on the event loop (append) and in worker threads
        self._log_window = -60.0
        self._logged = 0
        self._unlogged = 0

    def open(self) -> None:
        if self.path.exists():
            self.path.chmod(FILE_MODE)  # a file left by an older version may be wider
            with open(self.path, "rb") as f:
                self.count = sum(1 for _ in f)

    def put(self, entries: list[Quarantined], *, sync: bool = True) -> None:
        """Append, and fsync unless ``sync`` is false (then ``sync()`` does it later). Blocking."""
        if not entries:
            return
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        text = "".join(
            json.dumps(
                {
                    "at": at,
                    "offset": e.offset,
                    "kind": e.kind,
                    "reason": e.reason,
                    "line": e.line.decode("utf-8", errors="replace"),
                }
            )
            + "\n"
            for e in entries
        )
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            with open(fd, "a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                if sync:
                    os.fsync(f.fileno())
            self._dirty = self._dirty or not sync
            self.count += len(entries)
            self.added.update(e.kind for e in entries)
        self._log(entries)

    def _log(self, entries: list[Quarantined]) -> None:
        """One ERROR per entry, at most ``LOG_PER_MINUTE`` a minute; beyond, one line with the count.

        A flood of bad records must not become a flood of log lines; the file and the counter
        have them all."""
        now = time.monotonic()
        with self._lock:
            if now - self._log_window >= 60.0:
                if self._unlogged:
                    log.error("%d more records quarantined in the last minute (see %s)", self._unlogged, self.path)
                self._log_window, self._logged, self._unlogged = now, 0, 0
            shown = entries[: max(LOG_PER_MINUTE - self._logged, 0)]
            self._logged += len(shown)
            self._unlogged += len(entries) - len(shown)
        for e in shown:
            where = (
                "a record that never reached the journal" if e.offset is None else f"journal line at offset {e.offset}"
            )
            log.error("quarantined %s (%s): %s", where, e.kind, e.reason)

    @property
    def dirty(self) -> bool:
        return self._dirty

    def sync(self) -> None:
        """fsync what ``put(sync=False)`` wrote (blocking)."""
        if not self._dirty:
            return
        self._dirty = False
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
