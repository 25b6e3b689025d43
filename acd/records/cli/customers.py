"""``acd customers add``: put a customer in the directory the ACD looks callers up in, or update one.

    acd customers add --number "+1 555-0100" --name "Ada Lovelace" --tier vip

The number is stored normalised (``acd.records.stores.customers.normalise_number``); adding a number that is
already there (a customer's first or further number) updates its name and tier and keeps its id, so
the customer's history stays theirs. Like a change through the REST API, each add or change writes
a row of the customer's history (``customer_changes``), by ``cli:<the operating-system user>``
with role ``operator``; an add that changes nothing writes none.
A running ACD sees the change once its cached answer for that number expires (60 s by default).
The database is ``--database-url``, else DATABASE_URL, else the embedded server in ``var/pg``.
"""

from __future__ import annotations

import argparse
import getpass
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments
from acd.records.models import CUSTOMER_TIERS
from acd.records.stores import customer_records as store
from acd.records.stores.customers import normalise_number


def operator() -> store.Actor:
    """Who the history names for a change made with this command: the operating-system user."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name for this uid (a bare container)
        user = "unknown"
    return store.Actor(f"cli:{user}", "operator", None, "acd customers add")


async def _add(engine: AsyncEngine, args: argparse.Namespace) -> int:
    values = {"name": args.name, "tier": args.tier}
    found = await store.search(engine, number=args.number, limit=1)
    if found:
        customer_id = found[0]["id"]
        await store.patch(engine, operator(), uuid.UUID(customer_id), values)
        verb = "updated"
    else:  # NumberTaken: added by someone else at the same moment (the command says so and fails)
        customer_id = (await store.create(engine, operator(), {"phone_number": args.number, **values}))["id"]
        verb = "added"
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
    return run_with_engine(parser.prog, args, lambda engine: _add(engine, args), also=(store.NumberTaken,))
