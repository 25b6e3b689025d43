"""What the records layer leaves on disk: owner-only files, and no journal line kept past its use.

No database: a store that takes everything stands in for PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import math
import stat
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from record_samples import interaction

from acd.core.record_types import Record
from acd.records.pipeline.journal import Journal
from acd.records.pipeline.outbox import Outbox
from acd.records.pipeline.quarantine import LOG_PER_MINUTE, Quarantine, Quarantined
from acd.records.pipeline.store import Rejection


class Accept:
    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        return []


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_journal_and_quarantine_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    box = Outbox(journal, Accept(), segment_bytes=200)
    await box.start()
    for i in range(5):  # more than one segment
        box.append(interaction(f"m{i}"))
    box.append(interaction("nan", wait_seconds=math.nan))  # to quarantine
    assert await box.flush(10)
    await box.stop()
    files = [*journal.glob("segment-*.jsonl"), journal / "cursor", journal / "quarantine.jsonl"]
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert mode(journal) == 0o700


def test_a_quarantine_file_left_wider_is_narrowed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "quarantine.jsonl"
    path.write_text('{"reason": "old"}\n')
    path.chmod(0o644)
    quarantine = Quarantine(path)
    quarantine.open()
    quarantine.put([Quarantined(10, "bad", b"x")])
    assert mode(path) == 0o600 and quarantine.count == 2


def test_a_delivered_segment_is_removed_once_older_than_its_max_age(tmp_path: Path) -> None:
    """A quiet system's one open segment must not keep caller numbers for months."""
    now = [1_000_000.0]
    journal = Journal(tmp_path, segment_max_age=3600.0, clock=lambda: now[0])
    journal.open()
    journal.append(b'{"caller": "+15550100"}\n')
    journal.sync()
    journal.commit(journal.end)
    now[0] += 60
    journal.commit(journal.end)  # delivered but young: a new segment per commit would churn the disk
    assert b"+15550100" in b"".join(p.read_bytes() for p in tmp_path.glob("segment-*.jsonl"))
    now[0] += 3600
    journal.commit(journal.end)
    journal.sync()
    assert b"+15550100" not in b"".join(p.read_bytes() for p in tmp_path.glob("segment-*.jsonl"))
    journal.append(b'{"caller": "+15550200"}\n')  # appends go on in the new segment
    journal.close()
    reopened = Journal(tmp_path)
    reopened.open()
    assert reopened.committed == reopened.end - len(b'{"caller": "+15550200"}\n')
    assert [e.line for e in reopened.read(reopened.committed, reopened.end, 10)] == [b'{"caller": "+15550200"}']
    reopened.close()


def test_an_undelivered_segment_is_kept_whatever_its_age(tmp_path: Path) -> None:
    now = [1_000_000.0]
    journal = Journal(tmp_path, segment_max_age=1.0, clock=lambda: now[0])
    journal.open()
    journal.append(b'{"caller": "+15550100"}\n')
    first = journal.end
    journal.append(b'{"caller": "+15550200"}\n')
    journal.sync()
    now[0] += 100
    journal.commit(first)  # the second line still waits for PostgreSQL
    journal.close()
    lines = b"".join(p.read_bytes() for p in tmp_path.glob("segment-*.jsonl"))
    assert b"+15550200" in lines
    assert json.loads(lines.splitlines()[-1]) == {"caller": "+15550200"}


def test_a_delivered_old_segment_goes_at_the_next_start(tmp_path: Path) -> None:
    now = [time.time()]  # the segment's own mtime is real time
    journal = Journal(tmp_path, clock=lambda: now[0])
    journal.open()
    journal.append(b'{"caller": "+15550100"}\n')
    journal.sync()
    journal.commit(journal.end)
    journal.close()
    now[0] += 7200  # no record since: the next start finds an old, delivered segment
    restarted = Journal(tmp_path, clock=lambda: now[0])
    restarted.open()
    restarted.sync()
    assert b"+15550100" not in b"".join(p.read_bytes() for p in tmp_path.glob("segment-*.jsonl"))
    restarted.append(b'{"caller": "+15550200"}\n')
    assert [e.line for e in restarted.read(restarted.committed, restarted.end, 10)] == [b'{"caller": "+15550200"}']
    restarted.close()


def test_a_flood_of_quarantined_records_keeps_them_all_and_logs_a_bounded_few(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    quarantine = Quarantine(tmp_path / "quarantine.jsonl")
    quarantine.open()
    caplog.set_level(logging.ERROR, logger="acd.records.pipeline.quarantine")
    for i in range(500):
        quarantine.put(
            [Quarantined(i, "refused by Postgres: invalid byte sequence", b"x", "invalid_value")], sync=False
        )
    assert len((tmp_path / "quarantine.jsonl").read_text().splitlines()) == 500
    assert quarantine.count == 500 and quarantine.added["invalid_value"] == 500
    assert len(caplog.records) == LOG_PER_MINUTE
