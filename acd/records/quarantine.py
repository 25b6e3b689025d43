"""The quarantine file: journal lines and records the outbox could not deliver, each with a reason.

Nothing the outbox takes in disappears: a line is either in Postgres or here. One JSON object per
line (``quarantine.jsonl`` beside the journal)::

    {"at": "2026-…Z", "offset": 1234, "reason": "not JSON: …", "line": "<the journal line as text>"}

An operator can fix a line and append it back through ``Outbox.append`` (or the journal) to replay it.
Entries are fsynced before the journal cursor moves past them. A crash between the two can write an
entry twice; that is the safe side.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Quarantined:
    offset: int  # journal offset just past the line
    reason: str
    line: bytes


class Quarantine:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0

    def open(self) -> None:
        if self.path.exists():
            with open(self.path, "rb") as f:
                self.count = sum(1 for _ in f)

    def put(self, entries: list[Quarantined]) -> None:
        """Append and fsync (blocking: call from a worker thread)."""
        if not entries:
            return
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        text = "".join(
            json.dumps({"at": at, "offset": e.offset, "reason": e.reason,
                        "line": e.line.decode("utf-8", errors="replace")}) + "\n"
            for e in entries
        )
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self.count += len(entries)
        for e in entries:
            log.error("quarantined journal line at offset %d: %s", e.offset, e.reason)
