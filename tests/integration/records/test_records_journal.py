"""The journal on a real filesystem, no database: full disk, torn tails, rotation, closed outbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from record_samples import interaction

from acd.core.record_types import Record
from acd.records.errors import DatabaseUnavailable, JournalFull, OutboxClosed
from acd.records.pipeline import codec
from acd.records.pipeline.outbox import Outbox
from acd.records.pipeline.store import Rejection

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


class Accept:
    """A store that takes everything: these tests are about the journal, not Postgres."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        self.records += records
        return []


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("segment-*.jsonl"))


class Down:
    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        raise DatabaseUnavailable("connection refused")


FILL_UNTIL_FULL = """
import asyncio, resource, signal, sys
from record_samples import interaction
from acd.records.errors import JournalFull
from acd.records.pipeline.journal import Journal

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write(2) instead of being killed
journal = Journal(__import__("pathlib").Path(sys.argv[1]))
journal.open()
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
from acd.records.pipeline import codec
n = 0
try:
    while True:
        journal.append(codec.encode(interaction(f"c{n}")))
        n += 1
except JournalFull as exc:
    print(n, exc.error_id, exc, flush=True)
"""


def test_a_full_disk_raises_journal_full_and_leaves_no_torn_line(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the kernel refuse the write (EFBIG, after a short write), in a child process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", FILL_UNTIL_FULL, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    appended, error_id, *message = done.stdout.split()
    assert error_id == "journal_full" and "journal full" in " ".join(message)
    [segment] = tmp_path.glob("segment-*.jsonl")
    body = segment.read_bytes()
    assert body.endswith(b"\n") and len(body) <= 20000
    assert [codec.decode(line) for line in body.splitlines()] == [interaction(f"c{i}") for i in range(int(appended))]


async def test_journal_full_reaches_the_caller_of_append(tmp_path: Path) -> None:
    (tmp_path / "segment-00000000000000000000.jsonl").symlink_to("/dev/full")  # ENOSPC on every write
    box = Outbox(tmp_path, Accept())
    await box.start()
    with pytest.raises(JournalFull, match="No space left on device"):
        box.append(interaction("c1"))
    assert box.backlog == 0
    await box.stop()


async def test_append_before_start_or_after_stop_is_refused(tmp_path: Path) -> None:
    box = Outbox(tmp_path, Accept())
    with pytest.raises(OutboxClosed):
        box.append(interaction("c1"))
    await box.start()
    box.append(interaction("c1"))
    await box.stop()
    with pytest.raises(OutboxClosed):
        box.append(interaction("c2"))


async def test_what_was_not_delivered_is_replayed_on_the_next_start(tmp_path: Path) -> None:
    box = Outbox(tmp_path, Down(), retry_initial=0.01)
    await box.start()
    for i in range(5):
        box.append(interaction(f"c{i}"))
    await box.stop(flush_timeout=0.1)

    store = Accept()
    box = Outbox(tmp_path, store)
    await box.start()
    assert box.backlog == 5
    assert await box.flush(5)
    await box.stop()
    assert store.records == [interaction(f"c{i}") for i in range(5)]


async def test_segments_rotate_and_committed_ones_are_deleted(tmp_path: Path) -> None:
    store = Accept()
    box = Outbox(tmp_path, store, segment_bytes=2000, batch_size=7)
    await box.start()
    for i in range(200):
        box.append(interaction(f"c{i}"))
        if i % 40 == 0:
            assert await box.flush(5)
    assert await box.flush(5)
    await box.stop()
    assert store.records == [interaction(f"c{i}") for i in range(200)]
    segments = segment_files(tmp_path)
    assert len(segments) == 1  # everything before the current segment was committed and deleted
    cursor = int((tmp_path / "cursor").read_text())
    assert cursor == int(segments[0].name[8:28]) + segments[0].stat().st_size


async def test_a_torn_tail_is_quarantined_and_cut(tmp_path: Path) -> None:
    line = codec.encode(interaction("c1"))
    (tmp_path / "segment-00000000000000000000.jsonl").write_bytes(line + line[:30])
    store = Accept()
    box = Outbox(tmp_path, store)
    await box.start()
    box.append(interaction("c2"))
    assert await box.flush(5)
    await box.stop()
    assert store.records == [interaction("c1"), interaction("c2")]
    [entry] = [json.loads(x) for x in (tmp_path / "quarantine.jsonl").read_text().splitlines()]
    assert entry["reason"].startswith("torn write") and entry["line"] == line[:30].decode()
