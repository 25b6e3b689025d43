"""The journal-drain benchmark's clock (bench/drain_clock.py): each record's latency is the time to the
commit that carried it, a failed write carries none, and the records in flight are those appended and
not yet committed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from acd.core.record_types import AgentStateRecord, Record
from acd.records.errors import DatabaseUnavailable
from acd.records.pipeline.store import Rejection
from bench.drain_clock import Commit, TimedStore, drain_latencies, in_flight, in_flight_at_appends


def test_each_record_waits_for_the_commit_that_carried_it() -> None:
    appended = [0.0, 0.1, 0.2, 0.5, 0.6]
    commits = [Commit(0.15, 2), Commit(0.7, 5)]
    assert drain_latencies(appended, commits) == pytest.approx([0.15, 0.05, 0.5, 0.2, 0.1])


def test_a_record_never_committed_is_an_error_not_a_latency() -> None:
    with pytest.raises(ValueError, match="record 2 of 3"):
        drain_latencies([0.0, 0.1, 0.2], [Commit(0.15, 2)])


def test_in_flight_counts_appended_and_not_yet_committed() -> None:
    appended = [0.0, 0.1, 0.2, 0.5, 0.6]
    commits = [Commit(0.15, 2), Commit(0.7, 5)]
    assert [in_flight(t, appended, commits) for t in (0.0, 0.1, 0.15, 0.2, 0.6, 0.7)] == [1, 2, 0, 1, 3, 0]
    assert in_flight_at_appends(appended, commits) == [in_flight(t, appended, commits) for t in appended]
    assert in_flight_at_appends(appended, commits) == [1, 2, 1, 2, 3]


class Flaky:
    def __init__(self) -> None:
        self.fail = True

    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        if self.fail:
            raise DatabaseUnavailable("down")
        return []


async def test_the_timed_store_notes_only_commits() -> None:
    ticks = iter([1.0, 2.0])
    store = TimedStore(Flaky(), clock=lambda: next(ticks))
    batch = [AgentStateRecord(f"i{n}", "a1", "ready", 0.0) for n in range(3)]
    with pytest.raises(DatabaseUnavailable):
        await store.write(batch)
    assert store.commits == [] and store.written == 0
    assert isinstance(store.inner, Flaky)
    store.inner.fail = False
    await store.write(batch)
    await store.write(batch[:1])
    assert store.commits == [Commit(1.0, 3), Commit(2.0, 4)]
    assert drain_latencies([0.0, 0.5, 0.9, 1.5], store.commits) == pytest.approx([1.0, 0.5, 0.1, 0.5])
