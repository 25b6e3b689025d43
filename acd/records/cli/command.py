"""How every record command runs against its database, and how it fails.

Each ``acd ...`` record command finds its database the same way (``acd.records.cli.database``),
opens one engine for its work and disposes of it, and answers a records, database or file error the
same way: one line on stderr, ``acd <command>: <error>``, and an exit code of failure, never a
traceback. Written once here so that the commands cannot drift apart.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.database import Database
from acd.records.cli.database import database_url
from acd.records.errors import RecordsError
from acd.records.startup.migrate import upgrade_head

T = TypeVar("T")

# What a record command can meet in its ordinary work: the records layer's own errors (an embedded
# server that cannot start, a database that is down), SQLAlchemy's, and the file system's.
FAILURES: tuple[type[Exception], ...] = (RecordsError, SQLAlchemyError, OSError)


def run_command(
    command: str, body: Callable[[], int], *, failure: int = 1, also: tuple[type[Exception], ...] = ()
) -> int:
    """``body()``'s exit code; on one of ``FAILURES`` (or of ``also``), ``<command>: <error>`` on stderr
    and ``failure``."""
    try:
        return body()
    except (*FAILURES, *also) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return failure


def on_engine(args: argparse.Namespace, job: Callable[[AsyncEngine], Awaitable[T]], *, migrate: bool = False) -> T:
    """Run ``job`` on an engine to the command's database, migrated first if ``migrate``.

    The engine is disposed when ``job`` ends, and an embedded server the command had to start is
    stopped again (``database_url``). Errors are left to the caller (``run_command``).
    """
    with database_url(args) as url:
        if migrate:
            upgrade_head(url)
        return asyncio.run(_on_engine(url, job))


async def _on_engine(url: str, job: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    database = Database(url)
    try:
        return await job(database.pool("command"))
    finally:
        await database.close()


def run_with_engine(
    command: str,
    args: argparse.Namespace,
    job: Callable[[AsyncEngine], Awaitable[int]],
    *,
    migrate: bool = False,
    failure: int = 1,
    also: tuple[type[Exception], ...] = (),
) -> int:
    """A command's whole run: ``job``'s exit code on the command's database (``on_engine``), with the
    usual failures answered as ``run_command`` does."""
    return run_command(command, lambda: on_engine(args, job, migrate=migrate), failure=failure, also=also)
