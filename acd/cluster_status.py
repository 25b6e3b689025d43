"""``acd status``: who leads the ACD now, under which epoch, and how fresh the lease is (docs/standby.md).

    acd status [--database-url URL | --data-dir DIR]

Read from the lease row in PostgreSQL, the one truth every member of a pair shares, so it answers
while the leader is down too. Exit code 0 when a leader holds a live lease, 1 when nobody leads
(never, or the holder's lease lapsed): a check a script or a monitor can run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.leadership import LeaseRow, read
from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments


def describe(row: LeaseRow | None) -> tuple[int, str]:
    """The exit code and the lines ``acd status`` prints for the lease row."""
    if row is None:
        return 1, "leader: none (no ACD has ever held the lease)"
    lines = [
        f"leader: {row.holder if row.live else 'none'}",
        f"epoch: {row.epoch}",
        f"lease age: {row.age:.1f} s (last renewal by {row.holder})",
        f"lease expires: {row.expires_at.isoformat(timespec='milliseconds')}"
        + ("" if row.live else f" (lapsed: {row.holder} no longer leads)"),
        f"term began: {row.acquired_at.isoformat(timespec='seconds')}",
    ]
    return (0 if row.live else 1), "\n".join(lines)


async def _run(engine: AsyncEngine) -> int:
    code, text = describe(await read(engine))
    print(text)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd status", description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    return run_with_engine(parser.prog, args, _run)
