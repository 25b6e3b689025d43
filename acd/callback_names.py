"""The names callers record when they take a callback: what the agent hears before the caller is dialled.

The PBX speaks no text, so a customer's name cannot be said from the records; the caller says it
(docs/dialplan.md, "Callbacks"). Taking a callback, the caller is asked to say their name after the
tone, and the dialplan records a few seconds into the PBX's ``acd-callback-names`` folder, in a file
named after the callback's id, which the ACD wrote onto the channel (``ACD_CB_NAME``: the caller's
call id while holding, the id of the scheduled callback a closed queue's caller takes), never after
anything the caller sends. The callback's row in PostgreSQL holds that id (its own), so a restarted
ACD finds the file again with no table of its own.

When the callback's agent is rung, the ACD passes the name on (``ACD_CB_NAME`` of the Originate) only
if the file holds speech (``spoken``: some stretch louder than a quiet line); a caller who said nothing
is left out and the agent hears the number, as before. The file is deleted when the callback closes
(its interaction record is written closed, with a callback's end reason), and any left over (a
scheduled callback called off, a caller who never finished) when older than the recordings' retention.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import struct
import time
from array import array
from pathlib import Path

from acd.core.record_types import InteractionRecord, Record
from acd.ports import RecordSink

log = logging.getLogger(__name__)

FOLDER = "acd-callback-names"  # beside the recordings, in the PBX's spool (docs/dialplan.md)
NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # a callback's id
MAX_BYTES = 2_000_000  # far more than the dialplan's few seconds: a larger file is not read
FRAME_SECONDS = 0.02
LOUD_RMS = 400.0  # of 32768 (about -38 dBFS): above a quiet line's noise, below any voice
SPOKEN_SECONDS = 0.3  # this much loud audio in all is a name said
# a closed callback's end reason: ``callback`` (reached) or ``callback_unreached_<status>`` (docs/kpis.md)
CALLBACK_END = "callback"


def loud_seconds(wav: bytes) -> float:
    """Seconds of ``wav`` (16-bit PCM, mono, as the PBX records) in 20 ms frames louder than
    ``LOUD_RMS``; 0 for anything else."""
    if len(wav) < 44 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        return 0.0
    pos, rate, bits, channels, data = 12, 0, 0, 0, b""
    while pos + 8 <= len(wav):
        chunk, size = wav[pos : pos + 4], struct.unpack("<I", wav[pos + 4 : pos + 8])[0]
        body = wav[pos + 8 : pos + 8 + size]
        if chunk == b"fmt " and len(body) >= 16:
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if fmt != 1:
                return 0.0
        elif chunk == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if bits != 16 or channels != 1 or rate <= 0 or not data:
        return 0.0
    samples = array("h")
    samples.frombytes(data[: len(data) - len(data) % 2])
    frame = max(1, int(rate * FRAME_SECONDS))
    loud = 0
    for start in range(0, len(samples) - frame + 1, frame):
        chunk_samples = samples[start : start + frame]
        if math.sqrt(sum(s * s for s in chunk_samples) / frame) > LOUD_RMS:
            loud += 1
    return loud * frame / rate


class CallbackNames:
    """The folder of recorded names, as the ACD sees it (the PBX's spool: a shared or local disk)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, callback_id: str) -> Path | None:
        """The name file of ``callback_id``; None for anything that is not a callback id."""
        return self.directory / f"{callback_id}.wav" if NAME.fullmatch(callback_id) else None

    def spoken(self, callback_id: str) -> bool:
        """The caller said something into their name file (blocking I/O: run it in a thread)."""
        path = self.path(callback_id)
        if path is None:
            return False
        try:
            if path.stat().st_size > MAX_BYTES:
                return False
            return loud_seconds(path.read_bytes()) >= SPOKEN_SECONDS
        except OSError:
            return False  # none recorded (an older dialplan, a scheduled callback), or unreadable

    def forget(self, callback_id: str) -> None:
        """Delete the name file of a callback that closed (none: nothing to do)."""
        path = self.path(callback_id)
        if path is None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("callback %s: its recorded name could not be deleted: %s", callback_id[:8], exc)

    def sweep(self, older_than_seconds: float, now: float | None = None) -> int:
        """Delete the name files last written more than ``older_than_seconds`` ago; return how many."""
        edge = (time.time() if now is None else now) - older_than_seconds
        deleted = 0
        try:
            files = [p for p in self.directory.iterdir() if p.suffix == ".wav" and NAME.fullmatch(p.stem)]
        except OSError:
            return 0  # no folder yet: nobody has recorded a name
        for path in files:
            try:
                if path.stat().st_mtime < edge:
                    path.unlink(missing_ok=True)
                    deleted += 1
            except OSError:
                continue
        return deleted

    def watching(self, sink: RecordSink) -> RecordSink:
        """``sink``, deleting a callback's name file once its interaction record is written closed."""
        return _ForgetOnClose(self, sink)


class _ForgetOnClose:
    __slots__ = ("_names", "_sink")

    def __init__(self, names: CallbackNames, sink: RecordSink) -> None:
        self._names, self._sink = names, sink

    def append(self, record: Record) -> None:
        self._sink.append(record)
        if (
            isinstance(record, InteractionRecord)
            and record.outcome is not None
            and record.end_reason.startswith(CALLBACK_END)
        ):
            try:  # the disk is the PBX's (maybe shared): never wait on it while routing
                asyncio.get_running_loop().run_in_executor(None, self._names.forget, record.interaction_id)
            except RuntimeError:  # no loop (a tool, a test): at once
                self._names.forget(record.interaction_id)
