"""``acd customers add``: put a customer in the directory the ACD looks callers up in, or update one.

    acd customers add --number "+1 555-0100" --name "Ada Lovelace" --tier vip

The number is stored normalised (``acd.records.stores.customers.normalise_number``); adding a number that is
already there updates its name and tier and keeps its id, so the customer's history stays theirs.
A running ACD sees the change once its cached answer for that number expires (60 s by default).
The database is ``--database-url``, else DATABASE_URL, else the embedded server in ``var/pg``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments
from acd.records.models import CUSTOMER_TIERS
from acd.records.stores.customers import normalise_number, upsert_customer


async def _add(engine: AsyncEngine, args: argparse.Namespace) -> int:
    customer_id, added = await upsert_customer(engine, args.number, args.name, args.tier)
    verb = "added" if added else "updated"
    print(f"{verb} customer {customer_id}: {normalise_number(args.number)} {args.name!r} ({args.tier})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd customers", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a customer, or update the one with this number")
    add.add_argument("--number", required=True, help="caller number; spaces, dashes and a leading + are ignored")
    add.add_argument("--name", required=True)
    add.add_argument("--tier", choices=CUSTOMER_TIERS, default="standard")
    add_database_arguments(add)
    args = parser.parse_args(argv)
    if not normalise_number(args.number):
        parser.error(f"--number {args.number!r} is empty once spaces, dashes and '+' are removed")
    return run_with_engine(parser.prog, args, lambda engine: _add(engine, args))
