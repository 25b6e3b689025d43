"""``GET /api/v1/cluster``: who leads the ACD, under which epoch, and how fresh the lease is (docs/standby.md).

Read from the lease row in PostgreSQL (the same truth for every member: a standby answers it too) and
from this process's own side of the lease (its role, its epoch, the age of its last renewal by its
own clock). Supervisors and admins only: it names hosts.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acd.http.keys import ENGINE, LEADERSHIP
from acd.leadership import read


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
    if leadership is not None:
        age = leadership.lease_age()
        times = leadership.times
        me = {
            "instance": leadership.instance,
            "role": "leader" if leadership.may_act() else "standby",
            "epoch": leadership.epoch,
            "lease_age_seconds": None if age is None else round(age, 3),
            "lease_seconds": times.lease,
            "renew_seconds": times.renew,
            "margin_seconds": times.margin,
        }
    return web.json_response(
        {"leader": row.holder if row is not None and row.live else None, "lease": lease, "this": me}
    )
