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
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from acd.core.record_types import Record
from acd.records import codec
from acd.records.cli_database import add_database_arguments, database_url
from acd.records.errors import RecordsError
from acd.records.store import PostgresRecordStore

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
                entries.append(Entry(number, str(obj.get("kind", "undecodable")), str(obj["reason"]),
                                     str(obj["line"]), str(obj.get("at", ""))))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise RecordsError(f"{path}:{number}: not a quarantine entry: {exc}") from exc
    return entries


def _list(entries: list[Entry]) -> int:
    kinds = Counter(e.kind for e in entries)
    print(f"{len(entries)} entries" + "".join(f", {n} {kind}" for kind, n in sorted(kinds.items())))
    for e in entries:
        print(f"{e.number}: {e.at} {e.kind}: {e.reason}")
    return 0


async def _replay(url: str, entries: list[Entry], dry_run: bool) -> int:
    records: list[Record] = []
    numbers: list[int] = []
    refused = 0
    for e in entries:
        try:
            records.append(codec.decode(e.line.encode("utf-8", errors="surrogatepass")))
            numbers.append(e.number)
        except codec.BadLine as exc:
            refused += 1
            print(f"{e.number}: still not a record: {exc.reason}")
    if dry_run:
        print(f"would replay {len(records)} records; {refused} entries are still not records")
        return 1 if refused else 0
    engine = create_async_engine(url)
    try:
        rejections = await PostgresRecordStore(engine).write(records)
    finally:
        await engine.dispose()
    for r in rejections:
        print(f"{numbers[r.index]}: still refused ({r.kind}): {r.reason}")
    refused += len(rejections)
    print(f"replayed {len(records) - len(rejections)} records; {refused} entries still refused")
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
    try:
        entries = read_entries(args.file)
        if args.action == "list":
            return _list(entries)
        if args.dry_run:
            return asyncio.run(_replay("", entries, dry_run=True))
        with database_url(args) as url:
            return asyncio.run(_replay(url, entries, dry_run=False))
    except (RecordsError, SQLAlchemyError, OSError) as exc:
        print(f"acd quarantine: {exc}", file=sys.stderr)
        return 2
