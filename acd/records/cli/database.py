"""Which PostgreSQL a records command (``acd report``, ``acd mask-callers``, ``acd customers``) talks to.

One rule for every command, so an operator learns it once: ``--database-url``, else DATABASE_URL,
else the embedded server in ``--data-dir`` (default ``var/pg``). An embedded server that the command
had to start is stopped again when the command ends; one that was already running (the service's)
is left running.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from acd.records.startup.embedded import DEFAULT_DATA_DIR, EmbeddedPostgres


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="embedded server, if no URL")


@contextmanager
def database_url(args: argparse.Namespace) -> Iterator[str]:
    """The URL to use for the command's lifetime. Raises RecordsError if the embedded server fails."""
    if args.database_url:
        yield args.database_url
        return
    embedded = EmbeddedPostgres(args.data_dir)
    started_here = not embedded.is_running()
    try:
        yield embedded.start()
    finally:
        if started_here:  # also after a start that failed half-way: leave no server behind
            embedded.stop()
