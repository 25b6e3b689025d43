"""``acd mask-callers``: mask caller numbers of interactions older than N days (data retention).

A masked number keeps its last two characters (``+15550123`` → ``*******23``): enough to tell calls
apart in a dispute, not enough to call anyone back. Masking is idempotent. The record store knows
masked numbers (``matches_masked``), so a late replay of an old snapshot is not taken for an id clash,
and it cannot unmask a row either: a replay carries the same ``seq``, which never overwrites.

    acd mask-callers --older-than-days 90 [--dry-run]

The database is ``--database-url``, else DATABASE_URL, else the embedded server in ``var/pg``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.records.cli_database import add_database_arguments, database_url
from acd.records.errors import RecordsError

KEEP = 2
_MASK_SQL = f"repeat('*', greatest(length(caller) - {KEEP}, 0)) || right(caller, {KEEP})"


def mask(caller: str) -> str:
    """The Python twin of the SQL mask."""
    return "*" * max(len(caller) - KEEP, 0) + caller[-KEEP:] if caller else caller


def matches_masked(stored: str, caller: str) -> bool:
    """True if ``stored`` is ``caller``, or ``caller`` masked."""
    return stored == caller or stored == mask(caller)


async def mask_callers(engine: AsyncEngine, before: datetime, *, dry_run: bool = False) -> int:
    """Mask callers of interactions that arrived before ``before``; return how many rows changed."""
    where = f"arrived_at < :before AND caller <> {_MASK_SQL}"
    async with engine.begin() as conn:
        if dry_run:
            found = await conn.execute(text(f"SELECT count(*) FROM interactions WHERE {where}"), {"before": before})
            return int(found.scalar_one())
        done = await conn.execute(
            text(f"UPDATE interactions SET caller = {_MASK_SQL} WHERE {where}"), {"before": before})
        return int(done.rowcount)


async def _run(url: str, before: datetime, dry_run: bool) -> int:
    engine = create_async_engine(url)
    try:
        return await mask_callers(engine, before, dry_run=dry_run)
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd mask-callers", description=__doc__.splitlines()[0])
    parser.add_argument("--older-than-days", type=float, required=True)
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if args.older_than_days < 0:
        parser.error("--older-than-days must be >= 0")
    before = datetime.now(UTC) - timedelta(days=args.older_than_days)
    try:
        with database_url(args) as url:
            count = asyncio.run(_run(url, before, args.dry_run))
    except (RecordsError, SQLAlchemyError, OSError) as exc:
        print(f"acd mask-callers: {exc}", file=sys.stderr)
        return 1
    verb = "would mask" if args.dry_run else "masked"
    print(f"{verb} {count} caller numbers of interactions before {before.isoformat(timespec='seconds')}")
    return 0
