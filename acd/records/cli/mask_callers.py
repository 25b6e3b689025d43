"""``acd mask-callers``: data retention, what records keep of a person once the window has passed.

    acd mask-callers --older-than-days 90 [--customer-numbers keep|mask] [--dry-run]

What is masked, and why, is ``acd.records.retention``'s policy (the service also applies it daily);
this command applies it once, now. The database is ``--database-url``, else DATABASE_URL, else the
embedded server in ``var/pg``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments
from acd.records.retention import apply_retention


async def _run(engine: AsyncEngine, before: datetime, customer_numbers: str, dry_run: bool) -> int:
    masked = await apply_retention(engine, before, customer_numbers=customer_numbers, dry_run=dry_run)
    verb = "would mask" if dry_run else "masked"
    print(f"{verb} {masked} of records before {before.isoformat(timespec='seconds')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd mask-callers", description=__doc__.splitlines()[0])
    parser.add_argument("--older-than-days", type=float, required=True)
    parser.add_argument(
        "--customer-numbers",
        choices=("keep", "mask"),
        default="keep",
        help="also mask the numbers of customers not heard from within the window",
    )
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if args.older_than_days < 0:
        parser.error("--older-than-days must be >= 0")
    before = datetime.now(UTC) - timedelta(days=args.older_than_days)
    return run_with_engine(parser.prog, args, lambda engine: _run(engine, before, args.customer_numbers, args.dry_run))
