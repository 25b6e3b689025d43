"""``acd handover``: ask the leading ACD to hand over to its standby on purpose, for an upgrade (docs/standby.md).

    acd handover [--database-url URL | --data-dir DIR] [--timeout 10]

It goes through PostgreSQL, like ``acd status``, not through the HTTP API and not with a signal: the one
place every member of a pair shares and listens to. A ``NOTIFY`` on the lease's channel names the leader
and its epoch; the leader hears it (``acd.leadership.Leadership.listen``), stops making offers, lets the
AMI actions in flight settle, flushes its records and releases the lease; the standby hears the release
and takes over at once. So it works from any host that reaches the database, and who may ask is who may
reach the database with the ACD's credentials (the operators who run ``acd status``, ``acd tokens``). It
is audited like a change through the API: ``audit_log`` rows (action ``cluster.handover``, the asking
user and host as the actor): the request (status 202), written in the same transaction as the
``NOTIFY`` whose payload names it, and its outcome (200, 409 or 504). The leader acts only on a
notification whose request row is there and recent (anyone who may connect could send a notification),
and writes its own row when it acts (docs/security.md). On the leader's own host,
``systemctl kill -s USR1 --kill-whom=main`` (``kill -USR1`` of the main process) does the same.

It refuses (exit 1) when nobody leads or no standby is live (nobody would route until the leader is back),
and waits until another member (not the same instance started again) holds the lease: exit 0 with the
time it took, exit 1 when that did not happen within ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.leadership import ASKED, CHANNEL, DEFAULT_TIMES, HANDOVER, members, read
from acd.records.cli.command import run_with_engine
from acd.records.cli.database import add_database_arguments

_AUDIT = text("""
INSERT INTO audit_log (at, token_id, role, actor_agent_id, action, target, details, status)
VALUES (:at, :actor, 'operator', NULL, 'cluster.handover', :target, CAST(:details AS jsonb), :status)
""")
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
# the request itself, on the database's clock: the leader acts only on a notification naming this row
_ASK = text("""
INSERT INTO audit_log (at, token_id, role, actor_agent_id, action, target, details, status)
VALUES (now(), :actor, 'operator', NULL, 'cluster.handover', :target, CAST(:details AS jsonb), :status)
RETURNING id
""")


def actor() -> str:
    """Who asked: the operating-system user and host (the audit row's ``token_id``: no API token is used)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


async def _audit(engine: AsyncEngine, target: str, status: int, details: dict[str, object]) -> None:
    values = {"at": datetime.now(UTC), "actor": actor(), "target": target, "status": status}
    async with engine.begin() as conn:
        await conn.execute(_AUDIT, values | {"details": json.dumps(details)})


async def hand_over(engine: AsyncEngine, timeout: float) -> int:  # noqa: ASYNC109 (a bounded wait of the command)
    lease = await read(engine)
    if lease is None or not lease.live:
        print("acd handover: nobody leads: nothing to hand over")
        return 1
    others = [m for m in await members(engine) if m.instance != lease.holder and m.live(DEFAULT_TIMES.lease)]
    if not others:
        print(f"acd handover: refused: no live standby would take over from {lease.holder}")
        await _audit(engine, lease.holder, 409, {"epoch": lease.epoch, "why": "no live standby"})
        return 1
    asked = time.monotonic()
    async with engine.begin() as conn:  # the request's row and the notification naming it, in one transaction
        ask = {"actor": actor(), "target": lease.holder, "status": ASKED, "details": json.dumps({"epoch": lease.epoch})}
        request = (await conn.execute(_ASK, ask)).scalar_one()
        payload = f"{HANDOVER}:{lease.holder}:{lease.epoch}:{request}"
        await conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})
    deadline = asked + timeout
    while time.monotonic() < deadline:
        now = await read(engine)
        if now is not None and now.live and now.epoch > lease.epoch and now.holder != lease.holder:
            took = time.monotonic() - asked
            was, became = f"{lease.holder} (epoch {lease.epoch})", f"{now.holder} (epoch {now.epoch})"
            print(f"handed over: {was} -> {became} in {took:.2f} s")
            await _audit(engine, lease.holder, 200, {"epoch": lease.epoch, "to": now.holder, "seconds": round(took, 3)})
            return 0
        await asyncio.sleep(0.05)
    now = await read(engine)
    if now is not None and now.live and now.holder == lease.holder:
        print(f"acd handover: {lease.holder} took the lease back (epoch {now.epoch}): no other member leads")
        await _audit(engine, lease.holder, 504, {"epoch": lease.epoch, "why": "the same instance leads again"})
        return 1
    print(f"acd handover: {lease.holder} still leads after {timeout:g} s (is it listening? see its log)")
    await _audit(engine, lease.holder, 504, {"epoch": lease.epoch, "why": "not handed over in time"})
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acd handover", description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the standby (default 10)")
    args = parser.parse_args(argv)
    return run_with_engine(parser.prog, args, lambda engine: hand_over(engine, args.timeout))
