"""``acd delete-recordings``: recordings' retention, the files of calls recorded before the window.

    acd delete-recordings --older-than-days 90 [--directory DIR] [--dry-run]

What is deleted is ``acd.records.retention.delete_recordings``'s policy (the service also applies it
daily with ``[recordings] retention_days``): the files go, the rows stay with ``deleted_at``.
``--directory`` is where the ACD sees the PBX's recordings (``[recordings] directory``). The database
is ``--database-url``, else DATABASE_URL, else the embedded server in ``var/pg``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments
from acd.records.retention import delete_recordings
from acd.settings import RECORDINGS_DIR


async def _run(engine: AsyncEngine, before: datetime, directory: Path, dry_run: bool) -> int:
    deleted = await delete_recordings(engine, before, directory, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    print(f"{verb} {deleted} recordings started before {before.isoformat(timespec='seconds')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd delete-recordings", description=__doc__.splitlines()[0])
    parser.add_argument("--older-than-days", type=float, required=True)
    parser.add_argument("--directory", default=RECORDINGS_DIR, help="the recordings directory, as the ACD sees it")
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if args.older_than_days < 0:
        parser.error("--older-than-days must be >= 0")
    before = datetime.now(UTC) - timedelta(days=args.older_than_days)
    return run_with_engine(parser.prog, args, lambda engine: _run(engine, before, Path(args.directory), args.dry_run))
