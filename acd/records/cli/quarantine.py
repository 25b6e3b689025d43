"""``acd quarantine``: read the outbox's quarantine file, and replay entries once they are fixed.

    acd quarantine list   [--file var/journal/quarantine.jsonl]
    acd quarantine replay [--file FILE] [--dry-run] [--database-url URL | --data-dir DIR]

``list`` prints how many entries there are of each kind, then one line per entry (when, kind, reason).
``replay`` decodes each entry's ``line`` as strictly as the outbox does and writes the records to
PostgreSQL with the outbox's own idempotent upserts: a record already there, or older than the stored
one, changes nothing, so replaying twice is harmless. It says which entries were stored and which are
still refused, and why; it exits 1 if any is. It never edits the file: fix the lines in a copy (or in
place while the service is stopped), replay, then archive it (docs/records.md).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.record_types import Record
from acd.records.cli.command import on_engine, run_command
from acd.records.cli.database import add_database_arguments
from acd.records.errors import RecordsError
from acd.records.pipeline import codec
from acd.records.pipeline.store import PostgresRecordStore

DEFAULT_FILE = Path("var/journal/quarantine.jsonl")


@dataclass(frozen=True, slots=True)
class Entry:
    number: int  # line number in the file, from 1
    kind: str
    reason: str
    line: str
    at: str


def read_entries(path: Path) -> list[Entry]:
    entries: list[Entry] = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                entries.append(
                    Entry(
                        number,
                        str(obj.get("kind", "undecodable")),
                        str(obj["reason"]),
                        str(obj["line"]),
                        str(obj.get("at", "")),
                    )
                )
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise RecordsError(f"{path}:{number}: not a quarantine entry: {exc}") from exc
    return entries


def _list(entries: list[Entry]) -> int:
    kinds = Counter(e.kind for e in entries)
    print(f"{len(entries)} entries" + "".join(f", {n} {kind}" for kind, n in sorted(kinds.items())))
    for e in entries:
        print(f"{e.number}: {e.at} {e.kind}: {e.reason}")
    return 0


def _decode(entries: list[Entry]) -> tuple[list[Record], list[int], int, list[int]]:
    """The entries that are records now, their line numbers, how many are still not records, and the term
    each record was journaled under (kept: a replay is reconciled by epoch like the outbox's writes)."""
    records: list[Record] = []
    numbers: list[int] = []
    epochs: list[int] = []
    refused = 0
    for e in entries:
        try:
            record, epoch = codec.decode_stamped(e.line.encode("utf-8", errors="surrogatepass"))
            records.append(record)
            epochs.append(epoch)
            numbers.append(e.number)
        except codec.BadLine as exc:
            refused += 1
            print(f"{e.number}: still not a record: {exc.reason}")
    return records, numbers, refused, epochs


def _dry_run(entries: list[Entry]) -> int:
    records, _, refused, _ = _decode(entries)
    print(f"would replay {len(records)} records; {refused} entries are still not records")
    return 1 if refused else 0


async def _replay(engine: AsyncEngine, entries: list[Entry]) -> int:
    records, numbers, refused, epochs = _decode(entries)
    store = PostgresRecordStore(engine)
    still = 0
    # one write per term, oldest first: two terms' versions of one call meet in the upsert's guard, which
    # applies the whole rule (docs/standby.md, "Records reconciled by epoch"), never in one batch's choice
    for epoch in sorted(set(epochs)):
        picked = [i for i, e in enumerate(epochs) if e == epoch]
        rejections = await store.write([records[i] for i in picked], [epoch] * len(picked))
        for r in rejections:
            print(f"{numbers[picked[r.index]]}: still refused ({r.kind}): {r.reason}")
        still += len(rejections)
    refused += still
    print(f"replayed {len(records) - still} records; {refused} entries still refused")
    return 1 if refused else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd quarantine", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for action in ("list", "replay"):
        one = sub.add_parser(action)
        one.add_argument("--file", type=Path, default=DEFAULT_FILE)
        if action == "replay":
            one.add_argument("--dry-run", action="store_true", help="decode only, write nothing")
            add_database_arguments(one)
    args = parser.parse_args(argv)
    return run_command(parser.prog, lambda: _act(args), failure=2)


def _act(args: argparse.Namespace) -> int:
    entries = read_entries(args.file)
    if args.action == "list":
        return _list(entries)
    if args.dry_run:
        return _dry_run(entries)
    return on_engine(args, lambda engine: _replay(engine, entries))
