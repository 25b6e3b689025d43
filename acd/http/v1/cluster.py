"""``GET /api/v1/cluster``: who leads the ACD, under which epoch, and how fresh the lease is (docs/standby.md).

Read from the lease row and the members' heartbeats in PostgreSQL (the same truth for every member: a
standby answers it too) and from this process's own side of the lease (its role, its epoch, the age of
its last renewal by its own clock, whether it saw another live member). Supervisors and admins only:
it names hosts.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acd.http.keys import ENGINE, LEADERSHIP
from acd.leadership import DEFAULT_TIMES, members, read


async def cluster(request: web.Request) -> web.Response:
    row = await read(request.app[ENGINE])
    lease: dict[str, Any] | None = None
    if row is not None:
        lease = {
            "holder": row.holder,
            "epoch": row.epoch,
            "live": row.live,  # false: nobody leads now (the holder's lease lapsed)
            "age_seconds": round(row.age, 3),  # since the holder's last renewal, by the database's clock
            "acquired_at": row.acquired_at.isoformat(),
            "renewed_at": row.renewed_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
        }
    me: dict[str, Any] | None = None
    leadership = request.app.get(LEADERSHIP)
    lease_seconds = DEFAULT_TIMES.lease
    if leadership is not None:
        age = leadership.lease_age()
        times = leadership.times
        lease_seconds = times.lease
        term = leadership.lease.term
        me = {
            "instance": leadership.instance,
            "role": "leader" if leadership.may_act() else "standby",
            "epoch": leadership.epoch,
            "lease_age_seconds": None if age is None else round(age, 3),
            "lease_seconds": times.lease,
            "renew_seconds": times.renew,
            "margin_seconds": times.margin,
            # a leader that saw no other live member at its last good renewal routes on through an outage
            "alone": None if term is None else term.alone,
        }
    seen = [
        {
            "instance": m.instance,
            "role": m.role,
            "last_seen": m.last_seen.isoformat(),
            "age_seconds": round(m.age, 3),  # since its last heartbeat, by the database's clock
            "live": m.live(lease_seconds),  # seen within one lease: able to take over (or leading)
            "started_at": m.started_at.isoformat(),
            "version": m.version,
        }
        for m in await members(request.app[ENGINE])
    ]
    return web.json_response(
        {"leader": row.holder if row is not None and row.live else None, "lease": lease, "members": seen, "this": me}
    )
