"""``acd tokens``: issue, list and revoke the REST API's bearer tokens.

    acd tokens add --role agent --agent agent1          # prints the token once
    acd tokens add --role supervisor --queue billing --queue sales --label "night shift"
    acd tokens add --role wallboard --label "floor 2 screen"   # read-only, for a wall screen
    acd tokens list
    acd tokens revoke 3f9a1c0b2d4e

The token itself is printed once, by ``add``, and never stored: only its SHA-256 is. The database is
``--database-url``, else DATABASE_URL, else the embedded server in ``var/pg`` (migrated first).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments
from acd.records.models import API_ROLES
from acd.records.stores import tokens


async def _run(engine: AsyncEngine, args: argparse.Namespace) -> int:
    if args.command == "add":
        token, bearer = await tokens.issue(
            engine, args.role, agent_id=args.agent, queues=tuple(args.queue), label=args.label
        )
        print(bearer)
        print(f"token {token.id}: {token.role}{_scope(token)}; shown once, keep it safe", file=sys.stderr)
        return 0
    if args.command == "list":
        for token in await tokens.all_tokens(engine):
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "live"
            print(f"{token.id}  {token.role:<10} {_scope(token).strip() or '-':<30} {state:<22} {token.label}")
        return 0
    if await tokens.revoke(engine, args.id):
        print(f"revoked {args.id}")
        return 0
    print(f"acd tokens: no live token {args.id!r}", file=sys.stderr)
    return 1


def _scope(token: tokens.Token) -> str:
    if token.agent_id:
        return f" as {token.agent_id}"
    if token.queues:
        return f" on {','.join(token.queues)}"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd tokens", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="issue a token and print it once")
    add.add_argument("--role", choices=API_ROLES, required=True)
    add.add_argument("--agent", help="the agent an agent token acts as (required for --role agent)")
    add.add_argument("--queue", action="append", default=[], help="a supervisor's queue (repeat for more)")
    add.add_argument("--label", default="", help="who or what holds the token")
    add_database_arguments(add)
    listing = commands.add_parser("list", help="every token: id, role, scope, live or revoked")
    add_database_arguments(listing)
    rev = commands.add_parser("revoke", help="revoke a token by its id")
    rev.add_argument("id")
    add_database_arguments(rev)
    args = parser.parse_args(argv)
    if args.command == "add" and args.role == "agent" and not args.agent:
        parser.error("--role agent needs --agent")
    return run_with_engine(parser.prog, args, lambda engine: _run(engine, args), migrate=True, also=(ValueError,))
