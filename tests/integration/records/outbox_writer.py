"""A child process that journals records and is then killed with SIGKILL by test_records_crash.

    python outbox_writer.py JOURNAL_DIR DATABASE_URL MODE COUNT

MODE says where the kill lands:
- before-upsert: the store never answers, so every record is journaled and none is in Postgres;
- after-upsert: the first batch is committed to Postgres, then the process hangs before the cursor moves;
- racing: a real store; the parent kills at some point while the drainer is busy.
Prints "appended N" once every record is journaled, and "upserted N" after a batch commit.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from record_samples import answered, interaction
from sqlalchemy.ext.asyncio import create_async_engine

from acd.core.record_types import Record
from acd.records.pipeline.outbox import Outbox
from acd.records.pipeline.store import PostgresRecordStore, Rejection


class Stuck:
    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        await asyncio.Event().wait()
        return []


class StuckAfterCommit:
    def __init__(self, store: PostgresRecordStore) -> None:
        self.store = store

    async def write(self, records: Sequence[Record], epochs: Sequence[int] | None = None) -> list[Rejection]:
        rejected = await self.store.write(records, epochs)
        print(f"upserted {len(records)}", flush=True)
        await asyncio.Event().wait()
        return rejected


async def main(journal: str, url: str, mode: str, count: int) -> None:
    engine = create_async_engine(url)
    real = PostgresRecordStore(engine)
    stores: dict[str, Stuck | StuckAfterCommit | PostgresRecordStore] = {
        "before-upsert": Stuck(),
        "after-upsert": StuckAfterCommit(real),
        "racing": real,
    }
    store = stores[mode]
    box = Outbox(journal, store, batch_size=100)
    await box.start()
    for i in range(count):
        box.append(interaction(f"k{i}"))
        if i % 2 == 0:
            box.append(answered(f"k{i}"))
        if i % 25 == 0:
            await asyncio.sleep(0)
    print(f"appended {count}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
