"""``acd status``: who leads the ACD now, under which epoch, and how fresh the lease is (docs/standby.md).

    acd status [--database-url URL | --data-dir DIR]

Read from the lease row and the members' heartbeats in PostgreSQL, the one truth every member of a
pair shares, so it answers while the leader is down too: each member's role and last heartbeat.
Exit code 0 when a leader holds a live lease, 1 when nobody leads
(never, or the holder's lease lapsed): a check a script or a monitor can run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.leadership import DEFAULT_TIMES, LeaseRow, MemberRow, members, read
from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments


def describe(row: LeaseRow | None, seen: Sequence[MemberRow] = ()) -> tuple[int, str]:
    """The exit code and the lines ``acd status`` prints for the lease row and the members."""
    if row is None:
        return 1, "\n".join(["leader: none (no ACD has ever held the lease)", *_members(seen)])
    lines = [
        f"leader: {row.holder if row.live else 'none'}",
        f"epoch: {row.epoch}",
        f"lease age: {row.age:.1f} s (last renewal by {row.holder})",
        f"lease expires: {row.expires_at.isoformat(timespec='milliseconds')}"
        + ("" if row.live else f" (lapsed: {row.holder} no longer leads)"),
        f"term began: {row.acquired_at.isoformat(timespec='seconds')}",
        *_members(seen),
    ]
    return (0 if row.live else 1), "\n".join(lines)


def _members(seen: Sequence[MemberRow]) -> list[str]:
    """One line per member: its role, its last heartbeat and whether that is within one lease (default)."""
    lines = [f"members: {len(seen)}"]
    for m in seen:
        state = "live" if m.live(DEFAULT_TIMES.lease) else "gone"
        lines.append(
            f"  {m.instance}: {m.role}, last heartbeat {m.age:.1f} s ago ({state}),"
            f" started {m.started_at.isoformat(timespec='seconds')}, version {m.version}"
        )
    return lines


async def _run(engine: AsyncEngine) -> int:
    code, text = describe(await read(engine), await members(engine))
    print(text)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd status", description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    return run_with_engine(parser.prog, args, _run)
