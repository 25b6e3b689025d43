"""What ``GET /api/v1/status`` says on a standby: that it routes nothing, who does, and what it serves.

A standby's routing core is empty (docs/standby.md, "What a standby does"): its live status alone would
be two empty lists, which reads as "no callers, no agents". So the status says which role the answering
instance has and, on a standby, who leads (from the lease row and the members' heartbeats in PostgreSQL,
the rows ``acd status`` reads) and which reads it answers from the records. The leader's name is a host's:
it is shown to supervisors and admins only, as ``GET /cluster`` is; the others see whether one leads.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.http.roles import STAFF
from acd.leadership import Leadership, members, read

log = logging.getLogger(__name__)

SERVES = (
    "GET /api/v1/interactions",
    "GET /api/v1/interactions/{interaction}/recording",
    "GET /api/v1/customers",
    "GET /api/v1/customers/{customer}",
    "GET /api/v1/customers/{customer}/interactions",
    "GET /api/v1/reports/intervals",
    "GET /api/v1/reports/agents",
    "GET /api/v1/callbacks",
    "GET /api/v1/cluster",
)
"""The reads a standby answers from the records as the leader would (each is a route of the table)."""

LOOK_SECONDS = 2.0  # a status must answer while PostgreSQL does not: the leader is then unknown


def role(standing_by: bool) -> str:
    """``standby`` while the runtime stands by (the REST API's changes are refused then), else ``leader``
    (also a process without a lease)."""
    return "standby" if standing_by else "leader"


async def standby_view(engine: AsyncEngine, leadership: Leadership, token_role: str) -> dict[str, Any]:
    """The standby's part of the status: who leads now, by the rows in PostgreSQL, and what it serves."""
    view: dict[str, Any] = {
        "instance": leadership.instance if token_role in STAFF else None,
        "leader": None,
        "leader_live": None,  # unknown: PostgreSQL did not answer
        "epoch": None,
        "lease_age_seconds": None,
        "leader_heartbeat_age_seconds": None,
        "serves": list(SERVES),
        "message": "standby: this instance does not route; the live queues and agents are on the leader",
    }
    try:
        row, seen = await asyncio.wait_for(asyncio.gather(read(engine), members(engine)), LOOK_SECONDS)
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        log.warning("status of a standby: the lease could not be read: %s", type(exc).__name__)
        return view
    live = row is not None and row.live
    view["leader_live"] = live
    if row is None:
        return view
    view["epoch"] = row.epoch
    view["lease_age_seconds"] = round(row.age, 3)
    if live and token_role in STAFF:
        view["leader"] = row.holder
    heartbeat = next((m for m in seen if m.instance == row.holder), None)
    if live and heartbeat is not None:
        view["leader_heartbeat_age_seconds"] = round(heartbeat.age, 3)
    return view
